"""Strategic asset allocation: mean-variance and risk parity within a risk level's bounds and volatility budget.

Both optimisers use scipy's SLSQP: a maintained solver already in our dependencies (cvxpy would be a large native
dependency for six variables). SLSQP is deterministic for a given starting point, and every starting point here is
computed, never random, so the same assumptions and policy always give the same allocation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize

if TYPE_CHECKING:
    # Only for annotations: asset_classes reads the catalogue's vocabulary (Django models), the maths needs no Django.
    from advisor.investing.asset_classes import LevelPolicy

TINY_WEIGHT = 1e-4  # weights below this are noise from the solver, not advice
CHECK_TOLERANCE = 1e-6  # how far a returned allocation may be from its constraints
_SLSQP_OPTIONS = {"ftol": 1e-12, "maxiter": 1000}

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]  # weights -> (value, gradient), for SLSQP's jac=True


class OptimisationError(ValueError):
    """The bounds are contradictory, or the solver's answer breaks a constraint."""


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no truth value, so field-wise == would raise
class MarketAssumptions:
    """Capital market assumptions, vectors in the order of `asset_classes`; all figures annual, as decimals."""

    asset_classes: tuple[str, ...]
    expected_returns: np.ndarray  # arithmetic
    volatilities: np.ndarray
    correlations: np.ndarray

    def __post_init__(self) -> None:
        # Private read-only copies: a frozen dataclass should not change because the caller's array did.
        for name in ("expected_returns", "volatilities", "correlations"):
            array = np.array(getattr(self, name), dtype=float)
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        object.__setattr__(self, "asset_classes", tuple(self.asset_classes))

    @property
    def covariance(self) -> np.ndarray:
        return np.outer(self.volatilities, self.volatilities) * self.correlations

    def validate(self) -> None:
        """Raise ValueError unless the assumptions describe a possible market."""
        n = len(self.asset_classes)
        if n == 0 or len(set(self.asset_classes)) != n:
            raise ValueError("Asset classes must be a non-empty list without repeats.")
        if self.expected_returns.shape != (n,) or self.volatilities.shape != (n,):
            raise ValueError(f"Expected returns and volatilities must each have {n} entries, one per asset class.")
        if self.correlations.shape != (n, n):
            raise ValueError(f"Correlations must be a {n}x{n} matrix.")
        if not (np.all(np.isfinite(self.expected_returns)) and np.all(np.isfinite(self.volatilities))
                and np.all(np.isfinite(self.correlations))):
            raise ValueError("Assumptions must be finite numbers.")
        if np.any(self.volatilities <= 0):
            raise ValueError("Every volatility must be positive.")
        if not np.allclose(self.correlations, self.correlations.T, rtol=0.0, atol=1e-12):
            raise ValueError("The correlation matrix must be symmetric.")
        if not np.allclose(np.diag(self.correlations), 1.0, rtol=0.0, atol=1e-12):
            raise ValueError("The correlation matrix must have ones on its diagonal.")
        if np.any(np.abs(self.correlations) > 1.0):
            raise ValueError("Correlations must lie between -1 and 1.")
        smallest = float(np.linalg.eigvalsh(self.correlations).min())
        if smallest < -1e-10:
            raise ValueError(f"The correlation matrix is not positive semi-definite (eigenvalue {smallest:.3g}).")


@dataclass(frozen=True)
class Allocation:
    """Weights per asset class (every class of the assumptions, summing to 1) and what they are expected to do.

    `method` is "mean_variance", "risk_parity", or "minimum_variance" when the volatility budget could not be met
    within the bounds. `risk_contributions` are each class's share of the portfolio variance (they sum to 1).
    """

    weights: dict[str, float]
    expected_return: float
    volatility: float
    method: str
    risk_contributions: dict[str, float]


def portfolio_stats(weights: dict[str, float], assumptions: MarketAssumptions) -> tuple[float, float]:
    """(expected return, volatility) of `weights`; a class left out has weight 0. Raises ValueError for unknown ones."""
    unknown = set(weights) - set(assumptions.asset_classes)
    if unknown:
        raise ValueError(f"Unknown asset classes: {', '.join(sorted(unknown))}.")
    w = np.array([float(weights.get(key, 0.0)) for key in assumptions.asset_classes])
    return float(assumptions.expected_returns @ w), _volatility(w, assumptions.covariance)


