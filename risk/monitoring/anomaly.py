"""The anomaly model: an isolation forest over how a transaction compares with the customer's own behaviour.

Features (all relative to the customer, so one model serves everyone): how many standard deviations the amount
is above their usual outflows, the amount itself (log), how often they are active at that hour, through that
channel and in that category, whether the counterparty is new, how many payments they made in the last hour,
and the time since their previous transaction.

Scoring must be cheap enough for every transaction, so the fitted forest is flattened into arrays (feature,
threshold, children, and the path length credited at each leaf) and all trees are walked at once with numpy:
one row costs about as much as a handful of numpy calls, and scores equal scikit-learn's `score_samples`
(tested). Saved as .npz (no pickle).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from risk.monitoring.state import CustomerState, Event

if TYPE_CHECKING:
    # For the annotation only: scikit-learn is imported where a forest is fitted, not whenever scores are read.
    from sklearn.ensemble import IsolationForest

FEATURES = [
    "amount_z", "log_amount", "hour_share", "channel_share", "category_share", "new_counterparty",
    "payments_last_hour", "log_seconds_since_last",
]
WARM_UP = 10  # transactions of history before a customer's events are used for training


def features_of(state: CustomerState, e: Event) -> list[float]:
    z = state.amount_z(e.amount) if e.is_out else 0.0
    count, _ = state.recent_outflows(e.ts, 3600)
    gap = e.ts - state.last_ts if state.last_ts else 30 * 86400.0
    return [
        max(-5.0, min(10.0, z if z is not None else 0.0)),
        math.log1p(abs(e.amount)),
        state.hour_share(e.hour),
        state.share(state.channels, e.channel),
        state.share(state.categories, e.category),
        1.0 if (e.counterparty and e.counterparty not in state.counterparties and state.n) else 0.0,
        float(count),
        math.log1p(max(gap, 0.0)),
    ]


def _average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n): the average path length of an unsuccessful search in a binary search tree of n points."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


@dataclass
class FlatForest:
    feature: np.ndarray  # (trees, nodes) int32, global feature index (-1 at leaves)
    threshold: np.ndarray  # (trees, nodes) float64
    left: np.ndarray  # (trees, nodes) int32 (-1 at leaves)
    right: np.ndarray
    leaf_depth: np.ndarray  # (trees, nodes) float64: depth + c(samples) at leaves
    depth: int
    normaliser: float  # c(max_samples)
    threshold_score: float  # scores at or above this are anomalies (a training quantile)
    info: dict

    @classmethod
    def fit(cls, x: np.ndarray, *, seed: int = 0, trees: int = 100, quantile: float = 0.995) -> FlatForest:
        from sklearn.ensemble import IsolationForest

        forest = IsolationForest(n_estimators=trees, max_samples=min(256, len(x)), random_state=seed).fit(x)
        flat = cls.from_sklearn(forest)
        scores = flat.score(x)
        flat.threshold_score = float(np.quantile(scores, quantile))
        flat.info = {"rows": int(len(x)), "trees": trees, "quantile": quantile}
        return flat

    @classmethod
    def from_sklearn(cls, forest: IsolationForest) -> FlatForest:
        trees = forest.estimators_
        size = max(t.tree_.node_count for t in trees)
        shape = (len(trees), size)
        feature = np.full(shape, -1, np.int32)
        threshold = np.zeros(shape)
        left = np.full(shape, -1, np.int32)
        right = np.full(shape, -1, np.int32)
        leaf_depth = np.zeros(shape)
        max_depth = 0
        for t, (est, feats) in enumerate(zip(trees, forest.estimators_features_, strict=True)):
            tree = est.tree_
            k = tree.node_count
            depth = np.zeros(k)
            for node in range(k):  # children always come after their parent
                for child in (tree.children_left[node], tree.children_right[node]):
                    if child >= 0:
                        depth[child] = depth[node] + 1
            is_leaf = tree.children_left[:k] == -1
            feature[t, :k] = np.where(is_leaf, -1, np.asarray(feats)[np.maximum(tree.feature[:k], 0)])
            threshold[t, :k] = tree.threshold[:k]
            left[t, :k] = tree.children_left[:k]
            right[t, :k] = tree.children_right[:k]
            leaf_depth[t, :k] = np.where(is_leaf, depth + _average_path_length(tree.n_node_samples[:k]), 0.0)
            max_depth = max(max_depth, int(depth.max()))
        return cls(feature, threshold, left, right, leaf_depth, max_depth + 1,
                   float(_average_path_length(np.array([forest.max_samples_]))[0]), 0.0, {})

    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The trees as 1-d arrays indexed by tree * nodes + node; a leaf points to itself, so every row can
        take `depth` steps without asking whether it has arrived."""
        cached = getattr(self, "_flat_cache", None)
        if cached is None:
            trees, size = self.feature.shape
            base = (np.arange(trees, dtype=np.int64) * size)[:, None]
            own = base + np.arange(size)[None, :]
            leaf = self.left < 0
            left = np.where(leaf, own, base + self.left).ravel()
            right = np.where(leaf, own, base + self.right).ravel()
            cached = (np.maximum(self.feature, 0).ravel().astype(np.int64), self.threshold.ravel(), left, right,
                      self.leaf_depth.ravel())
            self._flat_cache = cached
        return cached

    def score(self, x: np.ndarray) -> np.ndarray:
        """Anomaly score per row, as scikit-learn's score_samples negated: higher is more anomalous (0–1)."""
        feature, threshold, left, right, leaf_depth = self._flat()
        # scikit-learn compares float32 copies of the inputs with the thresholds; so do we, to agree exactly.
        x = np.asarray(x, dtype=np.float32).astype(np.float64)
        rows, width = x.shape
        trees, size = self.feature.shape
        flat_x = x.ravel()
        row_base = (np.arange(rows, dtype=np.int64) * width)[:, None]
        idx = np.broadcast_to((np.arange(trees, dtype=np.int64) * size)[None, :], (rows, trees))
        for _ in range(self.depth):
            go_left = flat_x.take(row_base + feature.take(idx)) <= threshold.take(idx)
            idx = np.where(go_left, left.take(idx), right.take(idx))
        depths = leaf_depth.take(idx).mean(axis=1)
        return 2.0 ** (-depths / self.normaliser)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "forest.npz", feature=self.feature, threshold=self.threshold, left=self.left,
                            right=self.right, leaf_depth=self.leaf_depth)
        meta = {"depth": self.depth, "normaliser": self.normaliser, "threshold_score": self.threshold_score,
                "features": FEATURES, "info": self.info}
        (folder / "anomaly.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> FlatForest:
        meta = json.loads((folder / "anomaly.json").read_text(encoding="utf-8"))
        if meta["features"] != FEATURES:
            raise ValueError("the anomaly model was trained on other features")
        with np.load(folder / "forest.npz", allow_pickle=False) as arrays:
            return cls(arrays["feature"], arrays["threshold"], arrays["left"], arrays["right"], arrays["leaf_depth"],
                       int(meta["depth"]), float(meta["normaliser"]), float(meta["threshold_score"]), meta["info"])
