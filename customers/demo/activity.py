"""What each demo customer holds and how they reacted to what the bank showed them.

Holdings are drawn from the latent utility (customers.demo.truth) among products the customer is eligible for
and, except for the few "legacy" customers sold something before a risk re-assessment, suitable for
(risk level <= tolerance). Accounts follow from holdings (a card account per card, a loan account per loan,
an investment account for market products). Interactions follow the funnel impression → click → purchase:
every purchase is a holding opened inside the window, preceded by a click and an impression of that product.
Rows are built with chunk-local indices; the writer turns them into database ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from customers.demo.catalogue import ProductSpec
from customers.demo.population import Population
from customers.demo.truth import PRODUCT_TYPES, ProductMatrix, true_utility

DEPOSIT, WEALTH, FUND, BOND, CARD, LOAN, INSURANCE = range(7)
MARKET_TYPES = {WEALTH, FUND, BOND}


@dataclass
class Accounts:
    customer: list[int] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    currency: list[str] = field(default_factory=list)
    balance: list[float] = field(default_factory=list)
    credit_limit: list[float | None] = field(default_factory=list)
    interest_rate: list[float | None] = field(default_factory=list)
    opened_on: list[date] = field(default_factory=list)
    product: list[int | None] = field(default_factory=list)

    def add(
        self,
        *,
        customer: int,
        type: str,
        balance: float,
        opened_on: date,
        currency: str = "CNY",
        credit_limit: float | None = None,
        interest_rate: float | None = None,
        product: int | None = None,
    ) -> int:
        self.customer.append(customer)
        self.type.append(type)
        self.currency.append(currency)
        self.balance.append(round(balance, 2))
        self.credit_limit.append(credit_limit)
        self.interest_rate.append(interest_rate)
        self.opened_on.append(opened_on)
        self.product.append(product)
        return len(self.customer) - 1


@dataclass
class Holdings:
    customer: list[int] = field(default_factory=list)
    product: list[int] = field(default_factory=list)
    account: list[int | None] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)
    opened_on: list[date] = field(default_factory=list)
    maturity: list[date | None] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)


@dataclass
class Interactions:
    customer: list[int] = field(default_factory=list)
    product: list[int] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    seconds: list[int] = field(default_factory=list)  # local time, seconds since the window start
    channel: list[str] = field(default_factory=list)


@dataclass
class CustomerBook:
    """Per customer (chunk-local): the account indices the ledger posts to."""

    current: np.ndarray
    savings: np.ndarray  # -1 where none
    card: np.ndarray  # -1 where none
    mortgage_monthly: np.ndarray  # CNY paid each month, 0 where none
    loan_account: np.ndarray
    insurance_monthly: np.ndarray
    invests_monthly: np.ndarray
    investment: np.ndarray


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, 28))


def eligibility(pop: Population, specs: list[ProductSpec]) -> np.ndarray:
    """(customers × products): the catalogue's own rules (age, income, residency, KYC). The advisor applies
    the same rules to live customers; the generator must not sell what the bank's rules forbid."""
    age = pop.age[:, None]
    min_age = np.array([p.min_age for p in specs])[None, :]
    max_age = np.array([p.max_age if p.max_age is not None else 200 for p in specs])[None, :]
    income = np.array([float(p.min_annual_income) for p in specs])[None, :]
    kyc_needed = np.array([p.kyc_required for p in specs])[None, :]
    ok = (age >= min_age) & (age <= max_age) & (pop.income[:, None] >= income)
    ok &= ~kyc_needed | (pop.kyc == "verified")[:, None]
    for j, spec in enumerate(specs):
        if spec.residency:
            ok[:, j] &= np.isin(pop.residency, spec.residency)
    return ok


