"""The asset classes the advisor allocates between, and how far each risk level may hold each of them.

The order of `ASSET_CLASSES` is the order of every vector and matrix in the maths modules.

The bounds are nested: every level may hold everything the level below it may (a higher level only relaxes a
minimum or raises a maximum) and its volatility budget is larger, so the best allocation of a level is always
feasible for the next one. That is what makes allocations get riskier monotonically with the risk level.
"""

from __future__ import annotations

from dataclasses import dataclass

from products.models import AssetClass

# The vocabulary is the catalogue's (a product's asset mix uses it); the policies below are the advisor's.
CASH = AssetClass.CASH.value
GOV_BOND = AssetClass.GOV_BOND.value
CORP_BOND = AssetClass.CORP_BOND.value
DOM_EQUITY = AssetClass.DOM_EQUITY.value
GLOBAL_EQUITY = AssetClass.GLOBAL_EQUITY.value
GOLD = AssetClass.GOLD.value

ASSET_CLASSES: tuple[str, ...] = (CASH, GOV_BOND, CORP_BOND, DOM_EQUITY, GLOBAL_EQUITY, GOLD)
EQUITIES = frozenset({DOM_EQUITY, GLOBAL_EQUITY})
LABELS = dict(AssetClass.choices)


@dataclass(frozen=True)
class LevelPolicy:
    """What a risk level allows: weight bounds per asset class, a volatility budget and a loss tolerance."""

    level: int
    min_weights: dict[str, float]
    max_weights: dict[str, float]
    max_volatility: float  # annualised, of the whole portfolio
    max_drawdown: float  # a fall from peak beyond this raises a drawdown alert (positive number)
    max_single_product: float  # concentration limit: share of the portfolio in one product


def _policy(level: int, *, cash_min: float, corp: float, dom: float, glob: float, gold: float, vol: float,
            drawdown: float, single: float) -> LevelPolicy:
    return LevelPolicy(
        level=level,
        min_weights={CASH: cash_min, GOV_BOND: 0.0, CORP_BOND: 0.0, DOM_EQUITY: 0.0, GLOBAL_EQUITY: 0.0, GOLD: 0.0},
        max_weights={CASH: 1.0, GOV_BOND: 0.8, CORP_BOND: corp, DOM_EQUITY: dom, GLOBAL_EQUITY: glob, GOLD: gold},
        max_volatility=vol, max_drawdown=drawdown, max_single_product=single,
    )


POLICIES: dict[int, LevelPolicy] = {
    1: _policy(1, cash_min=0.20, corp=0.30, dom=0.00, glob=0.00, gold=0.00, vol=0.02, drawdown=0.03, single=0.60),
    2: _policy(2, cash_min=0.10, corp=0.50, dom=0.15, glob=0.10, gold=0.05, vol=0.05, drawdown=0.08, single=0.50),
    3: _policy(3, cash_min=0.05, corp=0.50, dom=0.40, glob=0.25, gold=0.10, vol=0.08, drawdown=0.15, single=0.40),
    4: _policy(4, cash_min=0.02, corp=0.50, dom=0.60, glob=0.40, gold=0.10, vol=0.12, drawdown=0.25, single=0.35),
    5: _policy(5, cash_min=0.00, corp=0.50, dom=0.80, glob=0.50, gold=0.15, vol=0.17, drawdown=0.35, single=0.30),
}


def policy_for(level: int) -> LevelPolicy:
    try:
        return POLICIES[int(level)]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"Risk level must be 1 to 5, not {level!r}.") from exc
