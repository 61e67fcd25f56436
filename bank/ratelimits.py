"""Fixed-window request counters in PostgreSQL, the one way the platform counts requests for a rate limit.

A rate limit is a security control, so the count must be exact under concurrency: DRF's own throttles read a
history from the cache, decide, then write it back, and two requests arriving together both pass (DRF issue
#8127). Here one statement increments and returns the count — `INSERT … ON CONFLICT DO UPDATE … RETURNING` takes
the row lock, so N concurrent requests see N distinct counts and exactly `limit` of them are allowed.

Fixed windows (not sliding) keep it to one row per client and window; the price is that a client may send up to
twice the limit across a window boundary, which is acceptable for abuse protection and documented in settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from bank.models import RateLimitWindow


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # whole seconds until the window ends (0 when allowed)


def window_start(*, now: datetime, window_seconds: int) -> datetime:
    """The start of the fixed window `now` falls in (windows are aligned to the Unix epoch, in UTC)."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=timezone.get_fixed_timezone(0))


def hit(*, key: str, limit: int, window_seconds: int, now: datetime | None = None) -> RateDecision:
    """Count one request for `key` in the current window and say whether it is within `limit`.

    Runs in autocommit (or the caller's transaction): the statement itself is atomic, so it needs no lock of
    its own. Denied requests are counted too, which keeps the statement single and does not change who passes."""
    now = now or timezone.now()
    start = window_start(now=now, window_seconds=window_seconds)
    table = RateLimitWindow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, 1)
            ON CONFLICT (key, window_start) DO UPDATE SET count = {table}.count + 1
            RETURNING count
            """,  # nosec B608  # table name from the model; values bound
            [key, start],
        )
        (count,) = cursor.fetchone()
    if count <= limit:
        return RateDecision(allowed=True, count=count, limit=limit, retry_after=0)
    ends = start + timedelta(seconds=window_seconds)
    retry_after = max(1, math.ceil((ends - now).total_seconds()))
    return RateDecision(allowed=False, count=count, limit=limit, retry_after=retry_after)


def purge_expired_windows(*, older_than_seconds: int, now: datetime | None = None) -> int:
    """Delete the counters of windows that started more than `older_than_seconds` ago; returns how many."""
    now = now or timezone.now()
    deleted, _ = RateLimitWindow.objects.filter(window_start__lt=now - timedelta(seconds=older_than_seconds)).delete()
    return deleted
