"""Goal planning: how likely a savings plan is to reach a target amount, by Monte Carlo simulation.

Monthly log-returns are normal with sigma_m = volatility / sqrt(12) and mu_m = ln(1 + expected_return) / 12 -
sigma_m^2 / 2. The drift makes the *median* path grow at the annual rate `expected_return` (a geometric rate); the
sigma^2/2 term is the usual lognormal correction, so volatility drags the typical outcome below the mean outcome
rather than being ignored. With volatility 0 every path is the closed-form future value.

Contributions are paid at the start of each month, so they earn that month's return. Because final wealth is
linear in the contribution (wealth = A + contribution * B for each path, with A, B > 0 fixed by the draws), the
probability of success on a fixed set of draws never falls as the contribution rises; that is what lets the
required contribution be found by bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)


@dataclass(frozen=True)
class GoalProjection:
    """The simulated outcome of a savings plan.

    probability: share of paths whose final wealth is >= the target.
    median_final: the median final wealth.
    percentiles: (month, p5, p25, p50, p75, p95) of wealth at the end of every 12th month and of the final month.
    required_contribution: the smallest whole-unit monthly contribution whose probability is >= success_target on the
        same draws; 0.0 if the target is already likely enough without contributions; None if even a monthly
        contribution equal to the target amount is not enough.
    contributed_total: what the customer puts in: current savings plus every monthly contribution.
    """

    probability: float
    median_final: float
    percentiles: list[tuple[int, float, float, float, float, float]]
    required_contribution: float | None
    contributed_total: float


def project_goal(*, target_amount: float, months: int, current_savings: float, monthly_contribution: float,
                 expected_return: float, volatility: float, paths: int = 5000, seed: int = 0,
                 success_target: float = 0.8) -> GoalProjection:
    """Simulate `paths` market paths over `months` and report how the plan fares.

    The same arguments (seed included) give the same result bit for bit. Raises ValueError for a target <= 0,
    months < 1, negative savings or contribution, volatility < 0, expected_return <= -100 %, paths < 100, or a
    success target outside (0, 1].
    """
    _validate(target_amount=target_amount, months=months, current_savings=current_savings,
              monthly_contribution=monthly_contribution, expected_return=expected_return, volatility=volatility,
              paths=paths, success_target=success_target)
    checkpoints = sorted({*range(12, months + 1, 12), months})
    base, per_unit, snapshots = _simulate(months=months, savings=current_savings, expected_return=expected_return,
                                          volatility=volatility, paths=paths, seed=seed, checkpoints=checkpoints)
    final = base + monthly_contribution * per_unit
    percentiles = []
    for month, (month_base, month_per_unit) in zip(checkpoints, snapshots, strict=True):
        p5, p25, p50, p75, p95 = (float(v) for v in np.percentile(
            month_base + monthly_contribution * month_per_unit, _PERCENTILES))
        percentiles.append((month, p5, p25, p50, p75, p95))
    return GoalProjection(
        probability=_probability(base, per_unit, monthly_contribution, target_amount),
        median_final=float(np.median(final)),
        percentiles=percentiles,
        required_contribution=_required_contribution(base, per_unit, target_amount, success_target),
        contributed_total=float(current_savings + monthly_contribution * months),
    )


def _validate(*, target_amount: float, months: int, current_savings: float, monthly_contribution: float,
              expected_return: float, volatility: float, paths: int, success_target: float) -> None:
    numbers = {"target_amount": target_amount, "current_savings": current_savings,
               "monthly_contribution": monthly_contribution, "expected_return": expected_return,
               "volatility": volatility, "success_target": success_target}
    for name, value in numbers.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, not {value!r}.")
    if target_amount <= 0:
        raise ValueError("The target amount must be positive.")
    if int(months) != months or months < 1:
        raise ValueError("The horizon must be a whole number of months, at least 1.")
    if current_savings < 0 or monthly_contribution < 0:
        raise ValueError("Savings and contributions cannot be negative.")
    if volatility < 0:
        raise ValueError("Volatility cannot be negative.")
    if expected_return <= -1:
        raise ValueError("The expected return must be above -100 %.")
    if int(paths) != paths or paths < 100:
        raise ValueError("At least 100 simulated paths are needed for a meaningful probability.")
    if not 0 < success_target <= 1:
        raise ValueError("The success target is a probability: above 0 and at most 1.")


def _simulate(*, months: int, savings: float, expected_return: float, volatility: float, paths: int, seed: int,
              checkpoints: list[int]) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Per path, wealth = base + contribution * per_unit; both are returned at the end and at each checkpoint.

    base is what the current savings grow to, per_unit what a contribution of 1 a month grows to. Draws are taken
    month by month from one generator, so memory stays at a few vectors of length `paths`.
    """
    rng = np.random.default_rng(seed)
    sigma = volatility / math.sqrt(12)
    mu = math.log1p(expected_return) / 12 - sigma**2 / 2
    base = np.full(paths, float(savings))
    per_unit = np.zeros(paths)
    wanted = set(checkpoints)
    snapshots = []
    for month in range(1, months + 1):
        growth = np.exp(mu + sigma * rng.standard_normal(paths))
        base = base * growth
        per_unit = (per_unit + 1.0) * growth  # paid at the start of the month, so it earns this month's return
        if month in wanted:
            snapshots.append((base, per_unit))
    return base, per_unit, snapshots


def _probability(base: np.ndarray, per_unit: np.ndarray, contribution: float, target: float) -> float:
    # Floating-point rounding is monotone, so this is exactly non-decreasing in the contribution.
    return float(np.mean(base + contribution * per_unit >= target))


def _required_contribution(base: np.ndarray, per_unit: np.ndarray, target: float, success: float) -> float | None:
    if _probability(base, per_unit, 0.0, target) >= success:
        return 0.0
    enough = float(math.ceil(target))  # a month's contribution as large as the whole goal is the search's ceiling
    if _probability(base, per_unit, enough, target) < success:
        return None
    too_little = 0.0
    # Invariant: too_little fails and enough succeeds; stop when they are one unit apart.
    while enough - too_little > 1.0:
        middle = float(math.floor((too_little + enough) / 2))
        if _probability(base, per_unit, middle, target) >= success:
            enough = middle
        else:
            too_little = middle
    return enough
