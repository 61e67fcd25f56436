"""django-q2 entry points for customer data. They take ids and call services that are safe to rerun."""

from __future__ import annotations

from customers.services import compute_profiles


def compute_profiles_task(customer_ids: list[int] | None = None) -> int:
    """Recompute today's profile snapshots (all consenting customers when `customer_ids` is None).

    Rerunning replaces the same day's snapshots, so a redelivered task does no harm.
    """
    return compute_profiles(customer_ids=customer_ids)


def segment_customers_task(job_id: int | None = None, seed: int = 0) -> int:
    """Re-segment every consenting customer (weekly, or on demand from the admin); returns the run's id.

    Followed as a bank Job. Safe to redeliver: a Job that already finished is not run again, and a rerun on
    unchanged profiles finds the same segments under the same codes (a new run row, no membership changes).
    """
    from bank.jobs import Progress, run_job
    from customers.segmentation import segment_customers

    def work(progress: Progress) -> dict[str, object]:
        # A scheduled run has no job_id until run_job creates its Job; the progress writer knows it.
        run = segment_customers(seed=seed, progress=progress, job_id=getattr(progress, "job_id", job_id))
        return {"run_id": run.pk, "k": run.k, "silhouette": run.silhouette, "customers": run.customers,
                "matched": run.matched, "created": run.created, "retired": run.retired, "seconds": run.seconds}

    job = run_job(job_id, kind="Segment customers", task="customers.tasks.segment_customers_task", work=work)
    return int(job.result.get("run_id", 0))
