"""Re-estimating the market assumptions from price history, shrunk toward the house view.

Sample means over a few decades are too noisy to drive an optimiser on their own (an equity mean over 30 years still
has a standard error of about 4 % a year), so the estimated mean is a credibility-weighted blend with the prior:
w = T_years / (T_years + prior_weight_years). Covariances are estimated with Ledoit-Wolf shrinkage, applied to
standardised returns (see `_shrunk_correlations` for why).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
from sklearn.covariance import LedoitWolf

from advisor.investing.asset_classes import ASSET_CLASSES
from advisor.investing.optimiser import MarketAssumptions

MIN_MONTHS = 24


@dataclass(frozen=True, eq=False)  # eq=False: an ndarray field has no truth value for ==
class PriceHistory:
    """Levels on the dates every class has one: `levels[i, j]` is class `asset_classes[j]` on `dates[i]`."""

    dates: tuple[date, ...]
    asset_classes: tuple[str, ...]  # those present, in ASSET_CLASSES order
    levels: np.ndarray


@dataclass(frozen=True)
class Estimate:
    """The re-estimated assumptions (which pass `validate()`) and how they were obtained.

    observations: the number of returns used; start, end: the first and last dates of the levels they came from;
    covariance_shrinkage: Ledoit-Wolf's intensity (0 = sample correlations, 1 = none); mean_weight: the sample
    mean's weight in the blend with the prior.
    """

    assumptions: MarketAssumptions
    observations: int
    start: date
    end: date
    covariance_shrinkage: float
    mean_weight: float


def read_price_history(rows: Iterable[dict[str, str]]) -> PriceHistory:
    """Read a long layout (`date,asset_class,level`, e.g. from csv.DictReader) and align it on common dates.

    Line numbers in errors count the header as line 1, as a spreadsheet shows the file. Raises ValueError for a
    missing column, a date that is not ISO, a level that is not a positive number, an asset class outside
    ASSET_CLASSES, a repeated (date, asset class), or fewer than 24 months with a level for every class.
    """
    seen: dict[tuple[date, str], int] = {}
    levels: dict[tuple[date, str], float] = {}
    for line, row in enumerate(rows, start=2):
        fields = {}
        for column in ("date", "asset_class", "level"):
            value = row.get(column)
            if value is None or not str(value).strip():
                raise ValueError(f"Line {line}: the {column} is missing.")
            fields[column] = str(value).strip()
        try:
            day = date.fromisoformat(fields["date"])
        except ValueError:
            raise ValueError(f"Line {line}: {fields['date']!r} is not an ISO date (YYYY-MM-DD).") from None
        asset_class = fields["asset_class"]
        if asset_class not in ASSET_CLASSES:
            raise ValueError(f"Line {line}: unknown asset class {asset_class!r}; expected one of "
                             f"{', '.join(ASSET_CLASSES)}.")
        try:
            level = float(fields["level"])
        except ValueError:
            level = math.nan
        if not math.isfinite(level) or level <= 0:
            raise ValueError(f"Line {line}: the level must be a positive number, not {fields['level']!r}.")
        if (day, asset_class) in seen:
            raise ValueError(f"Line {line}: {asset_class} on {day} was already given on line {seen[day, asset_class]}.")
        seen[day, asset_class] = line
        levels[day, asset_class] = level
    if not levels:
        raise ValueError("The price history has no rows.")

    present = {asset_class for _, asset_class in levels}
    classes = tuple(key for key in ASSET_CLASSES if key in present)
    dates = tuple(sorted(set.intersection(*({d for d, c in levels if c == key} for key in classes))))
    months = len({(d.year, d.month) for d in dates})
    if months < MIN_MONTHS:
        raise ValueError(f"The price history needs at least {MIN_MONTHS} months with a level for every asset class "
                         f"({', '.join(classes)}); it has {months}.")
    matrix = np.array([[levels[d, key] for key in classes] for d in dates])
    matrix.setflags(write=False)
    return PriceHistory(dates=dates, asset_classes=classes, levels=matrix)


def estimate_assumptions(history: PriceHistory, *, prior: MarketAssumptions, periods_per_year: int | None = None,
                         prior_weight_years: float = 10.0) -> Estimate:
    """Assumptions for `prior`'s asset classes, re-estimated where the history has data.

    By default levels are resampled to month-ends (the last date of each calendar month) and annualised by 12;
    pass `periods_per_year` to use every row as one period instead (e.g. 252 for daily levels). A class missing from
    the history keeps the prior's return, volatility and correlations. If blending estimated and prior correlations
    leaves a matrix that is not positive semi-definite, it is repaired by clipping negative eigenvalues.

    Raises ValueError for an invalid prior, a history class the prior lacks, a class whose price never moves, a
    negative prior weight or a periods_per_year below 1.
    """
    prior.validate()
    missing = [key for key in history.asset_classes if key not in prior.asset_classes]
    if missing:
        raise ValueError(f"The prior has no assumptions for {', '.join(missing)}.")
    if prior_weight_years < 0 or not math.isfinite(prior_weight_years):
        raise ValueError("prior_weight_years must be a non-negative number.")
    if periods_per_year is not None and periods_per_year < 1:
        raise ValueError("periods_per_year must be at least 1.")

    dates, levels = (history.dates, history.levels) if periods_per_year else _month_ends(history)
    per_year = periods_per_year or 12
    returns = levels[1:] / levels[:-1] - 1.0
    periods = len(returns)
    vols = returns.std(axis=0, ddof=1) * math.sqrt(per_year)
    flat = [key for key, vol in zip(history.asset_classes, vols, strict=True) if vol <= 0]
    if flat:
        raise ValueError(f"The price of {', '.join(flat)} never moves: its volatility cannot be estimated.")
    correlations, shrinkage = _shrunk_correlations(returns)
    years = periods / per_year
    weight = years / (years + prior_weight_years) if prior_weight_years > 0 else 1.0

    index = [prior.asset_classes.index(key) for key in history.asset_classes]
    mu = np.array(prior.expected_returns)
    sigma = np.array(prior.volatilities)
    corr = np.array(prior.correlations)
    mu[index] = weight * returns.mean(axis=0) * per_year + (1 - weight) * mu[index]
    sigma[index] = vols
    corr[np.ix_(index, index)] = correlations
    assumptions = MarketAssumptions(prior.asset_classes, mu, sigma, _nearest_psd(corr))
    assumptions.validate()
    return Estimate(assumptions=assumptions, observations=periods, start=dates[0], end=dates[-1],
                    covariance_shrinkage=shrinkage, mean_weight=weight)


def _month_ends(history: PriceHistory) -> tuple[tuple[date, ...], np.ndarray]:
    # Dates are sorted, so the last row seen for a month is its month-end. A month without data simply makes the
    # next return span two months; the history is short of real data there either way.
    last: dict[tuple[int, int], int] = {}
    for row, day in enumerate(history.dates):
        last[day.year, day.month] = row
    rows = sorted(last.values())
    return tuple(history.dates[r] for r in rows), history.levels[rows]


def _shrunk_correlations(returns: np.ndarray) -> tuple[np.ndarray, float]:
    # Ledoit-Wolf shrinks toward a multiple of the identity, i.e. toward the *average* variance. With cash at 0.5 %
    # volatility next to equities at 20 %, even 1 % shrinkage would triple cash's volatility. Fitting it on
    # standardised returns makes the target the identity correlation: correlations shrink, volatilities stay.
    if returns.shape[1] == 1:
        return np.ones((1, 1)), 0.0
    standardised = (returns - returns.mean(axis=0)) / returns.std(axis=0)
    model = LedoitWolf(assume_centered=True).fit(standardised)
    scale = np.sqrt(np.diag(model.covariance_))
    return model.covariance_ / np.outer(scale, scale), float(model.shrinkage_)


def _nearest_psd(corr: np.ndarray) -> np.ndarray:
    corr = (corr + corr.T) / 2
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    if values.min() >= 0:
        return corr
    # Clip to PSD, then rescale to a unit diagonal: D^-1/2 C D^-1/2 is still PSD, and PSD with a unit diagonal
    # keeps every entry within [-1, 1].
    repaired = (vectors * np.clip(values, 0.0, None)) @ vectors.T
    scale = np.sqrt(np.diag(repaired))
    repaired = repaired / np.outer(scale, scale)
    repaired = np.clip((repaired + repaired.T) / 2, -1.0, 1.0)
    np.fill_diagonal(repaired, 1.0)
    return repaired
