"""Rebalancing: the trades that move a portfolio toward its targets, within a turnover cap, without new money.

The algorithm, in three steps, each simple enough to prove what the plan guarantees:

1. Effective targets. The targets are read as proportions of today's total. A position that should sell but is
   locked (or should buy but cannot be bought) is frozen at its value; the other positions' targets are scaled by
   one common factor k so that they add up to what the frozen ones leave. Freezing one can flip another's
   direction, so this repeats until nothing new freezes (at most once per position).
2. Wanted trades: every non-frozen position outside the tolerance band wants `effective target - value`.
3. Sizing. With B the wanted buys and S the wanted sells, X = min(cap * total, B, S) is traded on each side: every
   buy is scaled by X / B, every sell by X / S. Trades below `min_trade` are dropped and the sizing repeats on the
   rest (at most once per position), since dropping changes B and S.

Guarantees: buys == sells (to rounding), so the total value is unchanged before costs; turnover <= the cap; every
trade is >= min_trade, moves its position toward its effective target and never past it; a position that is not
sellable is never sold and one that is not buyable never bought; drift_after <= drift_before, and, when nothing is
frozen, drift_after == drift_before - turnover. When nothing is frozen or inside the tolerance band and neither the cap
nor min_trade bites, the plan reaches the targets; when the cap binds and no trade was dropped, turnover == cap.

Amounts are floats, like the optimiser's weights: a plan is advice, and the orders placed from it are rounded to
money (Decimal) when they are booked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Position:
    key: str  # product code
    value: float
    target_value: float
    cost_rate: float  # one-off fraction of the amount paid on buying or selling, e.g. 0.012
    sellable: bool  # False for products locked until maturity
    buyable: bool = True


@dataclass(frozen=True)
class Trade:
    key: str
    side: Literal["buy", "sell"]
    amount: float
    cost: float


@dataclass(frozen=True)
class RebalancePlan:
    """Trades (sells first, then buys, each largest first), turnover = traded / 2 / total, and drift = sum of
    |value - target| / 2 / total before and after the trades. `capped` says the turnover cap cut some trade short."""

    trades: list[Trade]
    turnover: float
    total_cost: float
    drift_before: float
    drift_after: float
    capped: bool


def plan_rebalance(positions: list[Position], *, min_trade: float, turnover_cap: float,
                   tolerance: float = 0.0) -> RebalancePlan:
    """Plan self-financing trades toward the targets; see the module docstring for what is guaranteed.

    Raises ValueError for no positions, repeated keys, negative or non-finite amounts, an empty portfolio, targets
    summing to zero, or a negative min_trade, turnover_cap, tolerance or cost rate.
    """
    _validate(positions, min_trade=min_trade, turnover_cap=turnover_cap, tolerance=tolerance)
    total = sum(p.value for p in positions)
    scale = total / sum(p.target_value for p in positions)
    targets = {p.key: p.target_value * scale for p in positions}
    effective = _effective_targets(positions, targets, total)
    wanted = {p.key: effective[p.key] - p.value for p in positions
              if abs(effective[p.key] - p.value) > tolerance * total}
    amounts, capped = _size(wanted, limit=turnover_cap * total, min_trade=min_trade)

    by_key = {p.key: p for p in positions}
    trades = [Trade(key=key, side="buy" if wanted[key] > 0 else "sell", amount=amount,
                    cost=amount * by_key[key].cost_rate) for key, amount in amounts.items()]
    trades.sort(key=lambda t: (t.side != "sell", -t.amount, t.key))
    after = {p.key: p.value for p in positions}
    for trade in trades:
        after[trade.key] += trade.amount if trade.side == "buy" else -trade.amount
    return RebalancePlan(
        trades=trades,
        turnover=sum(t.amount for t in trades) / 2 / total,
        total_cost=sum(t.cost for t in trades),
        drift_before=sum(abs(p.value - targets[p.key]) for p in positions) / 2 / total,
        drift_after=sum(abs(after[key] - targets[key]) for key in after) / 2 / total,
        capped=capped,
    )


def _validate(positions: list[Position], *, min_trade: float, turnover_cap: float, tolerance: float) -> None:
    if not positions:
        raise ValueError("There is nothing to rebalance: no positions.")
    if len({p.key for p in positions}) != len(positions):
        raise ValueError("Each product may appear only once among the positions.")
    for p in positions:
        for name in ("value", "target_value", "cost_rate"):
            amount = getattr(p, name)
            if not math.isfinite(amount) or amount < 0:
                raise ValueError(f"Position {p.key}: {name} must be a non-negative number, not {amount!r}.")
    if sum(p.value for p in positions) <= 0:
        raise ValueError("The portfolio is empty: there is nothing to rebalance.")
    if sum(p.target_value for p in positions) <= 0:
        raise ValueError("The targets add up to zero: there is nothing to rebalance toward.")
    for name, setting in (("min_trade", min_trade), ("turnover_cap", turnover_cap), ("tolerance", tolerance)):
        if not math.isfinite(setting) or setting < 0:
            raise ValueError(f"{name} must be a non-negative number, not {setting!r}.")


def _effective_targets(positions: list[Position], targets: dict[str, float], total: float) -> dict[str, float]:
    frozen: set[str] = set()
    while True:
        free = [p for p in positions if p.key not in frozen]
        free_target = sum(targets[p.key] for p in free)
        left = total - sum(p.value for p in positions if p.key in frozen)  # what the free positions hold together
        if free_target <= 0:
            # The targets all sit in frozen positions: the free ones have no proportions to move toward.
            return {p.key: p.value for p in positions}
        k = left / free_target
        effective = {p.key: (p.value if p.key in frozen else targets[p.key] * k) for p in positions}
        stuck = {p.key for p in free if (not p.sellable and p.value > effective[p.key])
                 or (not p.buyable and p.value < effective[p.key])}
        if not stuck:
            return effective
        frozen |= stuck


def _size(wanted: dict[str, float], *, limit: float, min_trade: float) -> tuple[dict[str, float], bool]:
    """Amount per trade (positive), and whether the turnover limit was ever the binding one."""
    active = dict(wanted)
    capped = False
    while True:
        buys = sum(d for d in active.values() if d > 0)
        sells = -sum(d for d in active.values() if d < 0)
        traded = min(limit, buys, sells)
        capped = capped or limit < min(buys, sells)
        # One factor per side keeps buys == sells; both factors are <= 1, so no trade passes its target.
        amounts = {key: abs(d) * (traded / buys if d > 0 else traded / sells) for key, d in active.items()}
        too_small = {key for key, amount in amounts.items() if amount < min_trade or amount <= 0}
        if not too_small:
            return amounts, capped
        for key in too_small:
            del active[key]