def build_activity(
    rng: np.random.Generator,
    pop: Population,
    specs: list[ProductSpec],
    matrix: ProductMatrix,
    *,
    as_of: date,
    window_start: date,
) -> tuple[Accounts, Holdings, Interactions, CustomerBook]:
    n, n_products = len(pop), len(specs)
    utility = true_utility(pop.latent, matrix)
    eligible = eligibility(pop, specs)
    suitable = matrix.risk_level[None, :] <= pop.risk_tolerance[:, None]
    allowed = eligible & (suitable | pop.latent.legacy_unsuitable[:, None])
    gumbel = -np.log(-np.log(rng.random((n, n_products))))
    score = np.where(allowed, utility + gumbel, -np.inf)
    order = np.argsort(-score, axis=1)
    wealth_factor = np.clip(np.log1p(pop.latent.liquid_wealth / 50_000), 0, 4)
    wanted = np.minimum(1 + rng.poisson(0.8 + 0.9 * wealth_factor), 9)
    months_ago = rng.random((n, 12))
    amount_draw = rng.lognormal(0.0, 0.6, size=(n, 12))
    window_days = (as_of - window_start).days
    tags = matrix.tags

    accounts, holdings = Accounts(), Holdings()
    book = CustomerBook(
        current=np.full(n, -1),
        savings=np.full(n, -1),
        card=np.full(n, -1),
        mortgage_monthly=np.zeros(n),
        loan_account=np.full(n, -1),
        insurance_monthly=np.zeros(n),
        invests_monthly=np.zeros(n),
        investment=np.full(n, -1),
    )
    balance_draw = rng.lognormal(0.0, 0.7, size=(n, 3))
    for i in range(n):
        income = float(pop.income[i])
        since = pop.customer_since[i]
        book.current[i] = accounts.add(
            customer=i, type="current", opened_on=since, balance=max(200.0, income / 12 * balance_draw[i, 0])
        )
        picked: list[int] = []
        has_mortgage = cards = other_loans = 0
        for j in order[i]:
            if len(picked) >= wanted[i] or not np.isfinite(score[i, j]):
                break
            kind = matrix.type_index[j]
            if kind == CARD:
                if cards >= (2 if income > 150_000 else 1):
                    continue
                cards += 1
            elif kind == LOAN:
                mortgage = "mortgage" in tags[j]
                if (mortgage and has_mortgage) or (not mortgage and other_loans):
                    continue
                has_mortgage |= mortgage
                other_loans += not mortgage
            picked.append(int(j))
        if i == 0 and pop.index[0] == 0:
            picked = _showcase_products(specs, picked)
        savings_wanted = any(matrix.type_index[j] == DEPOSIT for j in picked) or balance_draw[i, 1] > 0.7
        if savings_wanted:
            book.savings[i] = accounts.add(
                customer=i,
                type="savings",
                opened_on=since,
                balance=float(pop.latent.liquid_wealth[i]) * 0.3 * balance_draw[i, 2],
            )
        for slot, j in enumerate(picked):
            spec = specs[j]
            kind = matrix.type_index[j]
            # A third of holdings were opened inside the window (so have a purchase event); the rest earlier.
            if months_ago[i, slot] < 0.33:
                opened = window_start + timedelta(days=int(months_ago[i, slot] / 0.33 * (window_days - 1)))
            else:
                back = (spec.term_months or 48) * (months_ago[i, slot] - 0.33) / 0.67 * 1.1
                opened = max(since, _add_months(window_start, -int(back) - 1))
            opened = max(opened, since)
            maturity = _add_months(opened, spec.term_months) if spec.term_months else None
            active = maturity is None or maturity > as_of
            account: int | None = None
            if kind == CARD:
                limit = float(
                    min(max(round(income * 0.25 * amount_draw[i, slot] / 1000) * 1000, 3000), 500_000)
                )
                if "student" in tags[j]:
                    limit = min(limit, 5000.0)
                account = accounts.add(
                    customer=i,
                    type="credit_card",
                    opened_on=opened,
                    credit_limit=limit,
                    balance=limit * 0.15 * amount_draw[i, slot],
                    interest_rate=float(spec.return_max or 0),
                    product=j,
                )
                amount = limit
                if book.card[i] < 0:
                    book.card[i] = account
            elif kind == LOAN:
                principal = max(
                    float(spec.min_amount),
                    income * (4.0 if "mortgage" in tags[j] else 0.5) * amount_draw[i, slot],
                )
                principal = round(principal / 1000) * 1000
                elapsed = max(0, (as_of - opened).days / 30.4)
                remaining = (
                    principal * max(0.05, 1 - elapsed / spec.term_months) if spec.term_months else principal
                )
                account = accounts.add(
                    customer=i,
                    type="loan",
                    opened_on=opened,
                    balance=remaining,
                    interest_rate=float(spec.return_min or 0),
                    product=j,
                )
                amount = round(remaining, 2)
                if "mortgage" in tags[j]:
                    book.mortgage_monthly[i] = round(principal / (spec.term_months or 360) * 1.45, 2)
                    book.loan_account[i] = account
            elif kind == INSURANCE:
                amount = round(float(spec.min_amount) * max(1.0, income / 200_000) * amount_draw[i, slot], 2)
                book.insurance_monthly[i] += round(amount / 12, 2)
            else:
                base = max(
                    float(spec.min_amount), float(pop.latent.liquid_wealth[i]) * 0.25 * amount_draw[i, slot]
                )
                amount = max(float(spec.min_amount), round(base / 100) * 100)
                if kind in MARKET_TYPES:
                    if book.investment[i] < 0:
                        book.investment[i] = accounts.add(
                            customer=i, type="investment", opened_on=opened, balance=0.0
                        )
                    account = int(book.investment[i])
                    accounts.balance[account] += amount if active else 0.0
                    if kind == FUND:
                        book.invests_monthly[i] = max(book.invests_monthly[i], round(income * 0.02, -2))
                else:
                    account = int(book.savings[i]) if book.savings[i] >= 0 else int(book.current[i])
            holdings.customer.append(i)
            holdings.product.append(j)
            holdings.account.append(account)
            holdings.amount.append(round(amount, 2))
            holdings.opened_on.append(opened)
            holdings.maturity.append(maturity)
            holdings.active.append(active)
    interactions = _funnel(
        rng, pop, utility, eligible, suitable, holdings, window_start=window_start, as_of=as_of
    )
    return accounts, holdings, interactions, book


