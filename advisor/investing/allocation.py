"""From a risk level, assumptions and the products a customer may buy to an allocation in real products.

`compute_allocation(inputs)` is a pure function of a JSON-able dict (the `inputs` an InvestmentAdvice stores),
so the same inputs always give the same advice and `reproduce_advice` can prove a stored report.

Mapping onto products: an asset class can only be held through a product that is mostly that class (a "pure"
product, ≥ 80 % of its mix) and that the customer may buy (the advisor's suitability gate, which among other
things refuses anything above the customer's risk level). A class with no such product, or none whose minimum
amount the class's share reaches, is removed from the optimisation before it runs, so the allocation is one
the customer can actually hold rather than a target the products only approximate.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from advisor.investing.asset_classes import ASSET_CLASSES, CASH, LevelPolicy, policy_for
from advisor.investing.optimiser import Allocation, MarketAssumptions, mean_variance, risk_parity

ENGINE_VERSION = "invest-2026.1"
PURE_SHARE = 0.8
# One in twenty years is worse than this many standard deviations below the mean (normal approximation).
BAD_YEAR_Z = 1.645
CENT = Decimal("0.01")


def market_from_inputs(assumptions: dict[str, Any]) -> MarketAssumptions:
    classes = tuple(ASSET_CLASSES)
    returns = np.array([assumptions["expected_returns"][c] for c in classes], dtype=float)
    vols = np.array([assumptions["volatilities"][c] for c in classes], dtype=float)
    corr = np.array([[assumptions["correlations"][a][b] for b in classes] for a in classes], dtype=float)
    market = MarketAssumptions(asset_classes=classes, expected_returns=returns, volatilities=vols, correlations=corr)
    market.validate()
    return market


def _product_score(product: dict[str, Any], *, horizon_years: float) -> float:
    """Net expected return a year: the middle of the advertised range, less fees (the buying fee spread over
    the horizon)."""
    middle = (product["return_min"] + product["return_max"]) / 2 if product["return_min"] is not None else 0.0
    return middle - product["management_fee_pct"] - product["subscription_fee_pct"] / max(horizon_years, 1.0)


def _pure_class(product: dict[str, Any]) -> str | None:
    for asset_class, share in product["asset_mix"].items():
        if share >= PURE_SHARE:
            return asset_class
    return None


def _locked_beyond_horizon(product: dict[str, Any], *, horizon_years: float) -> bool:
    """A product that cannot be sold before maturity must mature within the customer's horizon."""
    return product["liquidity"] == "at_maturity" and (product["term_months"] or 0) > horizon_years * 12 + 1e-9


