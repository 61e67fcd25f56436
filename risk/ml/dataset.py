"""Credit features and the default label, from the bank's own tables.

Features describe a customer over the FEATURE_DAYS before a moment (the *window end*): income and how regular
it is, spending against income, card utilisation and how much of the card bill is repaid, cash withdrawals and
card cash advances, short-term borrowing, late fees, housing costs, products held, tenure, life stage, KYC.
Age and gender are *not* features: they are protected attributes, returned separately so that fairness can be
measured on them (life stage still correlates with age; the fairness report shows what that does).

The label (`defaulted`): two or more late-payment fees (a missed payment each: a transaction in category
`fees` with counterparty LATE_FEE_COUNTERPARTY) in the PERFORMANCE_DAYS after the window end — roughly "60+
days past due". Training uses the moment PERFORMANCE_DAYS before the data ends, so the features come from
before and the label from after it, among customers who had a card or a loan then and were not already in
default; scoring uses the end of the data, with the same feature window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection

from risk.ml.evaluation import age_band
from risk.ml.tabular import Table

FEATURE_DAYS = 90
PERFORMANCE_DAYS = 90
LATE_FEE_COUNTERPARTY = "Late payment fee"
DEFAULT_AFTER_LATE_FEES = 2
SPENDING = ("groceries", "dining", "travel", "transport", "shopping", "utilities", "health", "education",
            "entertainment", "insurance", "cash", "other")
NUMERIC = [
    "income_annual", "tenure_months", "inflow_monthly", "income_regularity", "spend_monthly", "spend_to_income",
    "cash_withdrawals_monthly", "card_cash_advances", "card_utilisation", "card_repayment_ratio", "late_fees",
    "short_term_loans", "housing_to_income", "investing_to_income", "products_held", "loans",
    "card_limit_to_income",
]
CATEGORICAL = ["life_stage", "kyc_status"]


@dataclass
class CreditRows:
    customer_ids: np.ndarray
    table: Table
    protected: dict[str, np.ndarray]  # "age_band", "gender" -> group per row
    exposed: np.ndarray  # bool: had a card or a loan at the window end
    late_fees_before: np.ndarray  # late fees inside the feature window


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def data_end() -> date | None:
    """The day after the last transaction (the data's own clock: the demo bank may be dated otherwise)."""
    with connection.cursor() as cur:
        cur.execute("SELECT max(timestamp) FROM customers_transaction")
        last = cur.fetchone()[0]
    return None if last is None else last.astimezone(_zone()).date() + timedelta(days=1)


def history_start() -> date | None:
    with connection.cursor() as cur:
        cur.execute("SELECT min(timestamp) FROM customers_transaction")
        first = cur.fetchone()[0]
    return None if first is None else first.astimezone(_zone()).date()


def windows(end: date, start: date) -> tuple[int, int]:
    """(feature days, performance days) that fit in the history: 90 and 90, or halves of a shorter one."""
    history = (end - start).days
    performance = min(PERFORMANCE_DAYS, max(1, history // 2))
    return min(FEATURE_DAYS, max(1, history - performance)), performance


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_zone())


_SQL = """
WITH base AS (
  SELECT c.id, c.declared_annual_income::float8 AS income, c.customer_since, c.birth_date, c.gender,
         c.life_stage, c.kyc_status
  FROM customers_customer c {where}
), tx AS (
  SELECT t.customer_id,
    sum(t.amount) FILTER (WHERE t.amount > 0 AND t.category IN ('salary', 'income_other')
                          AND t.description NOT ILIKE '%%loan disbursement%%' AND a.type <> 'credit_card')::float8
      AS inflow,
    count(DISTINCT date_trunc('month', t.timestamp AT TIME ZONE %(tz)s))
      FILTER (WHERE t.amount > 0 AND t.category IN ('salary', 'income_other')
              AND t.description NOT ILIKE '%%loan disbursement%%' AND t.counterparty <> 'Bank') AS income_months,
    -sum(t.amount) FILTER (WHERE t.amount < 0 AND t.category = ANY(%(spending)s))::float8 AS spend,
    count(*) FILTER (WHERE t.amount < 0 AND t.category = 'cash' AND a.type <> 'credit_card') AS cash_withdrawals,
    count(*) FILTER (WHERE t.amount < 0 AND t.category = 'cash' AND a.type = 'credit_card') AS card_cash,
    -sum(t.amount) FILTER (WHERE t.amount < 0 AND a.type = 'credit_card')::float8 AS card_out,
    sum(t.amount) FILTER (WHERE t.amount > 0 AND a.type = 'credit_card')::float8 AS card_in,
    count(*) FILTER (WHERE t.category = 'fees' AND t.counterparty = %(late)s) AS late_fees,
    count(*) FILTER (WHERE t.amount > 0 AND t.description ILIKE '%%loan disbursement%%') AS short_loans,
    -sum(t.amount) FILTER (WHERE t.amount < 0 AND t.category = 'housing')::float8 AS housing,
    -sum(t.amount) FILTER (WHERE t.amount < 0 AND t.category = 'investment')::float8 AS investing
  FROM customers_transaction t JOIN customers_account a ON a.id = t.account_id
  WHERE t.timestamp >= %(start)s AND t.timestamp < %(end)s {tx_where}
  GROUP BY t.customer_id
), acc AS (
  SELECT a.customer_id,
    sum(a.credit_limit) FILTER (WHERE a.type = 'credit_card')::float8 AS card_limit,
    count(*) FILTER (WHERE a.type = 'loan') AS loans,
    count(*) FILTER (WHERE a.type IN ('credit_card', 'loan')) AS credit_accounts
  FROM customers_account a WHERE a.opened_on < %(end_day)s {acc_where}
  GROUP BY a.customer_id
), held AS (
  SELECT h.customer_id, count(*) AS products
  FROM customers_holding h WHERE h.opened_on < %(end_day)s AND h.status = 'active' {held_where}
  GROUP BY h.customer_id
), later AS (
  SELECT t.customer_id, count(*) AS late_fees_after
  FROM customers_transaction t
  WHERE t.timestamp >= %(end)s AND t.timestamp < %(label_end)s AND t.category = 'fees' AND t.counterparty = %(late)s
    {tx_where}
  GROUP BY t.customer_id
)
SELECT b.id, b.income, b.customer_since, b.birth_date, b.gender, b.life_stage, b.kyc_status,
  tx.inflow, tx.income_months, tx.spend, tx.cash_withdrawals, tx.card_cash, tx.card_out, tx.card_in, tx.late_fees,
  tx.short_loans, tx.housing, tx.investing, acc.card_limit, acc.loans, acc.credit_accounts, held.products,
  later.late_fees_after
FROM base b LEFT JOIN tx ON tx.customer_id = b.id LEFT JOIN acc ON acc.customer_id = b.id
  LEFT JOIN held ON held.customer_id = b.id LEFT JOIN later ON later.customer_id = b.id
ORDER BY b.id
"""


def credit_rows(
    *, window_end: date, feature_days: int = FEATURE_DAYS, performance_days: int = PERFORMANCE_DAYS,
    customer_ids: list[int] | None = None,
) -> tuple[CreditRows, np.ndarray]:
    """Features of every customer (or of `customer_ids`) at `window_end`, and their label (0/1, meaningful only
    when the data reaches `performance_days` past the window end)."""
    params: dict[str, Any] = {
        "tz": settings.TIME_ZONE, "spending": list(SPENDING), "late": LATE_FEE_COUNTERPARTY,
        "start": _moment(window_end - timedelta(days=feature_days)), "end": _moment(window_end),
        "end_day": window_end, "label_end": _moment(window_end + timedelta(days=performance_days)),
    }
    where = tx_where = acc_where = held_where = ""
    if customer_ids is not None:
        params["ids"] = list(customer_ids)
        where = "WHERE c.id = ANY(%(ids)s)"
        tx_where = "AND t.customer_id = ANY(%(ids)s)"
        acc_where = "AND a.customer_id = ANY(%(ids)s)"
        held_where = "AND h.customer_id = ANY(%(ids)s)"
    sql = _SQL.format(where=where, tx_where=tx_where, acc_where=acc_where, held_where=held_where)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return _assemble(rows, window_end=window_end, feature_days=feature_days)


def _f(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _assemble(rows: list[tuple[Any, ...]], *, window_end: date, feature_days: int) -> tuple[CreditRows, np.ndarray]:
    months = feature_days / 30.4
    cols: dict[str, list[float]] = {name: [] for name in NUMERIC}
    life, kyc, ages, genders, ids, exposed, before, label = [], [], [], [], [], [], [], []
    for (cid, income, since, birth, gender, stage, kyc_status, inflow, income_months, spend, cash, card_cash,
         card_out, card_in, late, short_loans, housing, investing, card_limit, loans, credit_accounts, products,
         late_after) in rows:
        income = _f(income)
        monthly_income = max(_f(inflow) / months, income / 12, 1.0)
        ids.append(cid)
        cols["income_annual"].append(income)
        cols["tenure_months"].append(round(max(0, (window_end - since).days) / 30.4, 1))
        cols["inflow_monthly"].append(round(_f(inflow) / months, 2))
        cols["income_regularity"].append(round(min(1.0, _f(income_months) / max(1.0, round(months))), 3))
        cols["spend_monthly"].append(round(_f(spend) / months, 2))
        cols["spend_to_income"].append(round(_f(spend) / months / monthly_income, 4))
        cols["cash_withdrawals_monthly"].append(round(_f(cash) / months, 3))
        cols["card_cash_advances"].append(_f(card_cash))
        cols["card_utilisation"].append(
            round(_f(card_out) / months / _f(card_limit), 4) if card_limit else np.nan
        )
        cols["card_repayment_ratio"].append(round(_f(card_in) / _f(card_out), 4) if card_out else np.nan)
        cols["late_fees"].append(_f(late))
        cols["short_term_loans"].append(_f(short_loans))
        cols["housing_to_income"].append(round(_f(housing) / months / monthly_income, 4))
        cols["investing_to_income"].append(round(_f(investing) / months / monthly_income, 4))
        cols["products_held"].append(_f(products))
        cols["loans"].append(_f(loans))
        cols["card_limit_to_income"].append(round(_f(card_limit) / max(income, 1.0), 4))
        life.append(stage or "")
        kyc.append(kyc_status or "")
        years = window_end.year - birth.year - ((window_end.month, window_end.day) < (birth.month, birth.day))
        ages.append(age_band(float(years)))
        genders.append({"F": "female", "M": "male", "X": "other"}.get(gender or "", "(missing)"))
        exposed.append(bool(credit_accounts))
        before.append(int(_f(late)))
        label.append(1 if _f(late_after) >= DEFAULT_AFTER_LATE_FEES else 0)
    table = Table(
        numeric={k: np.array(v, dtype=np.float64) for k, v in cols.items()},
        categorical={"life_stage": np.array(life, dtype=object), "kyc_status": np.array(kyc, dtype=object)},
        n=len(ids),
    )
    credit = CreditRows(
        customer_ids=np.array(ids, dtype=np.int64), table=table,
        protected={"age_band": np.array(ages, dtype=object), "gender": np.array(genders, dtype=object)},
        exposed=np.array(exposed, dtype=bool), late_fees_before=np.array(before, dtype=np.int64),
    )
    return credit, np.array(label, dtype=np.int8)


def features_json(table: Table, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in table.numeric.items():
        v = float(values[i])
        out[name] = None if np.isnan(v) else round(v, 4)
    for name, values in table.categorical.items():
        out[name] = str(values[i])
    return out


def table_from_features(rows: list[dict[str, Any]]) -> Table:
    """The inverse of features_json for many rows (drift reads stored scores' features back)."""
    return Table(
        numeric={k: np.array([np.nan if r.get(k) is None else float(r[k]) for r in rows]) for k in NUMERIC},
        categorical={k: np.array([str(r.get(k) or "") for r in rows], dtype=object) for k in CATEGORICAL},
        n=len(rows),
    )
