"""django-q2 entry points for customer data. They take ids and call services that are safe to rerun."""

from __future__ import annotations

from customers.services import compute_profiles


def compute_profiles_task(customer_ids: list[int] | None = None, job_id: int | None = None) -> int:
    """Recompute today's profile snapshots: of `customer_ids` at once, in this process, or of every consenting
    customer as a Job split into parts of NIGHTLY_PART_SIZE customers (`compute_profiles_part_task`) that the
    cluster's workers share -- one task for the whole bank would meet the cluster's five-minute timeout at a few
    tens of thousands of customers (~100 profiles a second on a core, each summary embedded). Returns how many
    customers it covers.

    Rerunning replaces the same day's snapshots, so a redelivered task does no harm.
    """
    if customer_ids is not None:
        return compute_profiles(customer_ids=customer_ids)
    from django.conf import settings

    from bank.jobs import fan_out, id_range_parts
    from customers.models import Customer

    parts = id_range_parts(Customer.objects.filter(consent_profiling=True), settings.NIGHTLY_PART_SIZE)
    job = fan_out(kind="Recompute customer profiles", task="customers.tasks.compute_profiles_task",
                  part_task="customers.tasks.compute_profiles_part_task", parts=parts, job_id=job_id)
    return int(job.total or 0)


def compute_profiles_part_task(job_id: int, part: str, size: int, first_id: int, last_id: int) -> dict[str, int]:
    """One part of the profiles' recomputation: the consenting customers with ids first_id..last_id."""
    from bank.jobs import run_part
    from customers.models import Customer

    def work() -> dict[str, int]:
        ids = Customer.objects.filter(pk__gte=first_id, pk__lte=last_id).values_list("pk", flat=True)
        return {"profiles": compute_profiles(customer_ids=list(ids))}

    return run_part(job_id, key=part, size=size, work=work)


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
