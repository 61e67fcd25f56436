"""Periodic work of the platform, registered as django-q2 schedules (idempotent).

Work over the whole bank runs at night, in the bank's time zone (settings.TIME_ZONE): a schedule registered for
the first time is due at its `at` time next, not at once -- a new deployment (or `make demo`, which has just done
all of it) would otherwise retrain the recommender and recompute every profile in its first minutes. Daily work
is ordered so that what reads the profiles runs after them; weekly work runs on Sunday nights. Light periodic work
(every few minutes) starts at once. A schedule that already exists keeps its next run: an operator may have moved
it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import NamedTuple

from django.utils import timezone
from django_q.models import Schedule

SUNDAY = 6


class Scheduled(NamedTuple):
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None
    cluster: str | None = None
    at: time | None = None  # daily and weekly work: the bank's local time of the first run (weekly: on a Sunday)


SCHEDULES = [
    Scheduled("Recompute customer profiles", "customers.tasks.compute_profiles_task", Schedule.DAILY, at=time(1, 0)),
    # Segments: weekly, after the profiles; unchanged data keeps every code and membership.
    Scheduled("Re-segment customers", "customers.tasks.segment_customers_task", Schedule.WEEKLY, at=time(2, 0)),
    Scheduled("Embed new or changed products", "products.tasks.embed_products_task", Schedule.MINUTES, 60),
    # Weekly, on the ML cluster: the new version is registered and activated only if it evaluates no worse.
    Scheduled("Retrain the recommender", "advisor.tasks.train_recommender_task", Schedule.WEEKLY, None, "ml",
              at=time(2, 30)),
    Scheduled("Refresh everyone's recommendations", "advisor.tasks.recommend_all_task", Schedule.DAILY, None, "ml",
              at=time(3, 0)),
    # Investments: value portfolios, raise drift, drawdown and concentration alerts.
    Scheduled("Review investment portfolios", "advisor.tasks.review_portfolios_task", Schedule.DAILY,
              at=time(1, 30)),
    # Risk: monitor what other systems posted (the API path judges its own at once), rescore credit daily,
    # measure drift daily (above the threshold: an alert and a challenger retrain, never auto-activated).
    Scheduled("Monitor new transactions", "risk.tasks.monitor_transactions_task", Schedule.MINUTES, 1),
    Scheduled("Rescore customers' credit risk", "risk.tasks.score_customers_task", Schedule.DAILY, None, "ml",
              at=time(1, 30)),
    Scheduled("Measure credit model drift", "risk.tasks.credit_drift_task", Schedule.DAILY, None, "ml",
              at=time(4, 0)),
    # Applications: approved offers not taken up in time expire (hourly, so the portal never shows a stale offer).
    Scheduled("Expire application offers", "advisor.applications.tasks.expire_offers_task", Schedule.MINUTES, 60),
    # Messages: deliver what waited out quiet hours and launch due campaigns; scan life-event triggers hourly.
    Scheduled("Send due messages and campaigns", "advisor.engagement.tasks.send_messages_task", Schedule.MINUTES, 5),
    Scheduled("Scan message triggers", "advisor.engagement.tasks.scan_triggers_task", Schedule.MINUTES, 60),
    # Idempotency-Key answers are kept IDEMPOTENCY_KEY_TTL_HOURS (24 h); expired ones are deleted hourly.
    Scheduled("Purge expired idempotency keys", "bank.tasks.purge_idempotency_keys_task", Schedule.MINUTES, 60),
    # Risk's own ingestion keys (the second line behind them) are kept IDEMPOTENCY_KEY_RETENTION_DAYS (7 days).
    Scheduled("Purge old transaction-ingestion keys", "risk.tasks.purge_ingestion_keys_task", Schedule.MINUTES, 60),
    # API rate limits: drop the counters of past windows (one row per client and minute while it is active).
    Scheduled("Purge API rate-limit counters", "bank.tasks.purge_rate_limit_windows_task", Schedule.MINUTES, 10),
]


def first_run(entry: Scheduled, *, now: datetime) -> datetime:
    """When a newly registered schedule is first due: the next `at` in the bank's time zone (for weekly work, the
    next one on a Sunday), or `now` for work without an `at`."""
    if entry.at is None:
        return now
    local = timezone.localtime(now)
    due = local.replace(hour=entry.at.hour, minute=entry.at.minute, second=0, microsecond=0)
    if entry.schedule_type == Schedule.WEEKLY:
        due += timedelta(days=(SUNDAY - due.weekday()) % 7)
    if due <= local:
        due += timedelta(weeks=1) if entry.schedule_type == Schedule.WEEKLY else timedelta(days=1)
    return due


def ensure_schedules(*, now: datetime | None = None) -> None:
    """Register every schedule, or bring an existing one's task, type and cluster up to date (its next run kept)."""
    now = now or timezone.now()
    for entry in SCHEDULES:
        Schedule.objects.update_or_create(
            name=entry.name,
            defaults={"func": entry.func, "schedule_type": entry.schedule_type, "minutes": entry.minutes,
                      "cluster": entry.cluster},
            create_defaults={"func": entry.func, "schedule_type": entry.schedule_type, "minutes": entry.minutes,
                             "cluster": entry.cluster, "next_run": first_run(entry, now=now)},
        )
