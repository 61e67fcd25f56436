"""Candidate generators: cheap scorers of every product for a customer, each one a feature of the hybrid ranker
and each usable alone (the evaluation's baselines).

One protocol: `fit(data)` on a `RecommenderData`, then `score(customer_indices)` for customers of the data it
was fitted on, or `score_batch(batch)` for any `CustomerBatch` -- the live path, where a customer's *current*
history is used, so a new click changes their scores without retraining. Every score is (n, n_products).

- `SegmentPopularity` ("popularity_in_segment"): the share of a segment's customers who liked each product,
  shrunk towards the global share; segments smaller than `min_segment_size` use the global share.
- `ItemKNN` ("item_knn"): item-item cosine on who-liked-what, shrunk (`co / (|i||j| + shrinkage)`), each
  product keeping its `neighbours` most similar products; a customer's score is their (log-)weighted history
  times that matrix.
- `ImplicitALS` ("als"): Hu, Koren & Volinsky's implicit-feedback matrix factorisation (2008): confidence
  `1 + alpha * weight` on liked products, preference 0 with confidence 1 elsewhere, alternating exact
  least-squares solves batched in torch (on CUDA when available). New history is folded in by one exact
  user solve against the fixed product factors (`user_factors_for`), so feedback counts at once.
- `FeatureContent` ("content"): products as their feature vectors; a customer as a learned linear (ridge) map
  from their features into that space plus the mean of what they liked. It answers for customers and products
  with no history at all.
- `EmbeddingContent` ("content_embedding"): cosine between the customer's profile embedding and the product's
  text embedding (MiniLM, both in one space), when the data has them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import numpy as np
from scipy import sparse

from advisor.ml.data import DAY, DISMISS, IMPRESSION, InteractionLog, RecommenderData


@dataclass
class CustomerBatch:
    """What scoring needs to know of some customers at one moment ("now").

    `history` holds positive weights; `shown` / `dismissed` count impressions and dismissals per product;
    `seen_days` is 1 + days since the customer's latest event on each product (0: never). Per customer:
    features, segment code, optional profile embedding, days since their latest event and the day of month of
    "now" (NaN where unknown: no timestamps).
    """

    history: sparse.csr_matrix
    shown: sparse.csr_matrix
    dismissed: sparse.csr_matrix
    seen_days: sparse.csr_matrix
    features: np.ndarray
    segments: np.ndarray
    embeddings: np.ndarray | None
    days_since_last_event: np.ndarray
    day_of_month: np.ndarray

    def __len__(self) -> int:
        return self.history.shape[0]

    def take(self, rows: np.ndarray) -> CustomerBatch:
        return CustomerBatch(
            history=self.history[rows],
            shown=self.shown[rows],
            dismissed=self.dismissed[rows],
            seen_days=self.seen_days[rows],
            features=self.features[rows],
            segments=self.segments[rows],
            embeddings=None if self.embeddings is None else self.embeddings[rows],
            days_since_last_event=self.days_since_last_event[rows],
            day_of_month=self.day_of_month[rows],
        )


def customer_batch(
    log: InteractionLog,
    customers: np.ndarray,
    *,
    features: np.ndarray,
    segments: np.ndarray,
    embeddings: np.ndarray | None,
    now: np.ndarray | None,
) -> CustomerBatch:
    """The batch of `customers` (rows of `log`) as of `now` (Unix seconds per customer; events after it are
    ignored). Without `now`, the log's latest time is "now" for everyone."""
    customers = np.asarray(customers, dtype=np.int64)
    n, n_p = len(customers), log.n_products
    k, e = log.events_of(customers)
    times = log.timestamp[e] if log.timestamp is not None else None
    if now is None and log.timestamp is not None and log.timestamp.size:
        now = np.full(n, float(log.timestamp.max()))
    if times is not None and now is not None:
        keep = times < np.asarray(now)[k] + 1e-9
        k, e, times = k[keep], e[keep], times[keep]
    events, products = log.event[e], log.product[e]
    positive = np.isin(events, (0, 1)) & (log.weight[e] > 0)

    def counts(mask: np.ndarray, values: np.ndarray) -> sparse.csr_matrix:
        out = sparse.csr_matrix((values[mask], (k[mask], products[mask])), shape=(n, n_p), dtype=np.float32)
        out.sum_duplicates()
        return out

    ones = np.ones(len(e), dtype=np.float32)
    history = counts(positive, log.weight[e].astype(np.float32))
    shown, dismissed = counts(events == IMPRESSION, ones), counts(events == DISMISS, ones)
    last_event = np.full(n, np.nan)
    seen_days = sparse.csr_matrix((n, n_p), dtype=np.float32)
    day_of_month = np.full(n, np.nan)
    if times is not None and now is not None:
        now = np.asarray(now, dtype=np.float64)
        if len(e):
            key = k * n_p + products
            order = np.lexsort((-times, key))
            uniq, first = np.unique(key[order], return_index=True)
            latest = times[order][first]
            rows = uniq // n_p
            seen_days = sparse.csr_matrix(
                (1.0 + (now[rows] - latest) / DAY, (rows, uniq % n_p)), shape=(n, n_p), dtype=np.float32
            )
            np.fmax.at(last_event, k, times)
        day_of_month = np.array(
            [datetime.fromtimestamp(t, UTC).day if np.isfinite(t) else np.nan for t in now], dtype=np.float64
        )
    return CustomerBatch(
        history=history,
        shown=shown,
        dismissed=dismissed,
        seen_days=seen_days,
        features=features,
        segments=segments,
        embeddings=embeddings,
        days_since_last_event=((now - last_event) / DAY) if now is not None else last_event,
        day_of_month=day_of_month,
    )


