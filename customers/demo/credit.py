"""How demo customers handle credit: a hidden financial stress, what it shows in the ledger, and who defaults.

Every customer gets a latent *financial stress* from things the generator already knows about them (income
against their life stage's typical income, liquid wealth against income, true risk appetite, need for
liquidity, life stage) plus noise. Stress shows in the ledger before anything goes wrong, as it does in a real
bank's data:

- the card statement is only partly repaid (a stressed customer revolves);
- cash advances on the card;
- short-term borrowing from consumer-finance lenders (inflows from "QuickCash"-style lenders);
- the occasional single missed payment (a late fee, then back on track).

A customer with credit exposure (a card or a mortgage) *defaults* with a probability that rises with stress:
from a day in the second half of the window they stop paying. Their card repayments and mortgage instalments
are no longer posted, each missed month charges a late payment fee (category `fees`, counterparty
`LATE_FEE_COUNTERPARTY`) on that account, and for some of them the salary stops too (the job loss that often
starts it). The default itself is therefore observable in the data (risk.ml.labels reads it from the late
fees), and so are its warning signs; the stress that links them is not stored anywhere.

A separate seeded generator is used (the chunk's seed with a third component), so the draws of the rest of the
bank are exactly what they were before this module existed; only the ledger rows of the customers it touches
change. Deterministic for a given seed, like the rest of the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from customers.demo.activity import CustomerBook
from customers.demo.ledger import Ledger
from customers.demo.population import INCOME_MEDIAN, Population

LATE_FEE_COUNTERPARTY = "Late payment fee"
LATE_FEE_DESCRIPTION = "Late payment fee: minimum payment missed"
CASH_ADVANCE_COUNTERPARTY = "Card cash advance"
LENDERS = ["QuickCash Lending 速易借", "Happy Loan App 开心贷", "Flash Credit 闪信贷"]
# Life stages in population.STAGES order: the young carry more debt for their income, the retired less.
STAGE_STRESS = np.array([0.2, 0.35, 0.4, 0.0, -0.2, -0.5])
# Logistic link from stress to the probability of defaulting inside the window (credit holders only); with
# the stress spread below this gives roughly 8 % of card or mortgage holders.
DEFAULT_INTERCEPT, DEFAULT_SLOPE = -3.3, 1.45


@dataclass
class CreditBehaviour:
    stress: np.ndarray  # float per customer (chunk-local)
    defaults: np.ndarray  # bool: stops paying inside the window
    onset_day: np.ndarray  # day offset (from the window start) of the first missed payment; -1 if none
    job_loss: np.ndarray  # bool: the salary stops at the onset too


def draw_credit_behaviour(
    rng: np.random.Generator, pop: Population, book: CustomerBook, *, window_days: int
) -> CreditBehaviour:
    n = len(pop)
    peers = INCOME_MEDIAN[pop.stage]
    rel_income = np.log(np.maximum(pop.income, 1000) / peers)
    cushion = np.log1p(pop.latent.liquid_wealth / np.maximum(pop.income, 1000))
    stress = (
        -0.9 * rel_income
        - 0.8 * (cushion - 0.6)
        + 0.35 * (pop.latent.risk_appetite - 3.0)
        + 0.8 * (pop.latent.liquidity_need - 0.5)
        + STAGE_STRESS[pop.stage]
        + rng.normal(0.0, 0.7, size=n)
    )
    exposed = (book.card >= 0) | (book.mortgage_monthly > 0)
    p_default = 1 / (1 + np.exp(-(DEFAULT_INTERCEPT + DEFAULT_SLOPE * stress)))
    defaults = exposed & (rng.random(n) < p_default)
    # Defaults start in the second half of the window: the first half is the history they are predicted from.
    half = max(1, window_days // 2)
    onset = np.where(defaults, rng.integers(half, max(half + 1, window_days - 20), size=n), -1)
    job_loss = defaults & (rng.random(n) < 0.4)
    if n and pop.index[0] == 0:
        # The showcase customer is financially comfortable and never defaults.
        stress[0], defaults[0], onset[0], job_loss[0] = -1.5, False, -1, False
    return CreditBehaviour(stress=stress, defaults=defaults, onset_day=onset, job_loss=job_loss)


def apply_credit_behaviour(
    rng: np.random.Generator,
    pop: Population,
    book: CustomerBook,
    ledger: Ledger,
    *,
    window_start: date,
    as_of: date,
) -> Ledger:
    """The ledger with every customer's credit behaviour applied (rows changed, removed and added)."""
    window_days = (as_of - window_start).days
    behaviour = draw_credit_behaviour(rng, pop, book, window_days=window_days)
    n = len(pop)
    months = max(1.0, window_days / 30.4)
    pressure = np.clip(behaviour.stress, 0.0, None)

    cents = ledger.cents.copy()
    keep = np.ones(len(ledger), dtype=bool)
    who = ledger.customer
    counterparty = ledger.counterparty
    # Partial repayment of the card statement: the paying side and the card side of each repayment.
    repay_share = np.clip(1.0 - 0.35 * pressure + rng.normal(0.0, 0.05, size=n), 0.12, 1.0)
    repayment = (counterparty == "Credit card repayment") | (
        (counterparty == "Repayment from current account") & (ledger.description == "Payment received, thank you")
    )
    scaled = np.round(cents[repayment] * repay_share[who[repayment]])
    cents[repayment] = np.where(scaled == 0, np.sign(cents[repayment]), scaled)

    # After the onset a defaulter's card repayments, mortgage instalments (and for some, salary) stop.
    onset = behaviour.onset_day[who]
    after = (onset >= 0) & (ledger.day >= onset)
    mortgage = np.fromiter(
        (str(d).startswith("Mortgage instalment") for d in ledger.description), dtype=bool, count=len(ledger)
    )
    salary = (ledger.category == "salary") & behaviour.job_loss[who]
    keep &= ~(after & (repayment | mortgage | salary))

    extra: list[dict[str, np.ndarray]] = []
    everyone = np.arange(n)
    has_card = book.card >= 0

    def add(customer: np.ndarray, account: np.ndarray, amount: np.ndarray, day: np.ndarray, hour: tuple[int, int],
            category: str, channel: str, party: np.ndarray | str, description: str) -> None:
        if len(customer) == 0:
            return
        size = len(customer)
        extra.append({
            "customer": customer.astype(np.int64),
            "account": account.astype(np.int64),
            "cents": amount.astype(np.int64),
            "day": day.astype(np.int64),
            "second": rng.integers(hour[0] * 3600, hour[1] * 3600, size=size),
            "category": np.full(size, category, dtype=object),
            "channel": np.full(size, channel, dtype=object),
            "merchant": np.full(size, "", dtype=object),
            "counterparty": (np.full(size, party, dtype=object) if isinstance(party, str) else party.astype(object)),
            "description": np.full(size, description, dtype=object),
        })

    # Warning signs, for everyone in proportion to their stress (before and after any onset).
    advances = rng.poisson(0.45 * pressure * months) * has_card
    c = np.repeat(everyone, advances)
    add(c, book.card[c], -rng.choice(np.array([500, 1000, 2000, 3000]), size=len(c)) * 100,
        rng.integers(0, window_days, size=len(c)), (10, 23), "cash", "atm", CASH_ADVANCE_COUNTERPARTY,
        "Cash advance on card")
    borrowing = rng.poisson(0.3 * np.clip(behaviour.stress - 0.3, 0.0, None) * months)
    c = np.repeat(everyone, borrowing)
    add(c, book.current[c], rng.choice(np.array([2000, 3000, 5000, 8000]), size=len(c)) * 100,
        rng.integers(0, window_days, size=len(c)), (0, 24), "income_other", "app",
        np.array(LENDERS, dtype=object)[rng.integers(0, len(LENDERS), size=len(c))], "Short-term loan disbursement")
    slips = rng.poisson(0.12 * pressure * months) * has_card
    c = np.repeat(everyone, slips)
    add(c, book.card[c], -rng.choice(np.array([50, 80, 120]), size=len(c)) * 100,
        rng.integers(0, window_days, size=len(c)), (1, 3), "fees", "online", LATE_FEE_COUNTERPARTY,
        LATE_FEE_DESCRIPTION)

    # The default itself: a late fee for every month that goes unpaid after the onset, on the card and on
    # the mortgage.
    for account_of, fee in ((book.card, np.array([150, 200, 300])), (book.loan_account, np.array([300, 500]))):
        defaulters = everyone[behaviour.defaults & (account_of >= 0)]
        for k in range(int(np.ceil(months)) + 1):
            day = behaviour.onset_day[defaulters] + 3 + 30 * k
            due = defaulters[day < window_days]
            add(due, account_of[due], -rng.choice(fee, size=len(due)) * 100, day[day < window_days], (1, 3),
                "fees", "online", LATE_FEE_COUNTERPARTY, LATE_FEE_DESCRIPTION)

    fields = list(Ledger.__dataclass_fields__)
    columns = {f: getattr(ledger, f)[keep] for f in fields}
    columns["cents"] = cents[keep]
    for part in extra:
        for f in fields:
            columns[f] = np.concatenate([columns[f], part[f]])
    moment = columns["day"].astype(np.int64) * 86400 + columns["second"]
    order = np.lexsort((moment, columns["account"], columns["customer"]))
    return Ledger(**{f: columns[f][order] for f in fields})

