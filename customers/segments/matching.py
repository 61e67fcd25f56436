"""Matching a new run's clusters to the segments already known, so a segment keeps its code while it is the same
group of customers. Pure.

Both sets of centroids are compared in the new run's standardised space (the old centroids are kept in the
features' own units and re-standardised with the new scaler). The distance is the root-mean-square difference of
z-scores across features: 0.1 means the centroids differ by a tenth of a standard deviation per feature on
average. The Hungarian algorithm (`scipy.optimize.linear_sum_assignment`) pairs clusters with old segments at the
least total distance; a pair farther apart than MATCH_THRESHOLD is not the same group: the cluster becomes a new
segment and the old one is retired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

# Measured on a 2,000-customer demo bank: the closest two distinct segments of one run are 0.71 apart; re-running
# on unchanged data gives 0; re-clustering a random 90 % of the customers moves the segments that persist by
# 0.02–0.03, while a segment that was split moves by 0.2 or more. 0.3 keeps a drifting segment's code and never
# lets one old segment stand for two different groups.
MATCH_THRESHOLD = 0.3


@dataclass(frozen=True)
class Match:
    codes: dict[int, str]  # cluster index → code of the old segment it continues
    distances: dict[int, float]  # cluster index → distance to that old segment
    new: list[int]  # cluster indices that start a new segment
    retired: list[str] = field(default_factory=list)  # old codes no cluster continues


def rms_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise RMS z-distance between the rows of a (m, d) and b (n, d) → (m, n)."""
    diff = a[:, None, :] - b[None, :, :]
    return np.sqrt((diff**2).mean(axis=2))


def match_clusters(
    *, previous: Mapping[str, np.ndarray], current: np.ndarray, threshold: float = MATCH_THRESHOLD
) -> Match:
    """Pair the rows of `current` (k, d) with the `previous` centroids (code → (d,)), both standardised alike."""
    from scipy.optimize import linear_sum_assignment

    k = current.shape[0]
    codes = sorted(previous)
    if not codes or k == 0:
        return Match(codes={}, distances={}, new=list(range(k)), retired=codes)
    old = np.vstack([previous[c] for c in codes])
    cost = rms_distance(current, old)
    rows, cols = linear_sum_assignment(cost)
    matched: dict[int, str] = {}
    distances: dict[int, float] = {}
    for r, c in zip(rows, cols, strict=True):
        if cost[r, c] <= threshold:
            matched[int(r)] = codes[c]
            distances[int(r)] = float(cost[r, c])
    used = set(matched.values())
    return Match(codes=matched, distances=distances, new=[i for i in range(k) if i not in matched],
                 retired=[c for c in codes if c not in used])