def mean_variance(assumptions: MarketAssumptions, policy: LevelPolicy) -> Allocation:
    """The highest expected return, long-only and within the policy's bounds, with volatility <= its budget.

    When even the least volatile portfolio within the bounds exceeds the budget, that minimum-variance portfolio is
    returned instead (method "minimum_variance"): it is the closest the bounds allow. Weights are 0 or >= 1e-4.
    Raises ValueError for invalid assumptions and OptimisationError for contradictory bounds or a solver answer
    outside the constraints (checked to 1e-6).
    """
    returns = assumptions.expected_returns
    return _optimise(assumptions, policy, "mean_variance", lambda upper: _max_return_objective(returns))


def risk_parity(assumptions: MarketAssumptions, policy: LevelPolicy) -> Allocation:
    """Equal risk contributions from every class the policy lets us hold (max weight > 0), as far as the bounds allow.

    Minimises the squared deviations of the variance shares from an equal share, subject to the bounds, a sum of 1
    and the volatility budget (a risk level's budget holds whatever the method). Same fallback, dust rule and errors
    as `mean_variance`.
    """
    cov = assumptions.covariance
    return _optimise(assumptions, policy, "risk_parity", lambda upper: _risk_parity_objective(cov, upper > 0))


def _optimise(assumptions: MarketAssumptions, policy: LevelPolicy, method: str,
              objective_for: Callable[[np.ndarray], Objective]) -> Allocation:
    assumptions.validate()
    cov = assumptions.covariance
    lower, upper = _bounds(assumptions, policy)
    budget = float(policy.max_volatility)
    weights, outcome = _solve_within_budget(objective_for(upper), lower, upper, cov, budget, method)
    # Weights below 1e-4 are solver noise, not advice. Rather than zeroing them and nudging the rest (which can tip
    # a portfolio sitting exactly on its budget over it), fix them at zero and solve again. Each round removes at
    # least one class, so this ends; a round that would lose the budget is not taken.
    for _ in range(len(lower)):
        dust = (weights > 0) & (weights < TINY_WEIGHT) & (lower == 0)
        narrower = np.where(dust, 0.0, upper)
        if not dust.any() or narrower.sum() < 1:
            break
        retry, retry_outcome = _solve_within_budget(objective_for(narrower), lower, narrower, cov, budget, method)
        if retry_outcome != outcome:
            break
        weights, upper = retry, narrower
    _verify(weights, lower, upper, cov, budget if outcome == method else math.inf)
    return _allocation(weights, assumptions, outcome)


def _solve_within_budget(objective: Objective, lower: np.ndarray, upper: np.ndarray, cov: np.ndarray, budget: float,
                         method: str) -> tuple[np.ndarray, str]:
    safe = _tidy(_solve(_variance_objective(cov), lower, upper), lower, upper)
    if _volatility(safe, cov) > budget:
        return safe, "minimum_variance"
    raw = _tidy(_solve(objective, lower, upper, cov=cov, budget=budget, start=safe), lower, upper)
    return _pull_into_budget(raw, safe, cov, budget), method


def _bounds(assumptions: MarketAssumptions, policy: LevelPolicy) -> tuple[np.ndarray, np.ndarray]:
    # A class the policy does not mention may not be held: silence must never widen what a level allows.
    lower = np.array([float(policy.min_weights.get(key, 0.0)) for key in assumptions.asset_classes])
    upper = np.array([float(policy.max_weights.get(key, 0.0)) for key in assumptions.asset_classes])
    if np.any(lower < 0) or np.any(lower > upper) or lower.sum() > 1 + 1e-12 or upper.sum() < 1 - 1e-12:
        raise OptimisationError(f"The bounds of risk level {policy.level} admit no fully invested portfolio.")
    return lower, upper