def choose_products(inputs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """For each asset class, the products that may carry it, best first.

    The class's return and risk come from the assumptions; the product only carries them, so the best carrier is
    the broadest and least risky one (a CSI 300 index fund rather than a sector fund, both "domestic equity"), and
    among equally risky ones the highest expected return after fees. ESG products come first when the customer
    asked for them. Products locked beyond the customer's horizon are left out.
    """
    prefers_esg = inputs.get("sustainability") in ("prefer_esg", "only_esg")
    horizon = float(inputs.get("horizon_years", 5.0))
    by_class: dict[str, list[dict[str, Any]]] = {c: [] for c in ASSET_CLASSES}
    for product in inputs["products"]:
        asset_class = _pure_class(product)
        if asset_class is not None and not _locked_beyond_horizon(product, horizon_years=horizon):
            by_class[asset_class].append(product)
    for items in by_class.values():
        items.sort(key=lambda p: (
            not (prefers_esg and p["esg"]), p["risk_level"], -_product_score(p, horizon_years=horizon), p["code"],
        ))
    return by_class


def _risk_parity_within_budget(market: MarketAssumptions, policy: LevelPolicy) -> Allocation:
    """Risk parity among the risky classes, topped up with cash until the level's volatility budget holds.

    Unlevered risk parity over every class would put most of the money in cash (its risk is tiny, so it takes a
    large weight to contribute an equal share), whatever the level; cash is therefore held at the level's floor
    while risk is shared equally among the others, and only if that mix is too volatile for the level is it
    diluted with cash (scaling the risky weights down keeps them within their maximums).
    """
    floor = policy.min_weights[CASH]
    risky = replace(policy, max_weights={**policy.max_weights, CASH: floor})
    if sum(risky.max_weights.values()) < 1.0 - 1e-9:  # the risky classes cannot absorb the rest: no cash cap
        risky = policy
    base = risk_parity(market, risky)
    weights = np.array([base.weights.get(c, 0.0) for c in market.asset_classes])
    cash = market.asset_classes.index(CASH)

    def mix(scale: float) -> np.ndarray:
        w = weights * scale
        w[cash] = weights[cash] * scale + (1.0 - scale)
        return w

    def volatility(w: np.ndarray) -> float:
        return float(np.sqrt(w @ market.covariance @ w))

    low, high = 0.0, 1.0
    if volatility(mix(1.0)) > policy.max_volatility:
        for _ in range(60):  # bisection on the risky share: volatility rises monotonically with it
            middle = (low + high) / 2
            low, high = (middle, high) if volatility(mix(middle)) <= policy.max_volatility else (low, middle)
        final = mix(low)
    else:
        final = mix(1.0)
    return Allocation(
        weights={c: float(final[i]) for i, c in enumerate(market.asset_classes)},
        expected_return=float(final @ market.expected_returns), volatility=volatility(final),
        method="risk_parity", risk_contributions=base.risk_contributions,
    )


def _feasible_policy(policy: LevelPolicy, by_class: dict[str, list[dict[str, Any]]], amount: float) -> LevelPolicy:
    """The level's policy with every class the customer cannot hold (no product, or none affordable at the
    class's largest allowed share) capped at zero."""
    max_weights = dict(policy.max_weights)
    min_weights = dict(policy.min_weights)
    for asset_class in ASSET_CLASSES:
        reachable = [p for p in by_class[asset_class] if p["min_amount"] <= amount * max_weights[asset_class]]
        if not reachable:
            max_weights[asset_class] = 0.0
            min_weights[asset_class] = 0.0
    if sum(max_weights.values()) < 1.0 - 1e-9:
        raise ValueError("The customer can hold too few asset classes for an allocation of this amount.")
    return replace(policy, min_weights=min_weights, max_weights=max_weights)


def _split_amount(amount: Decimal, weights: list[float]) -> list[Decimal]:
    """Amounts to the cent that sum exactly to `amount` (the rounding remainder goes to the largest line)."""
    parts = [(amount * Decimal(repr(w))).quantize(CENT, ROUND_HALF_UP) for w in weights]
    if parts:
        largest = max(range(len(parts)), key=lambda i: parts[i])
        parts[largest] += amount - sum(parts)
    return parts


def compute_allocation(inputs: dict[str, Any]) -> dict[str, Any]:
    """The advice the inputs give: target weights, their figures, and the product lines with amounts."""
    amount = Decimal(inputs["amount"])
    policy = policy_for(inputs["level"])
    market = market_from_inputs(inputs["assumptions"])
    by_class = choose_products(inputs)
    feasible = _feasible_policy(policy, by_class, float(amount))
    optimise = _risk_parity_within_budget if inputs["method"] == "risk_parity" else mean_variance
    allocation: Allocation = optimise(market, feasible)

    weights = {c: round(float(allocation.weights.get(c, 0.0)), 6) for c in ASSET_CLASSES}
    lines: list[dict[str, Any]] = []
    folded = 0.0
    for asset_class in ASSET_CLASSES:
        weight = weights[asset_class]
        if weight <= 0:
            continue
        affordable = [p for p in by_class[asset_class] if p["min_amount"] <= float(amount) * weight]
        if not affordable:  # cannot happen for classes the feasible policy kept, unless the optimum is tiny
            folded += weight
            continue
        lines.append({"asset_class": asset_class, "weight": weight, "product": affordable[0]})
    if folded:
        cash_line = next((line for line in lines if line["asset_class"] == CASH), None)
        if cash_line is None:
            raise ValueError("No cash product can take the share no other product could.")
        cash_line["weight"] += folded
    amounts = _split_amount(amount, [line["weight"] for line in lines])
    products = []
    for line, line_amount in zip(lines, amounts, strict=True):
        p = line["product"]
        products.append({
            "product_id": p["id"], "code": p["code"], "name_en": p["name_en"], "name_zh": p["name_zh"],
            "asset_class": line["asset_class"], "weight": round(line["weight"], 6), "amount": str(line_amount),
            "risk_level": p["risk_level"], "return_min": p["return_min"], "return_max": p["return_max"],
            "management_fee_pct": p["management_fee_pct"], "subscription_fee_pct": p["subscription_fee_pct"],
            "liquidity": p["liquidity"], "term_months": p["term_months"], "esg": p["esg"],
        })
    expected, volatility = float(allocation.expected_return), float(allocation.volatility)
    # Started at Decimal(0): over no lines, sum() would give the int 0 (the weights sum to 1, so there are lines).
    one_off = sum((Decimal(p["amount"]) * Decimal(repr(p["subscription_fee_pct"])) / 100 for p in products), Decimal(0))
    yearly = sum((Decimal(p["amount"]) * Decimal(repr(p["management_fee_pct"])) / 100 for p in products), Decimal(0))
    return {
        "weights": weights,
        "expected_return": round(expected, 6),
        "volatility": round(volatility, 6),
        "bad_year_return": round(expected - BAD_YEAR_Z * volatility, 6),
        "products": products,
        "max_product_risk": max((p["risk_level"] for p in products), default=1),
        "costs": {"one_off": str(one_off.quantize(CENT)), "yearly": str(yearly.quantize(CENT))},
        "unavailable_classes": [c for c in ASSET_CLASSES if feasible.max_weights[c] == 0 < policy.max_weights[c]],
        "volatility_budget": policy.max_volatility,
        "within_budget": volatility <= policy.max_volatility + 1e-6 or math.isclose(volatility, 0.0),
    }
