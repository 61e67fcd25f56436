"""recommend_products and record_feedback on a seeded bank with a trained recommender."""

import math
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone
from django.utils.module_loading import import_string

from advisor import services
from advisor.ml import scoring
from advisor.models import BlockedCandidate, BlockReason, Channel, Recommendation, RecommendationSet
from advisor.suitability import CustomerFacts, SuitabilityGate, catalogue_rules
from advisor.tasks import recommend_all_task
from bank.models import Job
from customers.models import Channel as InteractionChannel
from customers.models import Customer, InteractionEvent, ProductInteraction
from products.models import Product
from products.needs import parse_needs

pytestmark = [pytest.mark.django_db, pytest.mark.model]


def _gate(customer: Customer) -> SuitabilityGate:
    return SuitabilityGate(CustomerFacts.of(customer), catalogue_rules())


def test_a_set_is_stored_with_the_model_version_reasons_and_only_suitable_products(trained_bank):
    customer = trained_bank.customer

    result = services.recommend_products(customer=customer, k=5, channel=Channel.API)

    items = list(result.items.order_by("rank"))
    assert [i.rank for i in items] == [1, 2, 3, 4, 5]
    assert result.model_version == trained_bank.model
    assert {i.model_version_id for i in items} == {trained_bank.model.pk}
    gate = _gate(customer)
    assert all(gate.allows(i.product_id) for i in items)
    assert len({i.product_id for i in items}) == 5
    for item in items:
        assert item.reasons_en[-1].startswith(f"Fits your risk level R{customer.risk_tolerance}")
        assert item.reasons_zh[-1].startswith(f"符合您的风险等级 R{customer.risk_tolerance}")
        assert item.driver
        assert item.contributions  # the staff view's feature contributions


@pytest.fixture
def queued(monkeypatch, settings):
    """The tasks queued (on commit) as (dotted path, kwargs) -- run them with `work_through`, as workers would."""
    settings.NIGHTLY_PART_SIZE = 40
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: calls.append((func, kw)))
    return calls


def work_through(calls):
    results = []
    for func, kwargs in calls:
        kwargs = {name: value for name, value in kwargs.items() if name != "cluster"}
        results.append(import_string(func)(**kwargs))
    return results


def test_the_nightly_refresh_runs_in_parts_and_no_customer_is_recommended_anything_unsuitable(
        trained_bank, queued, django_capture_on_commit_callbacks):
    consenting = Customer.objects.filter(consent_profiling=True)
    with django_capture_on_commit_callbacks(execute=True):
        covered = recommend_all_task(k=10)

    job = Job.objects.get(kind="Refresh recommendations")
    assert covered == consenting.count() == job.total > 0
    assert len(queued) == math.ceil(covered / 40) == job.result["parts"]
    assert {func for func, _ in queued} == {"advisor.tasks.recommend_part_task"}
    assert {kwargs["cluster"] for _, kwargs in queued} == {"ml"}
    assert (job.state, job.done, RecommendationSet.objects.filter(channel=Channel.BATCH).count()) == (
        Job.State.RUNNING, 0, 0)  # queued, not yet run

    work_through(queued)

    job.refresh_from_db()
    assert (job.state, job.done, job.result) == (Job.State.DONE, covered, {"parts": len(queued), "customers": covered})
    batch = RecommendationSet.objects.filter(channel=Channel.BATCH)
    assert sorted(batch.values_list("customer_id", flat=True)) == sorted(consenting.values_list("pk", flat=True))
    violations = 0
    for customer in consenting:
        gate = _gate(customer)
        shown = Recommendation.objects.filter(customer=customer, recommendation_set__channel=Channel.BATCH)
        violations += sum(not gate.allows(pid) for pid in shown.values_list("product_id", flat=True))
    assert violations == 0


