"""Scoring one customer with the active recommender: the only way the platform reaches the trained model.

    from advisor.ml import scoring

    scored = scoring.score_customer(customer=customer, catalogue_ids=ids)  # None: no verified version active
    scored.model_version          # the bank.ModelVersion that produced the scores: record it
    scored.scores                 # float32, aligned with catalogue_ids (default: every active product, by pk)
    scored.product_ids            # the catalogue_ids, as an array of Product pks
    scored.vectors_at(positions)  # unit vectors of some products (MiniLM embeddings, else features), for MMR
    scored.product_vectors        # the same for every product (a catalogue-sized copy: prefer vectors_at)
    scored.liked_product_ids      # what the customer already clicked or bought
    scored.dismissed_since(moment)  # what they dismissed since then (from the same read of their history)
    scored.context                # JSON-able facts of this scoring (history size, segment, recency, pool)
    scored.signals                # {generator: its own scores}, e.g. for staff views
    scored.ranked(limit=10, exclude={...})   # product pks, best first
    driver, drivers = scored.explain(i)      # position i: the top driver and {driver: contribution, "bias": b}
                                             # (contributions plus bias add up to the score, to 0.001 each)
    scored.explanation(i)                    # the full Explanation (per-feature contributions too)
    scored.explanations([i, j, ...])         # several at once: one call into the ranker (what a list shows)

Guarantees:
- The model is loaded lazily, once per process (django-q2 forks workers: never at import), and reloaded when
  another version becomes active (one indexed query per call notices it) or when the catalogue changed (new
  products get cold-start scores from their features; inactive ones drop out): at once when the caller passes
  the catalogue stamp it read (`catalogue_stamp`, as the recommendation service does), else at most a minute
  later. Everything per model and catalogue (product vectors, the column of each catalogue id) is computed at
  load; a request does no per-product Python work.
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from django.utils import timezone

from advisor.ml.candidates import CustomerBatch, customer_batch
from advisor.ml.data import DEFAULT_WEIGHTS, DISMISS, InteractionLog, segment_codes
from advisor.ml.dataset import customer_rows, interaction_events, product_rows, tags_of
from advisor.ml.hybrid import Explanation, HybridRecommender
from advisor.ml.hybrid import generator_ranks as generator_ranks_of
from advisor.suitability import catalogue_stamp as read_catalogue_stamp  # active_recommender's parameter has the name
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
    # The columns of the last read-only catalogue asked about (the suitability rules' cached `ids`): requests
    # ask about the same array again and again.
    _last_columns: tuple[np.ndarray, np.ndarray] | None = None

    @cached_property
    def column_of(self) -> dict[int, int]:
        return {int(pk): j for j, pk in enumerate(self.product_ids)}

    @cached_property
    def _by_pk(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.product_ids, kind="stable")
        return self.product_ids[order].astype(np.int64), order.astype(np.int64)

    def columns_of(self, ids: np.ndarray) -> np.ndarray:
        """The model column of each Product pk in `ids`, -1 where the model has none (a binary search each)."""
        last = self._last_columns
        if last is not None and last[0] is ids:
            return last[1]
        keys, order = self._by_pk
        if keys.size == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, ids), keys.size - 1)
        columns = np.where(keys[at] == ids, order[at], -1).astype(np.int64)
        if not ids.flags.writeable:
            columns.flags.writeable = False
            self._last_columns = (ids, columns)
        return columns


_lock = threading.Lock()
_loaded: LoadedRecommender | None = None


def _load(version: ModelVersion) -> LoadedRecommender:
    if not verify(version):
        raise RecommenderUnavailable(f"{version.label}: artifact missing or sha256 mismatch; not loading it")
    stamp = read_catalogue_stamp()
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


def active_recommender(*, catalogue_stamp: tuple[int, datetime | None] | None = None) -> LoadedRecommender:
    """The active version, loaded (cached per process). Raises RecommenderUnavailable.

    `catalogue_stamp`: the catalogue's (version, when it changed) as the caller just read it; a model
    loaded over another catalogue is reloaded now (without it, the catalogue is checked once a minute)."""
    global _loaded
    version = active_version(MODEL_NAME)
    if version is None:
        raise RecommenderUnavailable(f"no active {MODEL_NAME} version: run `manage.py train_recommender`")
    cached = _loaded
    if cached is not None and cached.version.pk == version.pk:
        if catalogue_stamp is not None:
            if catalogue_stamp == cached.catalogue:
                return cached
        elif time.monotonic() - cached.checked_at < CATALOGUE_CHECK_SECONDS:
            return cached
        elif read_catalogue_stamp() == cached.catalogue:
            cached.checked_at = time.monotonic()
            return cached
    with _lock:
        if _loaded is None or _loaded is cached:
            _loaded = _load(version)
        return _loaded


def _refresh_catalogue(loaded: LoadedRecommender) -> LoadedRecommender:
    """Reload now if the catalogue changed since `loaded` (a caller asked for a product it lacks)."""
    global _loaded
    if read_catalogue_stamp() == loaded.catalogue:
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
    liked_product_ids: list[int]
    context: dict[str, Any]
    _model: HybridRecommender
    _batch: CustomerBatch
    _generator_scores: dict[str, np.ndarray]
    _generator_ranks: dict[str, np.ndarray]
    _columns: np.ndarray  # model column of each product_ids entry, -1 where the model has none
    _vectors: np.ndarray  # the loaded model's unit product vectors, by model column
    _events: tuple[np.ndarray, np.ndarray, np.ndarray]  # the customer's (product pk, event code, Unix seconds)
    _explained: dict[int, Explanation | None] = field(default_factory=dict)

    def dismissed_since(self, moment: datetime) -> list[int]:
        """Product pks the customer dismissed at or after `moment`, from the history these scores were computed
        from (no query). Exact to the microsecond: at today's Unix times float64 seconds keep every microsecond
        distinct, and both sides are converted by datetime.timestamp()."""
        products, events, times = self._events
        return [int(pk) for pk in products[(events == DISMISS) & (times >= moment.timestamp())]]

    def vectors_at(self, positions: np.ndarray | Sequence[int]) -> np.ndarray:
        """Unit vectors of the products at these positions of product_ids (zeros where the model has none)."""
        columns = self._columns[np.asarray(positions, dtype=np.int64)]
        out = np.zeros((len(columns), self._vectors.shape[1]), np.float32)
        known = columns >= 0
        out[known] = self._vectors[columns[known]]
        return out

    @cached_property
    def product_vectors(self) -> np.ndarray:
        """Unit rows aligned with product_ids (zeros where the model has none): a copy of catalogue × 384 floats,
        so built only when asked for; `vectors_at` gives a few."""
        return self.vectors_at(np.arange(len(self._columns)))

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
        return self.explanations([index])[0]

    def explanations(self, indices: Sequence[int]) -> list[Explanation | None]:
        """`explanation(i)` for each position, those not explained yet in one call into the ranker."""
        wanted = [int(i) for i in dict.fromkeys(int(i) for i in indices) if int(i) not in self._explained]
        unknown = [i for i in wanted if self._columns[i] < 0]
        self._explained.update(dict.fromkeys(unknown))
        known = [i for i in wanted if self._columns[i] >= 0]
        if known:
            found = self._model.explain(
                self._batch, 0, [int(self._columns[i]) for i in known], scores=self._generator_scores,
                ranks=self._generator_ranks,
            )
            self._explained.update(zip(known, found, strict=True))
        return [self._explained[int(i)] for i in indices]

    def explain(self, index: int) -> tuple[str, dict[str, float]]:
        """(top driver, {driver: contribution} for drivers that moved the score by at least 0.001, plus "bias")
        of the product at position `index`; the full breakdown is `explanation(index)`."""
        explanation = self.explanation(index)
        if explanation is None:
            return "unknown", {}
        shown = {d: v for d, v in explanation.drivers.items() if abs(v) >= 1e-3}
        return explanation.top_driver, {**shown, "bias": explanation.contributions.get("bias", 0.0)}


def _customer_state(
    customer: Customer | int, loaded: LoadedRecommender, moment: float
) -> tuple[CustomerBatch, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The customer's batch as of `moment`, and their events as read (product pks, event codes, Unix seconds)."""
    model = loaded.model
    customer_id = customer if isinstance(customer, int) else customer.pk
    rows = customer_rows(
        [customer_id], embeddings="content_embedding" in model.generators,
        loaded=() if isinstance(customer, int) else [customer],
    )
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
    batch = customer_batch(
        log, np.zeros(1, dtype=np.int64), features=features, segments=segments,
        embeddings=rows.embeddings if "content_embedding" in model.generators else None,
        now=np.array([moment]),
    )
    return batch, (products, events, times)


