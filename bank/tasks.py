"""The one way to queue background work (django-q2).

Tasks are queued after the surrounding transaction commits (a worker must never look for rows that are
not there yet, nor run for a change that was rolled back), take ids rather than objects, and call a
service that is safe to run twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction


def enqueue(func: Callable[..., Any] | str, *args: Any, ml: bool = False, **kwargs: Any) -> None:
    """Queue `func(*args, **kwargs)` on commit; `ml=True` sends it to the ML cluster (long timeouts)."""
    from django_q.tasks import async_task

    options: dict[str, Any] = {}
    if ml:
        options["cluster"] = settings.ML_CLUSTER
    transaction.on_commit(lambda: async_task(func, *args, **kwargs, **options))


def purge_rate_limit_windows_task() -> int:
    """Delete API rate-limit counters of windows long past (periodic; safe to run twice)."""
    from bank.ratelimits import purge_expired_windows

    # Keep the window just ended too: a request may still be counting into it as the task runs.
    return purge_expired_windows(older_than_seconds=2 * settings.API_RATE_LIMIT_WINDOW_SECONDS)


def purge_idempotency_keys_task() -> int:
    """Scheduled hourly (bank.schedules): delete the Idempotency-Key records that have expired."""
    from bank.api.idempotency import purge_expired_keys

    return purge_expired_keys()
