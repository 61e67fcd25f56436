"""django-q2 entry points for customer data. They take ids and call services that are safe to rerun."""

from __future__ import annotations

from customers.services import compute_profiles


def compute_profiles_task(customer_ids: list[int] | None = None) -> int:
    """Recompute today's profile snapshots (all consenting customers when `customer_ids` is None).

    Rerunning replaces the same day's snapshots, so a redelivered task does no harm.
    """
    return compute_profiles(customer_ids=customer_ids)
