"""Binning and weight of evidence (WoE), the basis of the scorecard and of the plain-words reason codes.

Numeric features: start from quantile bins (at most MAX_BINS, each at least MIN_SHARE of the rows), then merge
neighbours until the bad rate moves in one direction across the bins (a monotone trend is what makes a
scorecard explainable: "the shorter the history, the higher the risk"). Missing values get their own bin when
the training data had any; otherwise a missing value scores as neutral (WoE 0).
Categorical features: one bin per category; categories rarer than MIN_SHARE share an "other" bin, which also
takes categories never seen in training.

WoE convention: ln(share of bads in the bin / share of goods in the bin), so a positive WoE means riskier
than average; 0.5 is added to every count (no bin has an infinite WoE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_BINS = 8
MIN_SHARE = 0.05
OTHER = "(other)"
MISSING_LABEL = "(missing)"


@dataclass
class FeatureBins:
    name: str
    kind: str  # "numeric" | "categorical"
    edges: list[float]  # numeric: inner cut points, bin i is (edges[i-1], edges[i]]
    categories: dict[str, int]  # categorical: category -> bin
    labels: list[str]  # one per bin (the missing bin last, when there is one)
    woe: list[float]
    counts: list[int]
    bads: list[int]
    has_missing_bin: bool
    iv: float

    @property
    def n_bins(self) -> int:
        return len(self.woe)

    def index(self, values: np.ndarray) -> np.ndarray:
        """Bin of each value; -1 where a value has no bin (a missing value without a missing bin)."""
        if self.kind == "numeric":
            x = np.asarray(values, dtype=np.float64)
            out = np.searchsorted(np.array(self.edges, dtype=np.float64), x, side="left").astype(np.int64)
            missing = np.isnan(x)
            out[missing] = self.n_bins - 1 if self.has_missing_bin else -1
            return out
        other = self.categories.get(OTHER, -1)
        missing_bin = self.n_bins - 1 if self.has_missing_bin else -1
        return np.array(
            [missing_bin if v == "" else self.categories.get(str(v), other) for v in values], dtype=np.int64
        )

    def woe_of(self, values: np.ndarray) -> np.ndarray:
        bins = self.index(values)
        woe = np.array(self.woe + [0.0])  # index -1 reads the neutral 0
        return woe[bins]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureBins:
        return cls(**data)


def _woe(bads: np.ndarray, goods: np.ndarray) -> tuple[np.ndarray, float]:
    b, g = bads + 0.5, goods + 0.5
    share_b, share_g = b / b.sum(), g / g.sum()
    woe = np.log(share_b / share_g)
    return woe, float(((share_b - share_g) * woe).sum())


def _fmt(x: float) -> str:
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _numeric_bins(name: str, x: np.ndarray, y: np.ndarray) -> FeatureBins:
    present = ~np.isnan(x)
    xs, ys = x[present], y[present]
    distinct = np.unique(xs)
    if distinct.size <= MAX_BINS:
        edges = list(((distinct[:-1] + distinct[1:]) / 2).tolist())
    else:
        qs = np.quantile(xs, np.linspace(0, 1, MAX_BINS + 1)[1:-1])
        edges = sorted(set(float(q) for q in qs))
    edges = [e for e in edges if xs.min() <= e < xs.max()]

    def stats(cuts: list[float]) -> tuple[np.ndarray, np.ndarray]:
        idx = np.searchsorted(np.array(cuts), xs, side="left")
        k = len(cuts) + 1
        return np.bincount(idx, minlength=k), np.bincount(idx, weights=ys, minlength=k)

    # Merge bins smaller than MIN_SHARE into their neighbour with the closer bad rate.
    while edges:
        counts, bads = stats(edges)
        small = np.flatnonzero(counts < MIN_SHARE * len(xs))
        if small.size == 0:
            break
        i = int(small[np.argmin(counts[small])])
        rate = (bads + 0.5) / (counts + 1.0)
        if i == 0:
            drop = 0
        elif i == len(counts) - 1:
            drop = i - 1
        else:
            drop = i - 1 if abs(rate[i] - rate[i - 1]) <= abs(rate[i] - rate[i + 1]) else i
        edges.pop(drop)
    # Enforce a monotone bad rate: merge the most similar adjacent pair that breaks the trend.
    while len(edges) > 0:
        counts, bads = stats(edges)
        rate = (bads + 0.5) / (counts + 1.0)
        steps = np.diff(rate)
        direction = np.sign(np.sum(steps * np.minimum(counts[:-1], counts[1:]))) or 1.0
        breaking = np.flatnonzero(np.sign(steps) != direction)
        if breaking.size == 0:
            break
        j = int(breaking[np.argmin(np.abs(steps[breaking]))])
        edges.pop(j)
    counts, bads = stats(edges)
    labels = []
    bounds = [-np.inf, *edges, np.inf]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if lo == -np.inf and hi == np.inf:
            labels.append("all")
        elif lo == -np.inf:
            labels.append(f"≤ {_fmt(hi)}")
        elif hi == np.inf:
            labels.append(f"> {_fmt(lo)}")
        else:
            labels.append(f"{_fmt(lo)} – {_fmt(hi)}")
    counts_l, bads_l = counts.astype(np.int64).tolist(), bads.astype(np.int64).tolist()
    has_missing = bool((~present).any())
    if has_missing:
        labels.append(MISSING_LABEL)
        counts_l.append(int((~present).sum()))
        bads_l.append(int(y[~present].sum()))
    woe, iv = _woe(np.array(bads_l, float), np.array(counts_l, float) - np.array(bads_l, float))
    return FeatureBins(
        name=name, kind="numeric", edges=[float(e) for e in edges], categories={}, labels=labels,
        woe=[round(float(w), 6) for w in woe], counts=counts_l, bads=bads_l, has_missing_bin=has_missing, iv=iv,
    )


def _categorical_bins(name: str, x: np.ndarray, y: np.ndarray) -> FeatureBins:
    values = np.array([str(v) for v in x], dtype=object)
    present = values != ""
    cats, inverse = np.unique(values[present], return_inverse=True)
    counts = np.bincount(inverse, minlength=len(cats))
    bads = np.bincount(inverse, weights=y[present], minlength=len(cats))
    frequent = counts >= MIN_SHARE * max(1, present.sum())
    labels: list[str] = []
    counts_l: list[int] = []
    bads_l: list[int] = []
    categories: dict[str, int] = {}
    order = np.argsort(-counts, kind="stable")
    for c in order:
        if frequent[c]:
            categories[str(cats[c])] = len(labels)
            labels.append(str(cats[c]))
            counts_l.append(int(counts[c]))
            bads_l.append(int(bads[c]))
    rare = ~frequent
    if rare.any() or not labels:
        categories[OTHER] = len(labels)
        for c in np.flatnonzero(rare):
            categories[str(cats[c])] = len(labels)
        labels.append(OTHER)
        counts_l.append(int(counts[rare].sum()))
        bads_l.append(int(bads[rare].sum()))
    has_missing = bool((~present).any())
    if has_missing:
        labels.append(MISSING_LABEL)
        counts_l.append(int((~present).sum()))
        bads_l.append(int(y[~present].sum()))
    woe, iv = _woe(np.array(bads_l, float), np.array(counts_l, float) - np.array(bads_l, float))
    return FeatureBins(
        name=name, kind="categorical", edges=[], categories=categories, labels=labels,
        woe=[round(float(w), 6) for w in woe], counts=counts_l, bads=bads_l, has_missing_bin=has_missing, iv=iv,
    )


def fit_bins(*, numeric: dict[str, np.ndarray], categorical: dict[str, np.ndarray], y: np.ndarray) -> list[FeatureBins]:
    bins = [_numeric_bins(name, values, y) for name, values in numeric.items()]
    bins += [_categorical_bins(name, values, y) for name, values in categorical.items()]
    return bins