def score_customer(
    *,
    customer: Customer | int,
    catalogue_ids: Sequence[int] | np.ndarray | None = None,
    now: datetime | None = None,
    catalogue_stamp: tuple[int, datetime | None] | None = None,
) -> CustomerScores | None:
    """Scores for one customer (a Customer or its pk) over `catalogue_ids` (Product pks; default every active
    product), from their current history. None when no verified recommender is active (the caller falls back).
    A customer with no history, no profile snapshot or no row at all gets cold-start scores (segment
    popularity, features, content). `catalogue_stamp`: the catalogue's (version, when it changed) as the caller
    just read it (`advisor.suitability.catalogue_rules().stamp`), which spares a query and reloads a model that
    is behind the catalogue at once. Four small queries; a few milliseconds of compute for 5,000 products."""
    try:
        loaded = active_recommender(catalogue_stamp=catalogue_stamp)
    except RecommenderUnavailable as exc:
        logger.warning("recommender unavailable: %s", exc)
        return None
    ids = loaded.product_ids if catalogue_ids is None else np.asarray(catalogue_ids, dtype=np.int64)
    columns = loaded.columns_of(ids)
    known = columns >= 0
    # An id the model lacks is an inactive product or one added since the load; only a fresh stamp tells which.
    if not known.all() and (catalogue_stamp is None or catalogue_stamp != loaded.catalogue):
        loaded = _refresh_catalogue(loaded)
        columns = loaded.columns_of(ids)
        known = columns >= 0
    model = loaded.model
    batch, events = _customer_state(customer, loaded, (now or timezone.now()).timestamp())
    pool = POOL if len(loaded.product_ids) > FULL_SCORING_UP_TO else None
    with one_blas_thread():
        generator_scores = model.generator_scores(batch)
        generator_ranks = generator_ranks_of(generator_scores)
        model_scores = model.score_batch(batch, pool=pool, scores=generator_scores, ranks=generator_ranks)[0]
    scores = np.full(len(ids), (model_scores.min() - 1.0) if known.any() else 0.0, dtype=np.float32)
    scores[known] = model_scores[columns[known]]
    history = batch.history
    return CustomerScores(
        model_version=loaded.version,
        product_ids=ids,
        scores=scores,
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
        _generator_ranks=generator_ranks,
        _columns=columns,
        _vectors=loaded.vectors,
        _events=events,
    )


_blas: Any = None  # a threadpoolctl.ThreadpoolController, made on first use (it inspects the loaded libraries)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread. Scoring one customer multiplies a vector by catalogue-sized matrices
    (a few MB): a second thread halves nothing and, on cores busy with other requests, waits for one -- measured
    on the 2 shared cores at 50,000 products, ALS's product took 15 ms with two threads and 1.1 ms with one
    (identical results: OpenBLAS splits the output, not the sums). The limit is process-wide while the block
    runs; a web process can rather start with OPENBLAS_NUM_THREADS=1."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        yield


def _finite_or_none(value: float) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None
