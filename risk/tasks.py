"""django-q2 entry points of the risk app. They take ids (or nothing), call a service, and are safe to rerun."""

from __future__ import annotations

from typing import Any

from bank.jobs import Progress, run_job, run_part


def train_credit_task(job_id: int | None = None) -> int:
    """Train, cross-validate and register a `risk.credit` version (activated only when none is active); then, if
    it was activated, queue the rescoring of every customer as a Job of parts (`score_customers_task`) that the ML
    workers share. Returns the ModelVersion id. Followed as a bank Job."""
    from bank.registry import quality_failures
    from risk.ml.training import train_credit_model

    def work(progress: Progress) -> dict[str, Any]:
        result = train_credit_model(progress=progress)
        queued = score_customers_task() if result.activated else 0
        return {"version": result.version.label, "version_id": result.version.pk, "activated": result.activated,
                "seconds": result.seconds, "auc_gbm": result.metrics["auc_gbm"],
                "auc_scorecard": result.metrics["auc_scorecard"], "customers_queued_for_scoring": queued,
                "below_quality_floor": quality_failures(result.version)}

    job = run_job(job_id, kind="Train risk.credit", task="risk.tasks.train_credit_task", work=work)
    return int(job.result.get("version_id", 0))


def train_anomaly_task(job_id: int | None = None) -> int:
    from risk.ml.training import train_anomaly_model

    def work(progress: Progress) -> dict[str, Any]:
        result = train_anomaly_model(progress=progress)
        return {"version": result.version.label, "version_id": result.version.pk, "activated": result.activated,
                "seconds": result.seconds}

    job = run_job(job_id, kind="Train risk.anomaly", task="risk.tasks.train_anomaly_task", work=work)
    return int(job.result.get("version_id", 0))


def score_customers_task(customer_ids: list[int] | None = None, job_id: int | None = None) -> int:
    """Rescore customers with the active credit model: `customer_ids` at once, in this process, or every customer
    as a Job split into parts of NIGHTLY_PART_SIZE customers (`score_customers_part_task`) that the ML workers
    share. Returns how many customers it covers; 0 when no credit model is active."""
    from django.conf import settings

    from bank.jobs import fan_out, id_range_parts
    from customers.models import Customer
    from risk.ml.scoring import active_credit_model
    from risk.services.credit import NoActiveCreditModel, score_customers

    if customer_ids is not None:
        try:
            return len(score_customers(customer_ids=customer_ids))
        except NoActiveCreditModel:
            return 0
    if active_credit_model() is None:
        return 0
    parts = id_range_parts(Customer.objects.all(), settings.NIGHTLY_PART_SIZE)
    job = fan_out(kind="Rescore customers' credit risk", task="risk.tasks.score_customers_task",
                  part_task="risk.tasks.score_customers_part_task", parts=parts, job_id=job_id, ml=True)
    return int(job.total or 0)


def score_customers_part_task(job_id: int, part: str, size: int, first_id: int, last_id: int) -> dict[str, Any]:
    """One part of the credit rescoring: the customers with ids first_id..last_id."""
    from customers.models import Customer
    from risk.services.credit import NoActiveCreditModel, score_customers

    def work() -> dict[str, Any]:
        ids = list(Customer.objects.filter(pk__gte=first_id, pk__lte=last_id).order_by("pk")
                   .values_list("pk", flat=True))
        try:
            return {"customers": len(score_customers(customer_ids=ids))}
        except NoActiveCreditModel:  # deactivated since the parts were queued
            return {"customers": 0, "skipped": "no active credit model"}

    return run_part(job_id, key=part, size=size, work=work)


def monitor_transactions_task() -> dict[str, int]:
    """Monitor the transactions posted since the last run (the cursor makes a rerun pick up where it stopped)."""
    from risk.services.monitoring import monitor_new_transactions

    return monitor_new_transactions()


def credit_drift_task(queue_retrain: bool = True) -> float:
    """Measure drift of the active credit model; above the threshold, alert and queue a challenger retrain."""
    from risk.services.credit import NoActiveCreditModel
    from risk.services.drift import compute_credit_drift

    try:
        return compute_credit_drift(queue_retrain=queue_retrain).score_psi
    except (NoActiveCreditModel, ValueError):
        return -1.0


def purge_ingestion_keys_task() -> int:
    """Scheduled hourly (bank.schedules): delete the transaction-ingestion Idempotency-Key records older than
    settings.IDEMPOTENCY_KEY_RETENTION_DAYS. Returns how many."""
    from risk.services.monitoring import purge_old_ingestion_records

    return purge_old_ingestion_records()
