"""Customer segments: the maths (features, k by silhouette, words, matching), the service's stability across
re-runs, the task, the admin with its charts, and the API filter with its denied cases."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from bank.models import Job
from bank.roles import RELATIONSHIP_MANAGER, SUPPORT_AGENT
from customers.models import Customer, PartnerScope, ProfileSnapshot, Segment
from customers.partners import issue_partner_token
from customers.segmentation import segment_customers
from customers.segments.charts import feature_bars, share_lines, size_bars
from customers.segments.clustering import CRITERION, NotEnoughCustomers, choose_and_cluster
from customers.segments.describe import describe_segment, describe_segments
from customers.segments.features import FEATURE_NAMES, feature_row, fit_scaler
from customers.segments.matching import match_clusters, rms_distance
from customers.segments.models import SegmentationRun, SegmentSnapshot
from customers.tasks import segment_customers_task
from customers.tests.factories import CustomerFactory, PartnerConsentFactory, PartnerFactory, UserFactory

AS_OF = date(2026, 10, 1)


# --- pure maths ------------------------------------------------------------------------------------------------

def test_a_feature_row_logs_money_clips_rates_and_counts_missing_features_as_zero():
    row = dict(zip(FEATURE_NAMES, feature_row(
        {"income_monthly": 9999.0, "savings_rate": -7.5, "credit_utilisation": 3.0, "holds_fund": 1.0,
         "spend_share_dining": 0.25, "debt_total": -50.0},
        age=33,
    ), strict=True))

    assert row["age"] == 33.0
    assert row["income_monthly"] == pytest.approx(math.log(10000.0))
    assert row["savings_rate"] == -2.0  # clipped at -200 %
    assert row["credit_utilisation"] == 1.5  # clipped at 150 %
    assert row["debt_total"] == 0.0  # a negative amount logs as none
    assert (row["holds_fund"], row["spend_share_dining"], row["holdings_value"]) == (1.0, 0.25, 0.0)


def test_the_scaler_standardises_and_leaves_a_constant_column_at_zero():
    matrix = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = fit_scaler(matrix)

    assert scaler.to_json() == {"mean": [2.0, 5.0], "scale": [1.0, 1.0]}
    assert scaler.transform(matrix).tolist() == [[-1.0, 0.0], [1.0, 0.0]]


def _blobs(sizes: list[int], *, dims: int = 4, spread: float = 0.3, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.eye(len(sizes), dims) * 6.0
    return np.vstack([centres[i] + rng.normal(0, spread, (n, dims)) for i, n in enumerate(sizes)])


def test_k_is_the_best_silhouette_and_the_same_data_gives_the_same_clusters():
    z = _blobs([60, 50, 40, 30])

    first = choose_and_cluster(z, seed=0)
    again = choose_and_cluster(z, seed=0)

    assert first.k == 4
    assert sorted(first.scores) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert first.silhouette == max(s["silhouette"] for s in first.scores.values())
    assert first.sizes == [60, 50, 40, 30]  # largest first
    assert first.criterion == CRITERION
    assert np.array_equal(first.labels, again.labels) and np.array_equal(first.centroids, again.centroids)


def test_a_k_whose_smallest_segment_is_under_the_minimum_share_is_not_chosen():
    # Four clear groups, but the fourth is 2 % of customers: too small to be a segment of its own.
    z = _blobs([100, 100, 94, 6])

    result = choose_and_cluster(z, k_max=4, seed=0)

    assert result.scores[4]["min_share"] == 0.02
    assert result.scores[4]["silhouette"] > result.scores[3]["silhouette"]
    assert result.k == 3


def test_too_few_customers_is_refused():
    with pytest.raises(NotEnoughCustomers, match="at least 30"):
        choose_and_cluster(_blobs([10, 10]), seed=0)
    with pytest.raises(NotEnoughCustomers, match="only 2 distinct profiles"):
        choose_and_cluster(np.vstack([np.zeros((20, 3)), np.ones((20, 3))]), seed=0)


def test_matching_maps_permuted_clusters_back_to_their_old_codes():
    old = {"S01": np.array([0.0, 0.0, 1.0]), "S02": np.array([2.0, 0.0, 0.0]), "S03": np.array([0.0, 2.0, 0.0])}
    # The same groups found in another order, one of them moved a little.
    current = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 1.0], [2.0, 0.1, 0.0]])

    match = match_clusters(previous=old, current=current)

    assert match.codes == {0: "S03", 1: "S01", 2: "S02"}
    assert match.new == [] and match.retired == []
    assert match.distances[0] == 0.0
    assert match.distances[2] == pytest.approx(math.sqrt(0.01 / 3))


def test_a_cluster_too_far_from_every_old_one_is_new_and_the_old_one_retired():
    old = {"S01": np.array([0.0, 0.0]), "S02": np.array([3.0, 0.0])}
    current = np.array([[0.0, 0.05], [0.0, 3.0]])

    match = match_clusters(previous=old, current=current)

    assert match.codes == {0: "S01"}
    assert match.new == [1]
    assert match.retired == ["S02"]
    assert rms_distance(current, np.vstack([old["S01"], old["S02"]]))[1, 1] == pytest.approx(math.sqrt(9.0))


def test_with_no_previous_run_every_cluster_is_new():
    assert match_clusters(previous={}, current=np.zeros((3, 2))).new == [0, 1, 2]


def test_a_segment_is_named_by_its_most_distinctive_features_one_per_theme():
    zscores = {"age": -1.2, "income_months_share": 0.9, "credit_utilisation": 0.8, "debt_total": 0.7,
               "savings_rate": -0.6, "spend_share_dining": 0.1}
    averages = {"age": 26.0, "income_months_share": 1.0, "credit_utilisation": 0.72, "debt_total": 15000.0,
                "savings_rate": 0.05, "spend_share_dining": 0.2}
    population = {"age": 41.0, "income_months_share": 0.9, "credit_utilisation": 0.3, "debt_total": 8000.0,
                  "savings_rate": 0.25, "spend_share_dining": 0.18}

    words = describe_segment(zscores=zscores, averages=averages, population=population, share=0.184)

    assert words.name_en == "Young, salaried, high card use"
    assert words.name_zh == "年轻、收入稳定、信用卡额度使用率高"
    # debt_total shares the credit theme with card use, so it is left out; dining is too close to average.
    assert words.defining == [("age", -1.2), ("income_months_share", 0.9), ("credit_utilisation", 0.8),
                              ("savings_rate", -0.6)]
    assert words.description_en == (
        "18% of customers. Compared with all customers: young (26 years on average vs 41 years overall); "
        "salaried (100% on average vs 90% overall); high card use (72% on average vs 30% overall); "
        "low savings (5% on average vs 25% overall)."
    )
    assert words.description_zh == (
        "占客户的18%。与全体客户相比：年轻（平均26岁，全体为41岁）；收入稳定（平均100%，全体为90%）；"
        "信用卡额度使用率高（平均72%，全体为30%）；储蓄率低（平均5%，全体为25%）。"
    )


def test_an_average_segment_is_typical_and_duplicate_names_are_made_distinct():
    flat = describe_segment(zscores={"age": 0.2}, averages={"age": 40.0}, population={"age": 40.0}, share=0.5)
    assert (flat.name_en, flat.name_zh) == ("Typical customers", "典型客户")
    assert flat.description_en == "50% of customers, close to the average on every feature."

    population = {"age": 40.0, "debt_total": 1000.0, "holds_fund": 0.2}
    words = describe_segments(
        zscores=[{"age": -1.0, "debt_total": 0.6}, {"age": -1.0, "holds_fund": 0.7}, {"age": -1.0}, {"age": -1.0}],
        averages=[population] * 4, population=population, shares=[0.25] * 4,
    )
    assert [w.name_en for w in words] == ["Young, high debt", "Young, fund holders", "Young", "Young (2)"]


def test_chart_geometry():
    bars = size_bars([("S01 A", 300, False), ("S02 B", 100, True)], total=400)
    assert [(r.width, r.text, r.highlight) for r in bars["rows"]] == [(360.0, "300 (75.0%)", False),
                                                                       (120.0, "100 (25.0%)", True)]
    features = feature_bars([("Age", -2.0, "26 vs 41"), ("Debt", 1.0, "x")])
    left, right = features["rows"]
    assert (left.positive, left.width, left.x + left.width) == (False, 180.0, features["centre"])
    assert (right.positive, right.width, right.x) == (True, 90.0, features["centre"])
    lines = share_lines(["10-01", "10-08"], [("S01", [0.5, 0.4]), ("S02", [None, 0.2])])
    assert [len(line.dots) for line in lines["lines"]] == [2, 1]
    assert [line.last for line in lines["lines"]] == ["40.0%", "20.0%"]
    assert size_bars([], total=0) is None and feature_bars([]) is None and share_lines([], []) is None


# --- the service, the task ------------------------------------------------------------------------------------

GROUPS = {
    # age, monthly income, savings rate, debt, card use, dining share, holds a term deposit
    "young spenders": (date(2000, 3, 1), 6000.0, 0.02, 20000.0, 0.8, 0.4, 0.0),
    "older savers": (date(1960, 3, 1), 30000.0, 0.6, 0.0, 0.0, 0.05, 1.0),
    "mid borrowers": (date(1983, 3, 1), 15000.0, 0.1, 400000.0, 0.3, 0.1, 0.0),
}


def _profiled(name: str, i: int, *, consent: bool = True) -> Customer:
    birth, income, savings, debt, card, dining, deposit = GROUPS[name]
    jitter = 1 + (i % 7) / 100  # distinct, deterministic rows
    customer = CustomerFactory(birth_date=birth, consent_profiling=consent)
    ProfileSnapshot.objects.create(customer=customer, as_of=AS_OF, features={
        "income_monthly": income * jitter, "income_months_share": 1.0, "spend_monthly": income * (1 - savings),
        "savings_rate": savings, "debt_total": debt * jitter, "credit_utilisation": card,
        "spend_share_dining": dining, "holds_deposit": deposit, "holds_credit_card": 1.0 if card else 0.0,
        "transactions_per_month": 40.0 * jitter, "assets_total": income * 3,
    })
    return customer


@pytest.fixture
def population(db):
    return {name: [_profiled(name, i) for i in range(12)] for name in GROUPS}


def _memberships() -> dict[int, str | None]:
    return dict(Customer.objects.values_list("pk", "segment__code"))


@pytest.mark.django_db
def test_segmenting_finds_the_groups_names_them_and_records_the_run(population):
    stale = Segment.objects.create(code="S07", name_en="Old", name_zh="旧")
    withdrawn = _profiled("older savers", 99, consent=False)
    Customer.objects.filter(pk=withdrawn.pk).update(segment=stale)

    run = segment_customers(seed=0)

    assert (run.k, run.customers, run.matched, run.created, run.retired) == (3, 36, 0, 3, 1)
    assert run.profiles_as_of == AS_OF and run.features == list(FEATURE_NAMES)
    assert sorted(run.scores, key=int) == [str(k) for k in range(3, 11)]
    members = _memberships()
    codes = {name: {members[c.pk] for c in customers} for name, customers in population.items()}
    assert sorted(next(iter(c)) for c in codes.values()) == ["S08", "S09", "S10"]  # new codes follow S07
    assert all(len(c) == 1 for c in codes.values())  # each group is exactly one segment
    young = Segment.objects.get(code=next(iter(codes["young spenders"])))
    assert (young.name_en, young.name_zh) == ("Low spending, much spent on dining, high card use",
                                              "消费低、餐饮消费占比高、信用卡额度使用率高")
    assert young.description_en.startswith("33% of customers. Compared with all customers: low spending (")
    assert Customer.objects.get(pk=withdrawn.pk).segment is None  # no consent, no segment
    assert Segment.objects.get(code="S07").is_active is False
    assert SegmentSnapshot.objects.filter(run=run).count() == 3
    assert sorted(SegmentSnapshot.objects.filter(run=run).values_list("size", flat=True)) == [12, 12, 12]


@pytest.mark.django_db
def test_re_running_on_unchanged_data_keeps_every_code_and_membership(population):
    first = segment_customers(seed=0)
    before = _memberships()
    names = dict(Segment.objects.values_list("code", "name_en"))

    second = segment_customers(seed=0)

    assert _memberships() == before
    assert dict(Segment.objects.values_list("code", "name_en")) == names
    assert (second.matched, second.created, second.retired) == (3, 0, 0)
    assert set(SegmentSnapshot.objects.filter(run=second).values_list("distance", flat=True)) == {0.0}
    assert SegmentationRun.objects.count() == 2 and first.pk != second.pk


@pytest.mark.django_db
def test_a_failed_run_writes_nothing(db):
    _profiled("young spenders", 1)
    with pytest.raises(NotEnoughCustomers):
        segment_customers()
    assert (SegmentationRun.objects.count(), Segment.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_the_task_runs_as_a_job_with_progress(population):
    run_id = segment_customers_task()

    job = Job.objects.get()
    assert (job.kind, job.state, job.step) == ("Segment customers", Job.State.DONE, "finished")
    assert job.result["run_id"] == run_id and job.result["k"] == 3 and job.result["customers"] == 36
    assert SegmentationRun.objects.get().job_id == job.pk


# --- admin -----------------------------------------------------------------------------------------------------

def _staff(role: str, username: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.mark.django_db
def test_the_segment_admin_shows_sizes_features_and_drift_charts(client, population):
    segment_customers(seed=0)
    segment_customers(seed=0)
    young = population["young spenders"][0]
    segment = Customer.objects.get(pk=young.pk).segment
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    listing = client.get(reverse("admin:customers_segment_changelist"))
    page = listing.content.decode()
    assert listing.status_code == 200
    assert page.count("<svg viewBox") == 2  # sizes, drift
    assert f"{segment.code} {segment.name_en}" in page and "12 (33.3%)" in page
    assert "Re-run segmentation" in page and "silhouette" in page

    detail = client.get(reverse("admin:customers_segment_change", args=[segment.pk]))
    page = detail.content.decode()
    assert detail.status_code == 200
    assert page.count("<svg viewBox") == 3  # defining features, sizes, drift
    assert "What defines this segment" in page and "Age" in page
    zh = client.get(reverse("admin:customers_segment_change", args=[segment.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert segment.name_zh in zh.content.decode() and segment.description_zh in zh.content.decode()

    customer_page = client.get(reverse("admin:customers_customer_change", args=[young.pk])).content.decode()
    assert segment.name_en in customer_page and segment.description_en in customer_page
    filtered = client.get(reverse("admin:customers_customer_changelist"), {"segment__id__exact": segment.pk})
    assert filtered.context["cl"].result_count == 12


@pytest.mark.django_db
def test_re_running_from_the_admin_needs_the_change_permission(client, population, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: queued.append((func, kw)))
    run_url = reverse("admin:customers_segment_run")

    client.force_login(_staff(RELATIONSHIP_MANAGER, "rm-seg"))  # may view segments, not re-run them
    assert client.get(reverse("admin:customers_segment_changelist")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(run_url).status_code == 403
    client.force_login(_staff(SUPPORT_AGENT, "support-seg"))  # may not see segments at all
    assert client.get(reverse("admin:customers_segment_changelist")).status_code == 403
    client.logout()
    assert client.post(run_url).status_code == 302  # to the login page
    assert (Job.objects.count(), queued) == (0, [])

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(run_url)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:bank_job_change", args=[job.pk])
    assert queued == [("customers.tasks.segment_customers_task", {"job_id": job.pk})]


# --- API -------------------------------------------------------------------------------------------------------

def _partner(*scopes: str) -> tuple[APIClient, object]:
    partner = PartnerFactory()
    _, secret = issue_partner_token(partner=partner, name="seg", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, partner


@pytest.mark.django_db
def test_the_customer_list_filters_by_segment_within_what_the_caller_may_see(population):
    segment_customers(seed=0)
    young, older = population["young spenders"][0], population["older savers"][0]
    other_young = population["young spenders"][1]  # no consent to this partner
    client, partner = _partner(PartnerScope.PROFILE_READ)
    for customer in (young, older):
        PartnerConsentFactory(customer=customer, partner=partner)
    code = Customer.objects.get(pk=young.pk).segment.code

    everyone = client.get("/api/v1/customers/")
    one_segment = client.get("/api/v1/customers/", {"segment": code})

    assert everyone.status_code == 200 and everyone.json()["count"] == 2
    young.refresh_from_db()
    assert one_segment.json()["results"] == [{
        "id": str(young.public_id), "full_name": young.full_name, "city": "Shanghai",
        "life_stage": "young_professional", "kyc_status": "verified", "risk_tolerance": 3,
        "segment": {"code": code, "name_en": young.segment.name_en, "name_zh": young.segment.name_zh},
    }]
    assert str(other_young.public_id) not in one_segment.content.decode()

    # A customer sees only themself, whatever the filter.
    own = APIClient()
    own.force_login(older.user)
    assert [row["id"] for row in own.get("/api/v1/customers/").json()["results"]] == [str(older.public_id)]
    assert own.get("/api/v1/customers/", {"segment": code}).json()["count"] == 0


@pytest.mark.django_db
def test_the_customer_list_refuses_unknown_segments_missing_scopes_and_anonymous_callers(population):
    segment_customers(seed=0)
    client, _ = _partner(PartnerScope.PROFILE_READ)

    unknown = client.get("/api/v1/customers/", {"segment": "S99"})
    assert unknown.status_code == 400
    assert unknown.json() == {"error": {
        "code": "invalid_parameter", "message": "segment: No segment with this code.",
        "details": {"segment": ["No segment with this code."]},
    }}

    no_scope, _ = _partner(PartnerScope.PRODUCTS_READ)
    denied = no_scope.get("/api/v1/customers/")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_scope"
    assert APIClient().get("/api/v1/customers/").status_code in (401, 403)


def test_segmentation_is_scheduled_weekly():
    from django_q.models import Schedule

    from bank.schedules import SCHEDULES

    [entry] = [s for s in SCHEDULES if s.func == "customers.tasks.segment_customers_task"]
    assert (entry.name, entry.schedule_type, entry.cluster) == ("Re-segment customers", Schedule.WEEKLY, None)
