"""Periodic work of the platform, registered as django-q2 schedules (idempotent)."""

from __future__ import annotations

from django_q.models import Schedule

SCHEDULES = [
    # (name, task, schedule type, minutes, cluster)
    ("Recompute customer profiles", "customers.tasks.compute_profiles_task", Schedule.DAILY, None, None),
    # Segments: weekly, after the profiles; unchanged data keeps every code and membership.
    ("Re-segment customers", "customers.tasks.segment_customers_task", Schedule.WEEKLY, None, None),
    ("Embed new or changed products", "products.tasks.embed_products_task", Schedule.MINUTES, 60, None),
    # Weekly, on the ML cluster: the new version is registered and activated only if it evaluates no worse.
    ("Retrain the recommender", "advisor.tasks.train_recommender_task", Schedule.WEEKLY, None, "ml"),
    ("Refresh everyone's recommendations", "advisor.tasks.recommend_all_task", Schedule.DAILY, None, "ml"),
    # Investments: value portfolios, raise drift, drawdown and concentration alerts.
    ("Review investment portfolios", "advisor.tasks.review_portfolios_task", Schedule.DAILY, None, None),
    # Risk: monitor what other systems posted (the API path judges its own at once), rescore credit daily,
    # measure drift daily (above the threshold: an alert and a challenger retrain, never auto-activated).
    ("Monitor new transactions", "risk.tasks.monitor_transactions_task", Schedule.MINUTES, 1, None),
    ("Rescore customers' credit risk", "risk.tasks.score_customers_task", Schedule.DAILY, None, "ml"),
    ("Measure credit model drift", "risk.tasks.credit_drift_task", Schedule.DAILY, None, "ml"),
    # Applications: approved offers not taken up in time expire (hourly, so the portal never shows a stale offer).
    ("Expire application offers", "advisor.applications.tasks.expire_offers_task", Schedule.MINUTES, 60, None),
    # Messages: deliver what waited out quiet hours and launch due campaigns; scan life-event triggers hourly.
    ("Send due messages and campaigns", "advisor.engagement.tasks.send_messages_task", Schedule.MINUTES, 5, None),
    ("Scan message triggers", "advisor.engagement.tasks.scan_triggers_task", Schedule.MINUTES, 60, None),
    # Idempotency-Key answers are kept IDEMPOTENCY_KEY_TTL_HOURS (24 h); expired ones are deleted hourly.
    ("Purge expired idempotency keys", "bank.tasks.purge_idempotency_keys_task", Schedule.MINUTES, 60, None),
    # Risk's own ingestion keys (the second line behind them) are kept IDEMPOTENCY_KEY_RETENTION_DAYS (7 days).
    ("Purge old transaction-ingestion keys", "risk.tasks.purge_ingestion_keys_task", Schedule.MINUTES, 60, None),
    # API rate limits: drop the counters of past windows (one row per client and minute while it is active).
    ("Purge API rate-limit counters", "bank.tasks.purge_rate_limit_windows_task", Schedule.MINUTES, 10, None),
]


def ensure_schedules() -> None:
    for name, func, schedule_type, minutes, cluster in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": schedule_type, "minutes": minutes, "cluster": cluster},
        )
