"""Training the recommender on the database and registering it (`advisor.recommender` in the model registry).

`train_recommender` evaluates the hybrid offline first (the protocol of `advisor.ml.evaluation`, on a
leave-last-out split of the same data: those are the version's metrics), then trains it on everything, writes
it through `bank.registry.register_artifact` (atomic folder, sha256) and activates it when no version is
active yet, or when asked. `advisor.tasks.train_recommender_task` is the django-q2 entry point (ML cluster).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from advisor.ml.data import RecommenderData, RecommenderDataError
from advisor.ml.dataset import load_from_database
from advisor.ml.evaluation import EvaluationReport, evaluate
from advisor.ml.hybrid import HybridConfig, HybridRecommender, Progress
from advisor.ml.scoring import MODEL_NAME
from bank.models import ModelVersion
from bank.registry import activate as activate_version
from bank.registry import active_version, quality_checks, register_artifact


@dataclass
class TrainingResult:
    version: ModelVersion
    activated: bool
    report: EvaluationReport | None
    seconds: float


def _data_fingerprint(data: RecommenderData) -> str:
    log = data.log
    digest = hashlib.sha256()
    for array in (log.customer, log.product, log.event, log.weight, log.timestamp, data.customer_features,
                  data.product_features):
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def training_data_summary(data: RecommenderData) -> dict[str, Any]:
    log = data.log
    times = log.timestamp if log.timestamp is not None and log.timestamp.size else None
    return {
        "source": "database: customers.ProductInteraction + active Holdings, ProfileSnapshot, products.Product",
        "customers": log.n_customers,
        "products": log.n_products,
        "events": int(len(log.event)),
        "liked_pairs": int(log.matrix.nnz),
        "from": None if times is None else datetime.fromtimestamp(float(times.min()), UTC).isoformat(),
        "to": None if times is None else datetime.fromtimestamp(float(times.max()), UTC).isoformat(),
        "sha256": _data_fingerprint(data),
    }


def train_recommender(
    *,
    activate: bool | None = None,
    evaluate_first: bool = True,
    k: int = 10,
    seed: int = 0,
    config: HybridConfig | None = None,
    progress: Progress = None,
) -> TrainingResult:
    """Train, register and (see above) activate a new `advisor.recommender` version.

    `activate`: True always activates, False never, None activates only when no version is active.
    Raises RecommenderDataError when there is nothing to learn from. A failure while writing leaves a FAILED
    registry row and no files; nothing already active changes.
    """
    started = time.perf_counter()
    config = config or HybridConfig(seed=seed)
    data = load_from_database()
    if data.log.matrix.nnz == 0:
        raise RecommenderDataError("database: no clicks, purchases or holdings to learn from")
    report = evaluate(data, k=k, seed=seed, config=config, progress=progress) if evaluate_first else None
    model = HybridRecommender(config).fit(data, progress=progress)
    metrics: dict[str, Any] = {"k": k}
    if report is not None:
        metrics.update(report.models)
        metrics["customers_evaluated"] = report.protocol["customers_evaluated"]
        metrics["protocol"] = report.protocol["split"]
        # The floor: rank the held-out choices at least as well as the simplest model that could replace it,
        # each segment's most popular products. A hybrid that loses to it learned nothing worth serving.
        hybrid, popularity = report.models["hybrid"]["ndcg@k"], report.models["popularity"]["ndcg@k"]
        metrics["quality"] = quality_checks([("ndcg@k, hybrid vs segment popularity", hybrid, popularity)])
    version = register_artifact(
        name=MODEL_NAME,
        write=model.save,
        metrics=metrics,
        params={
            "config": asdict(config),
            "generators": list(model.generators),
            "features": len(model.layout.names) if model.layout else 0,
            "ranker_trees": model.info.get("ranker_trees"),
        },
        training_data=training_data_summary(data),
        device=model.device,
    )
    should_activate = activate if activate is not None else active_version(MODEL_NAME) is None
    # Below its floor a version is registered for staff to read, never activated by training (bank.registry).
    should_activate = should_activate and metrics.get("quality", {}).get("passed", True)
    if should_activate:
        version = activate_version(version)
    return TrainingResult(
        version=version, activated=should_activate, report=report, seconds=round(time.perf_counter() - started, 2)
    )