def _showcase_products(specs: list[ProductSpec], picked: list[int]) -> list[int]:
    """The showcase customer holds a travel card, a deposit, a fund, cash management and cover for trips."""
    codes = {s.code: j for j, s in enumerate(specs)}
    wanted = ["CC-TRAVEL", "DEP-12M", "WM-CASH-A", "FND-IDX-SPX", "INS-TRAVEL-ANNUAL", "FND-BAL-MOD"]
    showcase = [codes[c] for c in wanted]
    kinds = {specs[j].type for j in showcase}
    return showcase + [j for j in picked if j not in showcase and specs[j].type not in kinds][:2]


_CHANNELS = np.array(["app", "online", "branch"])


def _funnel(
    rng: np.random.Generator,
    pop: Population,
    utility: np.ndarray,
    eligible: np.ndarray,
    suitable: np.ndarray,
    holdings: Holdings,
    *,
    window_start: date,
    as_of: date,
) -> Interactions:
    n, n_products = utility.shape
    window_seconds = (as_of - window_start).days * 86400  # the window ends before as_of
    months = max(1.0, window_seconds / (30.4 * 86400))
    out = Interactions()
    # What the bank showed: half at random among eligible products, half already leaning to the customer's
    # taste (an earlier, imperfect recommender); a customer who refused marketing sees far less.
    shown_rate = np.where(pop.consent_marketing, 2.2, 0.5) * months
    shown = rng.poisson(shown_rate)
    z = (utility - utility.mean(axis=1, keepdims=True)) / (utility.std(axis=1, keepdims=True) + 1e-9)
    total = int(shown.sum())
    cust = np.repeat(np.arange(n), shown)
    random_pick = rng.random((total, n_products)) * eligible[cust]
    taste = np.where(eligible[cust], z[cust] + rng.gumbel(size=(total, n_products)), -np.inf)
    product = np.where(rng.random(total) < 0.5, random_pick.argmax(axis=1), taste.argmax(axis=1))
    zp = z[cust, product]
    click_p = 1 / (1 + np.exp(-(-1.6 + 1.3 * zp)))
    click_p = np.where(suitable[cust, product], click_p, click_p * 0.3)
    clicked = rng.random(total) < click_p
    dismissed = ~clicked & (rng.random(total) < 1 / (1 + np.exp(-(-1.8 - 1.0 * zp))))
    at = rng.integers(0, window_seconds - 3600, size=total)
    click_delay = rng.integers(5, 600, size=total)
    dismiss_delay = rng.integers(2, 30, size=total)
    channel = _CHANNELS[rng.choice(3, size=total, p=[0.72, 0.24, 0.04])]
    for k in range(total):
        out.customer.append(int(cust[k]))
        out.product.append(int(product[k]))
        out.event.append("impression")
        out.seconds.append(int(at[k]))
        out.channel.append(str(channel[k]))
        if clicked[k] or dismissed[k]:
            out.customer.append(int(cust[k]))
            out.product.append(int(product[k]))
            out.event.append("click" if clicked[k] else "dismiss")
            out.seconds.append(int(at[k] + (click_delay[k] if clicked[k] else dismiss_delay[k])))
            out.channel.append(str(channel[k]))
    # Every holding opened inside the window was bought there: impression, click, then purchase.
    opened_in_window = [h for h in range(len(holdings.customer)) if holdings.opened_on[h] >= window_start]
    lead = rng.integers(3600, 5 * 86400, size=len(opened_in_window))
    think = rng.integers(30, 1800, size=len(opened_in_window))
    hour = rng.integers(9 * 3600, 22 * 3600, size=len(opened_in_window))
    bought_channel = _CHANNELS[rng.choice(3, size=len(opened_in_window), p=[0.65, 0.2, 0.15])]
    for k, h in enumerate(opened_in_window):
        purchase_at = (holdings.opened_on[h] - window_start).days * 86400 + int(hour[k])
        seen_at = max(0, purchase_at - int(lead[k]))
        click_at = min(purchase_at - 1, seen_at + int(think[k]))
        for event, second in (("impression", seen_at), ("click", click_at), ("purchase", purchase_at)):
            out.customer.append(holdings.customer[h])
            out.product.append(holdings.product[h])
            out.event.append(event)
            out.seconds.append(second)
            out.channel.append(str(bought_channel[k]))
    return out


__all__ = [
    "PRODUCT_TYPES",
    "Accounts",
    "CustomerBook",
    "Holdings",
    "Interactions",
    "build_activity",
    "eligibility",
]
