"""The hybrid's second stage: features of (customer, product) pairs and a LightGBM lambdarank model over them.

A pair's features, in `FeatureLayout.names` order:
- `score:<generator>` and `rank:<generator>` -- each candidate generator's score and its percentile among the
  customer's products (scores of different customers are on different scales; ranks are not);
- `customer:<feature>` -- who the customer is (constant within one customer's list: it matters through its
  interactions with product features, which trees learn);
- `product:<feature>` -- what the product is;
- `context:<name>` -- days since the customer's latest event, the day of month, how many products they liked,
  how often this product was shown to / dismissed by them, and days since they last saw it.

Drivers. Every feature belongs to one driver, the vocabulary reasons are written in: `collaborative` (ALS and
item kNN), `content`, `popularity_in_segment`, `customer:<column>` / `product:<column>` (one-hot columns fold
back into their column, e.g. `product:type`), and `context:<name>`. LightGBM's `pred_contrib` (TreeSHAP) splits
each pair's score exactly into per-feature contributions plus a bias; `drivers()` sums them per driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from advisor.ml.candidates import CustomerBatch

CONTEXT_FEATURES = (
    "days_since_last_event",
    "day_of_month",
    "history_size",
    "shown_count",
    "dismissed_count",
    "days_since_seen",
)
GENERATOR_DRIVERS = {
    "als": "collaborative",
    "item_knn": "collaborative",
    "content": "content",
    "content_embedding": "content",
    "popularity_in_segment": "popularity_in_segment",
}


@dataclass(frozen=True)
class FeatureLayout:
    generators: tuple[str, ...]
    customer: tuple[str, ...]
    product: tuple[str, ...]

    # Cached: explaining a recommendation walks these for every product shown (the layout is immutable).
    @cached_property
    def names(self) -> list[str]:
        return (
            [f"score:{g}" for g in self.generators]
            + [f"rank:{g}" for g in self.generators]
            + [f"customer:{n}" for n in self.customer]
            + [f"product:{n}" for n in self.product]
            + [f"context:{n}" for n in CONTEXT_FEATURES]
        )

    @cached_property
    def drivers(self) -> list[str]:
        """The driver of each feature, aligned with `names`."""
        out = []
        for name in self.names:
            kind, _, rest = name.partition(":")
            if kind in ("score", "rank"):
                out.append(GENERATOR_DRIVERS.get(rest, rest))
            elif kind in ("customer", "product"):
                out.append(f"{kind}:{rest.split('=', 1)[0]}")
            else:
                out.append(name)
        return out

    @cached_property
    def driver_index(self) -> tuple[list[str], np.ndarray]:
        """(the distinct drivers in order of first appearance, each feature's position in that list)."""
        distinct = list(dict.fromkeys(self.drivers))
        position = {driver: i for i, driver in enumerate(distinct)}
        return distinct, np.array([position[driver] for driver in self.drivers], dtype=np.intp)

    def to_json(self) -> dict[str, list[str]]:
        return {"generators": list(self.generators), "customer": list(self.customer), "product": list(self.product)}

    @classmethod
    def from_json(cls, raw: dict[str, list[str]]) -> FeatureLayout:
        return cls(tuple(raw["generators"]), tuple(raw["customer"]), tuple(raw["product"]))


def stable_order(values: np.ndarray) -> np.ndarray:
    """`np.argsort(values, axis=1, kind="stable")`, faster for float32 rows: one (SIMD) sort of 64-bit keys.

    Each float32 is mapped to an unsigned key with the same order (sign bit flipped for positives, every bit for
    negatives) and its column index is put in the low 32 bits, so all keys differ and a plain (SIMD) sort of the
    keys is the stable order. -0.0 is made +0.0 first, as argsort treats them as equal; rows with NaN, and other
    dtypes, take argsort itself.
    """
    values = np.asarray(values)
    if values.dtype != np.float32 or values.ndim != 2 or values.shape[1] >= 1 << 32 or np.isnan(values).any():
        return np.argsort(values, axis=1, kind="stable")
    bits = (values + np.float32(0.0)).view(np.uint32).astype(np.uint64)
    keys = np.where(bits >> np.uint64(31), bits ^ np.uint64(0xFFFFFFFF), bits | np.uint64(0x80000000))
    keys = (keys << np.uint64(32)) | np.arange(values.shape[1], dtype=np.uint64)[None, :]
    return (np.sort(keys, axis=1) & np.uint64(0xFFFFFFFF)).astype(np.intp)


def percentile_ranks(scores: np.ndarray) -> np.ndarray:
    """Per row, each value's rank as a fraction in (0, 1], the best being 1 (ties: by position, the earlier
    one lower)."""
    n, p = scores.shape
    order = stable_order(scores)
    fractions = (np.arange(1, p + 1) / max(p, 1)).astype(np.float32)
    ranks = np.empty((n, p), dtype=np.float32)
    if n == 1:
        ranks[0, order[0]] = fractions
    else:
        np.put_along_axis(ranks, order, np.broadcast_to(fractions, (n, p)), axis=1)
    return ranks


def top_rank_floor(p: int, top: int) -> np.float32:
    """The lowest `percentile_ranks` value among a row's `top` best of `p`: a value is among the `top` best exactly
    when its rank is at least this (ties broken by position, as the ranks break them). Computed as
    `percentile_ranks` computes its fractions, so the comparison is exact."""
    top = min(max(top, 1), p)
    return np.float32((p - top + 1) / max(p, 1))


def _pairs_of(matrix: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return np.asarray(matrix[rows, cols], dtype=np.float32).ravel() if len(rows) else np.zeros(0, np.float32)


def pair_features(
    layout: FeatureLayout,
    *,
    scores: dict[str, np.ndarray],
    batch: CustomerBatch,
    product_features: np.ndarray,
    rows: np.ndarray | None = None,
    cols: np.ndarray | None = None,
    ranks: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """(pairs × features) float32 for the pairs (rows[i] of the batch, product cols[i]); all of the batch's
    customers × all products, customer-major, when rows and cols are None. `ranks`: each generator's
    `percentile_ranks(scores[name])`, when the caller already has them (they cost a sort of the catalogue)."""
    n, p = len(batch), product_features.shape[0]
    if rows is None or cols is None:
        rows, cols = np.repeat(np.arange(n), p), np.tile(np.arange(p), n)
    out = np.empty((len(rows), len(layout.names)), dtype=np.float32)
    column = 0
    for name in layout.generators:
        out[:, column] = scores[name][rows, cols]
        column += 1
    for name in layout.generators:
        out[:, column] = (ranks[name] if ranks is not None else percentile_ranks(scores[name]))[rows, cols]
        column += 1
    width = len(layout.customer)
    out[:, column : column + width] = batch.features[rows]
    column += width
    width = len(layout.product)
    out[:, column : column + width] = product_features[cols]
    column += width
    history_size = np.diff(batch.history.indptr).astype(np.float32)
    seen = _pairs_of(batch.seen_days, rows, cols)
    out[:, column] = batch.days_since_last_event[rows]
    out[:, column + 1] = batch.day_of_month[rows]
    out[:, column + 2] = history_size[rows]
    out[:, column + 3] = _pairs_of(batch.shown, rows, cols)
    out[:, column + 4] = _pairs_of(batch.dismissed, rows, cols)
    out[:, column + 5] = np.where(seen > 0, seen - 1.0, np.nan)  # never seen: missing, which trees handle
    return out


class Ranker:
    """LightGBM lambdarank over pair features; the booster is kept as LightGBM's own model text."""

    def __init__(self, booster: Any | None = None, *, feature_names: list[str] | None = None) -> None:
        self.booster = booster
        self.feature_names = feature_names or []
        self.best_iteration: int | None = None

    @staticmethod
    def train(
        *,
        features: np.ndarray,
        labels: np.ndarray,
        groups: np.ndarray,
        valid: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        feature_names: list[str],
        params: dict[str, Any],
        rounds: int,
        early_stopping_rounds: int,
    ) -> Ranker:
        """Lambdarank on lists given by `groups` (sizes, in row order); early stopping on NDCG@10 of `valid`."""
        import lightgbm as lgb

        params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [10], "verbosity": -1, **params}
        train_set = lgb.Dataset(features, labels, group=groups, feature_name=_safe_names(feature_names))
        valid_sets: list[lgb.Dataset] = []
        callbacks: list[Callable[..., Any]] = []
        if valid is not None and len(valid[2]):
            valid_sets.append(lgb.Dataset(valid[0], valid[1], group=valid[2], reference=train_set))
            callbacks.append(lgb.early_stopping(early_stopping_rounds, verbose=False))
        booster = lgb.train(params, train_set, num_boost_round=rounds, valid_sets=valid_sets, callbacks=callbacks)
        ranker = Ranker(booster, feature_names=feature_names)
        ranker.best_iteration = int(booster.best_iteration or booster.current_iteration())
        return ranker

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("the ranker is not trained")
        # Small requests run single-threaded: spinning up threads costs more than the trees for one customer.
        threads = 1 if len(features) < 20_000 else 0
        return np.asarray(
            self.booster.predict(features, num_iteration=self.best_iteration, num_threads=threads), dtype=np.float32
        )

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """(pairs × (features + 1)): each feature's additive share of the score, then the bias; rows sum to the
        score `predict` gives."""
        if self.booster is None:
            raise RuntimeError("the ranker is not trained")
        return np.asarray(
            self.booster.predict(features, num_iteration=self.best_iteration, pred_contrib=True, num_threads=1),
            dtype=np.float64,
        )

    def to_text(self) -> str:
        if self.booster is None:
            raise RuntimeError("the ranker is not trained")
        return str(self.booster.model_to_string(num_iteration=self.best_iteration))

    @classmethod
    def from_text(cls, text: str, *, feature_names: list[str]) -> Ranker:
        import lightgbm as lgb

        ranker = cls(lgb.Booster(model_str=text), feature_names=feature_names)
        ranker.best_iteration = None  # the saved text holds exactly the kept trees
        return ranker

    def feature_importance(self) -> dict[str, float]:
        if self.booster is None:
            raise RuntimeError("the ranker is not trained")
        gains = self.booster.feature_importance(importance_type="gain", iteration=self.best_iteration)
        total = float(gains.sum()) or 1.0
        return {name: round(float(g) / total, 4) for name, g in zip(self.feature_names, gains, strict=True)}


def _safe_names(names: list[str]) -> list[str]:
    # LightGBM rejects some characters in feature names (JSON special ones); ours keep their own list.
    return [f"f{i}" for i in range(len(names))]


def drivers(contributions: np.ndarray, layout: FeatureLayout) -> dict[str, float]:
    """One pair's contributions summed per driver, largest first (the bias is left out: it is the same for
    every pair and explains nothing). Ties keep the drivers' order in the layout.

    np.bincount adds each driver's contributions in feature order, in float64, from 0.0: the very additions a
    Python loop would make, so the totals are the same to the last bit."""
    distinct, position = layout.driver_index
    values = np.asarray(contributions, dtype=np.float64)[: len(position)]
    totals = np.bincount(position, weights=values, minlength=len(distinct)).tolist()
    return dict(sorted(zip(distinct, totals, strict=True), key=lambda kv: -kv[1]))


def top_driver(contributions: np.ndarray, layout: FeatureLayout) -> str:
    """The driver that pushed this pair's score up the most."""
    return next(iter(drivers(contributions, layout)))
