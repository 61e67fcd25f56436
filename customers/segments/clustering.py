"""k-means on the standardised feature matrix, with k chosen by a stated criterion. Pure, deterministic.

The criterion: among k = 3 … 10, take the k with the highest mean silhouette coefficient, measured on a fixed
random sample of at most 3,000 customers, among the k whose smallest segment holds at least 3 % of customers (a
segment smaller than that is too small to run a campaign for). Ties go to the smaller k. When no k passes the size
rule, the smallest k is taken.

Every random choice (k-means++ seeding, the silhouette sample) uses the run's seed, and the input rows come in
customer-id order, so the same data gives the same clusters, in the same order, every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

K_MIN, K_MAX = 3, 10
MIN_SHARE = 0.03
SILHOUETTE_SAMPLE = 3000
N_INIT = 4
MIN_CUSTOMERS = 30

CRITERION = (
    f"highest mean silhouette (sample of at most {SILHOUETTE_SAMPLE:,} customers) among k = {K_MIN}…{K_MAX} whose "
    f"smallest segment holds at least {MIN_SHARE:.0%} of customers; ties to the smaller k; none passing: the "
    "smallest k"
)


class NotEnoughCustomers(ValueError):
    """Fewer customers (or distinct profiles) than clustering needs."""


@dataclass(frozen=True)
class Clustering:
    k: int
    labels: np.ndarray  # (n,) cluster index per row, 0 … k-1, largest cluster first
    centroids: np.ndarray  # (k, d) in the standardised space: z-scores against the population
    silhouette: float
    scores: dict[int, dict[str, float]]  # k → {"silhouette", "min_share", "inertia"}
    criterion: str

    @property
    def sizes(self) -> list[int]:
        return [int(n) for n in np.bincount(self.labels, minlength=self.k)]


def _kmeans(z: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(z)
    return model.labels_.astype(int), model.cluster_centers_, float(model.inertia_)


def _canonical(labels: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel clusters largest first (then by centroid, for exact ties), so the order means something."""
    k = centroids.shape[0]
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], tuple(np.round(centroids[c], 9))))
    remap = np.empty(k, dtype=int)
    remap[order] = np.arange(k)
    return remap[labels], centroids[order]


def choose_and_cluster(
    z: np.ndarray,
    *,
    k_min: int = K_MIN,
    k_max: int = K_MAX,
    min_share: float = MIN_SHARE,
    sample_size: int = SILHOUETTE_SAMPLE,
    seed: int = 0,
    advance: Callable[[int], None] | None = None,
) -> Clustering:
    """Cluster the standardised matrix `z` for each candidate k and keep the one the criterion picks.

    Raises NotEnoughCustomers when there are fewer than MIN_CUSTOMERS rows or fewer distinct rows than k_min.
    `advance(1)` is called after each candidate k.
    """
    from sklearn.metrics import silhouette_score

    n = z.shape[0]
    if n < MIN_CUSTOMERS:
        raise NotEnoughCustomers(f"{n} customers with a profile; segmentation needs at least {MIN_CUSTOMERS}")
    distinct = np.unique(np.round(z, 9), axis=0).shape[0]
    k_max = min(k_max, distinct, n - 1)
    if k_max < k_min:
        raise NotEnoughCustomers(f"only {distinct} distinct profiles; segmentation needs at least {k_min}")
    results: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    scores: dict[int, dict[str, float]] = {}
    for k in range(k_min, k_max + 1):
        labels, centroids, inertia = _kmeans(z, k, seed)
        labels, centroids = _canonical(labels, centroids)
        sizes = np.bincount(labels, minlength=k)
        silhouette = float(silhouette_score(z, labels, sample_size=min(sample_size, n), random_state=seed))
        results[k] = (labels, centroids)
        scores[k] = {"silhouette": round(silhouette, 6), "min_share": round(float(sizes.min() / n), 6),
                     "inertia": round(inertia, 3)}
        if advance is not None:
            advance(1)
    admissible = [k for k in scores if scores[k]["min_share"] >= min_share]
    # max() keeps the first of equal keys; iterating k upwards makes ties go to the smaller k.
    chosen = max(admissible, key=lambda k: scores[k]["silhouette"]) if admissible else min(scores)
    labels, centroids = results[chosen]
    return Clustering(k=chosen, labels=labels, centroids=centroids, silhouette=scores[chosen]["silhouette"],
                      scores=scores, criterion=CRITERION)