def _solve(objective: Objective, lower: np.ndarray, upper: np.ndarray, *, cov: np.ndarray | None = None,
           budget: float = 0.0, start: np.ndarray | None = None) -> np.ndarray:
    constraints: list[dict[str, object]] = [
        {"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones_like(w)},
    ]
    if cov is not None:
        # Variance, not volatility, so the constraint stays smooth; divided by budget^2 so it is of order one.
        scale = max(budget, 1e-12) ** 2
        constraints.append({"type": "ineq", "fun": lambda w: 1.0 - w @ cov @ w / scale,
                            "jac": lambda w: -2.0 * (cov @ w) / scale})
    x0 = _tidy(np.full(len(lower), 1.0 / len(lower)) if start is None else start, lower, upper)
    result = minimize(objective, x0, jac=True, method="SLSQP", bounds=list(zip(lower, upper, strict=True)),
                      constraints=constraints, options=_SLSQP_OPTIONS)
    return np.asarray(result.x, dtype=float)


def _variance_objective(cov: np.ndarray) -> Objective:
    scale = float(np.max(np.diag(cov)))  # objectives of order one keep SLSQP's absolute tolerance meaningful
    return lambda w: (float(w @ cov @ w) / scale, 2.0 * (cov @ w) / scale)


def _max_return_objective(returns: np.ndarray) -> Objective:
    scale = max(float(np.max(np.abs(returns))), 1e-12)
    return lambda w: (-float(returns @ w) / scale, -returns / scale)


def _risk_parity_objective(cov: np.ndarray, active: np.ndarray) -> Objective:
    share = 1.0 / int(active.sum())
    target = np.where(active, share, 0.0)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        marginal = cov @ w
        variance = max(float(w @ marginal), 1e-300)
        contributions = w * marginal / variance
        gap = contributions - target
        # d contribution_i / d w_j = (delta_ij marginal_i + w_i cov_ij) / var - contribution_i * 2 marginal_j / var
        jacobian = (np.diag(marginal) + w[:, None] * cov - np.outer(contributions, 2.0 * marginal)) / variance
        return float(gap @ gap) / share**2, 2.0 * (jacobian.T @ gap) / share**2

    return objective


def _tidy(w: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Clip into the bounds and restore the sum of 1 without leaving them (SLSQP meets both only to ~1e-10)."""
    w = np.clip(w, lower, upper)
    gap = 1.0 - w.sum()
    # Spreading the gap in proportion to each weight's room (or slack) cannot push any weight past a bound.
    room = upper - w if gap > 0 else w - lower
    if gap != 0.0 and room.sum() >= abs(gap):
        w = w + np.sign(gap) * room * (abs(gap) / room.sum())
    return w


def _pull_into_budget(w: np.ndarray, safe: np.ndarray, cov: np.ndarray, budget: float) -> np.ndarray:
    """Mix `w` with the in-budget `safe` portfolio until the mix is in budget: SLSQP may overshoot by a hair."""
    if _volatility(w, cov) <= budget:
        return w
    # Volatility is convex in the weights and safe is within budget, so the in-budget mixes form an interval [0, t].
    inside, outside = 0.0, 1.0
    for _ in range(60):
        middle = (inside + outside) / 2
        if _volatility(middle * w + (1 - middle) * safe, cov) <= budget:
            inside = middle
        else:
            outside = middle
    return inside * w + (1 - inside) * safe


def _verify(w: np.ndarray, lower: np.ndarray, upper: np.ndarray, cov: np.ndarray, budget: float) -> None:
    if not np.all(np.isfinite(w)):
        raise OptimisationError("The solver returned weights that are not numbers.")
    if np.any(w < lower - CHECK_TOLERANCE) or np.any(w > upper + CHECK_TOLERANCE):
        raise OptimisationError("The solver returned weights outside the risk level's bounds.")
    if abs(w.sum() - 1.0) > CHECK_TOLERANCE:
        raise OptimisationError(f"The solver returned weights summing to {w.sum():.8f}, not 1.")
    if _volatility(w, cov) > budget + CHECK_TOLERANCE:
        raise OptimisationError("The solver returned a portfolio above the volatility budget.")


def _volatility(w: np.ndarray, cov: np.ndarray) -> float:
    return math.sqrt(max(float(w @ cov @ w), 0.0))


def _allocation(w: np.ndarray, assumptions: MarketAssumptions, method: str) -> Allocation:
    cov = assumptions.covariance
    variance = float(w @ cov @ w)
    contributions = w * (cov @ w) / variance if variance > 0 else np.zeros_like(w)
    keys = assumptions.asset_classes
    return Allocation(
        weights={key: float(x) for key, x in zip(keys, w, strict=True)},
        expected_return=float(assumptions.expected_returns @ w),
        volatility=_volatility(w, cov),
        method=method,
        risk_contributions={key: float(x) for key, x in zip(keys, contributions, strict=True)},
    )
