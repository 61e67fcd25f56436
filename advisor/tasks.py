"""django-q2 entry points of the advisor. They take ids and call services that are safe to rerun."""

from __future__ import annotations

from advisor.models import Channel


def train_recommender_task() -> int:
    """Train, evaluate and register a new recommender version; returns its version number.

    Safe to rerun: each run registers a new version and activates it only by the rule in
    `advisor.ml.training` (a redelivered task costs a training run, never a wrong activation).
    """
    from advisor.ml.training import train_recommender_task as train

    return train()


def recommend_all_task(customer_ids: list[int] | None = None, *, k: int = 10) -> int:
    """Refresh the stored recommendations of every customer who consented to profiling (or of `customer_ids`).

    Each customer gets a new batch set through the same service as the API, gate included. Rerunning adds a
    newer set per customer, which is what the portal then shows; nothing is half-written (one transaction per
    customer).
    """
    from advisor.services import NoActiveRecommender, recommend_products
    from customers.models import Customer

    customers = Customer.objects.filter(consent_profiling=True).order_by("id")
    if customer_ids is not None:
        customers = customers.filter(id__in=customer_ids)
    done = 0
    for customer in customers.iterator(chunk_size=500):
        try:
            recommend_products(customer=customer, k=k, channel=Channel.BATCH)
        except NoActiveRecommender:
            return done
        done += 1
    return done
