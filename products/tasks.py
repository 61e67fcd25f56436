"""django-q2 entry points for the catalogue. They take ids and call services that are safe to rerun."""

from __future__ import annotations

from products.services import embed_products, refresh_search_documents


def embed_products_task(product_ids: list[int] | None = None) -> int:
    """Refresh the full-text documents and embed what changed (all products when `product_ids` is None).

    Queue it on the ML cluster (`bank.tasks.enqueue(embed_products_task, ids, ml=True)`): the first call in
    a worker loads two models. A redelivered or repeated task re-embeds nothing that is up to date.
    """
    refresh_search_documents(product_ids=product_ids)
    return embed_products(product_ids=product_ids)
