"""The hybrid recommender: candidate generators as features of a learned LightGBM lambdarank ranker.

Training is two-stage, so the ranker learns from scores it could really have had:
1. hold out each customer's latest liked product (`hold_out_last`, min one liked product: customers with a
   single one become cold-start examples with an empty history) and fit the generators on what is left;
   then again on that, `ranker_levels` times (the product liked before, ...): more lists per customer, which
   a small bank needs;
2. for each such customer, rank a candidate list -- each generator's top products, those they were shown or
   dismissed and random ones; never what they already liked; chosen without looking at the answer -- with
   the held-out product labelled 2 if bought, 1 if clicked, others 0, and features taken as of the held-out
   moment; train the ranker on these lists;
3. refit the generators on everything; the ranker stays as trained.

Scores are the ranker's, over all products of the catalogue (`score_batch`). `explain` gives each pair's
per-feature contributions and drivers (`advisor.ml.ranker`).

Saved as files only (`save` / `load`): meta.json (configuration, ids, feature layout, encoders), arrays.npz
(read with allow_pickle=False) and ranker.txt (LightGBM's model text). No per-customer data is saved: customer
factors are folded in from the live history when scoring.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from advisor.ml.candidates import (
    GENERATOR_CLASSES,
    CandidateGenerator,
    CustomerBatch,
    EmbeddingContent,
    FeatureContent,
    ImplicitALS,
    ItemKNN,
    ProductSide,
    SegmentPopularity,
    batch_for,
    cpu_count,
)
from advisor.ml.data import FeatureEncoder, RecommenderData, RecommenderDataError, hold_out_last
from advisor.ml.ranker import FeatureLayout, Ranker, drivers, pair_features, percentile_ranks, top_rank_floor

FORMAT = 1
# progress(step description, total) returns advance(n); see `tqdm_progress`.
Progress = Callable[[str, int], Callable[[int], None]] | None


@dataclass
class HybridConfig:
    seed: int = 0
    als_factors: int = 32
    als_regularization: float = 50.0
    als_alpha: float = 1.0
    als_iterations: int = 12
    knn_neighbours: int = 50
    knn_shrinkage: float = 10.0
    popularity_min_segment: int = 30
    content_ridge: float = 10.0
    top_candidates: int = 20  # per generator and customer, in the ranker's training lists
    random_negatives: int = 20
    max_queries: int = 30_000  # lists the ranker trains on (a seeded sample beyond that)
    ranker_levels: int = 3  # lists per customer: their latest liked product, the one before, ...
    # Few, shallow trees: TreeSHAP explanations cost about (trees × leaves × depth²); 100 trees of depth 6 explain
    # a product in ~0.5 ms (300 unbounded trees took 4 ms) for 0.003 NDCG@10 on the demo bank.
    n_estimators: int = 100
    learning_rate: float = 0.1
    num_leaves: int = 31
    max_depth: int = 6
    min_child_samples: int = 50
    feature_fraction: float = 0.7  # columns per tree: faster, and less reliant on any one signal
    max_bin: int = 63
    early_stopping_rounds: int = 20
    validation_share: float = 0.1
    chunk_pairs: int = 400_000  # pairs per scoring chunk (memory: pairs × features × 4 bytes)


@dataclass
class Explanation:
    """Why one product scored what it did for one customer."""

    product: str
    score: float
    contributions: dict[str, float]  # feature name -> share of the score (bias under "bias")
    drivers: dict[str, float]  # driver -> summed share, largest first
    top_driver: str


@dataclass
class HybridRecommender:
    config: HybridConfig = field(default_factory=HybridConfig)
    generators: dict[str, CandidateGenerator] = field(default_factory=dict)
    ranker: Ranker | None = None
    layout: FeatureLayout | None = None
    product_ids: list[str] = field(default_factory=list)
    product_features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    segment_names: list[str] = field(default_factory=list)
    segment_column: str | None = None
    customer_encoder: FeatureEncoder | None = None
    product_encoder: FeatureEncoder | None = None
    device: str = "cpu"
    info: dict[str, Any] = field(default_factory=dict)

    # --- training ---------------------------------------------------------------------------------------

    def _new_generators(self, data: RecommenderData) -> dict[str, CandidateGenerator]:
        c = self.config
        generators: dict[str, CandidateGenerator] = {
            "popularity_in_segment": SegmentPopularity(min_segment_size=c.popularity_min_segment),
            "item_knn": ItemKNN(neighbours=c.knn_neighbours, shrinkage=c.knn_shrinkage),
            "als": ImplicitALS(
                factors=c.als_factors, regularization=c.als_regularization, alpha=c.als_alpha,
                iterations=c.als_iterations, seed=c.seed,
            ),
        }
        if data.product_features.shape[1]:
            generators["content"] = FeatureContent(ridge=c.content_ridge)
        if data.customer_embeddings is not None and data.product_embeddings is not None:
            generators["content_embedding"] = EmbeddingContent()
        return generators

    def _fit_generators(self, data: RecommenderData, progress: Progress, label: str) -> dict[str, CandidateGenerator]:
        generators = self._new_generators(data)
        for name, generator in generators.items():
            started = time.perf_counter()
            if isinstance(generator, ImplicitALS) and progress is not None:
                bar = progress(f"{label}: ALS iterations", generator.iterations)
                generator.progress = bar
                generator.fit(data)
                generator.progress = None
            else:
                generator.fit(data)
            self.info.setdefault("seconds", {})[f"{label}:{name}"] = round(time.perf_counter() - started, 3)
            if isinstance(generator, ImplicitALS):
                self.device = generator.device or "cpu"
        return generators

    def fit(self, data: RecommenderData, *, progress: Progress = None) -> HybridRecommender:
        """Train on `data` (two stages, see the module docstring). Returns self."""
        started = time.perf_counter()
        c = self.config
        self.product_ids = list(data.log.product_ids)
        self.product_features = data.product_features.astype(np.float32)
        self.segment_names, self.segment_column = list(data.segment_names), data.segment_column
        self.customer_encoder, self.product_encoder = data.customer_encoder, data.product_encoder
        rng = np.random.default_rng(c.seed)
        valid_customer = rng.random(data.log.n_customers) < c.validation_share
        features_parts, label_parts, group_parts, valid_parts = [], [], [], []
        current = data.log
        for level in range(c.ranker_levels):
            stage = hold_out_last(current, seed=c.seed + 1 + level, min_positives=1)
            if len(stage.customers) == 0:
                break
            current = stage.train
            stage_data = data.with_log(stage.train)
            generators = self._fit_generators(stage_data, progress, f"stage 1.{level + 1}")
            if self.layout is None:
                self.layout = FeatureLayout(
                    tuple(generators), tuple(data.customer_feature_names), tuple(data.product_feature_names)
                )
            picked = np.arange(len(stage.customers))
            per_level = max(1, c.max_queries // c.ranker_levels)
            if len(picked) > per_level:
                picked = np.sort(rng.choice(len(picked), size=per_level, replace=False))
            features, labels, groups = self._training_lists(stage_data, generators, stage, picked, rng, progress)
            features_parts.append(features)
            label_parts.append(labels)
            group_parts.append(groups)
            valid_parts.append(valid_customer[stage.customers[picked]])
        if not group_parts:
            raise RecommenderDataError(f"{data.log.source}: no customer has liked anything; nothing to learn from")
        if self.layout is None:
            raise RuntimeError("the feature layout is set with the first level's generators")
        features, labels = np.vstack(features_parts), np.concatenate(label_parts)
        groups, is_valid = np.concatenate(group_parts), np.concatenate(valid_parts)
        query_valid = np.repeat(is_valid, groups)
        train_groups, valid_groups = groups[~is_valid], groups[is_valid]
        params = {
            "learning_rate": c.learning_rate, "num_leaves": c.num_leaves, "max_depth": c.max_depth,
            "min_data_in_leaf": c.min_child_samples,
            "seed": c.seed, "deterministic": True, "force_row_wise": True, "num_threads": cpu_count(),
            "lambdarank_truncation_level": 20, "feature_fraction": c.feature_fraction, "max_bin": c.max_bin,
        }
        t0 = time.perf_counter()
        self.ranker = Ranker.train(
            features=features[~query_valid], labels=labels[~query_valid], groups=train_groups,
            valid=(features[query_valid], labels[query_valid], valid_groups), feature_names=self.layout.names,
            params=params, rounds=c.n_estimators, early_stopping_rounds=c.early_stopping_rounds,
        )
        self.info.setdefault("seconds", {})["ranker"] = round(time.perf_counter() - t0, 3)
        self.generators = self._fit_generators(data, progress, "final")
        self.info.update(
            ranker_queries=int(len(groups)), ranker_pairs=int(len(labels)),
            ranker_trees=int(self.ranker.best_iteration or 0), trained_seconds=round(time.perf_counter() - started, 3),
        )
        return self

    def _training_lists(
        self,
        data: RecommenderData,
        generators: dict[str, CandidateGenerator],
        stage: Any,
        picked: np.ndarray,
        rng: np.random.Generator,
        progress: Progress,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate lists (features, labels, group sizes) for the picked stage-1 customers, in order."""
        if self.layout is None:  # not an assert: it would vanish under python -O
            raise RuntimeError("the candidate layout is set by fit() before candidate lists are built")
        c, n_p = self.config, data.log.n_products
        per_chunk = max(1, c.chunk_pairs // max(1, n_p))
        bar = progress("ranker training lists", len(picked)) if progress is not None else None
        features, labels, groups = [], [], []
        for start in range(0, len(picked), per_chunk):
            chunk = picked[start : start + per_chunk]
            customers, targets = stage.customers[chunk], stage.products[chunk]
            now = None if np.isnan(stage.at[chunk]).all() else stage.at[chunk]
            batch = batch_for(data, customers, now=now)
            scores = {name: g.score_batch(batch) for name, g in generators.items()}
            allowed = np.ones((len(chunk), n_p), dtype=bool)
            allowed[batch.history.nonzero()] = False
            wanted = self._candidates(batch, scores, allowed, rng)
            rows, cols = np.nonzero(wanted)
            label = np.zeros(len(rows), dtype=np.int32)
            is_target = cols == targets[rows]
            label[is_target] = stage.labels[chunk][rows[is_target]]
            features.append(
                pair_features(
                    self.layout, scores=scores, batch=batch, product_features=data.product_features,
                    rows=rows, cols=cols,
                )
            )
            labels.append(label)
            groups.append(np.bincount(rows, minlength=len(chunk)))
            if bar is not None:
                bar(len(chunk))
        return np.vstack(features), np.concatenate(labels), np.concatenate(groups)

    def _candidates(
        self, batch: CustomerBatch, scores: dict[str, np.ndarray], allowed: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Which products go into each customer's training list: each generator's top ones, those shown or
        dismissed, and random ones. The choice never looks at the label -- forcing the held-out product into
        its list would teach the ranker that products no generator likes are the likely answers (measured:
        worse than popularity)."""
        c = self.config
        n, n_p = allowed.shape
        wanted = np.zeros((n, n_p), dtype=bool)
        wanted[batch.shown.nonzero()] = True
        wanted[batch.dismissed.nonzero()] = True
        top = min(c.top_candidates, n_p)
        for values in scores.values():
            masked = np.where(allowed, values, -np.inf)
            wanted[np.arange(n)[:, None], np.argpartition(-masked, top - 1, axis=1)[:, :top]] = True
        extra = min(c.random_negatives, n_p)
        noise = rng.random((n, n_p))
        wanted[np.arange(n)[:, None], np.argpartition(-noise, extra - 1, axis=1)[:, :extra]] = True
        return wanted & allowed

    # --- scoring ------------------------------------------------------------------------------------------

    def generator_scores(self, batch: CustomerBatch) -> dict[str, np.ndarray]:
        return {name: g.score_batch(batch) for name, g in self.generators.items()}

    def features(
        self,
        batch: CustomerBatch,
        scores: dict[str, np.ndarray] | None = None,
        ranks: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """(customers × products, features), customer-major."""
        if self.layout is None:
            raise RuntimeError("the recommender is not trained")
        scores = scores if scores is not None else self.generator_scores(batch)
        return pair_features(
            self.layout, scores=scores, batch=batch, product_features=self.product_features, ranks=ranks
        )

    def score_batch(
        self,
        batch: CustomerBatch,
        *,
        pool: int | None = None,
        scores: dict[str, np.ndarray] | None = None,
        ranks: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """(customers × products) ranker scores; higher is better. Nothing is excluded here.

        With `pool` (and a catalogue larger than it), the ranker scores only each customer's candidate pool --
        every generator's top `pool` products and those shown or dismissed -- and every other product gets a
        score below the pool's lowest, ordered by its mean percentile rank across generators. That keeps one
        customer × 5,000 products within a few milliseconds; scores are comparable within one call only.
        `ranks`: each generator's `percentile_ranks` of `scores`, when the caller already has them.
        """
        if self.ranker is None or self.layout is None:
            raise RuntimeError("the recommender is not trained")
        n_p = len(self.product_ids)
        if pool is not None and pool < n_p:
            scores = scores or self.generator_scores(batch)
            return self._score_pooled(batch, pool, scores, ranks or generator_ranks(scores))
        per_chunk = max(1, self.config.chunk_pairs // max(1, n_p))
        out = np.empty((len(batch), n_p), dtype=np.float32)
        for start in range(0, len(batch), per_chunk):
            rows = np.arange(start, min(len(batch), start + per_chunk))
            part = batch.take(rows) if len(rows) < len(batch) else batch
            given = None if scores is None else {name: values[rows] for name, values in scores.items()}
            given_ranks = None if ranks is None else {name: values[rows] for name, values in ranks.items()}
            out[rows] = self.ranker.predict(self.features(part, given, given_ranks)).reshape(len(part), n_p)
        return out

    def _score_pooled(
        self, batch: CustomerBatch, pool: int, scores: dict[str, np.ndarray], ranks: dict[str, np.ndarray]
    ) -> np.ndarray:
        if self.ranker is None or self.layout is None:  # not an assert: it would vanish under python -O
            raise RuntimeError("the model is not fitted: fit() or load() it before scoring")
        n, n_p = len(batch), len(self.product_ids)
        wanted = np.zeros((n, n_p), dtype=bool)
        wanted[batch.shown.nonzero()] = True
        wanted[batch.dismissed.nonzero()] = True
        mean_rank = np.zeros((n, n_p), dtype=np.float32)
        # Each generator's top `pool` by its percentile ranks (already computed): one comparison per cell, where an
        # argpartition of the scores cost 2 ms a generator at 50,000 products; ties at the pool's edge are broken by
        # position, as the ranks break them (the device batch picks the same pool).
        edge = top_rank_floor(n_p, pool)
        for name in scores:
            wanted |= ranks[name] >= edge
            mean_rank += ranks[name]
        rows, cols = np.nonzero(wanted)
        features = pair_features(
            self.layout, scores=scores, batch=batch, product_features=self.product_features, rows=rows, cols=cols,
            ranks=ranks,
        )
        ranked = self.ranker.predict(features)
        floor = np.full(n, np.inf, dtype=np.float32)
        np.minimum.at(floor, rows, ranked)
        out = (floor[:, None] - 2.0 + mean_rank / max(1, len(scores))).astype(np.float32)
        out[rows, cols] = ranked
        return out

    def explain(
        self,
        batch: CustomerBatch,
        row: int,
        columns: list[int],
        *,
        scores: dict[str, np.ndarray] | None = None,
        ranks: dict[str, np.ndarray] | None = None,
    ) -> list[Explanation]:
        """Contributions and drivers of products `columns` for customer `row` of the batch (`scores`: the
        batch's generator scores, and `ranks` their percentile ranks, when the caller already has them).
        Several products in one call share the pair features and one call into LightGBM."""
        if self.ranker is None or self.layout is None:
            raise RuntimeError("the recommender is not trained")
        one = batch if len(batch) == 1 else batch.take(np.array([row]))
        scores = scores if scores is not None else self.generator_scores(one)
        if len(batch) > 1 and next(iter(scores.values())).shape[0] == len(batch):
            scores = {name: values[[row]] for name, values in scores.items()}
            ranks = None if ranks is None else {name: values[[row]] for name, values in ranks.items()}
        cols = np.asarray(columns, dtype=np.int64)
        features = pair_features(
            self.layout, scores=scores, batch=one, product_features=self.product_features,
            rows=np.zeros(len(cols), dtype=np.int64), cols=cols, ranks=ranks,
        )
        contrib = self.ranker.contributions(features)
        names = self.layout.names + ["bias"]
        out = []
        for k, column in enumerate(columns):
            by_driver = drivers(contrib[k], self.layout)
            values = contrib[k].tolist()  # Python floats: round() runs several times faster on them
            used = np.flatnonzero(contrib[k]).tolist()  # features the trees never split on contribute 0
            out.append(
                Explanation(
                    product=self.product_ids[column],
                    score=float(contrib[k].sum()),
                    contributions={names[j]: round(values[j], 6) for j in used},
                    drivers={d: round(v, 6) for d, v in by_driver.items()},
                    top_driver=next(iter(by_driver)),
                )
            )
        return out

    def reindexed(
        self, product_ids: list[str], *, product_features: np.ndarray, product_embeddings: np.ndarray | None
    ) -> HybridRecommender:
        """The trained model over another catalogue (products added since training get cold-start scores from
        their features; products gone are dropped). Features must come from this model's product encoder."""
        index = {p: j for j, p in enumerate(self.product_ids)}
        columns = np.array([index.get(p, -1) for p in product_ids], dtype=np.int64)
        side = ProductSide(features=product_features.astype(np.float32), embeddings=product_embeddings)
        out = HybridRecommender(**{**self.__dict__})
        out.generators = {name: g.reindexed(columns, side) for name, g in self.generators.items()}
        out.product_ids, out.product_features = list(product_ids), side.features
        return out

    # --- files ----------------------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        if self.ranker is None or self.layout is None:
            raise RuntimeError("the recommender is not trained")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"product_features": self.product_features}
        params = {}
        for name, generator in self.generators.items():
            p, a = generator.state()
            params[name] = p
            arrays.update({f"{name}.{key}": value for key, value in a.items()})
        meta = {
            "format": FORMAT,
            "config": asdict(self.config),
            "generators": params,
            "layout": self.layout.to_json(),
            "product_ids": self.product_ids,
            "segment_names": self.segment_names,
            "segment_column": self.segment_column,
            "customer_encoder": None if self.customer_encoder is None else self.customer_encoder.to_json(),
            "product_encoder": None if self.product_encoder is None else self.product_encoder.to_json(),
            "device": self.device,
            "info": self.info,
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        with (folder / "arrays.npz").open("wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]  # stub: **arrays could fill allow_pickle (no key does)
        (folder / "ranker.txt").write_text(self.ranker.to_text())

    @classmethod
    def load(cls, folder: str | Path) -> HybridRecommender:
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: unknown recommender format {meta.get('format')!r}")
        with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        layout = FeatureLayout.from_json(meta["layout"])
        generators: dict[str, CandidateGenerator] = {}
        for name, params in meta["generators"].items():
            prefix = f"{name}."
            own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            generators[name] = GENERATOR_CLASSES[name].from_state(params, own)
        encoders = {
            key: None if meta[key] is None else FeatureEncoder.from_json(meta[key])
            for key in ("customer_encoder", "product_encoder")
        }
        return cls(
            config=HybridConfig(**meta["config"]),
            generators=generators,
            ranker=Ranker.from_text((folder / "ranker.txt").read_text(), feature_names=layout.names),
            layout=layout,
            product_ids=list(meta["product_ids"]),
            product_features=arrays["product_features"],
            segment_names=list(meta["segment_names"]),
            segment_column=meta["segment_column"],
            device=meta["device"],
            info=meta["info"],
            **encoders,
        )


def generator_ranks(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each generator's percentile ranks (`advisor.ml.ranker.percentile_ranks`): computed once per scoring and
    shared by the pool, the pair features and the explanations."""
    return {name: percentile_ranks(values) for name, values in scores.items()}


def tqdm_progress(*, enabled: bool = True) -> Progress:
    """A `Progress` that draws tqdm bars on stderr (None when disabled)."""
    if not enabled:
        return None
    from tqdm import tqdm

    def open_bar(description: str, total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=description, leave=False, file=None)

        def advance(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return advance

    return open_bar
