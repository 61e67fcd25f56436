"""Ranking metrics on lists small enough to compute by hand."""

import math

import numpy as np
import pytest
from scipy import sparse

from advisor.ml.evaluation import (
    average_precision,
    coverage,
    diversity,
    hit_rate,
    ndcg,
    ranking_metrics,
    recall,
    top_k,
)

TOP = np.array([[3, 1, 2], [0, 1, 2]])
RELEVANT = [{1}, {5}]


def test_one_relevant_item_per_customer():
    # Customer 1 finds its item at rank 2, customer 2 not at all.
    assert hit_rate(TOP, RELEVANT) == 0.5
    assert ndcg(TOP, RELEVANT) == pytest.approx(0.5 / math.log2(3))
    assert average_precision(TOP, RELEVANT) == 0.25
    assert recall(TOP, RELEVANT) == 0.5


def test_several_relevant_items():
    top = np.array([[1, 2, 3, 4]])
    relevant = [{2, 4, 9}]

    assert hit_rate(top, relevant) == 1.0
    assert recall(top, relevant) == pytest.approx(2 / 3)
    # Hits at ranks 2 and 4: precision 1/2 and 2/4, over min(3 relevant, k=4).
    assert average_precision(top, relevant) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert ndcg(top, relevant) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    )


def test_a_perfect_list_scores_one():
    top = np.array([[7, 8]])
    assert ndcg(top, [{7, 8}]) == 1.0
    assert average_precision(top, [{7, 8}]) == 1.0


def test_coverage_counts_distinct_recommended_products():
    assert coverage(np.array([[0, 1], [1, 2]]), 10) == 0.3


def test_diversity_is_one_minus_mean_pairwise_similarity():
    similarity = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 1.0], [0.0, 1.0, 1.0]])

    assert diversity(np.array([[0, 1]]), similarity) == 0.5
    assert diversity(np.array([[1, 2]]), similarity) == 0.0
    assert diversity(np.array([[0, 1, 2]]), similarity) == pytest.approx(1 - (0.5 + 0.0 + 1.0) / 3)


def test_top_k_excludes_training_positives_and_breaks_ties_by_catalogue_order():
    scores = np.array([[0.9, 0.5, 0.5, 0.1], [0.2, 0.2, 0.2, 0.2]])
    exclude = sparse.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]]))

    assert top_k(scores, 2, exclude=exclude).tolist() == [[1, 2], [0, 1]]


def test_ranking_metrics_reports_every_metric_by_its_key():
    metrics = ranking_metrics(TOP, RELEVANT, n_products=6, similarity=np.eye(6))

    assert metrics == {
        "hr@k": 0.5,
        "ndcg@k": round(0.5 / math.log2(3), 6),
        "map@k": 0.25,
        "recall@k": 0.5,
        "coverage": round(4 / 6, 6),
        "diversity": 1.0,
    }
