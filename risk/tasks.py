"""django-q2 entry points of the risk app. They take ids (or nothing), call a service, and are safe to rerun."""

from __future__ import annotations

from typing import Any

from bank.jobs import Progress, run_job


def train_credit_task(job_id: int | None = None) -> int:
    """Train, cross-validate and register a `risk.credit` version (activated only when none is active); then
    score every customer if it was activated. Returns the ModelVersion id. Followed as a bank Job."""
    from risk.ml.training import train_credit_model
    from risk.services.credit import score_customers

    def work(progress: Progress) -> dict[str, Any]:
        result = train_credit_model(progress=progress)
        scored = len(score_customers(progress=progress)) if result.activated else 0
        return {"version": result.version.label, "version_id": result.version.pk, "activated": result.activated,
                "seconds": result.seconds, "auc_gbm": result.metrics["auc_gbm"],
                "auc_scorecard": result.metrics["auc_scorecard"], "customers_scored": scored}

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


def score_customers_task(customer_ids: list[int] | None = None) -> int:
    """Rescore customers (all by default) with the active credit model; 0 when none is active."""
    from risk.services.credit import NoActiveCreditModel, score_customers

    try:
        return len(score_customers(customer_ids=customer_ids))
    except NoActiveCreditModel:
        return 0


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
