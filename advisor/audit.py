"""An independent audit of stored recommendations against the suitability and eligibility rules.

The gate (`advisor.suitability`) is vectorised numpy inside the request path; this audit restates the same
rules as one SQL query over what was stored, so the two implementations check each other: a bug in the gate
shows up here as a violation, not as a silent agreement with itself.

What it checks, for every stored item of the sets in scope, with the facts as they are *now* (balances,
KYC, risk tolerance; run it right after a batch for an exact answer): product risk above the customer's
tolerance, age outside the product's bounds on the day of the set, declared income below the minimum, KYC
required but not verified, residency not allowed, a one-per-customer product already held before the day of
the set, and a funded product whose minimum exceeds the customer's current and savings balances.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from advisor.suitability import FUNDED_TYPES, LIQUID_ACCOUNTS

_AUDIT_SQL = """
WITH items AS (
    SELECT r.id, r.customer_id, r.product_id, s.created_at
    FROM advisor_recommendation r JOIN advisor_recommendationset s ON s.id = r.recommendation_set_id
    WHERE (%(since)s::timestamptz IS NULL OR s.created_at >= %(since)s::timestamptz)
), facts AS (
    SELECT i.id AS item_id, i.customer_id, i.product_id,
           p.risk_level > c.risk_tolerance AS risk_above_tolerance,
           date_part('year', age((i.created_at AT TIME ZONE %(tz)s)::date, c.birth_date)) < p.min_age
               AS below_min_age,
           p.max_age IS NOT NULL
               AND date_part('year', age((i.created_at AT TIME ZONE %(tz)s)::date, c.birth_date)) > p.max_age
               AS above_max_age,
           c.declared_annual_income < p.min_annual_income AS income_below_minimum,
           p.kyc_required AND c.kyc_status <> 'verified' AS kyc_not_verified,
           cardinality(p.residency) > 0 AND NOT (c.residency = ANY (p.residency)) AS residency_not_allowed,
           NOT p.allows_multiple AND (
               EXISTS (SELECT 1 FROM customers_holding h
                       WHERE h.customer_id = i.customer_id AND h.product_id = i.product_id AND h.status = 'active'
                         AND h.opened_on < (i.created_at AT TIME ZONE %(tz)s)::date)
               OR EXISTS (SELECT 1 FROM customers_account a
                          WHERE a.customer_id = i.customer_id AND a.product_id = i.product_id
                            AND a.status <> 'closed' AND a.opened_on < (i.created_at AT TIME ZONE %(tz)s)::date)
           ) AS already_held,
           p.type = ANY (%(funded)s) AND p.min_amount > COALESCE(
               (SELECT sum(a.balance) FROM customers_account a
                WHERE a.customer_id = i.customer_id AND a.type = ANY (%(liquid)s) AND a.status = 'active'), 0
           ) AS amount_out_of_reach,
           NOT p.is_active AS not_on_sale
    FROM items i
    JOIN customers_customer c ON c.id = i.customer_id
    JOIN products_product p ON p.id = i.product_id
)
SELECT (SELECT count(*) FROM items), item_id, customer_id, product_id,
       risk_above_tolerance, below_min_age, above_max_age, income_below_minimum, kyc_not_verified,
       residency_not_allowed, already_held, amount_out_of_reach, not_on_sale
FROM facts
WHERE risk_above_tolerance OR below_min_age OR above_max_age OR income_below_minimum OR kyc_not_verified
   OR residency_not_allowed OR already_held OR amount_out_of_reach OR not_on_sale
UNION ALL
SELECT (SELECT count(*) FROM items), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
ORDER BY 2 NULLS LAST
"""
_RULES = (
    "risk_above_tolerance", "below_min_age", "above_max_age", "income_below_minimum", "kyc_not_verified",
    "residency_not_allowed", "already_held", "amount_out_of_reach", "not_on_sale",
)


@dataclass(frozen=True)
class Violation:
    recommendation_id: int
    customer_id: int
    product_id: int
    rules: tuple[str, ...]


@dataclass(frozen=True)
class AuditReport:
    items_checked: int
    violations: list[Violation]

    @property
    def by_rule(self) -> Counter[str]:
        return Counter(rule for violation in self.violations for rule in violation.rules)


def audit_recommendations(*, since: datetime | None = None) -> AuditReport:
    """Every stored recommendation (of sets made `since`, when given) that breaks a suitability rule."""
    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute(_AUDIT_SQL, {
            "since": since, "tz": settings.TIME_ZONE,
            "funded": [str(t) for t in FUNDED_TYPES], "liquid": [str(t) for t in LIQUID_ACCOUNTS],
        })
        rows = cursor.fetchall()
    checked = int(rows[-1][0]) if rows else 0
    violations = [
        Violation(row[1], row[2], row[3], tuple(rule for rule, failed in zip(_RULES, row[4:], strict=True) if failed))
        for row in rows if row[1] is not None
    ]
    return AuditReport(items_checked=checked, violations=violations)
