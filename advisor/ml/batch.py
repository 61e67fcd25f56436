"""Scoring chunks of customers on the ML device for the batch run (`advisor.batch`): generator scores as tensor
products, percentile ranks, the suitability mask as a boolean tensor, the LightGBM ranker over the pairs the online
scorer would rank, and the top-k with MMR -- the list `advisor.services.recommend_products` would give.

    scorer = DeviceScorer(loaded, catalogue_rules(), device=resolve_device("auto"), k=10, now=now)
    state = scorer.read(after=None, limit=4096)             # the first chunk: history, features, gate facts
    customers, ranks, products, scores = scorer.top_k(state, StepClock(seconds, synchronize=False))

What runs where, and where it can differ from the online list, is told in `advisor.batch`'s docstring.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from advisor.ml import scoring
from advisor.ml.batch_read import ChunkFacts, read_chunk
from advisor.ml.candidates import (
    CustomerBatch,
    EmbeddingContent,
    FeatureContent,
    ImplicitALS,
    ItemKNN,
    SegmentPopularity,
    customer_batch,
)
from advisor.ml.data import DEFAULT_WEIGHTS, DISMISS, InteractionLog, segment_codes
from advisor.ml.ranker import pair_features, top_rank_floor
from advisor.suitability import CatalogueRules

DENSE_KNN_UP_TO = 8192  # item kNN similarity as a dense (products × products) tensor up to this many products


class DeviceUnavailable(ValueError):
    """The device asked for is not one of auto, cpu, cuda, or is cuda on a machine without one."""


def resolve_device(wanted: str | None = None) -> str:
    """"cpu" or "cuda" for `wanted` (auto | cpu | cuda; None: settings.ML_DEVICE), as `bank.embeddings` resolves
    it: auto is cuda when torch sees a GPU. Raises DeviceUnavailable."""
    import torch

    choice = (wanted or getattr(settings, "ML_DEVICE", "auto") or "auto").lower()
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice not in ("cpu", "cuda"):
        raise DeviceUnavailable(f"device must be auto, cpu or cuda, got {wanted!r}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device cuda was asked for, but torch sees no CUDA device here")
    return choice


@dataclass
class ChunkState:
    pks: np.ndarray  # customer pks, one per row
    batch: CustomerBatch
    facts: ChunkFacts
    dismissed: tuple[np.ndarray, np.ndarray]  # (row, model column) dismissed within the quiet period
    ranked_pairs: int = 0


class DeviceScorer:
    """The active recommender and the catalogue's rules as tensors on one device, for scoring chunks."""

    def __init__(self, loaded: scoring.LoadedRecommender, rules: CatalogueRules, *, device: str, k: int,
                 now: datetime) -> None:
        import torch

        from advisor.services import DISMISS_QUIET_PERIOD, MMR_LAMBDA

        self.loaded, self.model, self.device, self.k, self.now = loaded, loaded.model, device, k, now
        self.today: date = timezone.localdate(now)
        self.quiet_since = (now - DISMISS_QUIET_PERIOD).timestamp()
        self.mmr_lambda = MMR_LAMBDA
        self.embeddings = "content_embedding" in self.model.generators
        self._torch = torch
        # Model arrays on the device, made once per run, keyed by the array's identity (`_keep` holds the arrays,
        # so an id is never reused while its tensor is cached).
        self._tensors: dict[tuple[int, str], Any] = {}
        self._keep: list[Any] = []
        # The catalogue's rules, restricted to the model's columns (every product on sale; both in pk order, so
        # ties broken by column are broken by catalogue position as online).
        at = np.array([rules.index[int(pk)] for pk in loaded.product_ids], dtype=np.int64)

        def t(values: np.ndarray) -> Any:
            return torch.as_tensor(np.ascontiguousarray(values), device=device)

        self.rules = {
            "on_sale": t(rules.on_sale[at]), "risk_level": t(rules.risk_level[at].astype(np.int64)),
            "min_age": t(rules.min_age[at].astype(np.int64)), "max_age": t(rules.max_age[at].astype(np.int64)),
            "min_income": t(rules.min_income[at]), "kyc_required": t(rules.kyc_required[at]),
            "allows_multiple": t(rules.allows_multiple[at]), "funded": t(rules.funded[at]),
            "min_amount": t(rules.min_amount[at]),
        }
        # Residency: row r says which products a customer residing in code r may have; row 0 is any residency no
        # rule names (only products without a rule).
        named = sorted({country for allowed in rules.residency for country in allowed})
        self.residency_code = {country: i + 1 for i, country in enumerate(named)}
        allowed = np.ones((len(named) + 1, len(at)), dtype=bool)
        for j, i in enumerate(at):
            if rules.residency[i]:
                allowed[:, j] = [False] + [country in rules.residency[i] for country in named]
        self.residency_ok = t(allowed)
        self.vectors = t(loaded.vectors)
        # Cosines between every two products, once: a chunk's MMR then gathers (customers × 40 × 40) of them
        # instead of (customers × 40 × 384) vectors (measured: MMR took 2-3x longer gathering vectors).
        self.cosines = self.vectors @ self.vectors.T if len(at) <= DENSE_KNN_UP_TO else None

    def tensor(self, values: Any, dtype: Any = None, *, dense: bool = False) -> Any:
        """A model array (or a scipy matrix, `dense`) on the device, made once per run."""
        key = (id(values), str(dtype))
        found = self._tensors.get(key)
        if found is None:
            array = values.toarray() if dense else np.ascontiguousarray(values)
            found = self._torch.as_tensor(array, device=self.device)
            found = found if dtype is None else found.to(dtype)
            self._tensors[key] = found
            self._keep.append(values)
        return found

    def read(self, *, after: int | None, limit: int) -> ChunkState | None:
        """The next chunk: the first `limit` consenting customers with a pk above `after` (None: from the first),
        their batch (history, features, segments, embeddings as of `now`) and the gate's facts; None after the
        last one."""
        model = self.model
        chunk = read_chunk(after=after, limit=limit, today=self.today, embeddings=self.embeddings)
        if chunk is None:
            return None
        order, rows, n = chunk.pks, chunk.rows, len(chunk.pks)
        encoder = model.customer_encoder
        features = (encoder.transform(numeric=rows.numeric, categorical=rows.categorical, n=n)
                    if encoder is not None else np.zeros((n, 0), np.float32))
        segments = np.full(n, -1, dtype=np.int32)
        if model.segment_column is not None and model.segment_column in rows.categorical:
            segments, _ = segment_codes(rows.categorical[model.segment_column], names=model.segment_names)
        customers, products, events, times = chunk.events
        row_of = np.searchsorted(order, customers)
        columns = self.loaded.columns_of(products)
        known = columns >= 0  # events on products off sale are left out, as the online scorer does
        log = InteractionLog(
            customer_ids=[str(pk) for pk in rows.pks], product_ids=model.product_ids,
            customer=row_of[known].astype(np.int32), product=columns[known].astype(np.int32), event=events[known],
            weight=np.array([DEFAULT_WEIGHTS[int(e)] for e in range(4)], dtype=np.float32)[events[known]],
            timestamp=times[known], source="batch",
        )
        batch = customer_batch(
            log, np.arange(n), features=features, segments=segments,
            embeddings=rows.embeddings if self.embeddings else None, now=np.full(n, self.now.timestamp()),
        )
        quiet = known & (events == DISMISS) & (times >= self.quiet_since)
        return ChunkState(pks=order, batch=batch, facts=chunk.facts, dismissed=(row_of[quiet], columns[quiet]))

    # -- generators on the device --

    def generator_scores(self, batch: CustomerBatch) -> dict[str, Any]:
        """Each generator's (customers × products) float32 scores on the device; the same numbers
        `HybridRecommender.generator_scores` gives, up to float32 rounding."""
        torch, t = self._torch, self.tensor
        out: dict[str, Any] = {}
        for name, g in self.model.generators.items():
            if isinstance(g, SegmentPopularity):
                n_seg = g.table.shape[0] - 1
                rows = np.where((batch.segments >= 0) & (batch.segments < n_seg), batch.segments, n_seg)
                out[name] = t(g.table)[torch.as_tensor(rows, device=self.device, dtype=torch.int64)]
            elif isinstance(g, ImplicitALS):
                out[name] = self._als_factors(g, batch.history) @ t(g.item_factors).T
            elif isinstance(g, ItemKNN):
                weights = self._sparse(batch.history, log1p=True)
                if g.similarity.shape[0] <= DENSE_KNN_UP_TO:
                    out[name] = torch.sparse.mm(weights, self.tensor(g.similarity, dense=True))
                else:  # a dense catalogue² matrix would not fit: scipy's sparse product on the CPU
                    out[name] = torch.as_tensor(g.score_batch(batch), device=self.device)
            elif isinstance(g, FeatureContent):
                x = torch.as_tensor(batch.features, device=self.device)
                x = torch.cat([x, torch.ones((len(batch), 1), device=self.device)], dim=1)
                predicted = _unit_rows(x @ t(g.mapping))
                products = t(g.products)
                weights = self._sparse(batch.history, log1p=True)
                totals = torch.as_tensor(np.asarray(batch.history.copy().log1p().sum(axis=1)).ravel(),
                                         device=self.device, dtype=torch.float32)
                taste = torch.sparse.mm(weights, products) / torch.where(totals > 0, totals, 1.0)[:, None]
                out[name] = _unit_rows(predicted + _unit_rows(taste)) @ products.T
            elif isinstance(g, EmbeddingContent):
                if batch.embeddings is None:
                    out[name] = torch.zeros((len(batch), g.products.shape[0]), device=self.device)
                else:
                    out[name] = _unit_rows(torch.as_tensor(batch.embeddings, device=self.device)) @ t(g.products).T
            else:  # a generator with no device form: its own (numpy) scores
                out[name] = torch.as_tensor(g.score_batch(batch), device=self.device)
        return out

    def _sparse(self, matrix: Any, *, log1p: bool) -> Any:
        coo = matrix.tocoo()
        values = np.log1p(coo.data) if log1p else coo.data
        torch = self._torch
        indices = torch.as_tensor(np.vstack([coo.row, coo.col]).astype(np.int64), device=self.device)
        return torch.sparse_coo_tensor(indices, torch.as_tensor(values.astype(np.float32), device=self.device),
                                       size=matrix.shape, check_invariants=False).coalesce()

    def _als_factors(self, g: ImplicitALS, history: Any, budget: int = 1 << 20) -> Any:
        """`ImplicitALS.user_factors_for` for a whole chunk: one exact float64 solve per customer, batched.

        Rows are sorted by history length and padded to the longest of each sub-batch (`budget` bounds
        rows × width), padding carrying no confidence and no preference."""
        torch = self._torch
        items = self.tensor(g.item_factors, dtype=torch.float64)
        key = (id(g.item_factors), "gram")
        gram = self._tensors.get(key)
        if gram is None:
            eye = torch.eye(items.shape[1], dtype=torch.float64, device=self.device)
            gram = items.T @ items + g.regularization * eye
            self._tensors[key] = gram
        history = history.tocsr()
        out = torch.zeros((history.shape[0], items.shape[1]), dtype=torch.float64, device=self.device)
        lengths = np.diff(history.indptr)
        order = np.flatnonzero(lengths)
        order = order[np.argsort(lengths[order], kind="stable")]
        start = 0
        while start < len(order):
            # Sorted by length: t rows from here pad to the t-th one's length; take the most within the budget.
            ahead = lengths[order[start : start + budget]]
            take = max(1, int(np.searchsorted(np.arange(1, len(ahead) + 1) * ahead, budget, side="right")))
            rows = order[start : start + take]
            width = int(lengths[rows].max())
            slot = np.arange(width)[None, :] < lengths[rows][:, None]
            position = np.where(slot, history.indptr[rows][:, None] + np.arange(width)[None, :], 0)
            cols = torch.as_tensor(np.where(slot, history.indices[position], 0), device=self.device)
            conf = torch.as_tensor(np.where(slot, g.alpha * history.data[position].astype(np.float64), 0.0),
                                   device=self.device)
            mask = torch.as_tensor(slot, device=self.device, dtype=torch.float64)
            y = items[cols] * mask[..., None]
            a = gram + torch.bmm((y * conf[..., None]).transpose(1, 2), y)
            b = (y * ((1.0 + conf) * mask)[..., None]).sum(dim=1)
            out[torch.as_tensor(rows, device=self.device)] = torch.linalg.solve(a, b)
            start += take
        return out.float()

    def ranks(self, values: Any) -> Any:
        """`advisor.ml.ranker.percentile_ranks` on the device: ties by column, the earlier one lower."""
        torch = self._torch
        n, p = values.shape
        order = torch.sort(values + 0.0, dim=1, stable=True).indices  # + 0.0: -0.0 ties with 0.0, as in numpy
        fractions = (torch.arange(1, p + 1, dtype=torch.float64, device=self.device) / max(p, 1)).float()
        out = torch.empty_like(values)
        out.scatter_(1, order, fractions.expand(n, p))
        return out

    # -- the gate on the device --

    def suitability_mask(self, facts: ChunkFacts) -> Any:
        """(customers × model columns) bool on the device: `SuitabilityGate(facts of row i, rules).allowed()` per
        row, each rule the gate applies, over the model's columns."""
        torch, r = self._torch, self.rules

        def column(values: np.ndarray, dtype: Any) -> Any:
            return torch.as_tensor(values, device=self.device, dtype=dtype)[:, None]

        age = column(facts.age, torch.int64)
        income = column(facts.annual_income, torch.float64)
        kyc = column(facts.kyc_verified, torch.bool)
        risk = column(facts.risk_tolerance, torch.int64)
        liquid = column(facts.liquid_assets, torch.float64)
        # A handful of distinct residencies per chunk: their codes, then each row's by its index among them.
        places, place_of = np.unique(facts.residency.astype(str), return_inverse=True)
        codes = np.array([self.residency_code.get(str(place), 0) for place in places], dtype=np.int64)
        residency = torch.as_tensor(codes[place_of.reshape(-1)], device=self.device)
        held = torch.zeros((len(facts), len(self.loaded.product_ids)), dtype=torch.bool, device=self.device)
        if len(facts.held_rows):
            cols = self.loaded.columns_of(facts.held_products)
            rows, cols = facts.held_rows[cols >= 0], cols[cols >= 0]  # held products off sale are refused anyway
            held[torch.as_tensor(rows, device=self.device), torch.as_tensor(cols, device=self.device)] = True
        blocked = (
            ~r["on_sale"][None, :]
            | (r["risk_level"][None, :] > risk)
            | (age < r["min_age"][None, :])
            | (age > r["max_age"][None, :])
            | (income < r["min_income"][None, :])
            | (r["kyc_required"][None, :] & ~kyc)
            | ~self.residency_ok[residency]
            | (held & ~r["allows_multiple"][None, :])
            | (r["funded"][None, :] & (r["min_amount"][None, :] > liquid))
        )
        return ~blocked

    # -- ranking, mask, top-k --

    def top_k(self, state: ChunkState, clock: StepClock) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(customer pk, rank, product pk, score) rows of the chunk's lists, rank 1 first."""
        torch = self._torch
        model, n, p = self.model, len(state.pks), len(self.loaded.product_ids)
        if model.ranker is None or model.layout is None:
            raise RuntimeError("the recommender is not trained")
        with clock("score"):
            scores = self.generator_scores(state.batch)
            ranks = {name: self.ranks(values) for name, values in scores.items()}
        with clock("mask+topk"):
            allowed = self.suitability_mask(state.facts)
            wanted = allowed.clone()
            rows, cols = state.dismissed
            if len(rows):
                wanted[torch.as_tensor(rows, device=self.device), torch.as_tensor(cols, device=self.device)] = False
        with clock("score"):
            pooled = p > scoring.FULL_SCORING_UP_TO
            if pooled:
                # As `HybridRecommender.score_batch(pool=…)`: each generator's top POOL, those shown or dismissed,
                # whatever the gate says (the pool's lowest score places the rest), ranked; the rest below it.
                ranked_set = torch.zeros((n, p), dtype=torch.bool, device=self.device)
                for matrix in (state.batch.shown, state.batch.dismissed):
                    r, c = matrix.nonzero()
                    ranked_set[torch.as_tensor(r, device=self.device), torch.as_tensor(c, device=self.device)] = True
                edge = float(top_rank_floor(p, scoring.POOL))  # each generator's top POOL, as the online pool
                for name in scores:
                    ranked_set |= ranks[name] >= edge
            else:
                ranked_set = wanted  # the other pairs' scores are never looked at
            pair_rows, pair_cols = (x.cpu().numpy().copy() for x in torch.nonzero(ranked_set, as_tuple=True))
            state.ranked_pairs = len(pair_rows)
            host_scores = {name: values.cpu().numpy() for name, values in scores.items()}
            host_ranks = {name: values.cpu().numpy() for name, values in ranks.items()}
        with clock("ranker"):
            predicted = np.zeros(0, np.float32)
            if len(pair_rows):
                features = pair_features(
                    model.layout, scores=host_scores, batch=state.batch, product_features=model.product_features,
                    rows=pair_rows, cols=pair_cols, ranks=host_ranks,
                )
                predicted = model.ranker.predict(features)
        with clock("mask+topk"):
            final = torch.full((n, p), -torch.inf, device=self.device)
            pr = torch.as_tensor(pair_rows, device=self.device)
            pc = torch.as_tensor(pair_cols, device=self.device)
            final[pr, pc] = torch.as_tensor(predicted, device=self.device)
            if pooled:
                floor = torch.where(ranked_set, final, torch.inf).amin(dim=1, keepdim=True)  # the pool's lowest
                mean_rank = sum(ranks.values()) / max(1, len(ranks))
                rest = (floor - 2.0 + mean_rank).float()
                final = torch.where(ranked_set, final, rest)
            final = torch.where(wanted, final, torch.tensor(-torch.inf, device=self.device))
            picked_cols, picked_scores, valid = (x.cpu().numpy() for x in self._diversified(final))
        row_index, rank_index = np.nonzero(valid)
        return (
            state.pks[row_index], (rank_index + 1).astype(np.int16),
            self.loaded.product_ids[picked_cols[row_index, rank_index]].astype(np.int64),
            picked_scores[row_index, rank_index].astype(np.float64),
        )

    def _diversified(self, final: Any) -> tuple[Any, Any, Any]:
        """`advisor.services._diversify` for every row at once: the best max(4k, 40) allowed by score (ties by
        column), rescaled to [0, 1], then k greedy MMR picks over the product vectors. Returns (columns, scores,
        valid) of shape (customers × k)."""
        torch, k = self._torch, self.k
        n, p = final.shape
        size = min(p, max(4 * k, 40))
        ordered = torch.sort(final, dim=1, descending=True, stable=True)
        pool, values = ordered.indices[:, :size], ordered.values[:, :size]
        valid = values > -torch.inf
        count = valid.sum(dim=1)
        low = torch.where(valid, values, torch.inf).amin(dim=1, keepdim=True)
        high = torch.where(valid, values, -torch.inf).amax(dim=1, keepdim=True)
        span = torch.where(high - low > 0, high - low, torch.ones_like(high))
        relevance = torch.where(valid, (values - low) / span, torch.zeros_like(values))
        if self.cosines is not None:
            similarity = self.cosines[pool[:, :, None], pool[:, None, :]]
        else:
            vectors = self.vectors[pool]  # (n, size, d)
            similarity = torch.bmm(vectors, vectors.transpose(1, 2))
        rows = torch.arange(n, device=self.device)
        picked = torch.zeros((n, k), dtype=torch.int64, device=self.device)
        taken = ~valid
        taken[:, 0] = True
        max_similarity = similarity[:, 0, :].clone()
        for step in range(1, min(k, size)):
            mmr = self.mmr_lambda * relevance - (1 - self.mmr_lambda) * max_similarity
            best = torch.argmax(torch.where(taken, torch.tensor(-torch.inf, device=self.device), mmr), dim=1)
            picked[:, step] = best
            taken[rows, best] = True
            max_similarity = torch.maximum(max_similarity, similarity[rows, best])
        ok = torch.arange(k, device=self.device)[None, :] < torch.clamp(count, max=min(k, size))[:, None]
        return pool.gather(1, picked), values.gather(1, picked), ok


def _unit_rows(values: Any) -> Any:
    import torch

    norms = torch.linalg.vector_norm(values, dim=1, keepdim=True)
    return values / torch.where(norms > 1e-12, norms, torch.ones_like(norms))


class StepClock:
    """Adds the wall time of named steps into `seconds` (waiting for the GPU at each step's end)."""

    def __init__(self, seconds: dict[str, float], *, synchronize: bool) -> None:
        self.seconds = seconds
        self.synchronize = synchronize

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.synchronize:
                import torch

                torch.cuda.synchronize()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
