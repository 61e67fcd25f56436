"""The demo customers' transactions: pay, housing, bills and everyday spending, month by month.

Vectorised: every kind of event is drawn for all customers of a chunk at once, as arrays. Amounts are whole
cents (int64) until the writer prints them as numeric text with two places, so no float ever reaches the
database. Times are local wall-clock times (the writer's COPY session runs in settings.TIME_ZONE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from customers.demo.activity import Accounts, CustomerBook
from customers.demo.population import Population
from customers.demo.truth import SPEND_CATEGORIES

MERCHANTS: dict[str, list[str]] = {
    "groceries": [
        "FreshMart 鲜丰超市",
        "Green Basket Market",
        "Daily Harvest 每日鲜",
        "Orchard Lane Grocers",
        "Hualian Neighbourhood Store",
        "MetroFresh Hypermarket",
        "家家乐便利店",
        "Sunrise Organic",
    ],
    "dining": [
        "Jade Dragon Restaurant 玉龙酒家",
        "Noodle House 面馆",
        "Hotpot Corner 老火锅",
        "Bean & Leaf Coffee",
        "Sakura Sushi Bar",
        "Le Petit Bistro",
        "Dim Sum Palace 点心皇",
        "Quick Bite Delivery 快送外卖",
        "Golden Wok",
        "Milk Tea Lab 奶茶研究所",
    ],
    "travel": [
        "SkyWay Airlines",
        "EastJet Air 东航捷",
        "Harbour View Hotels",
        "TripNest Online Travel 旅巢网",
        "Rail Express 12306 Tickets",
        "Lotus Resort Sanya",
        "Global Stay Booking",
        "Pacific Cruises",
    ],
    "transport": [
        "Metro Card Top-up 地铁充值",
        "DiDa Ride-hailing 嘀嗒出行",
        "City Bus Pass",
        "Sinofuel Station 中油站",
        "EV Charge Point 充电桩",
        "Park & Go Parking",
    ],
    "shopping": [
        "Tmart Online Mall 天猫商城",
        "JD-Style Electronics 京选电器",
        "Uniqlo-Style Apparel 优衣集",
        "Lumi Cosmetics",
        "HomeNest Furniture",
        "Page One Books",
        "Pinduo Deals 拼多优选",
        "Apex Sports",
    ],
    "health": [
        "Renai Pharmacy 仁爱大药房",
        "City No.1 Hospital 市第一医院",
        "Smile Dental Clinic",
        "Vision Optical",
        "FitLife Gym 健身",
        "Harmony TCM Clinic 中医馆",
    ],
    "education": [
        "New Horizon Tutoring 新视野教育",
        "Bright Kids Academy",
        "Online Course Hub 网课堂",
        "Municipal School Fees",
        "Language Lab English",
        "Piano Studio 琴行",
    ],
    "entertainment": [
        "Galaxy Cinemas 星河影城",
        "StreamPlus Subscription",
        "KTV Melody 麦乐迪",
        "GameCloud",
        "City Museum Tickets",
        "LiveHouse Concerts",
        "Music Stream VIP 音乐会员",
    ],
}
# Typical amount (CNY) of one purchase in each category, before the customer's income scale.
TYPICAL = {
    "groceries": 110,
    "dining": 85,
    "travel": 1400,
    "transport": 30,
    "shopping": 320,
    "health": 220,
    "education": 900,
    "entertainment": 120,
}
# Channel mix per category: app, online, branch, atm, pos.
CHANNELS = np.array(["app", "online", "branch", "atm", "pos"])
CHANNEL_P = {
    "groceries": [0.25, 0.05, 0.0, 0.0, 0.70],
    "dining": [0.40, 0.05, 0.0, 0.0, 0.55],
    "travel": [0.55, 0.40, 0.0, 0.0, 0.05],
    "transport": [0.70, 0.05, 0.0, 0.0, 0.25],
    "shopping": [0.30, 0.45, 0.0, 0.0, 0.25],
    "health": [0.20, 0.05, 0.0, 0.0, 0.75],
    "education": [0.40, 0.45, 0.05, 0.0, 0.10],
    "entertainment": [0.50, 0.30, 0.0, 0.0, 0.20],
}
# Hours of the day when each category happens: (first hour, span).
HOURS = {
    "groceries": (8, 13),
    "dining": (11, 11),
    "travel": (7, 16),
    "transport": (7, 15),
    "shopping": (9, 14),
    "health": (8, 10),
    "education": (9, 12),
    "entertainment": (12, 11),
}
EMPLOYERS = [
    "Huaxin Technology Co., Ltd.",
    "Eastern Star Trading Co.",
    "Municipal Education Bureau",
    "Pacific Consulting (Shanghai)",
    "Zhongding Manufacturing",
    "Kangning Hospital Group",
    "Bluewave Internet Ltd.",
    "Golden Bridge Logistics",
    "Sunshine Retail Group",
    "Civic Affairs Office",
]
UTILITIES = [
    ("Eastern Grid Power 电费", "utilities", 0.006, 60),
    ("City Water & Gas 水费燃气费", "utilities", 0.003, 40),
    ("Telecom Mobile 话费", "utilities", 0.002, 58),
]


@dataclass
class Ledger:
    customer: np.ndarray
    account: np.ndarray
    cents: np.ndarray  # signed int64
    day: np.ndarray  # days after the window start
    second: np.ndarray  # second of the day, local time
    category: np.ndarray
    channel: np.ndarray
    merchant: np.ndarray
    counterparty: np.ndarray
    description: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)


def month_spans(window_start: date, as_of: date) -> list[tuple[date, int, int]]:
    """(first day of the calendar month, first and last day offsets inside the window) for each month."""
    spans = []
    first = window_start.replace(day=1)
    while first < as_of:
        following = (first + timedelta(days=32)).replace(day=1)
        lo = max(first, window_start)
        hi = min(following, as_of) - timedelta(days=1)
        if hi >= lo:
            spans.append((first, (lo - window_start).days, (hi - window_start).days))
        first = following
    return spans


class _Rows:
    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self,
        *,
        customer: np.ndarray,
        account: np.ndarray,
        cents: np.ndarray,
        day: np.ndarray,
        second: np.ndarray,
        category: np.ndarray | str,
        channel: np.ndarray | str,
        merchant: np.ndarray | str,
        counterparty: np.ndarray | str,
        description: np.ndarray | str,
    ) -> None:
        size = len(customer)
        if size == 0:
            return

        def full(value: np.ndarray | str) -> np.ndarray:
            return np.full(size, value, dtype=object) if isinstance(value, str) else value.astype(object)

        self.parts.append(
            {
                "customer": customer,
                "account": account,
                "cents": cents.astype(np.int64),
                "day": day,
                "second": second,
                "category": full(category),
                "channel": full(channel),
                "merchant": full(merchant),
                "counterparty": full(counterparty),
                "description": full(description),
            }
        )

    def ledger(self) -> Ledger:
        keys = [
            "customer",
            "account",
            "cents",
            "day",
            "second",
            "category",
            "channel",
            "merchant",
            "counterparty",
            "description",
        ]
        if not self.parts:
            return Ledger(*(np.zeros(0, dtype=object) for _ in keys))
        return Ledger(*(np.concatenate([p[k] for p in self.parts]) for k in keys))


def build_ledger(
    rng: np.random.Generator,
    pop: Population,
    accounts: Accounts,
    book: CustomerBook,
    *,
    window_start: date,
    as_of: date,
) -> Ledger:
    n = len(pop)
    rows = _Rows()
    everyone = np.arange(n)
    monthly_income = pop.income / 12
    payday = rng.choice(np.array([5, 10, 15, 20, 25]), size=n)
    rent_day = rng.integers(1, 6, size=n)
    employer = np.array(EMPLOYERS, dtype=object)[rng.integers(0, len(EMPLOYERS), size=n)]
    student = pop.stage == 0
    retired = pop.stage == 5
    renter = (book.mortgage_monthly == 0) & (rng.random(n) < np.where(pop.stage <= 2, 0.75, 0.2))
    rent = np.round(np.where(student, 900, monthly_income * rng.uniform(0.18, 0.3, size=n)), 0) * 100
    activity = rng.lognormal(0.0, 0.35, size=n)
    scale = np.clip((np.maximum(pop.income, 20_000) / 150_000) ** 0.45, 0.3, 3.0)
    cum_mix = np.cumsum(pop.latent.spend_mix, axis=1)
    has_card = book.card >= 0

    for first, lo, hi in month_spans(window_start, as_of):
        days_in_span = hi - lo + 1

        def on_day(day_of_month: np.ndarray, first: date = first, lo: int = lo, hi: int = hi) -> np.ndarray:
            return (first - window_start).days + day_of_month - 1

        def seconds(size: int, start_hour: int = 8, span: int = 12) -> np.ndarray:
            return rng.integers(start_hour * 3600, (start_hour + span) * 3600, size=size)

        def within(days: np.ndarray, lo: int = lo, hi: int = hi) -> np.ndarray:
            return (days >= lo) & (days <= hi)

        # Income: salary on the payday, a pension for the retired, an allowance for students.
        days = on_day(payday)
        who = everyone[within(days)]
        wage = np.round(monthly_income[who] * rng.uniform(0.97, 1.03, size=len(who)) * 100)
        rows.add(
            customer=who,
            account=book.current[who],
            cents=np.where(student[who], 0, wage),
            day=days[who],
            second=seconds(len(who), 9, 3),
            category=np.where(retired[who], "income_other", "salary").astype(object),
            channel="online",
            merchant="",
            counterparty=np.where(retired[who], "Municipal Social Security Fund", employer[who]).astype(
                object
            ),
            description=np.where(retired[who], f"Pension {first:%Y-%m}", f"Salary {first:%Y-%m}").astype(
                object
            ),
        )
        allowance = who[student[who]]
        rows.add(
            customer=allowance,
            account=book.current[allowance],
            cents=np.round(rng.uniform(1500, 3500, size=len(allowance)) * 100),
            day=days[allowance],
            second=seconds(len(allowance), 18, 4),
            category="transfer",
            channel="app",
            merchant="",
            counterparty="Family transfer",
            description=f"Living allowance {first:%Y-%m}",
        )
        # Housing: the mortgage instalment or the rent, early in the month.
        days = on_day(rent_day)
        who = everyone[within(days) & (book.mortgage_monthly > 0)]
        cents = np.round(book.mortgage_monthly[who] * 100)
        rows.add(
            customer=who,
            account=book.current[who],
            cents=-cents,
            day=days[who],
            second=seconds(len(who), 6, 2),
            category="housing",
            channel="online",
            merchant="",
            counterparty="Mortgage repayment",
            description=f"Mortgage instalment {first:%Y-%m}",
        )
        rows.add(
            customer=who,
            account=book.loan_account[who],
            cents=cents,
            day=days[who],
            second=seconds(len(who), 6, 2),
            category="transfer",
            channel="online",
            merchant="",
            counterparty="Repayment from current account",
            description=f"Mortgage instalment {first:%Y-%m}",
        )
        who = everyone[within(days) & renter]
        rows.add(
            customer=who,
            account=book.current[who],
            cents=-rent[who],
            day=days[who],
            second=seconds(len(who), 9, 12),
            category="housing",
            channel="app",
            merchant="",
            counterparty="Landlord (rent)",
            description=f"Rent {first:%Y-%m}",
        )
        # Bills.
        for name, category, share, floor in UTILITIES:
            days = on_day(rng.integers(8, 26, size=n))
            who = everyone[within(days)]
            cents = np.round(
                np.maximum(floor, monthly_income[who] * share) * rng.uniform(0.7, 1.3, len(who)) * 100
            )
            rows.add(
                customer=who,
                account=book.current[who],
                cents=-cents,
                day=days[who],
                second=seconds(len(who), 0, 24),
                category=category,
                channel="online",
                merchant=name,
                counterparty=name.split(" ")[0] + " Utilities Co.",
                description="Direct debit",
            )
        # Regular premiums and fund plans.
        days = on_day(np.full(n, 18))
        who = everyone[within(days) & (book.insurance_monthly > 0)]
        rows.add(
            customer=who,
            account=book.current[who],
            cents=-np.round(book.insurance_monthly[who] * 100),
            day=days[who],
            second=seconds(len(who), 2, 2),
            category="insurance",
            channel="online",
            merchant="",
            counterparty="Harmony Life Insurance",
            description="Premium",
        )
        who = everyone[within(days) & (book.invests_monthly > 0)]
        rows.add(
            customer=who,
            account=book.current[who],
            cents=-np.round(book.invests_monthly[who] * 100),
            day=days[who],
            second=seconds(len(who), 10, 2),
            category="investment",
            channel="app",
            merchant="",
            counterparty="Fund regular investment plan",
            description="Monthly fund purchase",
        )
        if first.month in (3, 6, 9, 12):
            days = on_day(np.full(n, 21))
            who = everyone[within(days) & (book.savings >= 0)]
            balance = np.array([accounts.balance[a] for a in book.savings[who]])
            rows.add(
                customer=who,
                account=book.savings[who],
                cents=np.maximum(1, np.round(balance * 0.0005 * 100)),
                day=days[who],
                second=np.full(len(who), 2 * 3600),
                category="income_other",
                channel="online",
                merchant="",
                counterparty="Bank",
                description="Quarterly interest",
            )
        # Cash.
        atm = rng.poisson(0.35 * days_in_span / 30.4, size=n)
        who = np.repeat(everyone, atm)
        rows.add(
            customer=who,
            account=book.current[who],
            cents=-rng.choice(np.array([300, 500, 1000, 2000]), size=len(who)) * 100,
            day=rng.integers(lo, hi + 1, size=len(who)),
            second=seconds(len(who), 8, 14),
            category="cash",
            channel="atm",
            merchant="",
            counterparty="ATM withdrawal",
            description="Cash withdrawal",
        )
        # Everyday spending, by the customer's spending mix.
        count = rng.poisson(np.where(student, 12, 20) * activity * days_in_span / 30.4)
        who = np.repeat(everyone, count)
        category = (
            (rng.random(len(who))[:, None] > cum_mix[who]).sum(axis=1).clip(0, len(SPEND_CATEGORIES) - 1)
        )
        cents = np.zeros(len(who), dtype=np.int64)
        channel = np.empty(len(who), dtype=object)
        merchant = np.empty(len(who), dtype=object)
        second = np.zeros(len(who), dtype=np.int64)
        for c, name in enumerate(SPEND_CATEGORIES):
            rows_c = category == c
            k = int(rows_c.sum())
            if not k:
                continue
            amount = TYPICAL[name] * scale[who[rows_c]] * rng.lognormal(0.0, 0.6, size=k)
            cents[rows_c] = np.maximum(100, np.round(amount * 100))
            channel[rows_c] = CHANNELS[rng.choice(5, size=k, p=CHANNEL_P[name])]
            merchant[rows_c] = np.array(MERCHANTS[name], dtype=object)[
                rng.integers(0, len(MERCHANTS[name]), k)
            ]
            start, span = HOURS[name]
            second[rows_c] = rng.integers(start * 3600, (start + span) * 3600, size=k)
        on_card = has_card[who] & (rng.random(len(who)) < 0.55)
        account = np.where(on_card, book.card[who], book.current[who])
        names = np.array(SPEND_CATEGORIES, dtype=object)[category]
        rows.add(
            customer=who,
            account=account,
            cents=-cents,
            day=rng.integers(lo, hi + 1, size=len(who)),
            second=second,
            category=names,
            channel=channel,
            merchant=merchant,
            counterparty=merchant,
            description=np.where(on_card, "Card purchase", "Debit purchase").astype(object),
        )
        # The card bill is paid from the current account on the 8th.
        days = on_day(np.full(n, 8))
        who = everyone[within(days) & has_card]
        bill = np.round(np.maximum(500, monthly_income[who] * 0.15) * rng.uniform(0.6, 1.2, len(who)) * 100)
        rows.add(
            customer=who,
            account=book.current[who],
            cents=-bill,
            day=days[who],
            second=seconds(len(who), 9, 10),
            category="transfer",
            channel="app",
            merchant="",
            counterparty="Credit card repayment",
            description="Card statement repayment",
        )
        rows.add(
            customer=who,
            account=book.card[who],
            cents=bill,
            day=days[who],
            second=seconds(len(who), 9, 10),
            category="transfer",
            channel="app",
            merchant="",
            counterparty="Repayment from current account",
            description="Payment received, thank you",
        )
    ledger = rows.ledger()
    # Salaries of students are not drawn (cents 0 above); drop zero rows so every posting moves money.
    keep = np.flatnonzero(ledger.cents != 0)
    # In customer, account and time order: the (customer, time) and (account, time) indexes then grow at
    # their right edge instead of taking random page splits, which is most of the cost of loading them.
    moment = ledger.day[keep].astype(np.int64) * 86400 + ledger.second[keep]
    keep = keep[np.lexsort((moment, ledger.account[keep], ledger.customer[keep]))]
    return Ledger(*(getattr(ledger, f)[keep] for f in Ledger.__dataclass_fields__))
