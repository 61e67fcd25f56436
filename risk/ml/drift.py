"""Population stability index (PSI) between a reference distribution (the training-time population) and a
recent one, for the score and for every feature (over the feature's scorecard bins).

PSI = Σ (actual − expected) · ln(actual / expected), shares floored at EPSILON so an empty bin is finite.
Rule of thumb: < 0.1 stable, 0.1–0.25 some shift, ≥ 0.25 a shift worth acting on (DRIFT_THRESHOLD).
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPSILON = 1e-4
SCORE_BINS = 10


def psi(expected: np.ndarray | list[float], actual: np.ndarray | list[float]) -> float:
    e = np.maximum(np.asarray(expected, dtype=np.float64), EPSILON)
    a = np.maximum(np.asarray(actual, dtype=np.float64), EPSILON)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def shares(bins: np.ndarray, k: int) -> list[float]:
    """Share of rows in each of k bins (-1, a value without a bin, counts in the last one)."""
    bins = np.where(bins < 0, k - 1, bins)
    counts = np.bincount(bins, minlength=k)[:k].astype(np.float64)
    return (counts / max(1.0, counts.sum())).round(6).tolist()


def score_reference(scores: np.ndarray) -> dict[str, Any]:
    """Decile edges of the reference scores and the reference share in each bin."""
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, SCORE_BINS + 1)[1:-1]))
    return {"edges": edges.round(8).tolist(), "expected": shares(np.searchsorted(edges, scores), len(edges) + 1)}


def score_bins_of(reference: dict[str, Any], scores: np.ndarray) -> list[float]:
    edges = np.array(reference["edges"])
    return shares(np.searchsorted(edges, scores), len(edges) + 1)


def bin_labels(edges: list[float]) -> list[str]:
    bounds = [0.0, *edges, 1.0]
    return [f"{lo:.1%}–{hi:.1%}" for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
