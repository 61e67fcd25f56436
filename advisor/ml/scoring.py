"""Scoring one customer with the active recommender: the only way the platform reaches the trained model.

    from advisor.ml import scoring

    scored = scoring.score_customer(customer=customer, catalogue_ids=ids)  # None: no verified version active
    scored.model_version          # the bank.ModelVersion that produced the scores: record it
    scored.scores                 # float32, aligned with catalogue_ids (default: every active product, by pk)
    scored.product_ids            # the catalogue_ids, as an array of Product pks
    scored.product_vectors        # unit vectors per product (MiniLM embeddings, else features), for MMR
    scored.liked_product_ids      # what the customer already clicked or bought
    scored.context                # JSON-able facts of this scoring (history size, segment, recency, pool)
    scored.signals                # {generator: its own scores}, e.g. for staff views
    scored.ranked(limit=10, exclude={...})   # product pks, best first
    driver, drivers = scored.explain(i)      # position i: the top driver and {driver: contribution, "bias": b}
                                             # (contributions plus bias add up to the score, to 0.001 each)
    scored.explanation(i)                    # the full Explanation (per-feature contributions too)

Guarantees:
- The model is loaded lazily, once per process (django-q2 forks workers: never at import), and reloaded when
  another version becomes active (one indexed query per call notices it) or, at most once a minute, when the
  catalogue changed (new products get cold-start scores from their features; inactive ones drop out).
  A version whose files no longer match their sha256 is never loaded (score_customer logs it, returns None).
- Scores use the customer's *current* interactions and active holdings (ALS and item kNN fold the history in),
  so a click counts on the next call, without retraining.
- Nothing is filtered here: suitability and eligibility are the advisor's gate, and what to leave out of a list
  is the caller's choice. A catalogue id the model cannot score (an inactive product) gets the lowest score.
  Above FULL_SCORING_UP_TO products the ranker scores a candidate pool and orders the rest below it
  (`HybridRecommender.score_batch`); scores compare within one call only.
- Drivers: `collaborative`, `content`, `popularity_in_segment`, `customer:<field>` (e.g.
  `customer:spend_share_travel`, `customer:age`), `product:<field>` (e.g. `product:return_max`,
  `product:management_fee_pct`, `product:type`, `product:tag_travel`) and `context:<name>`
  (`days_since_last_event`, `day_of_month`, `history_size`, `shown_count`, `dismissed_count`,
  `days_since_seen`). Contributions are LightGBM TreeSHAP values: with the bias they add up to the score.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import Count, Max
from django.utils import timezone

from advisor.ml.candidates import CustomerBatch, customer_batch
from advisor.ml.data import DEFAULT_WEIGHTS, InteractionLog, segment_codes
from advisor.ml.dataset import customer_rows, interaction_events, product_rows, tags_of
from advisor.ml.hybrid import Explanation, HybridRecommender
from bank.models import ModelVersion
from bank.registry import active_version, verify
from customers.models import Customer
from products.models import Product

logger = logging.getLogger(__name__)

MODEL_NAME = "advisor.recommender"
FULL_SCORING_UP_TO = 1000  # larger catalogues are scored through a candidate pool
POOL = 200  # per generator
CATALOGUE_CHECK_SECONDS = 60.0


class RecommenderUnavailable(Exception):
    """No active recommender version, or its files do not verify; the caller falls back (e.g. to popularity)."""


@dataclass
class LoadedRecommender:
    version: ModelVersion
    model: HybridRecommender  # re-indexed onto the active catalogue
    product_ids: np.ndarray  # Product pks, one per model column
    vectors: np.ndarray  # unit product vectors per model column (embeddings, else features)
    catalogue: tuple[int, datetime | None]
    checked_at: float = field(default_factory=time.monotonic)

    @cached_property
    def column_of(self) -> dict[int, int]:
        return {int(pk): j for j, pk in enumerate(self.product_ids)}


_lock = threading.Lock()
_loaded: LoadedRecommender | None = None


def _catalogue_stamp() -> tuple[int, datetime | None]:
    row = Product.objects.aggregate(n=Count("pk"), changed=Max("updated_at"))
    return int(row["n"]), row["changed"]


def _load(version: ModelVersion) -> LoadedRecommender:
    if not verify(version):
        raise RecommenderUnavailable(f"{version.label}: artifact missing or sha256 mismatch; not loading it")
    stamp = _catalogue_stamp()
    model = HybridRecommender.load(Path(version.artifact_path))
    products = list(Product.objects.filter(is_active=True).order_by("pk"))
    if not products:
        raise RecommenderUnavailable("the catalogue has no active products")
    if model.product_encoder is None:
        raise RecommenderUnavailable(f"{version.label} was not trained on the database (no product encoder)")
    rows = product_rows(products, tags=tags_of(model.product_encoder))
    features = model.product_encoder.transform(numeric=rows.numeric, categorical=rows.categorical, n=len(products))
    serving = model.reindexed(
        [str(pk) for pk in rows.pks], product_features=features,
        product_embeddings=rows.embeddings if "content_embedding" in model.generators else None,
    )
    vectors = rows.embeddings if rows.embeddings is not None else features
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return LoadedRecommender(
        version=version, model=serving, product_ids=np.array(rows.pks), catalogue=stamp,
        vectors=(vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32),
    )


def active_recommender() -> LoadedRecommender:
    """The active version, loaded (cached per process). Raises RecommenderUnavailable."""
    global _loaded
    version = active_version(MODEL_NAME)
    if version is None:
        raise RecommenderUnavailable(f"no active {MODEL_NAME} version: run `manage.py train_recommender`")
    cached = _loaded
    if cached is not None and cached.version.pk == version.pk:
        if time.monotonic() - cached.checked_at < CATALOGUE_CHECK_SECONDS:
            return cached
        if _catalogue_stamp() == cached.catalogue:
            cached.checked_at = time.monotonic()
            return cached
    with _lock:
        if _loaded is None or _loaded is cached:
            _loaded = _load(version)
        return _loaded


def _refresh_catalogue(loaded: LoadedRecommender) -> LoadedRecommender:
    """Reload now if the catalogue changed since `loaded` (a caller asked for a product it lacks)."""
    global _loaded
    if _catalogue_stamp() == loaded.catalogue:
        return loaded
    with _lock:
        if _loaded is loaded:
            _loaded = _load(loaded.version)
        return _loaded or loaded


def forget_loaded_model() -> None:
    """Drop the cached model (tests; a worker that wants to free memory)."""
    global _loaded
    with _lock:
        _loaded = None


@dataclass
class CustomerScores:
    model_version: ModelVersion
    product_ids: np.ndarray  # Product pks, in the caller's catalogue order
    scores: np.ndarray  # float32, aligned with product_ids
    product_vectors: np.ndarray  # unit rows, aligned with product_ids (zeros where the model has none)
    liked_product_ids: list[int]
    context: dict[str, Any]
    _model: HybridRecommender
    _batch: CustomerBatch
    _generator_scores: dict[str, np.ndarray]
    _columns: np.ndarray  # model column of each product_ids entry, -1 where the model has none
    _explained: dict[int, Explanation] = field(default_factory=dict)

    def ranked(self, *, limit: int | None = None, exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
        """Product pks, best first (ties: catalogue order), leaving out `exclude`."""
        order = np.argsort(-self.scores, kind="stable")
        picked = [int(self.product_ids[j]) for j in order if int(self.product_ids[j]) not in exclude]
        return picked if limit is None else picked[:limit]

    @property
    def signals(self) -> dict[str, np.ndarray]:
        """Each candidate generator's own scores, aligned with product_ids (NaN where the model has none)."""
        known = self._columns >= 0
        out = {}
        for name, values in self._generator_scores.items():
            aligned = np.full(len(self._columns), np.nan, dtype=np.float32)
            aligned[known] = values[0, self._columns[known]]
            out[name] = aligned
        return out

    def explanation(self, index: int) -> Explanation | None:
        """The full explanation of the product at position `index` (None: a product the model cannot score).

        Cached: asking twice costs nothing."""
        column = int(self._columns[index])
        if column < 0:
            return None
        if index not in self._explained:
            self._explained[index] = self._model.explain(self._batch, 0, [column], scores=self._generator_scores)[0]
        return self._explained[index]

    def explain(self, index: int) -> tuple[str, dict[str, float]]:
        """(top driver, {driver: contribution} for drivers that moved the score by at least 0.001, plus "bias")
        of the product at position `index`; the full breakdown is `explanation(index)`."""
        explanation = self.explanation(index)
        if explanation is None:
            return "unknown", {}
        shown = {d: v for d, v in explanation.drivers.items() if abs(v) >= 1e-3}
        return explanation.top_driver, {**shown, "bias": explanation.contributions.get("bias", 0.0)}