def batch_for(
    data: RecommenderData, customers: np.ndarray, *, log: InteractionLog | None = None, now: np.ndarray | None = None
) -> CustomerBatch:
    """The batch of customers (rows of `data`), from `data.log` or another log over the same universe."""
    customers = np.asarray(customers, dtype=np.int64)
    return customer_batch(
        log if log is not None else data.log,
        customers,
        features=data.customer_features[customers],
        segments=data.segments[customers],
        embeddings=None if data.customer_embeddings is None else data.customer_embeddings[customers],
        now=now,
    )


@dataclass(frozen=True)
class ProductSide:
    """A catalogue's product features and embeddings, for re-indexing fitted generators onto it."""

    features: np.ndarray
    embeddings: np.ndarray | None


class CandidateGenerator(Protocol):
    # Per generator class, not per instance.
    name: ClassVar[str]
    driver: ClassVar[str]  # what a customer-facing reason calls it: collaborative, content, popularity_in_segment

    def fit(self, data: RecommenderData) -> None: ...

    def score(self, customer_indices: np.ndarray) -> np.ndarray: ...

    def score_batch(self, batch: CustomerBatch) -> np.ndarray: ...

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able parameters and the arrays a fitted generator needs to score (what `save` writes)."""
        ...

    def reindexed(self, columns: np.ndarray, products: ProductSide) -> CandidateGenerator:
        """The fitted generator over another catalogue: new column j is old column columns[j] (-1: new)."""
        ...


class _Generator:
    name: ClassVar[str]
    driver: ClassVar[str]
    _data: RecommenderData | None = None

    def score(self, customer_indices: np.ndarray) -> np.ndarray:
        if self._data is None:
            raise RuntimeError(f"{self.name}: score(customer_indices) needs fit() first; use score_batch()")
        return self.score_batch(batch_for(self._data, customer_indices))

    def score_batch(self, batch: CustomerBatch) -> np.ndarray:
        raise NotImplementedError


def liked(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    out = matrix.copy().astype(np.float32)
    out.data[:] = 1.0
    return out


def _selection(columns: np.ndarray, n_old: int) -> sparse.csr_matrix:
    """(old × new) 0/1 matrix taking old column columns[j] to new column j (-1: a new product, all zero)."""
    known = np.flatnonzero(columns >= 0)
    return sparse.csr_matrix(
        (np.ones(len(known), np.float32), (columns[known], known)), shape=(n_old, len(columns))
    )


def _take_columns(values: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """values[..., columns] with zeros where columns is -1."""
    out = values[..., np.maximum(columns, 0)].copy()
    out[..., columns < 0] = 0
    return out


class SegmentPopularity(_Generator):
    name = "popularity_in_segment"
    driver = "popularity_in_segment"

    def __init__(self, *, min_segment_size: int = 30, prior: float = 20.0) -> None:
        self.min_segment_size = min_segment_size
        self.prior = prior
        self.table = np.zeros((1, 0), np.float32)  # one row per segment, then the global row

    def fit(self, data: RecommenderData) -> None:
        self._data = data
        likes = liked(data.log.matrix)
        active = np.asarray(likes.sum(axis=1)).ravel() > 0
        global_rate = np.asarray(likes.sum(axis=0)).ravel() / max(1, int(active.sum()))
        n_seg = len(data.segment_names)
        rows = np.flatnonzero(active & (data.segments >= 0))
        member = sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (data.segments[rows], rows)), shape=(n_seg, data.log.n_customers)
        )
        counts = np.asarray((member @ likes).todense()).reshape(n_seg, data.log.n_products)
        sizes = np.asarray(member.sum(axis=1)).reshape(-1, 1)
        rates = (counts + self.prior * global_rate) / (sizes + self.prior)
        rates[sizes.ravel() < self.min_segment_size] = global_rate
        self.table = np.vstack([rates, global_rate[None, :]]).astype(np.float32)

    def score_batch(self, batch: CustomerBatch) -> np.ndarray:
        n_seg = self.table.shape[0] - 1
        rows = np.where((batch.segments >= 0) & (batch.segments < n_seg), batch.segments, n_seg)
        return self.table[rows]

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"min_segment_size": self.min_segment_size, "prior": self.prior}, {"table": self.table}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> SegmentPopularity:
        out = cls(**params)
        out.table = arrays["table"]
        return out

    def reindexed(self, columns: np.ndarray, products: ProductSide) -> SegmentPopularity:
        out = SegmentPopularity(min_segment_size=self.min_segment_size, prior=self.prior)
        out.table = _take_columns(self.table, columns)
        return out


class ItemKNN(_Generator):
    name = "item_knn"
    driver = "collaborative"

    def __init__(self, *, neighbours: int = 50, shrinkage: float = 10.0, block: int = 1024) -> None:
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.block = block
        self.similarity = sparse.csr_matrix((0, 0), dtype=np.float32)  # [i, j]: i is a neighbour of j

    def fit(self, data: RecommenderData) -> None:
        self._data = data
        likes = liked(data.log.matrix).tocsc()
        n_p = likes.shape[1]
        norms = np.sqrt(np.asarray(likes.multiply(likes).sum(axis=0)).ravel())
        likes_t = likes.T.tocsr()
        rows, cols, vals = [], [], []
        keep = min(self.neighbours, max(0, n_p - 1))
        # Column blocks keep memory at (products × block) whatever the catalogue size.
        for start in range(0, n_p, self.block):
            stop = min(n_p, start + self.block)
            co = np.asarray((likes_t @ likes[:, start:stop]).todense())
            sim = co / (norms[:, None] * norms[None, start:stop] + self.shrinkage + 1e-9)
            sim[np.arange(start, stop), np.arange(stop - start)] = 0.0
            if keep == 0:
                continue
            top = np.argpartition(-sim, keep - 1, axis=0)[:keep]
            values = np.take_along_axis(sim, top, axis=0)
            nz = values > 0
            rows.append(top[nz])
            cols.append((np.arange(start, stop)[None, :].repeat(keep, axis=0))[nz])
            vals.append(values[nz])
        if rows:
            self.similarity = sparse.csr_matrix(
                (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                shape=(n_p, n_p),
            )
        else:
            self.similarity = sparse.csr_matrix((n_p, n_p), dtype=np.float32)

    def score_batch(self, batch: CustomerBatch) -> np.ndarray:
        history = batch.history.copy()
        history.data = np.log1p(history.data)
        return np.asarray((history @ self.similarity).todense(), dtype=np.float32).reshape(len(batch), -1)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        s = self.similarity
        return (
            {"neighbours": self.neighbours, "shrinkage": self.shrinkage, "n_products": int(s.shape[0])},
            {"data": s.data, "indices": s.indices, "indptr": s.indptr},
        )

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> ItemKNN:
        out = cls(neighbours=params["neighbours"], shrinkage=params["shrinkage"])
        n = int(params["n_products"])
        out.similarity = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n))
        return out

    def reindexed(self, columns: np.ndarray, products: ProductSide) -> ItemKNN:
        out = ItemKNN(neighbours=self.neighbours, shrinkage=self.shrinkage)
        pick = _selection(columns, self.similarity.shape[0])
        out.similarity = (pick.T @ self.similarity @ pick).tocsr().astype(np.float32)
        return out


def _unit_rows(values: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    return (values / np.where(norms > 1e-12, norms, 1.0)).astype(np.float32)


class FeatureContent(_Generator):
    name = "content"
    driver = "content"

    def __init__(self, *, ridge: float = 10.0) -> None:
        self.ridge = ridge
        self.products = np.zeros((0, 0), np.float32)  # unit product feature vectors
        self.mapping = np.zeros((0, 0), np.float32)  # (customer features + 1) × product features

    def fit(self, data: RecommenderData) -> None:
        self._data = data
        self.products = _unit_rows(data.product_features)
        x = np.hstack([data.customer_features, np.ones((data.log.n_customers, 1), np.float32)])
        taste = self._taste(data.log.matrix)
        rows = np.flatnonzero(np.abs(taste).sum(axis=1) > 0)
        if data.customer_features.shape[1] == 0 or len(rows) == 0:
            self.mapping = np.zeros((x.shape[1], self.products.shape[1]), np.float32)
            return
        xr = x[rows].astype(np.float64)
        gram = xr.T @ xr + self.ridge * np.eye(x.shape[1])
        self.mapping = np.linalg.solve(gram, xr.T @ taste[rows]).astype(np.float32)

    def _taste(self, history: sparse.csr_matrix) -> np.ndarray:
        """(customers × product features): the log-weighted mean of the unit vectors of what they liked."""
        weights = history.copy().astype(np.float32)
        weights.data = np.log1p(weights.data)
        totals = np.asarray(weights.sum(axis=1)).ravel()
        mean = np.asarray(weights @ self.products) / np.where(totals > 0, totals, 1.0)[:, None]
        return mean.astype(np.float32)

    def score_batch(self, batch: CustomerBatch) -> np.ndarray:
        x = np.hstack([batch.features, np.ones((len(batch), 1), np.float32)])
        predicted = _unit_rows(x @ self.mapping)
        vector = _unit_rows(predicted + _unit_rows(self._taste(batch.history)))
        return (vector @ self.products.T).astype(np.float32)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"ridge": self.ridge}, {"products": self.products, "mapping": self.mapping}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> FeatureContent:
        out = cls(**params)
        out.products, out.mapping = arrays["products"], arrays["mapping"]
        return out

    def reindexed(self, columns: np.ndarray, products: ProductSide) -> FeatureContent:
        # Product vectors come from features, so new products get real ones: that is their cold start.
        out = FeatureContent(ridge=self.ridge)
        out.products, out.mapping = _unit_rows(products.features), self.mapping
        return out


class EmbeddingContent(_Generator):
    name = "content_embedding"
    driver = "content"

    def __init__(self) -> None:
        self.products = np.zeros((0, 0), np.float32)

    def fit(self, data: RecommenderData) -> None:
        if data.product_embeddings is None or data.customer_embeddings is None:
            raise ValueError("content_embedding needs customer and product embeddings")
        self._data = data
        self.products = _unit_rows(data.product_embeddings)

    def score_batch(self, batch: CustomerBatch) -> np.ndarray:
        if batch.embeddings is None:
            return np.zeros((len(batch), self.products.shape[0]), np.float32)
        # A customer without a profile embedding (zeros) scores 0 everywhere: no content evidence.
        return (_unit_rows(batch.embeddings) @ self.products.T).astype(np.float32)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"products": self.products}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> EmbeddingContent:
        out = cls()
        out.products = arrays["products"]
        return out

    def reindexed(self, columns: np.ndarray, products: ProductSide) -> EmbeddingContent:
        out = EmbeddingContent()
        if products.embeddings is None:
            out.products = _take_columns(self.products.T, columns).T.copy()
        else:
            out.products = _unit_rows(products.embeddings)
        return out


def cpu_count() -> int:
    """The cores this process may use (a container or taskset can allow fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def training_device() -> str:
    """"cuda" when torch sees a GPU, unless settings.ML_DEVICE (auto | cpu | cuda) says otherwise."""
    import torch
    from django.conf import settings

    # Outside a configured Django (a benchmark script) there is no setting: auto.
    wanted = ((getattr(settings, "ML_DEVICE", "auto") if settings.configured else "auto") or "auto").lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted not in ("cpu", "cuda"):
        raise ValueError(f"ML_DEVICE must be auto, cpu or cuda, got {wanted!r}")
    return wanted


class ImplicitALS(_Generator):
    name = "als"
    driver = "collaborative"

    def __init__(
        self,
        *,
        factors: int = 32,
        regularization: float = 50.0,
        alpha: float = 1.0,
        iterations: int = 12,
        seed: int = 0,
        device: str | None = None,
        chunk_elements: int = 1 << 18,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.device = device
        self.chunk_elements = chunk_elements
        self.item_factors = np.zeros((0, factors), np.float32)
        self.progress: Callable[[int], None] | None = None
        # (item_factors it was computed from, those factors in float64, their regularised gram): the fold-in's
        # per-model part, which costs a pass over every product; recomputed when item_factors is replaced.
        self._fold_in_basis: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def fit(self, data: RecommenderData) -> None:
        import torch

        self._data = data
        device = self.device or training_device()
        self.device = device
        if device == "cpu":
            torch.set_num_threads(cpu_count())
        ratings = data.log.matrix.astype(np.float32).tocsr()
        ratings_t = ratings.T.tocsr()
        generator = torch.Generator().manual_seed(self.seed)
        items = (torch.randn(ratings.shape[1], self.factors, generator=generator) * 0.01).to(device)
        users = torch.zeros(ratings.shape[0], self.factors, device=device)
        for _ in range(self.iterations):
            users = self._solve(ratings, items)
            items = self._solve(ratings_t, users)
            if self.progress is not None:
                self.progress(1)
        self.item_factors = items.float().cpu().numpy()
        self.user_factors = users.float().cpu().numpy()

    def _solve(self, ratings: sparse.csr_matrix, fixed: Any) -> Any:
        """Each row's exact least-squares factors against `fixed`:
        x_u = (YᵀY + Yᵀ(C_u − I)Y + λI)⁻¹ Yᵀ C_u p_u, only the liked entries touching the sum.

        Rows are padded to their chunk's longest row; sorting rows by length keeps the padding small, and
        `chunk_elements` bounds the (rows × longest × factors) tensor whatever the data size.
        """
        import torch

        device, k = fixed.device, fixed.shape[1]
        gram = fixed.T @ fixed + self.regularization * torch.eye(k, device=device)
        out = torch.zeros(ratings.shape[0], k, device=device)
        lengths = np.diff(ratings.indptr)
        order = np.argsort(lengths, kind="stable")
        order = order[lengths[order] > 0]
        start = 0
        while start < len(order):
            # Rows are sorted by length, so t rows starting here pad to the t-th one's length: take the most
            # rows whose padded size stays within the budget.
            ahead = lengths[order[start : start + self.chunk_elements]]
            padded = np.arange(1, len(ahead) + 1) * ahead
            take = max(1, int(np.searchsorted(padded, self.chunk_elements, side="right")))
            rows = order[start : start + take]
            width = int(lengths[rows].max())
            counts = lengths[rows]
            slot = np.arange(width)[None, :] < counts[:, None]
            position = ratings.indptr[rows][:, None] + np.arange(width)[None, :]
            position = np.where(slot, position, 0)
            cols = torch.as_tensor(np.where(slot, ratings.indices[position], 0), device=device)
            conf = torch.as_tensor(np.where(slot, self.alpha * ratings.data[position], 0.0), device=device)
            mask = torch.as_tensor(slot, device=device, dtype=fixed.dtype)
            y = fixed[cols]  # (rows, width, k)
            a = gram + torch.bmm((y * conf.unsqueeze(-1).to(y.dtype)).transpose(1, 2), y)
            b = (y * ((1.0 + conf.to(y.dtype)) * mask).unsqueeze(-1)).sum(dim=1)
            out[torch.as_tensor(rows, device=device)] = torch.linalg.solve(a, b)
            start += take
        return out

    def user_factors_for(self, history: sparse.csr_matrix | np.ndarray) -> np.ndarray:
        """Fold in: factors of customers with this history (rows of weights over products), from the fixed
        product factors alone -- one exact solve each, no retraining. numpy, on the CPU: a request's few
        k×k solves take microseconds, less than starting a torch kernel (and torch's threads would contend
        with LightGBM's right after)."""
        if isinstance(history, np.ndarray):
            history = sparse.csr_matrix(np.atleast_2d(np.asarray(history, dtype=np.float32)))
        history = history.tocsr()
        basis = self._fold_in_basis
        if basis is None or basis[0] is not self.item_factors:
            items = self.item_factors.astype(np.float64)
            basis = (self.item_factors, items, items.T @ items + self.regularization * np.eye(items.shape[1]))
            self._fold_in_basis = basis
        _, items, gram = basis
        k = items.shape[1]
        out = np.zeros((history.shape[0], k), dtype=np.float64)
        for row in np.flatnonzero(np.diff(history.indptr)):
            cols = history.indices[history.indptr[row] : history.indptr[row + 1]]
            conf = self.alpha * history.data[history.indptr[row] : history.indptr[row + 1]].astype(np.float64)
            y = items[cols]
            out[row] = np.linalg.solve(gram + (y.T * conf) @ y, y.T @ (1.0 + conf))
        return out.astype(np.float32)

    def score_batch(self, batch: CustomerBatch) -> np.ndarray:
        return (self.user_factors_for(batch.history) @ self.item_factors.T).astype(np.float32)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        params = {
            "factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
            "iterations": self.iterations, "seed": self.seed,
        }
        return params, {"item_factors": self.item_factors}

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> ImplicitALS:
        out = cls(**params)
        out.item_factors = arrays["item_factors"]
        return out

    def reindexed(self, columns: np.ndarray, products: ProductSide) -> ImplicitALS:
        # A product the model never saw gets zero factors: it adds nothing to a fold-in and scores 0.
        out = ImplicitALS.from_state(*self.state())
        out.item_factors = _take_columns(self.item_factors.T, columns).T.copy()
        return out


GENERATOR_CLASSES: dict[str, Any] = {
    cls.name: cls for cls in (SegmentPopularity, ItemKNN, ImplicitALS, FeatureContent, EmbeddingContent)
}
