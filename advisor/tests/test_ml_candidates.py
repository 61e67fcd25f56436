"""Candidate generators: each finds the structure it is meant to, and ALS folds new history in."""

import numpy as np
import pytest
import torch
from scipy import sparse

from advisor.ml.candidates import (
    CustomerBatch,
    FeatureContent,
    ImplicitALS,
    ItemKNN,
    SegmentPopularity,
    batch_for,
)
from advisor.ml.data import RecommenderData, build_log


def two_groups(*, customers_per_group: int = 40) -> RecommenderData:
    """Group A likes products 0-3, group B products 4-7; every customer likes three of their group's four."""
    rng = np.random.default_rng(0)
    customers, products = [], []
    for group in range(2):
        for i in range(customers_per_group):
            name = f"{'AB'[group]}{i}"
            for p in rng.choice(4, size=3, replace=False):
                customers.append(name)
                products.append(f"p{group * 4 + p}")
    log = build_log(customer_ids=customers, product_ids=products, events=["click"] * len(customers))
    order = [f"p{j}" for j in range(8)]
    remap = np.array([order.index(p) for p in log.product_ids])
    log.product = remap[log.product].astype(np.int32)
    log.product_ids = order
    n = log.n_customers
    group_a = np.array([c.startswith("A") for c in log.customer_ids])
    return RecommenderData(
        log=log,
        customer_features=np.where(group_a, 1.0, -1.0).astype(np.float32)[:, None],
        customer_feature_names=["is_a"],
        product_features=np.repeat(np.array([[1.0, 0.0], [0.0, 1.0]], np.float32), 4, axis=0),
        product_feature_names=["kind=a", "kind=b"],
        segments=np.where(group_a, 0, 1).astype(np.int32) if n else np.zeros(0, np.int32),
        segment_names=["a", "b"],
        segment_column="group",
    )


def history_batch(data: RecommenderData, history: list[float], *, features: float = 0.0, segment: int = -1):
    """One customer who liked `history` (weights over the 8 products) and nothing else is known of."""
    empty = sparse.csr_matrix((1, len(history)), dtype=np.float32)
    return CustomerBatch(
        history=sparse.csr_matrix(np.array([history], np.float32)),
        shown=empty,
        dismissed=empty,
        seen_days=empty,
        features=np.array([[features]], np.float32),
        segments=np.array([segment], np.int32),
        embeddings=None,
        days_since_last_event=np.full(1, np.nan),
        day_of_month=np.full(1, np.nan),
    )


@pytest.mark.parametrize("generator", [ItemKNN(), ImplicitALS(factors=4, regularization=1.0, iterations=8)])
def test_collaborative_generators_recommend_the_rest_of_a_customers_group(generator):
    data = two_groups()
    generator.fit(data)

    scores = generator.score_batch(history_batch(data, [1, 1, 0, 0, 0, 0, 0, 0]))[0]

    # Unseen products of group A beat every product of group B.
    assert min(scores[2], scores[3]) > max(scores[4:])


def test_als_fold_in_reacts_to_a_new_click_without_retraining():
    data = two_groups()
    als = ImplicitALS(factors=4, regularization=1.0, iterations=8)
    als.fit(data)
    items_before = als.item_factors.copy()

    before = als.score_batch(history_batch(data, [1, 0, 0, 0, 0, 0, 0, 0]))[0]
    after = als.score_batch(history_batch(data, [1, 0, 0, 0, 1, 0, 0, 0]))[0]

    assert np.array_equal(als.item_factors, items_before)
    # A click on a group-B product lifts the other group-B products.
    assert all(after[j] > before[j] for j in (5, 6, 7))


def test_fold_in_is_the_same_exact_solve_as_training():
    data = two_groups()
    als = ImplicitALS(factors=4, regularization=1.0, iterations=3)
    als.fit(data)
    history = data.log.matrix[:10]

    trained_solver = als._solve(history, torch.as_tensor(als.item_factors)).numpy()

    assert np.allclose(als.user_factors_for(history), trained_solver, atol=1e-4)


def test_segment_popularity_with_a_global_fallback_for_small_segments():
    data = two_groups(customers_per_group=40)
    popularity = SegmentPopularity(min_segment_size=30, prior=0.0)
    popularity.fit(data)

    in_a = popularity.score_batch(history_batch(data, [0] * 8, segment=0))[0]
    unknown = popularity.score_batch(history_batch(data, [0] * 8, segment=-1))[0]

    assert in_a[:4].sum() == pytest.approx(3.0)  # each A customer likes three of the four A products
    assert in_a[4:].tolist() == [0.0, 0.0, 0.0, 0.0]
    share_of_all = (data.log.matrix.toarray() > 0).sum(axis=0) / 80
    assert unknown.tolist() == pytest.approx(share_of_all.tolist())
    # A segment smaller than the minimum gets the global shares.
    tiny = SegmentPopularity(min_segment_size=41, prior=0.0)
    tiny.fit(data)
    assert tiny.score_batch(history_batch(data, [0] * 8, segment=0))[0].tolist() == pytest.approx(share_of_all.tolist())


def test_feature_content_answers_for_a_customer_with_no_history():
    data = two_groups()
    content = FeatureContent(ridge=1.0)
    content.fit(data)

    like_a = content.score_batch(history_batch(data, [0] * 8, features=1.0))[0]
    like_b = content.score_batch(history_batch(data, [0] * 8, features=-1.0))[0]

    assert np.isfinite(like_a).all()
    assert like_a[:4].min() > like_a[4:].max()
    assert like_b[4:].min() > like_b[:4].max()


def test_score_by_customer_index_is_score_batch_of_their_history():
    data = two_groups()
    knn = ItemKNN()
    knn.fit(data)

    assert np.array_equal(knn.score(np.array([0, 50])), knn.score_batch(batch_for(data, np.array([0, 50]))))
