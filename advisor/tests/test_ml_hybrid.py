"""The hybrid recommender: two-stage training, files, cold start and explanations."""

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse

from advisor.ml.candidates import batch_for
from advisor.ml.data import RecommenderData, assemble, synthetic_bank
from advisor.ml.hybrid import HybridConfig, HybridRecommender
from advisor.ml.ranker import top_driver

SMALL = HybridConfig(n_estimators=60, early_stopping_rounds=15, als_iterations=6, als_factors=8, min_child_samples=20)


@pytest.fixture(scope="module")
def data() -> RecommenderData:
    log, customers, products = synthetic_bank(customers=300, products=40, events=9000, seed=5)
    return assemble(log, customers=customers, products=products)


@pytest.fixture(scope="module")
def model(data) -> HybridRecommender:
    return HybridRecommender(SMALL).fit(data)


def test_training_uses_every_generator_and_learns_a_ranker(model):
    assert list(model.generators) == ["popularity_in_segment", "item_knn", "als", "content"]
    assert model.info["ranker_queries"] > 250
    assert 1 <= model.info["ranker_trees"] <= 60
    assert model.layout.names[:2] == ["score:popularity_in_segment", "score:item_knn"]
    assert model.layout.names[-6:] == [
        "context:days_since_last_event", "context:day_of_month", "context:history_size", "context:shown_count",
        "context:dismissed_count", "context:days_since_seen",
    ]


def test_save_and_load_give_identical_scores(model, data, tmp_path):
    model.save(tmp_path / "m")
    loaded = HybridRecommender.load(tmp_path / "m")
    batch = batch_for(data, np.arange(50))

    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["arrays.npz", "meta.json", "ranker.txt"]
    assert json.loads((tmp_path / "m" / "meta.json").read_text())["product_ids"] == data.log.product_ids
    assert np.array_equal(loaded.score_batch(batch), model.score_batch(batch))


def test_a_customer_with_no_history_gets_feature_driven_scores(model, data):
    history = np.asarray(data.log.matrix.sum(axis=1)).ravel()
    regular = batch_for(data, np.array([int(np.flatnonzero(history > 0)[0])]))
    newcomer = replace(regular, history=sparse.csr_matrix(regular.history.shape, dtype=np.float32))

    scores = model.score_batch(newcomer)[0]

    assert np.isfinite(scores).all()
    assert np.unique(scores).size > 10


def test_a_product_added_after_training_gets_a_finite_score_from_its_features(model, data):
    features = np.vstack([data.product_features, data.product_features[:1]])  # a twin of product 0
    serving = model.reindexed(data.log.product_ids + ["NEW"], product_features=features, product_embeddings=None)
    batch = batch_for(data, np.arange(20))
    batch = replace(batch, **{  # the same customers, over the catalogue with one more product
        name: sparse.csr_matrix((m.data, m.indices, m.indptr), shape=(20, 41))
        for name, m in (("history", batch.history), ("shown", batch.shown), ("dismissed", batch.dismissed),
                        ("seen_days", batch.seen_days))
    })

    scores = serving.score_batch(batch)

    assert scores.shape == (20, 41)
    assert np.isfinite(scores).all()
    # The newcomer has no collaborative signal, yet ranks inside the catalogue, not at the bottom for everyone.
    assert (scores[:, 40][:, None] > scores[:, :40]).mean() > 0.05


def test_pooled_scoring_keeps_the_pool_on_top_and_agrees_on_it(model, data):
    batch = batch_for(data, np.arange(5))

    full, pooled = model.score_batch(batch), model.score_batch(batch, pool=5)

    for row in range(5):
        inside = pooled[row] > pooled[row].min() + 1.0
        assert np.allclose(pooled[row][inside], full[row][inside])
        assert pooled[row][inside].min() > pooled[row][~inside].max()


def test_explanations_add_up_to_the_score_and_name_the_top_driver(model, data):
    batch = batch_for(data, np.array([3]))
    scores = model.score_batch(batch)[0]
    best = [int(j) for j in np.argsort(-scores)[:3]]

    explanations = model.explain(batch, 0, best)

    for column, explanation in zip(best, explanations, strict=True):
        assert explanation.product == data.log.product_ids[column]
        assert explanation.score == pytest.approx(float(scores[column]), abs=1e-5)
        assert sum(explanation.contributions.values()) == pytest.approx(explanation.score, abs=1e-4)
        assert explanation.top_driver == next(iter(explanation.drivers))
        assert set(explanation.drivers) <= {
            "collaborative", "content", "popularity_in_segment", "customer:taste_a", "customer:taste_b",
            "customer:life_stage", "product:trait_a", "product:trait_b", "product:category",
            "context:days_since_last_event", "context:day_of_month", "context:history_size",
            "context:shown_count", "context:dismissed_count", "context:days_since_seen",
        }


def test_top_driver_groups_one_hot_columns_into_their_field(model):
    contributions = np.zeros(len(model.layout.names) + 1)
    names = model.layout.names
    contributions[names.index("product:category=cat1")] = 0.3
    contributions[names.index("product:category=cat2")] = 0.3
    contributions[names.index("score:als")] = 0.4
    contributions[names.index("rank:item_knn")] = 0.1

    assert top_driver(contributions, model.layout) == "product:category"