def test_a_redelivered_part_or_refresh_does_nothing_again(trained_bank, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        recommend_all_task(k=10)
    job = Job.objects.get(kind="Refresh recommendations")
    parts = list(queued)
    work_through(parts[:1])
    sets = RecommendationSet.objects.filter(channel=Channel.BATCH).count()
    assert sets == parts[0][1]["size"] > 0

    # The ORM broker redelivers a task whose worker died after it finished; django-q2 may also run it twice.
    assert work_through(parts[:1]) == [{}]
    with django_capture_on_commit_callbacks(execute=True):
        recommend_all_task(k=10, job_id=job.pk)

    job.refresh_from_db()
    assert RecommendationSet.objects.filter(channel=Channel.BATCH).count() == sets
    assert (job.done, job.parts.count(), len(queued)) == (sets, 1, len(parts))  # nothing counted or queued twice
    assert job.state == Job.State.RUNNING


def test_a_failing_part_fails_the_refresh_naming_it_and_the_other_parts_still_run(
        trained_bank, queued, monkeypatch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        recommend_all_task(k=10)
    job = Job.objects.get(kind="Refresh recommendations")
    broken = queued[1][1]
    real = services.recommend_products

    def recommend(*, customer, **kwargs):
        if broken["first_id"] <= customer.pk <= broken["last_id"]:
            raise RuntimeError("the ranker fell over")
        return real(customer=customer, **kwargs)

    monkeypatch.setattr(services, "recommend_products", recommend)
    for func, kwargs in queued:
        if kwargs is broken:
            with pytest.raises(RuntimeError):
                work_through([(func, kwargs)])
        else:
            work_through([(func, kwargs)])

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.error == f"part {broken['part']}: RuntimeError: the ranker fell over"
    assert job.parts.count() == len(queued)  # every part ended, the broken one with its error
    assert job.result["failed"] == [job.error] and job.result["customers"] == job.done
    assert job.done == job.total - broken["size"]
    assert not RecommendationSet.objects.filter(
        channel=Channel.BATCH, customer__pk__range=(broken["first_id"], broken["last_id"])).exists()


def test_what_the_gate_refuses_above_the_cut_is_logged_with_its_reasons(trained_bank):
    customer = trained_bank.customer
    Customer.objects.filter(pk=customer.pk).update(risk_tolerance=5)
    customer.refresh_from_db()
    shown = services.recommend_products(customer=customer, k=5, channel=Channel.API)
    # The best-scored product shown that is above R1; then lower the customer's tolerance to just below it.
    favourite = (
        shown.items.filter(product__risk_level__gte=2).order_by("-score").select_related("product").first().product
    )
    Customer.objects.filter(pk=customer.pk).update(risk_tolerance=favourite.risk_level - 1)
    customer.refresh_from_db()

    result = services.recommend_products(customer=customer, k=5, channel=Channel.API)

    blocked = BlockedCandidate.objects.get(recommendation_set=result, product=favourite)
    assert BlockReason.RISK_ABOVE_TOLERANCE in blocked.reasons
    assert f"product risk R{favourite.risk_level} > customer tolerance R{customer.risk_tolerance}" in blocked.detail
    assert blocked.model_version == trained_bank.model
    assert not result.items.filter(product=favourite).exists()
    assert result.candidates_blocked == result.blocked.count() >= 1


def test_needs_in_words_are_honoured_and_stored(trained_bank):
    customer = trained_bank.customer
    Customer.objects.filter(pk=customer.pk).update(risk_tolerance=3)
    customer.refresh_from_db()
    query = "I want a low-risk product for about a year with better yield than a deposit"

    result = services.recommend_products(customer=customer, k=5, channel=Channel.PORTAL, query=query)

    needs = parse_needs(query)
    assert result.needs == needs.to_json()
    matching = set(Product.objects.filter(needs.as_q()).values_list("id", flat=True))
    items = list(result.items.select_related("product"))
    assert items, "the demo catalogue has low-risk, one-year wealth products"
    assert all(i.product_id in matching for i in items)
    assert all(i.product.risk_level <= 2 and i.product.type != "deposit" for i in items)
    assert all(i.reasons_en[0].startswith("Matches what you asked for: ") for i in items)


def test_chinese_needs_give_the_same_constraints(trained_bank):
    result = services.recommend_products(
        customer=trained_bank.customer, k=5, channel=Channel.API, query="我想要一年期、低风险、收益比存款高的理财"
    )

    assert result.needs["max_risk"] == 2
    assert result.needs["types"] == ["wealth"]
    assert all(i.product.type == "wealth" and i.product.risk_level <= 2 for i in result.items.select_related("product"))


@pytest.mark.parametrize("k", [0, 51])
def test_a_bad_k_is_refused_and_nothing_is_stored(trained_bank, k):
    with pytest.raises(ValueError, match="k must be from 1 to 50"):
        services.recommend_products(customer=trained_bank.customer, k=k, channel=Channel.API)
    assert not RecommendationSet.objects.exists()


def test_too_long_needs_are_refused_and_nothing_is_stored(trained_bank):
    with pytest.raises(ValueError):
        services.recommend_products(customer=trained_bank.customer, k=5, channel=Channel.API, query="x" * 501)
    assert not RecommendationSet.objects.exists()


def test_a_dismissed_product_leaves_the_list_at_once(trained_bank):
    customer = trained_bank.customer
    first = services.recommend_products(customer=customer, k=5, channel=Channel.API)
    top = first.items.get(rank=1)

    services.record_feedback(
        customer=customer, product=top.product, event=InteractionEvent.DISMISS, channel=InteractionChannel.APP,
        recommendation_set=first,
    )
    second = services.recommend_products(customer=customer, k=5, channel=Channel.API)

    assert not second.items.filter(product=top.product).exists()


def test_a_click_changes_the_scores_without_retraining(trained_bank):
    customer = trained_bank.customer
    rules = catalogue_rules()
    before = scoring.score_customer(customer=customer, catalogue_ids=rules.ids).scores.copy()
    clicked = Product.objects.get(pk=int(rules.ids[int(np.argsort(before)[len(before) // 2])]))

    services.record_feedback(
        customer=customer, product=clicked, event=InteractionEvent.CLICK, channel=InteractionChannel.APP
    )
    after = scoring.score_customer(customer=customer, catalogue_ids=rules.ids).scores

    assert not np.allclose(before, after)
    assert scoring.score_customer(customer=customer, catalogue_ids=rules.ids).model_version == trained_bank.model


def test_feedback_with_the_same_key_and_body_is_recorded_once(trained_bank):
    customer = trained_bank.customer
    product = Product.objects.order_by("id").first()
    kwargs = dict(customer=customer, product=product, event="click", channel=InteractionChannel.APP,
                  idempotency_key="retry-1")
    before = ProductInteraction.objects.filter(customer=customer).count()

    first = services.record_feedback(**kwargs)
    again = services.record_feedback(**kwargs)

    assert (first.created, again.created) == (True, False)
    assert again.interaction.pk == first.interaction.pk
    assert ProductInteraction.objects.filter(customer=customer).count() == before + 1


def test_feedback_reusing_a_key_with_another_body_is_refused_and_writes_nothing(trained_bank):
    customer = trained_bank.customer
    product = Product.objects.order_by("id").first()
    services.record_feedback(customer=customer, product=product, event="click", channel=InteractionChannel.APP,
                             idempotency_key="k")
    before = ProductInteraction.objects.count()

    with pytest.raises(services.IdempotencyConflict):
        services.record_feedback(customer=customer, product=product, event="dismiss",
                                 channel=InteractionChannel.APP, idempotency_key="k")
    assert ProductInteraction.objects.count() == before


def test_the_same_key_from_two_customers_does_not_collide(trained_bank):
    one, other = Customer.objects.order_by("id")[:2]
    product = Product.objects.order_by("id").first()

    a = services.record_feedback(customer=one, product=product, event="click", channel="app", idempotency_key="k")
    b = services.record_feedback(customer=other, product=product, event="dismiss", channel="app",
                                 idempotency_key="k")

    assert a.created and b.created


def test_feedback_on_another_customers_set_is_refused(trained_bank):
    one, other = Customer.objects.filter(consent_profiling=True).order_by("id")[:2]
    their_set = services.recommend_products(customer=other, k=3, channel=Channel.API)
    before = ProductInteraction.objects.count()

    with pytest.raises(ValueError, match="another customer"):
        services.record_feedback(customer=one, product=their_set.items.first().product, event="click",
                                 channel="app", recommendation_set=their_set)
    assert ProductInteraction.objects.count() == before


def test_impressions_are_recorded_once_per_set_and_product(trained_bank):
    result = services.recommend_products(customer=trained_bank.customer, k=4, channel=Channel.PORTAL)

    services.record_impressions(recommendation_set=result, channel="online")
    services.record_impressions(recommendation_set=result, channel="online")

    shown = ProductInteraction.objects.filter(
        customer=trained_bank.customer, event=InteractionEvent.IMPRESSION, model_version=trained_bank.model
    )
    assert shown.count() == 4


def test_without_an_active_model_recommending_says_so_and_stores_nothing(trained_bank):
    from bank.models import ModelVersion

    ModelVersion.objects.filter(pk=trained_bank.model.pk).update(status=ModelVersion.Status.RETIRED)
    scoring.forget_loaded_model()

    with pytest.raises(services.NoActiveRecommender):
        services.recommend_products(customer=trained_bank.customer, k=5, channel=Channel.API)
    assert not RecommendationSet.objects.exists()
    scoring.forget_loaded_model()


def test_amount_in_needs_keeps_products_whose_minimum_is_within_it(trained_bank):
    result = services.recommend_products(
        customer=trained_bank.customer, k=10, channel=Channel.API, query="我想存5万块，随时能取"
    )

    assert Decimal(result.needs["amount"]) == Decimal("50000")
    assert all(i.product.min_amount <= Decimal("50000") for i in result.items.select_related("product"))


@pytest.mark.parametrize("seed", range(8))
def test_the_best_candidates_are_exactly_what_sorting_everything_gives(seed):
    rng = np.random.default_rng(seed)
    scores = (rng.integers(0, 40, 3000) / 7).astype(np.float32)  # many ties
    scores[rng.random(3000) < 0.1] = -0.0
    positions = np.flatnonzero(rng.random(3000) < 0.6)

    for n in (1, 10, 40, positions.size - 1, positions.size, positions.size + 5):
        expected = positions[np.argsort(-scores[positions], kind="stable")][:n]
        assert np.array_equal(services._best(positions, scores, n), expected)


def test_the_returned_set_carries_its_stored_items_and_showing_them_costs_no_query(
    trained_bank, django_assert_num_queries
):
    result = services.recommend_products(customer=trained_bank.customer, k=5, channel=Channel.API)

    with django_assert_num_queries(0):
        shown = [(i.rank, i.product.code, i.score, i.driver, i.reasons_en, i.contributions) for i in result.items.all()]
    stored = [
        (i.rank, i.product.code, i.score, i.driver, i.reasons_en, i.contributions)
        for i in Recommendation.objects.filter(recommendation_set=result).select_related("product").order_by("rank")
    ]
    assert shown == stored
    assert len(shown) == 5


def test_explaining_a_list_at_once_gives_what_explaining_each_product_gives(trained_bank):
    customer, rules = trained_bank.customer, catalogue_rules()
    together = scoring.score_customer(customer=customer, catalogue_ids=rules.ids)
    one_by_one = scoring.score_customer(customer=customer, catalogue_ids=rules.ids)
    top = [int(i) for i in np.argsort(-together.scores, kind="stable")[:10]]

    assert together.explanations(top) == [one_by_one.explanation(i) for i in top]
    assert np.array_equal(together.vectors_at(top), one_by_one.product_vectors[top])
    assert np.array_equal(together.scores, one_by_one.scores)


def test_a_product_withdrawn_from_sale_leaves_the_list_at_once(trained_bank):
    customer = trained_bank.customer
    first = services.recommend_products(customer=customer, k=5, channel=Channel.API)
    withdrawn = first.items.get(rank=1).product
    rules_before = catalogue_rules()

    withdrawn.is_active = False
    withdrawn.save()
    second = services.recommend_products(customer=customer, k=5, channel=Channel.API)

    assert catalogue_rules() is not rules_before
    assert withdrawn.pk not in {item.product_id for item in second.items.all()}
    assert second.items.count() == 5


def test_dismissals_are_read_with_the_history_and_exact_to_the_microsecond(trained_bank):
    customer = trained_bank.customer
    product = Product.objects.exclude(
        pk__in=ProductInteraction.objects.filter(customer=customer).values("product_id")
    ).order_by("pk").first()
    moment = timezone.now() - timedelta(days=3)
    ProductInteraction.objects.create(
        customer=customer, product=product, event=InteractionEvent.DISMISS, timestamp=moment,
        channel=InteractionChannel.APP,
    )

    scored = scoring.score_customer(customer=customer)

    assert product.pk in scored.dismissed_since(moment)
    assert product.pk not in scored.dismissed_since(moment + timedelta(microseconds=1))
