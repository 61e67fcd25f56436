"""What the monitor remembers about each customer's behaviour, updated in memory by every transaction.

The hot path never queries per transaction: a customer's state is built once from their recent history (one
query for a batch of customers) and then updated in place. Counts are plain dicts and a ring of the last
RECENT_DAYS of payments, small enough to keep hundreds of thousands of customers in memory.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

RECENT_SECONDS = 7 * 86400
CASH_CHANNELS = frozenset({"atm", "branch"})


@dataclass(slots=True)
class Event:
    """A transaction as the monitor sees it: floats and strings, no ORM objects on the hot path."""

    customer_id: int
    account_id: int
    amount: float  # signed: money out is negative
    ts: float  # epoch seconds
    hour: int  # local hour of day (the bank's time zone)
    category: str
    channel: str
    counterparty: str = ""
    transaction_id: int | None = None

    @property
    def is_out(self) -> bool:
        return self.amount < 0

    @property
    def is_cash(self) -> bool:
        return self.category == "cash" or self.channel in CASH_CHANNELS


class CustomerState:
    __slots__ = (
        "customer_id", "n", "n_out", "sum_log", "sumsq_log", "channels", "categories", "hours",
        "counterparties", "recent", "last_ts", "last_transaction_id",
    )

    def __init__(self, customer_id: int) -> None:
        self.customer_id = customer_id
        self.n = 0
        self.n_out = 0
        self.sum_log = 0.0
        self.sumsq_log = 0.0
        self.channels: dict[str, int] = {}
        self.categories: dict[str, int] = {}
        self.hours = [0] * 24
        self.counterparties: set[str] = set()
        # (ts, |amount|, is_out, is_cash) of the last RECENT_SECONDS, oldest first
        self.recent: deque[tuple[float, float, bool, bool]] = deque()
        self.last_ts = 0.0
        self.last_transaction_id = 0

    # --- reading ------------------------------------------------------------------------------------
    def amount_z(self, amount: float) -> float | None:
        """How unusual |amount| is among the customer's outflows (log scale); None without history."""
        if self.n_out < 2:
            return None
        mean = self.sum_log / self.n_out
        var = max(self.sumsq_log / self.n_out - mean * mean, 0.0)
        return (math.log1p(abs(amount)) - mean) / max(math.sqrt(var), 0.25)

    def typical_amount(self) -> float:
        return math.expm1(self.sum_log / self.n_out) if self.n_out else 0.0

    def hour_share(self, hour: int) -> float:
        if not self.n:
            return 1.0
        h = self.hours
        return (h[(hour - 1) % 24] + h[hour] + h[(hour + 1) % 24]) / self.n

    def share(self, counts: dict[str, int], key: str) -> float:
        return counts.get(key, 0) / self.n if self.n else 1.0

    def recent_outflows(self, now: float, seconds: float) -> tuple[int, float]:
        """(count, total) of payments out in the last `seconds` before `now`."""
        count, total, since = 0, 0.0, now - seconds
        for ts, amount, is_out, _ in reversed(self.recent):
            if ts < since:
                break
            if is_out and ts <= now:  # a later-dated posting (a back-dated event judged now) is not "before"
                count += 1
                total += amount
        return count, total

    def recent_cash_between(self, now: float, seconds: float, low: float, high: float) -> int:
        count, since = 0, now - seconds
        for ts, amount, _, is_cash in reversed(self.recent):
            if ts < since:
                break
            if is_cash and low <= amount < high and ts <= now:
                count += 1
        return count

    # --- writing ------------------------------------------------------------------------------------
    def update(self, e: Event) -> None:
        self.n += 1
        if e.amount < 0:
            self.n_out += 1
            v = math.log1p(-e.amount)
            self.sum_log += v
            self.sumsq_log += v * v
        self.channels[e.channel] = self.channels.get(e.channel, 0) + 1
        self.categories[e.category] = self.categories.get(e.category, 0) + 1
        self.hours[e.hour] += 1
        if e.counterparty:
            self.counterparties.add(e.counterparty)
        recent = self.recent
        recent.append((e.ts, abs(e.amount), e.amount < 0, e.is_cash))
        horizon = e.ts - RECENT_SECONDS
        while recent and recent[0][0] < horizon:
            recent.popleft()
        if e.ts > self.last_ts:
            self.last_ts = e.ts
        if e.transaction_id and e.transaction_id > self.last_transaction_id:
            self.last_transaction_id = e.transaction_id


def normalise_counterparty(text: str) -> str:
    return " ".join(text.lower().split())[:120]
