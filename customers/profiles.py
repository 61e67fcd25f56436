"""Customer profile features and plain-words summaries: pure functions, no database.

The rules, stated once:
- The window is `window_days` (a multiple of 30) ending at the end of `as_of` in the bank's time zone,
  cut into 30-day "months" counted back from that end (month 0 is the most recent).
- A customer is observed from their earliest month with a transaction in the window, so a new customer is
  not averaged over months before they arrived. Dormant recent months do count (as zero).
- Income: positive amounts in the salary and other-income categories. The monthly estimate is the
  median of the observed months' income, so a bonus month (or two salaries falling into one 30-day month)
  does not move it.
- Spending: money out (negative amounts) in every category except transfers and investment (moving
  money between one's own pots is not spending). Refunds are not netted off.
- Savings rate (`balance_trend`): (monthly income estimate - monthly spend) / monthly income estimate;
  0 when there is no income.
- Total balance: current, savings and investment accounts minus what is owed on credit cards and loans;
  closed accounts are left out.
- The platform books in CNY: amounts in other currencies are left out of money totals (there are no FX
  rates here) but counted as transactions.

Raw transactions become monthly flows either here (`aggregate_flows`) or, for the batch job, in SQL
(`customers.services`); a test checks both agree.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from customers.models import AccountType, SpendingCategory
from products.models import ProductType

DEFAULT_WINDOW_DAYS = 180
MONTH = timedelta(days=30)
BOOKING_CURRENCY = "CNY"
CENT = Decimal("0.01")

INCOME_CATEGORIES = frozenset({SpendingCategory.SALARY, SpendingCategory.INCOME_OTHER})
NOT_SPENDING = INCOME_CATEGORIES | {SpendingCategory.TRANSFER, SpendingCategory.INVESTMENT}
SPENDING_CATEGORIES: tuple[str, ...] = tuple(c for c in SpendingCategory.values if c not in NOT_SPENDING)
ASSET_ACCOUNTS = frozenset({AccountType.CURRENT, AccountType.SAVINGS, AccountType.INVESTMENT})
DEBT_ACCOUNTS = frozenset({AccountType.CREDIT_CARD, AccountType.LOAN})


@dataclass(frozen=True)
class TransactionRecord:
    timestamp: datetime
    amount: Decimal  # signed: money in positive
    category: str
    currency: str = BOOKING_CURRENCY


@dataclass(frozen=True)
class MonthlyFlow:
    """One customer's transactions of one category in one 30-day month of the window."""

    month: int  # 0 = the most recent 30 days
    category: str
    money_in: Decimal
    money_out: Decimal  # positive
    count: int


@dataclass(frozen=True)
class AccountRecord:
    type: str
    balance: Decimal  # for cards and loans, what is owed
    credit_limit: Decimal | None = None
    currency: str = BOOKING_CURRENCY
    status: str = "active"


@dataclass(frozen=True)
class HoldingRecord:
    product_type: str
    amount: Decimal


@dataclass(frozen=True)
class Profile:
    window_days: int
    months_observed: int
    income_estimate_monthly: Decimal
    spend_monthly: Decimal
    spend_mix: dict[str, float]
    transactions_per_month: float
    balance_total: Decimal
    balance_trend: float
    product_types_held: list[str]
    features: dict[str, float]
    summary_en: str
    summary_zh: str