def _customer_state(customer: Customer | int, loaded: LoadedRecommender, moment: float) -> CustomerBatch:
    model = loaded.model
    customer_id = customer if isinstance(customer, int) else customer.pk
    rows = customer_rows([customer_id], embeddings="content_embedding" in model.generators)
    encoder = model.customer_encoder
    features = (
        encoder.transform(numeric=rows.numeric, categorical=rows.categorical, n=1)
        if encoder is not None
        else np.zeros((1, 0), np.float32)
    )
    segments = np.full(1, -1, dtype=np.int32)
    if model.segment_column is not None and model.segment_column in rows.categorical:
        segments, _ = segment_codes(rows.categorical[model.segment_column], names=model.segment_names)
    _, products, events, times = interaction_events([customer_id])
    column = loaded.column_of
    known = np.array([int(p) in column for p in products], dtype=bool)
    log = InteractionLog(
        customer_ids=[str(customer_id)],
        product_ids=model.product_ids,
        customer=np.zeros(int(known.sum()), dtype=np.int32),
        product=np.array([column[int(p)] for p in products[known]], dtype=np.int32),
        event=events[known],
        weight=np.array([DEFAULT_WEIGHTS[int(e)] for e in events[known]], dtype=np.float32),
        timestamp=times[known],
        source=f"customer {customer_id}",
    )
    return customer_batch(
        log, np.zeros(1, dtype=np.int64), features=features, segments=segments,
        embeddings=rows.embeddings if "content_embedding" in model.generators else None,
        now=np.array([moment]),
    )


