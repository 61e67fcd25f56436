"""The overall customer risk grade: credit (the latest PD), behaviour (warning signs in the scored features) and
monitoring (recent alerts and case outcomes), as 0–100 points and a letter A–E.

Points: credit min(50, 250 × PD); behaviour 5 for each of late fees, short-term borrowing, card cash advances
and spending above income (at most 20); monitoring 2 / 5 / 10 / 20 per low / medium / high / critical alert of
the last 90 days (at most 30), or 30 when a case in the last 180 days ended as fraud or a suspicious-activity
report. Grades: A < 15, B < 30, C < 45, D < 60, E otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from risk.models import Alert, Case, CreditScore, CustomerRiskGrade

GRADE_EDGES = [(15, "A"), (30, "B"), (45, "C"), (60, "D")]
ALERT_POINTS = {1: 2, 2: 5, 3: 10, 4: 20}
BEHAVIOUR_SIGNS = {
    "late_fees": ("late or missed payments", "有逾期或漏缴还款"),
    "short_term_loans": ("borrowing from short-term lenders", "向短期借贷机构借款"),
    "card_cash_advances": ("cash advances on the card", "信用卡预借现金"),
}


@dataclass(frozen=True)
class GradeParts:
    grade: str
    points: int
    components: dict[str, Any]
    reasons_en: list[str]
    reasons_zh: list[str]
    credit_score_id: int | None


def grade_of(points: int) -> str:
    return next((letter for edge, letter in GRADE_EDGES if points < edge), "E")


def compute_grades(customer_ids: list[int]) -> dict[int, GradeParts]:
    """The grade of each customer, from three small queries for the whole list."""
    now = timezone.now()
    latest = {
        s.customer_id: s
        for s in CreditScore.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", "-created_at", "-id").distinct("customer_id")
        .only("id", "customer_id", "pd", "features")
    }
    alerts: dict[int, dict[int, int]] = {}
    for row in (Alert.objects.filter(customer_id__in=customer_ids, created_at__gte=now - timedelta(days=90))
                .exclude(label=Alert.Label.FALSE_POSITIVE)
                .values("customer_id", "severity").annotate(n=Count("id"))):
        alerts.setdefault(row["customer_id"], {})[row["severity"]] = row["n"]
    serious = set(Case.objects.filter(
        customer_id__in=customer_ids, status=Case.Status.CLOSED, closed_at__gte=now - timedelta(days=180),
        outcome__in=[Case.Outcome.FRAUD_CONFIRMED, Case.Outcome.SUSPICIOUS_REPORTED],
    ).values_list("customer_id", flat=True))
    out = {}
    for cid in customer_ids:
        en: list[str] = []
        zh: list[str] = []
        score = latest.get(cid)
        credit = min(50, round(250 * score.pd)) if score is not None else 0
        if score is not None and credit >= 15:
            en.append(f"probability of default {score.pd:.0%}")
            zh.append(f"违约概率{score.pd:.0%}")
        features = score.features if score is not None else {}
        behaviour = 0
        for name, (sign_en, sign_zh) in BEHAVIOUR_SIGNS.items():
            if (features.get(name) or 0) > 0:
                behaviour += 5
                en.append(sign_en)
                zh.append(sign_zh)
        if (features.get("spend_to_income") or 0) > 1:
            behaviour += 5
            en.append("spending above income")
            zh.append("支出高于收入")
        by_severity = alerts.get(cid, {})
        monitoring = min(30, sum(ALERT_POINTS.get(sev, 0) * n for sev, n in by_severity.items()))
        if by_severity:
            en.append(f"{sum(by_severity.values())} monitoring alert(s) in 90 days")
            zh.append(f"90天内{sum(by_severity.values())}条监控预警")
        if cid in serious:
            monitoring = 30
            en.append("a confirmed case in the last 180 days")
            zh.append("近180天内有已确认的案件")
        points = min(100, credit + min(20, behaviour) + monitoring)
        out[cid] = GradeParts(
            grade=grade_of(points), points=points,
            components={"credit": credit, "behaviour": min(20, behaviour), "monitoring": monitoring,
                        "pd": score.pd if score is not None else None},
            reasons_en=en, reasons_zh=zh, credit_score_id=score.pk if score is not None else None,
        )
    return out


def refresh_risk_grades(*, customer_ids: list[int]) -> int:
    """Recompute and store the grades of `customer_ids` (one upsert for all). Returns how many."""
    if not customer_ids:
        return 0
    grades = compute_grades(list(dict.fromkeys(customer_ids)))
    CustomerRiskGrade.objects.bulk_create(
        [CustomerRiskGrade(customer_id=cid, grade=g.grade, points=g.points, components=g.components,
                           reasons_en=g.reasons_en, reasons_zh=g.reasons_zh, credit_score_id=g.credit_score_id)
         for cid, g in grades.items()],
        update_conflicts=True, unique_fields=["customer"],
        update_fields=["grade", "points", "components", "reasons_en", "reasons_zh", "credit_score", "computed_at"],
    )
    return len(grades)
