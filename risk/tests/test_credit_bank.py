"""The credit model, scoring, grades, drift and the dashboards on a seeded demo bank (module fixture)."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from bank.models import Job
from customers.models import Customer, Transaction
from customers.tests.factories import TransactionFactory
from risk.models import Alert, CreditScore, CustomerRiskGrade, DriftReport, Intervention
from risk.selectors import risk_grade_of
from risk.services.drift import compute_credit_drift
from risk.services.monitoring import monitor_new_transactions
from risk.tests.conftest import AS_OF

pytestmark = pytest.mark.django_db


def test_the_demo_bank_has_an_honest_default_signal(risk_bank):
    data = risk_bank.credit.training_data

    assert data["rows"] > 300 and 15 <= data["defaults"] <= 0.2 * data["rows"]
    late_fees = Transaction.objects.filter(category="fees", counterparty="Late payment fee")
    assert late_fees.values("customer").distinct().count() >= data["defaults"]
    assert risk_bank.credit.params["protected_not_used"] == ["age_band", "gender"]
    assert "age" not in risk_bank.credit.params["features"] and "gender" not in risk_bank.credit.params["features"]


def test_both_models_discriminate_and_are_calibrated(risk_bank):
    metrics = risk_bank.credit.metrics

    for name in ("gbm", "scorecard"):
        assert 0.68 <= metrics[name]["auc"] <= 0.97
        assert metrics[name]["ece"] <= 0.08
        assert len(metrics[name]["folds"]) == 3
    assert set(metrics["fairness"]["models"]["gbm"]) == {"age_band", "gender"}


def test_every_customer_is_scored_with_reasons_and_the_model_version(risk_bank):
    scores = CreditScore.objects.filter(model_version=risk_bank.credit)

    assert scores.count() == Customer.objects.count() == 1200
    declined = scores.filter(decision="decline").order_by("-pd").first()
    assert declined is not None and declined.pd >= 0.25 and declined.serving_model == "gbm"
    assert len(declined.reasons_en) == len(declined.reasons_zh) == len(declined.reason_codes) == 3
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in declined.reasons_zh)
    assert declined.reason_codes[0]["weight"] >= declined.reason_codes[1]["weight"]
    assert CustomerRiskGrade.objects.count() == 1200
    grade = risk_grade_of(customer=declined.customer)
    assert grade.grade in "CDE" and grade.pd == declined.pd
    # A rule proposed lowering the card limit of declined card holders; nobody approved it yet.
    proposals = Intervention.objects.filter(proposed_by_rule="credit-pd-above-decline")
    assert proposals.exists() and set(proposals.values_list("status", flat=True)) == {"proposed"}


def test_the_daily_rescoring_is_a_job_of_parts_on_the_ml_cluster(risk_bank, monkeypatch, settings,
                                                                 django_capture_on_commit_callbacks):
    from django.utils.module_loading import import_string

    from risk.tasks import score_customers_task

    settings.NIGHTLY_PART_SIZE = 500
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: queued.append((func, kw)))
    before = CreditScore.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        assert score_customers_task() == 1200
    assert [(func, kw["cluster"], kw["size"]) for func, kw in queued] == [
        ("risk.tasks.score_customers_part_task", "ml", 500), ("risk.tasks.score_customers_part_task", "ml", 500),
        ("risk.tasks.score_customers_part_task", "ml", 200)]

    for func, kwargs in queued:
        import_string(func)(**{name: value for name, value in kwargs.items() if name != "cluster"})

    job = Job.objects.get(kind="Rescore customers' credit risk")
    assert (job.state, job.done, job.total, job.result) == (Job.State.DONE, 1200, 1200,
                                                            {"parts": 3, "customers": 1200})
    assert CreditScore.objects.count() == before + 1200
    assert CreditScore.objects.order_by().values("customer").distinct().count() == 1200


def test_a_newly_activated_credit_model_queues_the_rescoring_as_parts(risk_bank, monkeypatch, settings,
                                                                      django_capture_on_commit_callbacks):
    from types import SimpleNamespace

    from risk.tasks import train_credit_task

    settings.NIGHTLY_PART_SIZE = 500
    trained = SimpleNamespace(version=risk_bank.credit, activated=True, seconds=1.0,
                              metrics={"auc_gbm": 0.8, "auc_scorecard": 0.7})
    monkeypatch.setattr("risk.ml.training.train_credit_model", lambda progress=None: trained)
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: queued.append((func, kw)))
    before = CreditScore.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        assert train_credit_task() == risk_bank.credit.pk

    training = Job.objects.get(kind="Train risk.credit")
    assert training.result["customers_queued_for_scoring"] == 1200
    assert [func for func, _ in queued] == ["risk.tasks.score_customers_part_task"] * 3
    assert CreditScore.objects.count() == before  # scored by the parts, not inside the training task


def test_train_credit_score_scores_everyone_a_part_at_a_time(risk_bank, monkeypatch, settings):
    from io import StringIO
    from types import SimpleNamespace

    from django.core.management import call_command

    from risk.services import credit

    settings.NIGHTLY_PART_SIZE = 500
    metrics = {name: {"auc": 0.8, "ks": 0.4, "ece": 0.02} for name in ("gbm", "scorecard")}
    trained = SimpleNamespace(version=risk_bank.credit, activated=True, seconds=1.0, metrics={**metrics, "folds": 3})
    monkeypatch.setattr("risk.ml.training.train_credit_model", lambda **kwargs: trained)
    chunks = []
    real = credit.score_customers
    monkeypatch.setattr(credit, "score_customers",
                        lambda *, customer_ids: chunks.append(len(customer_ids)) or real(customer_ids=customer_ids))
    before = CreditScore.objects.count()
    out = StringIO()

    call_command("train_credit", score=True, stdout=out, stderr=StringIO())

    assert chunks == [500, 500, 200]  # never the whole bank in memory at once
    assert out.getvalue().splitlines()[-1] == "scored 1,200 customers"
    assert CreditScore.objects.count() == before + 1200


def test_the_api_returns_the_score_and_reasons_to_staff(risk_bank):
    score = CreditScore.objects.filter(decision="decline").first()
    staff = get_user_model().objects.create(username="super", is_staff=True, is_superuser=True)
    client = APIClient()
    client.force_authenticate(staff)

    data = client.get(f"/api/v1/customers/{score.customer.public_id}/risk/").json()

    assert data["credit"]["model_version"] == risk_bank.credit.label
    assert data["credit"]["reasons"] == {"en": score.reasons_en, "zh": score.reasons_zh}
    assert data["credit"]["decision"] == "decline" and data["grade"]["grade"] in "CDE"


def test_drift_is_small_for_the_same_bank_and_large_when_the_population_shifts(risk_bank):
    steady = compute_credit_drift()

    assert steady.recent_rows == 1200 and not steady.breached
    assert 0 <= steady.score_psi < 0.25 and steady.alert is None
    assert len(steady.score_bins["expected"]) == len(steady.score_bins["actual"]) == 10

    for score in CreditScore.objects.all()[:600]:
        score.features = {**score.features, "late_fees": 4.0, "card_cash_advances": 6.0}
        score.pd_gbm = 0.8
        score.save(update_fields=["features", "pd_gbm"])
    shifted = compute_credit_drift(queue_retrain=True)

    assert shifted.breached and shifted.score_psi >= 0.25 and shifted.feature_psi["late_fees"] >= 0.25
    assert shifted.alert.kind == "drift" and shifted.alert.rule_codes == ["credit-drift"]
    assert shifted.retrain_job.kind == "Train risk.credit" and shifted.retrain_job.state == Job.State.QUEUED
    assert DriftReport.objects.count() == 2


def test_the_dashboards_and_the_customer_page_show_risk(risk_bank):
    compute_credit_drift()
    admin = get_user_model().objects.create(username="boss", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    customer = CreditScore.objects.filter(decision="decline").first().customer

    drift = client.get("/admin/risk/creditscore/drift/").content.decode()
    fairness = client.get("/admin/risk/creditscore/fairness/").content.decode()
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()

    assert "PSI over time" in drift and "<polyline" in drift and "<rect" in drift
    assert "Live decisions of risk.credit" in fairness and "25–34" in fairness
    assert 'id="risk_grade-group"' in page and "credit 50 + behaviour" in page and "PD " in page
    for url in ("/admin/risk/alert/", "/admin/risk/case/", "/admin/risk/monitoringrule/", "/admin/risk/intervention/",
                "/admin/risk/creditscore/", "/admin/risk/creditpolicy/", "/admin/risk/driftreport/"):
        assert client.get(url).status_code == 200, url


def test_new_transactions_are_monitored_once_behind_a_cursor(risk_bank):
    assert monitor_new_transactions() == {"transactions": 0, "alerts": 0, "started_at": Transaction.objects.latest(
        "id").pk}
    customer = Customer.objects.order_by("id").first()
    account = customer.accounts.get(type="current")
    now = datetime.combine(AS_OF, time(12), tzinfo=timezone.get_current_timezone())  # the demo's data ends there
    TransactionFactory(account=account, customer=customer, amount=Decimal("-85.00"), timestamp=now,
                       category="groceries", channel="pos", counterparty="FreshMart 鲜丰超市")
    TransactionFactory(account=account, customer=customer, amount=Decimal("-250000.00"),
                       timestamp=now + timedelta(minutes=1), category="transfer", channel="online",
                       counterparty="Offshore Holdings Ltd")

    first = monitor_new_transactions()
    again = monitor_new_transactions()

    assert first == {"transactions": 2, "alerts": 1} and again == {"transactions": 0, "alerts": 0}
    alert = Alert.objects.get(customer=customer)
    assert {"amount-far-above-history", "large-new-counterparty"} <= set(alert.rule_codes)
    assert alert.transaction.amount == Decimal("-250000.00")
