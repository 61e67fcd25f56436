"""django-q2 entry points of the advisor. They take ids and call services that are safe to rerun."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import QuerySet

from advisor.models import Channel
from bank.jobs import Progress, fan_out, id_range_parts, run_job, run_part

if TYPE_CHECKING:
    from customers.models import Customer


def train_recommender_task(job_id: int | None = None) -> int:
    """Train, evaluate and register a new recommender version; returns its ModelVersion id.

    Followed as a bank Job (progress in the admin). Safe to rerun: each run registers a new version and
    activates it only by the rule in `advisor.ml.training` (a redelivered task costs a training run, never a
    wrong activation); a Job that already finished is not run again.
    """
    from advisor.ml.training import train_recommender
    from bank.registry import quality_failures

    def work(progress: Progress) -> dict[str, object]:
        result = train_recommender(progress=progress)
        hybrid = result.report.models.get("hybrid", {}) if result.report else {}
        return {
            "version": result.version.label, "version_id": result.version.pk, "activated": result.activated,
            "seconds": result.seconds, **({"ndcg@10": round(hybrid["ndcg@k"], 4)} if "ndcg@k" in hybrid else {}),
            "below_quality_floor": quality_failures(result.version),
        }

    job = run_job(job_id, kind="Train advisor.recommender", task="advisor.tasks.train_recommender_task", work=work)
    return int(job.result.get("version_id", 0))


def recommend_all_task(customer_ids: list[int] | None = None, *, k: int = 10, job_id: int | None = None) -> int:
    """Refresh the stored recommendations of every customer who consented to profiling (or of `customer_ids`,
    at once, in this process); returns how many customers it covers.

    Each customer gets a new batch set through the same service as the API, gate included; rerunning adds a newer
    set per customer, which is what the portal then shows, and nothing is half-written (one transaction per
    customer). The whole bank is a Job split into parts of NIGHTLY_PART_SIZE customers by id range
    (`recommend_part_task`), queued on the ML cluster: every worker of every ML cluster takes parts, so the
    refresh scales with the workers, and no single task runs long enough to meet the cluster's timeout (one task
    for a million customers would run for hours).
    """
    from customers.models import Customer

    customers = Customer.objects.filter(consent_profiling=True)
    if customer_ids is not None:
        return int(_recommend_customers(customers.filter(id__in=customer_ids), k=k)["customers"])
    parts = id_range_parts(customers, settings.NIGHTLY_PART_SIZE)
    job = fan_out(kind="Refresh recommendations", task="advisor.tasks.recommend_all_task",
                  part_task="advisor.tasks.recommend_part_task", parts=parts, job_id=job_id, ml=True, k=k)
    return int(job.total or 0)


def recommend_part_task(job_id: int, part: str, size: int, first_id: int, last_id: int, k: int = 10) -> dict[str, Any]:
    """One part of the refresh: the consenting customers with ids first_id..last_id (counted as `size`)."""
    from customers.models import Customer

    customers = Customer.objects.filter(consent_profiling=True, id__gte=first_id, id__lte=last_id)
    return run_part(job_id, key=part, size=size, work=lambda: _recommend_customers(customers, k=k))


def _recommend_customers(customers: QuerySet[Customer], *, k: int) -> dict[str, Any]:
    from advisor.services import NoActiveRecommender, recommend_products

    done = 0
    for customer in customers.order_by("id").iterator(chunk_size=500):
        try:
            recommend_products(customer=customer, k=k, channel=Channel.BATCH)
        except NoActiveRecommender:
            return {"customers": done, "skipped": "no active recommender"}
        done += 1
    return {"customers": done}


def score_recommendations_task(job_id: int | None = None, *, k: int = 10, chunk: int | None = None) -> int:
    """Batch-score every consenting customer's top-k suitable products (`advisor.batch`); returns rows stored.

    Followed as a bank Job. Safe to rerun: a run replaces the stored results whole, in one swap, and a failed
    or killed run leaves the previous results in place; two runs never overlap (the second fails at once).
    """
    from advisor.batch import DEFAULT_CHUNK, score_recommendations
    from advisor.ml.scoring import RecommenderUnavailable

    def work(progress: Progress) -> dict[str, object]:
        try:
            run = score_recommendations(k=k, chunk=chunk or DEFAULT_CHUNK, progress=progress)
        except RecommenderUnavailable as exc:
            return {"rows": 0, "skipped": str(exc)}
        return run.summary()

    job = run_job(job_id, kind="Batch-score advisor.recommender", task="advisor.tasks.score_recommendations_task",
                  work=work)
    return int(job.result.get("rows", 0))


def review_portfolios_task(job_id: int | None = None, customer_ids: list[int] | None = None) -> int:
    """The periodic portfolio review: value every investor's holdings and open, update or resolve their alerts
    (drift, drawdown, concentration, an expired risk profile). One transaction per chunk of REVIEW_CHUNK customers,
    read and written set-based; rerunning the same day replaces that day's valuation and updates alerts in place.
    Returns how many customers it covers.

    `customer_ids` are reviewed at once, in this process. The whole bank is a Job split into parts of
    NIGHTLY_PART_SIZE investors by id range (`review_portfolios_part_task`) that the default cluster's workers
    share: when a review cost 18 round trips a customer (20-45 customers a second), one task for the bank met the
    cluster's five-minute timeout at ~6,000 investors and was then retried, and killed, every day.
    """
    from advisor.investing.services import customers_to_review

    if customer_ids is not None:
        return int(_review_portfolios(customers_to_review().filter(id__in=customer_ids))["customers"])
    parts = id_range_parts(customers_to_review(), settings.NIGHTLY_PART_SIZE)
    job = fan_out(kind="Review portfolios", task="advisor.tasks.review_portfolios_task",
                  part_task="advisor.tasks.review_portfolios_part_task", parts=parts, job_id=job_id)
    return int(job.total or 0)


def review_portfolios_part_task(job_id: int, part: str, size: int, first_id: int, last_id: int) -> dict[str, Any]:
    """One part of the review: the investors with ids first_id..last_id (counted as `size`)."""
    from advisor.investing.services import customers_to_review

    customers = customers_to_review().filter(id__gte=first_id, id__lte=last_id)
    return run_part(job_id, key=part, size=size, work=lambda: _review_portfolios(customers))


REVIEW_CHUNK = 500


def _review_portfolios(customers: QuerySet[Customer]) -> dict[str, Any]:
    """Review `customers` REVIEW_CHUNK at a time, each chunk a handful of set-based queries in one transaction."""
    from advisor.investing.services import review_portfolios

    ids = list(customers.order_by("id").values_list("id", flat=True))
    reviewed = open_alerts = 0
    for start in range(0, len(ids), REVIEW_CHUNK):
        kinds = review_portfolios(ids[start : start + REVIEW_CHUNK])
        reviewed += len(kinds)
        open_alerts += sum(map(len, kinds.values()))
    return {"customers": reviewed, "open_alerts": open_alerts}