def window_end(*, as_of: date, tz: ZoneInfo) -> datetime:
    """The (exclusive) end of the window: midnight after `as_of` in the bank's time zone."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=tz)


def months_in(window_days: int) -> int:
    if window_days <= 0 or window_days % 30:
        raise ValueError(f"window_days must be a positive multiple of 30, got {window_days}")
    return window_days // 30


def month_of(*, timestamp: datetime, end: datetime, window_days: int) -> int | None:
    """The 30-day month of the window a timestamp falls in, or None outside the window."""
    if not end - timedelta(days=window_days) <= timestamp < end:
        return None
    # The window's very first instant would be month `months`; it belongs to the oldest month.
    return min((end - timestamp) // MONTH, months_in(window_days) - 1)


def aggregate_flows(
    transactions: Iterable[TransactionRecord], *, end: datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> list[MonthlyFlow]:
    """Transactions to monthly flows per category (the same grouping `customers.services` does in SQL)."""
    sums: dict[tuple[int, str], list[Decimal | int]] = defaultdict(lambda: [Decimal("0"), Decimal("0"), 0])
    for txn in transactions:
        month = month_of(timestamp=txn.timestamp, end=end, window_days=window_days)
        if month is None:
            continue
        acc = sums[(month, txn.category)]
        if txn.currency == BOOKING_CURRENCY:
            if txn.amount > 0:
                acc[0] += txn.amount
            else:
                acc[1] -= txn.amount
        acc[2] += 1
    return [
        MonthlyFlow(
            month=month, category=category, money_in=Decimal(v[0]), money_out=Decimal(v[1]), count=int(v[2])
        )
        for (month, category), v in sorted(sums.items())
    ]


def build_profile(
    *,
    flows: Iterable[MonthlyFlow],
    accounts: Iterable[AccountRecord],
    holdings: Iterable[HoldingRecord],
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> Profile:
    months_in(window_days)
    flows = list(flows)
    accounts = [a for a in accounts if a.status != "closed"]
    holdings = list(holdings)

    months_observed = max((f.month for f in flows), default=-1) + 1
    income_by_month = [Decimal("0")] * months_observed
    spend_by_category: dict[str, Decimal] = defaultdict(Decimal)
    count = 0
    for flow in flows:
        count += flow.count
        if flow.category in INCOME_CATEGORIES:
            income_by_month[flow.month] += flow.money_in
        elif flow.category not in NOT_SPENDING:
            spend_by_category[flow.category] += flow.money_out
    spend_total = sum(spend_by_category.values(), Decimal("0"))

    income = _money(statistics.median(income_by_month)) if months_observed else Decimal("0.00")
    spend = _money(spend_total / months_observed) if months_observed else Decimal("0.00")
    per_month = round(count / months_observed, 2) if months_observed else 0.0
    savings_rate = float(round((income - spend) / income, 4)) if income > 0 else 0.0
    spend_mix = {
        category: round(float(amount / spend_total), 4)
        for category, amount in sorted(spend_by_category.items(), key=lambda kv: (-kv[1], kv[0]))
        if amount > 0
    }

    booked = [a for a in accounts if a.currency == BOOKING_CURRENCY]
    assets = sum((a.balance for a in booked if a.type in ASSET_ACCOUNTS), Decimal("0"))
    debt = sum((a.balance for a in booked if a.type in DEBT_ACCOUNTS), Decimal("0"))
    card_limit = sum(
        (a.credit_limit or Decimal("0") for a in booked if a.type == AccountType.CREDIT_CARD), Decimal("0")
    )
    card_owed = sum((a.balance for a in booked if a.type == AccountType.CREDIT_CARD), Decimal("0"))

    held = {h.product_type for h in holdings}
    held |= {ProductType.CREDIT_CARD for a in accounts if a.type == AccountType.CREDIT_CARD}
    held |= {ProductType.LOAN for a in accounts if a.type == AccountType.LOAN}
    product_types_held = [t for t in ProductType.values if t in held]

    features: dict[str, float] = {
        "income_monthly": float(income),
        "spend_monthly": float(spend),
        "savings_rate": savings_rate,
        "transactions_per_month": per_month,
        "balance_total": float(assets - debt),
        "assets_total": float(assets),
        "debt_total": float(debt),
        "credit_utilisation": float(round(card_owed / card_limit, 4)) if card_limit > 0 else 0.0,
        "months_observed": float(months_observed),
        "income_months_share": (
            round(sum(1 for m in income_by_month if m > 0) / months_observed, 4) if months_observed else 0.0
        ),
        "accounts": float(len(accounts)),
        "holdings": float(len(holdings)),
        "holdings_value": float(sum((h.amount for h in holdings), Decimal("0"))),
    }
    for category in SPENDING_CATEGORIES:
        features[f"spend_share_{category}"] = spend_mix.get(category, 0.0)
    for product_type in ProductType.values:
        features[f"holds_{product_type}"] = 1.0 if product_type in held else 0.0

    items = _held_items(accounts=accounts, holdings=holdings)
    return Profile(
        window_days=window_days,
        months_observed=months_observed,
        income_estimate_monthly=income,
        spend_monthly=spend,
        spend_mix=spend_mix,
        transactions_per_month=per_month,
        balance_total=assets - debt,
        balance_trend=savings_rate,
        product_types_held=product_types_held,
        features=features,
        summary_en=summary_en(
            spend_mix=spend_mix,
            income=income,
            savings_rate=savings_rate,
            items=items,
            window_days=window_days,
        ),
        summary_zh=summary_zh(
            spend_mix=spend_mix,
            income=income,
            savings_rate=savings_rate,
            items=items,
            window_days=window_days,
        ),
    )


def feature_names() -> list[str]:
    """The names of `Profile.features`, in their stable order (for models that need a fixed vector).

    Read a stored snapshot's vector as `[features[n] for n in feature_names()]`: jsonb does not keep key
    order.
    """
    return list(build_profile(flows=[], accounts=[], holdings=[]).features)


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- Summaries ---------------------------------------------------------------------------------------
# Our own words rather than the choices' labels: a sentence needs lower case, plurals and, in Chinese,
# measure words (一张信用卡, 2只基金) that a label does not carry.
CATEGORY_WORDS: dict[str, tuple[str, str]] = {
    "groceries": ("groceries", "日常买菜"),
    "dining": ("dining", "餐饮"),
    "travel": ("travel", "旅行"),
    "transport": ("transport", "交通"),
    "shopping": ("shopping", "购物"),
    "utilities": ("utilities", "水电煤"),
    "housing": ("housing", "住房"),
    "health": ("health", "医疗健康"),
    "education": ("education", "教育"),
    "entertainment": ("entertainment", "娱乐"),
    "insurance": ("insurance", "保险"),
    "cash": ("cash", "取现"),
    "fees": ("fees", "手续费"),
    "other": ("other things", "其他"),
}
# kind -> (English singular, English plural, Chinese measure word + noun)
ITEM_WORDS: dict[str, tuple[str, str, str, str]] = {
    "current": ("a current account", "current accounts", "个", "活期账户"),
    "savings": ("a savings account", "savings accounts", "个", "储蓄账户"),
    "credit_card": ("a credit card", "credit cards", "张", "信用卡"),
    "loan": ("a loan", "loans", "笔", "贷款"),
    "investment": ("an investment account", "investment accounts", "个", "投资账户"),
    "deposit": ("a term deposit", "term deposits", "笔", "定期存款"),
    "wealth": ("a wealth management product", "wealth management products", "款", "理财产品"),
    "fund": ("a fund", "funds", "只", "基金"),
    "bond": ("a bond", "bonds", "只", "债券"),
    "insurance": ("an insurance policy", "insurance policies", "份", "保险"),
}
_ITEM_ORDER = list(ITEM_WORDS)


def _held_items(*, accounts: list[AccountRecord], holdings: list[HoldingRecord]) -> list[tuple[str, int]]:
    """(kind, count) in a fixed order. Cards and loans are counted from accounts; their catalogue holdings
    would count them twice."""
    counts: dict[str, int] = defaultdict(int)
    for account in accounts:
        counts[account.type] += 1
    for holding in holdings:
        if holding.product_type not in (ProductType.CREDIT_CARD, ProductType.LOAN):
            counts[holding.product_type] += 1
    return [(kind, counts[kind]) for kind in _ITEM_ORDER if counts.get(kind)]


def _top_categories(spend_mix: dict[str, float]) -> list[tuple[str, int]]:
    return [(category, round(share * 100)) for category, share in list(spend_mix.items())[:2]]


def _join_en(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _join_zh(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "、".join(parts[:-1]) + "和" + parts[-1]


def _about(income: Decimal) -> str:
    # "About": to the nearest hundred yuan.
    return f"¥{int((income / 100).quantize(Decimal('1'), rounding=ROUND_HALF_UP)) * 100:,}"


def summary_en(
    *,
    spend_mix: dict[str, float],
    income: Decimal,
    savings_rate: float,
    items: list[tuple[str, int]],
    window_days: int,
) -> str:
    top = _top_categories(spend_mix)
    if not top:
        spending = f"No spending in the last {window_days} days"
    else:
        spending = "Spends mostly on " + _join_en([f"{CATEGORY_WORDS[c][0]} ({p}%)" for c, p in top])
    clauses = [spending]
    if income > 0:
        clauses.append(f"income about {_about(income)} a month")
        rate = round(savings_rate * 100)
        clauses.append(f"saves {rate}% of income" if rate >= 0 else f"spends {-rate}% more than income")
    else:
        clauses.append("no regular income seen")
    if items:
        words = [ITEM_WORDS[k][0] if n == 1 else f"{n} {ITEM_WORDS[k][1]}" for k, n in items]
        clauses.append("holds " + _join_en(words))
    else:
        clauses.append("holds no products with us")
    return "; ".join(clauses) + "."


def summary_zh(
    *,
    spend_mix: dict[str, float],
    income: Decimal,
    savings_rate: float,
    items: list[tuple[str, int]],
    window_days: int,
) -> str:
    top = _top_categories(spend_mix)
    if not top:
        spending = f"近{window_days}天没有消费"
    else:
        spending = "主要消费在" + _join_zh([f"{CATEGORY_WORDS[c][1]}（{p}%）" for c, p in top])
    clauses = [spending]
    if income > 0:
        clauses.append(f"月收入约{_about(income)}")
        rate = round(savings_rate * 100)
        clauses.append(f"储蓄约占收入的{rate}%" if rate >= 0 else f"支出超过收入{-rate}%")
    else:
        clauses.append("未见稳定收入")
    if items:
        words = [f"{'一' if n == 1 else n}{ITEM_WORDS[k][2]}{ITEM_WORDS[k][3]}" for k, n in items]
        clauses.append("持有" + _join_zh(words))
    else:
        clauses.append("未持有本行产品")
    return "；".join(clauses) + "。"
