"""The ranker's pair features and drivers: the fast ways give exactly what the plain ones give."""

import numpy as np
import pytest

from advisor.ml.ranker import FeatureLayout, drivers, percentile_ranks, stable_order, top_rank_floor


def _reference_ranks(scores: np.ndarray) -> np.ndarray:
    n, p = scores.shape
    order = np.argsort(scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, p + 1)[None, :].repeat(n, axis=0), axis=1)
    return (ranks / max(p, 1)).astype(np.float32)


def _awkward_scores(rng: np.random.Generator, rows: int, columns: int) -> np.ndarray:
    """Normal scores with many ties (zeros, a repeated value), -0.0, infinities and subnormals mixed in."""
    scores = rng.standard_normal((rows, columns)).astype(np.float32)
    for share, value in ((0.3, 0.0), (0.1, -0.0), (0.1, 1.5), (0.03, np.inf), (0.03, -np.inf), (0.03, -1e-40)):
        scores[rng.random((rows, columns)) < share] = np.float32(value)
    return scores


@pytest.mark.parametrize("seed", range(20))
def test_stable_order_and_ranks_equal_argsort_on_ties_signed_zeros_and_infinities(seed):
    rng = np.random.default_rng(seed)
    scores = _awkward_scores(rng, rows=int(rng.integers(1, 4)), columns=int(rng.integers(1, 3000)))

    assert np.array_equal(stable_order(scores), np.argsort(scores, axis=1, kind="stable"))
    ranks = percentile_ranks(scores)
    assert ranks.dtype == np.float32
    assert np.array_equal(ranks, _reference_ranks(scores))


def test_rows_with_nan_and_other_dtypes_take_argsort_itself():
    with_nan = np.array([[0.5, np.nan, -1.0, 0.5, np.nan]], dtype=np.float32)
    doubles = np.array([[0.1, 0.3, 0.1, -2.0]], dtype=np.float64)

    assert np.array_equal(stable_order(with_nan), np.argsort(with_nan, axis=1, kind="stable"))
    assert np.array_equal(percentile_ranks(with_nan), _reference_ranks(with_nan))
    assert np.array_equal(percentile_ranks(doubles), _reference_ranks(doubles))
    assert percentile_ranks(doubles)[0].tolist() == pytest.approx([0.5, 1.0, 0.75, 0.25])


LAYOUT = FeatureLayout(
    generators=("popularity_in_segment", "item_knn", "als", "content"),
    customer=("age", "life_stage=student", "life_stage=retired", "spend_share_travel"),
    product=("risk_level", "type=deposit", "type=fund", "return_max", "tag_travel"),
)


def _reference_drivers(contributions: np.ndarray, layout: FeatureLayout) -> dict[str, float]:
    totals: dict[str, float] = {}
    for driver, value in zip(layout.drivers, contributions[: len(layout.names)], strict=True):
        totals[driver] = totals.get(driver, 0.0) + float(value)
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


@pytest.mark.parametrize("seed", range(10))
def test_drivers_sum_per_driver_to_the_last_bit_and_keep_the_order_of_ties(seed):
    rng = np.random.default_rng(seed)
    size = len(LAYOUT.names) + 1  # the features, then the bias
    contributions = rng.standard_normal(size) * rng.choice([1e-6, 1e-3, 1.0, 1e3], size)
    contributions[rng.random(contributions.size) < 0.3] = 0.0  # features no tree splits on
    contributions[rng.random(contributions.size) < 0.1] = -0.0

    got = drivers(contributions, LAYOUT)

    assert list(got.items()) == list(_reference_drivers(contributions, LAYOUT).items())
    assert set(got) == {"collaborative", "content", "popularity_in_segment", "customer:age", "customer:life_stage",
                        "customer:spend_share_travel", "product:risk_level", "product:type", "product:return_max",
                        "product:tag_travel", "context:days_since_last_event", "context:day_of_month",
                        "context:history_size", "context:shown_count", "context:dismissed_count",
                        "context:days_since_seen"}


def test_drivers_with_every_contribution_zero_keep_the_layout_order():
    assert list(drivers(np.zeros(len(LAYOUT.names) + 1), LAYOUT)) == list(dict.fromkeys(LAYOUT.drivers))


@pytest.mark.parametrize("p,top", [(1, 1), (7, 3), (1000, 200), (50_000, 200), (50_000, 60_000)])
def test_the_top_of_a_row_is_read_off_its_percentile_ranks_exactly(p, top):
    rng = np.random.default_rng(p)
    values = rng.integers(0, max(2, p // 10), size=(3, p)).astype(np.float32)  # many ties, at the edge too
    values[1] = -values[1]

    chosen = percentile_ranks(values) >= top_rank_floor(p, top)

    for row in range(3):
        expected = np.zeros(p, dtype=bool)
        expected[np.argsort(values[row], kind="stable")[-min(top, p):]] = True  # ties: the later position wins
        assert (chosen[row] == expected).all()
