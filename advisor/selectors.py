"""Reads for staff: how recommendations performed (CTR and conversion over time, per model and per segment)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.models import Customer, InteractionEvent, LifeStage, ProductInteraction

HISTORY = "history (no model)"


@dataclass
class Engagement:
    """Counts for one group (a model version or a segment) by day, and the rates they give."""

    label: str
    days: list[date]
    impressions: list[int] = field(default_factory=list)
    clicks: list[int] = field(default_factory=list)
    purchases: list[int] = field(default_factory=list)

    @property
    def total_impressions(self) -> int:
        return sum(self.impressions)

    @property
    def ctr(self) -> float | None:
        return sum(self.clicks) / self.total_impressions if self.total_impressions else None

    @property
    def conversion(self) -> float | None:
        return sum(self.purchases) / self.total_impressions if self.total_impressions else None

    def daily_ctr(self) -> list[float | None]:
        return [c / i if i else None for c, i in zip(self.clicks, self.impressions, strict=True)]


def engagement(*, customers: QuerySet[Customer] | None = None, days: int = 30, by: str = "model") -> list[Engagement]:
    """Impressions, clicks and purchases per day over the last `days`, grouped `by` "model" or "segment".

    `customers` (a queryset) limits the figures to the customers a staff member may see.
    """
    if by not in ("model", "segment"):
        raise ValueError("by must be 'model' or 'segment'.")
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    calendar = [start + timedelta(days=n) for n in range(days)]
    rows = ProductInteraction.objects.filter(timestamp__date__gte=start)
    if customers is not None:
        rows = rows.filter(customer__in=customers)
    key = F("model_version__name") if by == "model" else F("customer__life_stage")
    counted = (
        rows.annotate(day=TruncDate("timestamp"), group=key, group_version=F("model_version__version"))
        .values("day", "group", "group_version")
        .annotate(
            impressions=Count("id", filter=Q(event=InteractionEvent.IMPRESSION)),
            clicks=Count("id", filter=Q(event=InteractionEvent.CLICK)),
            purchases=Count("id", filter=Q(event=InteractionEvent.PURCHASE)),
        )
    )
    groups: dict[str, dict[date, tuple[int, int, int]]] = {}
    for row in counted:
        label = _label(by, row["group"], row["group_version"])
        totals = groups.setdefault(label, {}).get(row["day"], (0, 0, 0))
        groups[label][row["day"]] = (
            totals[0] + row["impressions"], totals[1] + row["clicks"], totals[2] + row["purchases"]
        )
    result = []
    for label in sorted(groups):
        series = Engagement(label=label, days=calendar)
        for day in calendar:
            impressions, clicks, purchases = groups[label].get(day, (0, 0, 0))
            series.impressions.append(impressions)
            series.clicks.append(clicks)
            series.purchases.append(purchases)
        result.append(series)
    return result


def _label(by: str, group: str | None, version: int | None) -> str:
    if by == "model":
        return HISTORY if group is None else f"{group}@v{version}"
    return str(LifeStage(group).label) if group in LifeStage.values else "unknown"
