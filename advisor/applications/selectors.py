"""Reads of applications for staff: the referred queue and the funnel, over the customers a staff member sees."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from advisor.applications.models import Application, ApplicationEvent, ApplicationState
from customers.models import Customer

S = ApplicationState
STAGES = ("applied", "decided", "approved", "activated")
SIDE_STAGES = ("declined", "referred", "withdrawn", "expired")
# step name -> (from event's to_state, to event's to_states)
STEPS = {
    "decision": (S.SUBMITTED, (S.APPROVED, S.DECLINED, S.REFERRED)),
    "staff review": (S.REFERRED, (S.APPROVED, S.DECLINED)),
    "take-up": (S.APPROVED, (S.ACTIVATED,)),
}


@dataclass
class StepTime:
    name: str
    count: int = 0
    median_seconds: float | None = None
    p90_seconds: float | None = None


@dataclass
class Funnel:
    since: datetime
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # product type ("all" too) -> stage -> n
    steps: list[StepTime] = field(default_factory=list)


def referred_queue(*, customers: QuerySet[Customer]) -> QuerySet[Application]:
    """Referred applications, the most urgent (earliest SLA due) first."""
    return (Application.objects.filter(state=S.REFERRED, customer__in=customers)
            .select_related("customer", "product").order_by("sla_due_at", "created_at"))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def funnel(*, customers: QuerySet[Customer], days: int = 90, now: datetime | None = None) -> Funnel:
    """Applications made in the last `days`: how many reached each stage (ever, from the event trail), by product
    type, and the median and 90th percentile time of each step."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    apps = dict(Application.objects.filter(customer__in=customers, created_at__gte=since)
                .values_list("pk", "product__type"))
    reached: dict[int, dict[str, datetime]] = defaultdict(dict)
    for app_id, to_state, at in (ApplicationEvent.objects.filter(application_id__in=list(apps))
                                 .order_by("at", "id").values_list("application_id", "to_state", "at")):
        reached[app_id].setdefault(to_state, at)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAGES + SIDE_STAGES, 0))
    durations: dict[str, list[float]] = defaultdict(list)
    for app_id, product_type in apps.items():
        states = reached.get(app_id, {})
        stages = {"applied"}
        if states.keys() & {S.APPROVED, S.DECLINED, S.REFERRED}:
            stages.add("decided")
        stages |= {name for name in ("approved", "activated", *SIDE_STAGES) if name in states}
        for group in (product_type, "all"):
            for stage in stages:
                counts[group][stage] += 1
        for step, (start, ends) in STEPS.items():
            if start in states:
                end = min((states[e] for e in ends if e in states and states[e] >= states[start]), default=None)
                if end is not None:
                    durations[step].append((end - states[start]).total_seconds())
    steps = []
    for step in STEPS:
        values = durations.get(step, [])
        steps.append(StepTime(step, len(values), statistics.median(values) if values else None,
                              _quantile(values, 0.9) if values else None))
    ordered = {"all": counts["all"], **{k: v for k, v in sorted(counts.items()) if k != "all"}} if apps else {}
    return Funnel(since=since, counts=ordered, steps=steps)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def as_rows(result: Funnel) -> list[dict[str, Any]]:
    return [{"group": group, **stages} for group, stages in result.counts.items()]