def score_customer(
    *, customer: Customer | int, catalogue_ids: Sequence[int] | np.ndarray | None = None, now: datetime | None = None
) -> CustomerScores | None:
    """Scores for one customer (a Customer or its pk) over `catalogue_ids` (Product pks; default every active
    product), from their current history. None when no verified recommender is active (the caller falls back).
    A customer with no history, no profile snapshot or no row at all gets cold-start scores (segment
    popularity, features, content). Five small queries; a few milliseconds of compute for 5,000 products."""
    try:
        loaded = active_recommender()
    except RecommenderUnavailable as exc:
        logger.warning("recommender unavailable: %s", exc)
        return None
    ids = loaded.product_ids if catalogue_ids is None else np.asarray(catalogue_ids, dtype=np.int64)
    if any(int(pk) not in loaded.column_of for pk in ids):
        loaded = _refresh_catalogue(loaded)
    model = loaded.model
    batch = _customer_state(customer, loaded, (now or timezone.now()).timestamp())
    generator_scores = model.generator_scores(batch)
    pool = POOL if len(loaded.product_ids) > FULL_SCORING_UP_TO else None
    model_scores = model.score_batch(batch, pool=pool, scores=generator_scores)[0]
    columns = np.array([loaded.column_of.get(int(pk), -1) for pk in ids], dtype=np.int64)
    known = columns >= 0
    scores = np.full(len(ids), (model_scores.min() - 1.0) if known.any() else 0.0, dtype=np.float32)
    scores[known] = model_scores[columns[known]]
    vectors = np.zeros((len(ids), loaded.vectors.shape[1]), np.float32)
    vectors[known] = loaded.vectors[columns[known]]
    history = batch.history
    return CustomerScores(
        model_version=loaded.version,
        product_ids=ids,
        scores=scores,
        product_vectors=vectors,
        liked_product_ids=sorted(int(loaded.product_ids[j]) for j in history.indices),
        context={
            "model": loaded.version.label,
            "history_size": int(history.nnz),
            "segment": (model.segment_names[int(batch.segments[0])] if batch.segments[0] >= 0 else None),
            "days_since_last_event": _finite_or_none(batch.days_since_last_event[0]),
            "pooled": pool is not None,
            "unscored_products": int((~known).sum()),
        },
        _model=model,
        _batch=batch,
        _generator_scores=generator_scores,
        _columns=columns,
    )


def _finite_or_none(value: float) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None
