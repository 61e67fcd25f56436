"""Writes to the product catalogue's search index: the full-text document and the two embeddings."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import connection, transaction

from bank.embeddings import cjk_bigrams, multilingual_embedder, text_embedder
from products.models import Product

_UPDATE_BATCH = 500


def refresh_search_documents(*, product_ids: Iterable[int] | None = None) -> int:
    """Rebuild `search_document` for the given products (all when None); returns the rows updated.

    English: name (weight A) and description + tags (weight B) through the 'english' configuration.
    Chinese: Postgres has no Chinese parser, so name_zh (A) and description_zh (B) are indexed as character
    bigrams (built here, see `cjk_bigrams`) through the 'simple' configuration; `products.search` builds its
    Chinese queries from the same bigrams. One UPDATE statement, so the index never holds half a rebuild.
    """
    rows = Product.objects.all()
    if product_ids is not None:
        rows = rows.filter(pk__in=list(product_ids))
    ids: list[int] = []
    names: list[str] = []
    descriptions: list[str] = []
    for pk, name_zh, description_zh in rows.values_list("pk", "name_zh", "description_zh").iterator():
        ids.append(pk)
        names.append(" ".join(cjk_bigrams(name_zh)))
        descriptions.append(" ".join(cjk_bigrams(description_zh)))
    if not ids:
        return 0
    table = Product._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS p SET search_document =
                setweight(to_tsvector('english', coalesce(p.name_en, '')), 'A')
                || setweight(to_tsvector('english', coalesce(p.description_en, '') || ' '
                                         || array_to_string(p.tags, ' ')), 'B')
                || setweight(to_tsvector('simple', b.name_bigrams), 'A')
                || setweight(to_tsvector('simple', b.description_bigrams), 'B')
            FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS b(id, name_bigrams, description_bigrams)
            WHERE p.id = b.id
            """,  # nosec B608  # table name from the model; values are bound parameters
            [ids, names, descriptions],
        )
        return cursor.rowcount


def _text_hash(*, text: str, text_model_sha: str, text_ml: str, ml_model_sha: str) -> str:
    # The hash covers the model files as well as the text: a new model version re-embeds everything.
    digest = hashlib.sha256()
    for part in (text_model_sha, text, ml_model_sha, text_ml):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def embed_products(
    *, product_ids: Iterable[int] | None = None, force: bool = False, progress: bool = False
) -> int:
    """Embed products whose text or embedding models changed since they were last embedded.

    Writes `embedding` (configured text model, English text), `embedding_ml` (multilingual model, Chinese
    and English text), both ModelVersion FKs and `embedded_text_hash`. Idempotent and safe to retry: a
    product whose stored hash matches its current text and models is skipped, so a second run returns 0.
    `force` re-embeds regardless. Returns the number of products written.
    """
    text_model = text_embedder()
    ml_model = multilingual_embedder()
    text_version = text_model.model_version()
    ml_version = ml_model.model_version()

    rows = Product.objects.all().order_by("pk")
    if product_ids is not None:
        rows = rows.filter(pk__in=list(product_ids))
    stale: list[Product] = []
    for product in rows.only(
        "pk", "type", "name_en", "name_zh", "description_en", "description_zh", "embedded_text_hash"
    ).iterator():
        product.embedded_text_hash_new = _text_hash(  # type: ignore[attr-defined]
            text=product.embedding_text(),
            text_model_sha=text_version.sha256,
            text_ml=product.embedding_text_multilingual(),
            ml_model_sha=ml_version.sha256,
        )
        if force or product.embedded_text_hash != product.embedded_text_hash_new:  # type: ignore[attr-defined]
            stale.append(product)
    if not stale:
        return 0

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(stale), desc="Embedding products", unit="product")
    written = 0
    for start in range(0, len(stale), _UPDATE_BATCH):
        chunk = stale[start : start + _UPDATE_BATCH]
        # Models run outside the transaction: a write lock is never held while a model computes.
        vectors = text_model.embed_documents([p.embedding_text() for p in chunk])
        vectors_ml = ml_model.embed_documents([p.embedding_text_multilingual() for p in chunk])
        for product, vector, vector_ml in zip(chunk, vectors, vectors_ml, strict=True):
            product.embedding = vector
            product.embedding_model = text_version
            product.embedding_ml = vector_ml
            product.embedding_ml_model = ml_version
            product.embedded_text_hash = product.embedded_text_hash_new  # type: ignore[attr-defined]
        with transaction.atomic():
            Product.objects.bulk_update(
                chunk,
                ["embedding", "embedding_model", "embedding_ml", "embedding_ml_model", "embedded_text_hash"],
            )
        written += len(chunk)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return written
