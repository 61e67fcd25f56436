"""Deleting many old rows without one long transaction: the platform's purges (expired idempotency keys, old
ingestion records) go through `delete_in_batches`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def delete_in_batches(rows: QuerySet[Any], *, batch_size: int) -> int:
    """Delete `rows`, `batch_size` per statement; returns how many. Safe to run at any time and twice.

    One short DELETE … WHERE id IN (SELECT … LIMIT n) per batch, each committed on its own (in autocommit): a
    backlog (a purge that was off for a while) never holds its locks, or one long transaction, against the
    requests writing new rows meanwhile."""
    model = rows.model
    deleted = 0
    while True:
        count, _ = model.objects.filter(pk__in=rows.values("pk")[:batch_size]).delete()
        deleted += count
        if count < batch_size:
            return deleted
