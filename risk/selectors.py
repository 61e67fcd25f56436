"""Reads of risk data, scoped like every other read of customer data (through customers.selectors).

`risk_grade_of(customer=…)` is what other apps (the advisor) call: it never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from customers.models import Customer
from customers.selectors import Actor, visible_customers
from risk.models import Alert, CreditScore, CustomerNotice, CustomerRiskGrade, DriftReport, Intervention


@dataclass(frozen=True)
class RiskGrade:
    grade: str  # A (lowest risk) … E; "" when nothing is known yet
    points: int
    pd: float | None
    components: dict[str, Any] = field(default_factory=dict)
    reasons_en: list[str] = field(default_factory=list)
    reasons_zh: list[str] = field(default_factory=list)
    computed_at: Any = None

    @property
    def known(self) -> bool:
        return bool(self.grade)


def risk_grade_of(*, customer: Customer) -> RiskGrade:
    """The customer's overall risk grade: the stored one, else computed now from what is there (not stored)."""
    from risk.services.grades import compute_grades

    stored = CustomerRiskGrade.objects.filter(customer=customer).first()
    if stored is not None:
        return RiskGrade(stored.grade, stored.points, stored.components.get("pd"), stored.components,
                         stored.reasons_en, stored.reasons_zh, stored.computed_at)
    parts = compute_grades([customer.pk])[customer.pk]
    if parts.credit_score_id is None and parts.points == 0:
        return RiskGrade("", 0, None)
    return RiskGrade(parts.grade, parts.points, parts.components.get("pd"), parts.components, parts.reasons_en,
                     parts.reasons_zh, timezone.now())


def latest_credit_score(*, customer: Customer) -> CreditScore | None:
    return CreditScore.objects.filter(customer=customer).select_related("model_version").order_by(
        "-created_at", "-id").first()


def active_interventions(*, customer: Customer) -> QuerySet[Intervention]:
    return Intervention.objects.filter(customer=customer, status=Intervention.Status.ACTIVE).select_related("account")


def alerts_visible_to(*, actor: Actor) -> QuerySet[Alert]:
    """Transaction alerts of the customers `actor` may see (a partner: its consenting customers only)."""
    return Alert.objects.filter(kind=Alert.Kind.TRANSACTION, customer__in=visible_customers(actor=actor).values("pk"))


def notices_of(*, customer: Customer) -> QuerySet[CustomerNotice]:
    return CustomerNotice.objects.filter(customer=customer).select_related("intervention")


def unread_notice_count(*, customer: Customer) -> int:
    return CustomerNotice.objects.filter(customer=customer, read_at__isnull=True).count()


def drift_history(*, model_version_id: int | None = None, limit: int = 60) -> list[DriftReport]:
    rows = DriftReport.objects.order_by("-computed_at")
    if model_version_id is not None:
        rows = rows.filter(model_version_id=model_version_id)
    return list(reversed(rows[:limit]))


def rule_performance(*, days: int = 90) -> dict[str, dict[str, int]]:
    """Per rule code: alerts in `days`, and how many cases confirmed or cleared them (the labels fed back)."""
    since = timezone.now() - timedelta(days=days)
    out: dict[str, dict[str, int]] = {}
    rows = (Alert.objects.filter(created_at__gte=since, kind=Alert.Kind.TRANSACTION)
            .values_list("rule_codes", "label"))
    for codes, label in rows.iterator(chunk_size=5000):
        for code in codes:
            stats = out.setdefault(code, {"alerts": 0, "true_positive": 0, "false_positive": 0})
            stats["alerts"] += 1
            if label:
                stats[label] += 1
    return out


def decisions_by_group(*, model_version_id: int) -> dict[str, list[dict[str, Any]]]:
    """Live approvals per age band and gender among the customers' latest scores of a version (fairness)."""
    from risk.ml.evaluation import AGE_BANDS

    latest = (CreditScore.objects.filter(model_version_id=model_version_id)
              .order_by("customer_id", "-created_at", "-id").distinct("customer_id").values("pk"))
    scores = CreditScore.objects.filter(pk__in=latest)
    today = timezone.localdate()
    out: dict[str, list[dict[str, Any]]] = {"age_band": [], "gender": []}
    for lo, hi, label in AGE_BANDS:
        born_after = _years_before(today, hi)
        born_on_or_before = _years_before(today, lo)
        row = scores.filter(customer__birth_date__gt=born_after, customer__birth_date__lte=born_on_or_before).aggregate(
            n=Count("pk"), approved=Count("pk", filter=Q(decision="approve")))
        out["age_band"].append({"group": label, **row})
    for code, label in (("F", "female"), ("M", "male"), ("X", "other")):
        row = scores.filter(customer__gender=code).aggregate(
            n=Count("pk"), approved=Count("pk", filter=Q(decision="approve")))
        out["gender"].append({"group": label, **row})
    return out


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)
