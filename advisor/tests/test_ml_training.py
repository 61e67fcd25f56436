"""Training on the database, registering the model, and scoring customers with the active version."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import call_command

from advisor.ml import scoring
from advisor.ml.dataset import load_from_database
from advisor.ml.hybrid import HybridConfig
from advisor.ml.training import train_recommender
from advisor.suitability import catalogue_rules
from bank.models import ModelVersion
from bank.registry import verify
from customers.models import LifeStage
from customers.tests.factories import CustomerFactory, HoldingFactory, ProductInteractionFactory
from products.models import ProductType
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 1, 10, 0, tzinfo=SHANGHAI)
# A toy bank: too few customers to hold some out for early stopping, so a fixed number of small trees.
FAST = HybridConfig(
    n_estimators=40, validation_share=0.0, num_leaves=7, min_child_samples=3, als_iterations=4, als_factors=4,
    popularity_min_segment=5, als_regularization=1.0,
)


@pytest.fixture(autouse=True)
def _fresh_scoring_cache():
    scoring.forget_loaded_model()
    yield
    scoring.forget_loaded_model()


@pytest.fixture
def bank():
    """Students click cards, retirees click deposits; a few holdings predate the interaction log."""
    cards = [ProductFactory(type=ProductType.CREDIT_CARD, risk_level=2, tags=["card", "student"]) for _ in range(3)]
    deposits = [ProductFactory(type=ProductType.DEPOSIT, risk_level=1, tags=["deposit", "senior"]) for _ in range(3)]
    customers = []
    for i in range(24):
        student = i % 2 == 0
        customer = CustomerFactory(
            user=None,  # no login: hashing 24 passwords would be most of this test's time
            life_stage=LifeStage.STUDENT if student else LifeStage.RETIRED,
            birth_date=date(2004, 1, 1) if student else date(1955, 1, 1),
            declared_annual_income=Decimal("30000") if student else Decimal("120000"),
        )
        customers.append(customer)
        mine = cards if student else deposits
        for k, product in enumerate(mine):
            when = START + timedelta(days=i + 10 * k)
            ProductInteractionFactory(customer=customer, product=product, event="impression", timestamp=when)
            ProductInteractionFactory(customer=customer, product=product, event="click",
                                      timestamp=when + timedelta(minutes=2))
        if i < 4:
            HoldingFactory(customer=customer, product=mine[0], opened_on=date(2025, 1, 5))
    return {"cards": cards, "deposits": deposits, "customers": customers}


def test_the_database_becomes_training_data(bank):
    data = load_from_database(embeddings=False)

    assert data.log.n_customers == 24
    assert data.log.n_products == 6
    # 24 customers × 3 products × (impression + click), and the 4 holdings as purchases (none was logged).
    assert len(data.log.event) == 148
    assert int((data.log.event == 0).sum()) == 4
    assert data.segment_names == ["retired", "student"]
    assert {"customer:age", "customer:income_monthly"} <= {f"customer:{n}" for n in data.customer_feature_names}
    assert not [n for n in data.customer_feature_names if n.startswith("holds_") or n == "holdings_value"]
    assert "type=credit_card" in data.product_feature_names
    assert "tag_student" in data.product_feature_names


def test_a_holding_without_a_purchase_event_counts_as_a_purchase(bank):
    newcomer = CustomerFactory()
    HoldingFactory(customer=newcomer, product=bank["deposits"][1], opened_on=date(2024, 3, 1))

    data = load_from_database(embeddings=False)

    row = data.log.customer_index[str(newcomer.pk)]
    column = data.log.product_index[str(bank["deposits"][1].pk)]
    assert data.log.matrix[row, column] == 3.0


def test_a_hybrid_that_ranks_worse_than_segment_popularity_is_registered_but_never_activated(bank, monkeypatch):
    from advisor.ml import training

    real = training.evaluate

    def losing(*args, **kwargs):
        report = real(*args, **kwargs)
        report.models["hybrid"]["ndcg@k"] = report.models["popularity"]["ndcg@k"] - 0.01
        return report

    monkeypatch.setattr(training, "evaluate", losing)
    out = StringIO()

    call_command("train_recommender", activate=True, k=3, quiet=True, stdout=out)

    version = ModelVersion.objects.get(name="advisor.recommender")
    assert version.status == ModelVersion.Status.READY
    assert version.metrics["quality"]["passed"] is False
    assert "not activated: below its quality floor (ndcg@k, hybrid vs segment popularity" in out.getvalue()


def test_training_registers_and_activates_the_first_version_only(bank):
    first = train_recommender(config=FAST, k=3)
    second = train_recommender(config=FAST, k=3)

    assert (first.activated, second.activated) == (True, False)
    first.version.refresh_from_db()
    second.version.refresh_from_db()
    assert first.version.status == ModelVersion.Status.ACTIVE
    assert second.version.status == ModelVersion.Status.READY
    assert verify(first.version)
    assert sorted(p.name for p in Path(first.version.artifact_path).iterdir()) == [
        "arrays.npz", "meta.json", "ranker.txt",
    ]
    assert set(first.version.metrics) == {"k", "hybrid", "popularity", "item_knn", "als", "customers_evaluated",
                                          "protocol", "quality"}
    assert first.version.metrics["quality"]["passed"] is True
    assert first.version.metrics["quality"]["checks"][0]["floor"] == round(
        first.version.metrics["popularity"]["ndcg@k"], 4)
    assert first.version.metrics["customers_evaluated"] == 24
    assert first.version.training_data["customers"] == 24
    assert first.version.training_data["events"] == 148
    assert first.version.device == "cpu"
    assert first.version.params["generators"] == ["popularity_in_segment", "item_knn", "als", "content"]


def test_scores_come_from_the_active_version_and_follow_a_new_click(bank):
    version = train_recommender(config=FAST, evaluate_first=False).version
    student = CustomerFactory(user=None, life_stage=LifeStage.STUDENT, birth_date=date(2004, 3, 1))
    ProductInteractionFactory(customer=student, product=bank["cards"][0], event="click", timestamp=START)
    deposit = bank["deposits"][0]

    before = scoring.score_customer(customer=student)
    ProductInteractionFactory(customer=student, product=deposit, event="click", timestamp=START + timedelta(days=60))
    after = scoring.score_customer(customer=student.pk)

    assert before.model_version == after.model_version == version
    assert before.product_ids.tolist() == sorted(p.pk for p in bank["cards"] + bank["deposits"])
    assert np.isfinite(before.scores).all()
    assert before.liked_product_ids == [bank["cards"][0].pk]
    assert after.liked_product_ids == sorted([bank["cards"][0].pk, deposit.pk])
    assert after.context["history_size"] == before.context["history_size"] + 1 == 2
    assert not np.array_equal(before.scores, after.scores)
    # The click folds into the collaborative signals at once: the other deposits rise.
    others = [before.product_ids.tolist().index(p.pk) for p in bank["deposits"][1:]]
    for signal in ("als", "item_knn"):
        assert (after.signals[signal][others] > before.signals[signal][others]).all()


def test_scores_follow_the_callers_catalogue_order_and_explain_the_drivers(bank):
    train_recommender(config=FAST, evaluate_first=False)
    ids = [bank["deposits"][2].pk, bank["cards"][0].pk]

    scored = scoring.score_customer(customer=bank["customers"][1], catalogue_ids=ids)
    driver, contributions = scored.explain(0)
    full = scored.explanation(0)

    assert scored.product_ids.tolist() == ids
    assert scored.scores.shape == (2,) and scored.product_vectors.shape[0] == 2
    assert driver == full.top_driver
    assert driver in contributions
    assert set(contributions) <= set(full.drivers) | {"bias"}
    assert sum(full.contributions.values()) == pytest.approx(float(scored.scores[0]), abs=1e-4)
    assert json.dumps(contributions)  # stored as JSON by the caller


def test_a_customer_with_no_history_and_no_profile_gets_cold_start_scores(bank):
    train_recommender(config=FAST, evaluate_first=False)
    newcomer = CustomerFactory(life_stage=LifeStage.STUDENT, birth_date=date(2005, 6, 1))

    scored = scoring.score_customer(customer=newcomer)

    assert scored.liked_product_ids == []
    assert scored.context["history_size"] == 0
    assert scored.context["segment"] == "student"
    assert np.isfinite(scored.scores).all()
    assert np.unique(scored.scores).size > 1


def test_a_product_launched_after_training_is_scored_from_its_features(bank):
    train_recommender(config=FAST, evaluate_first=False)
    launched = ProductFactory(type=ProductType.CREDIT_CARD, risk_level=2, tags=["card", "student"])
    ids = [p.pk for p in bank["cards"] + bank["deposits"]] + [launched.pk]

    scored = scoring.score_customer(customer=bank["customers"][0], catalogue_ids=ids)

    assert scored.context["unscored_products"] == 0
    assert np.isfinite(scored.scores).all()
    assert scored.explanation(6) is not None


def test_a_fresh_catalogue_stamp_reloads_the_model_over_a_grown_catalogue_at_once(bank, django_assert_num_queries):
    train_recommender(config=FAST, evaluate_first=False)
    customer = bank["customers"][0]
    rules = catalogue_rules()
    scoring.score_customer(customer=customer, catalogue_ids=rules.ids, catalogue_stamp=rules.stamp)

    # With the stamp the caller read, scoring asks only for the active version, the profile and the history.
    with django_assert_num_queries(3):
        scoring.score_customer(customer=customer, catalogue_ids=rules.ids, catalogue_stamp=rules.stamp)
    launched = ProductFactory(type=ProductType.CREDIT_CARD, risk_level=2, tags=["card", "student"])
    grown = catalogue_rules()
    scored = scoring.score_customer(customer=customer, catalogue_ids=grown.ids, catalogue_stamp=grown.stamp)

    assert grown.stamp != rules.stamp
    assert launched.pk in scored.product_ids.tolist()
    assert scored.context["unscored_products"] == 0
    assert scoring.active_recommender(catalogue_stamp=grown.stamp).catalogue == grown.stamp


def test_no_active_version_or_a_tampered_artifact_means_no_scores(bank):
    assert scoring.score_customer(customer=bank["customers"][0]) is None

    version = train_recommender(config=FAST, evaluate_first=False).version
    (Path(version.artifact_path) / "ranker.txt").write_text("tampered")
    scoring.forget_loaded_model()

    assert scoring.score_customer(customer=bank["customers"][0]) is None


def test_activating_another_version_switches_scoring_to_it(bank):
    first = train_recommender(config=FAST, evaluate_first=False).version
    assert scoring.score_customer(customer=bank["customers"][0]).model_version == first

    second = train_recommender(config=FAST, evaluate_first=False, activate=True).version

    assert scoring.score_customer(customer=bank["customers"][0]).model_version == second


def test_the_commands_train_and_evaluate_from_the_database(bank, tmp_path, capsys):
    call_command("train_recommender", skip_evaluation=True, quiet=True)
    call_command("evaluate_recommender", from_database=True, export=tmp_path / "csv", json=tmp_path / "m.json",
                 k=3, quiet=True)

    printed = capsys.readouterr().out
    assert "advisor.recommender@v1 active, device cpu" in printed
    assert list(json.loads((tmp_path / "m.json").read_text())["models"]) == ["hybrid", "popularity", "item_knn", "als"]
    exported = (tmp_path / "csv" / "interactions.csv").read_text().splitlines()
    assert exported[0] == "customer_id,product_id,event,timestamp"
    assert len(exported) == 149
    # The export is the harness's own format: it evaluates as it stands.
    call_command("evaluate_recommender", interactions=tmp_path / "csv" / "interactions.csv",
                 customer_features=tmp_path / "csv" / "customer_features.csv",
                 product_features=tmp_path / "csv" / "product_features.csv", k=3, quiet=True)
    assert "customers evaluated" in capsys.readouterr().out
