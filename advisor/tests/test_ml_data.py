"""Loading interaction logs and feature files, and the leave-last-out holdout."""

from pathlib import Path

import numpy as np
import pytest

from advisor.ml.data import (
    RecommenderDataError,
    assemble,
    build_log,
    hold_out_last,
    load_features_csv,
    load_interactions_csv,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_interactions_with_events_weights_and_times(tmp_path):
    path = write(
        tmp_path / "log.csv",
        "customer_id,product_id,event,timestamp,weight\n"
        "c1,p1,click,2026-01-01T09:00:00Z,\n"
        "c1,p2,purchase,2026-01-02T09:00:00+08:00,\n"
        "c2,p1,impression,1767258000,\n"
        "c2,p2,click,2026-01-03,5\n"
        "\n"
        "c1,p1,purchase,2026-01-04T00:00:00,\n",
    )

    log = load_interactions_csv(path)

    assert log.customer_ids == ["c1", "c2"]
    assert log.product_ids == ["p1", "p2"]
    assert log.event.tolist() == [1, 0, 2, 1, 0]
    assert log.weight.tolist() == [1.0, 3.0, 0.0, 5.0, 3.0]
    assert log.timestamp.tolist() == [1767258000.0, 1767315600.0, 1767258000.0, 1767398400.0, 1767484800.0]
    # A click and a purchase of p1 by c1 add up; c2's impression is not a liking.
    assert log.matrix.toarray().tolist() == [[4.0, 3.0], [0.0, 5.0]]


def test_without_an_event_column_every_row_is_a_positive(tmp_path):
    log = load_interactions_csv(write(tmp_path / "log.csv", "product_id,customer_id\np1,c1\np2,c1\n"))

    assert log.matrix.toarray().tolist() == [[1.0, 1.0]]
    assert log.timestamp is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "log.csv: the file is empty (expected a header line)"),
        ("customer_id,product_id\n", "log.csv: no interactions (the file has a header but no rows)"),
        ("customer,product_id\nc1,p1\n", "log.csv: missing column(s) customer_id (found: customer, product_id)"),
        ("customer_id,product_id,event\nc1,p1,like\n", "log.csv: line 2: column event: unknown event 'like'"),
        (
            "customer_id,product_id,timestamp\nc1,p1,2026-01-01\nc1,p2,yesterday\n",
            "log.csv: line 3: column timestamp: bad timestamp 'yesterday'",
        ),
        ("customer_id,product_id,weight\nc1,p1,heavy\n", "log.csv: line 2: column weight: 'heavy' is not a"),
        ("customer_id,product_id,weight\nc1,p1,-1\n", "log.csv: line 2: column weight: '-1' is not a non-negative"),
        ("customer_id,product_id\nc1,p1,extra\n", "log.csv: line 2: expected 2 fields, got 3"),
        ("customer_id,product_id\n,p1\n", "log.csv: line 2: column customer_id: empty"),
        ("customer_id,product_id,event\nc1,p1,impression\n", "log.csv: no positive interactions"),
        ("customer_id,customer_id,product_id\nc1,c1,p1\n", "log.csv: line 1: column 'customer_id' appears twice"),
    ],
)
def test_bad_interaction_files_are_rejected_with_where_and_why(tmp_path, text, message):
    path = write(tmp_path / "log.csv", text)

    with pytest.raises(RecommenderDataError) as caught:
        load_interactions_csv(path)

    assert str(caught.value).startswith(str(tmp_path / message.split(":", 1)[0]) + ":" + message.split(":", 1)[1])


def test_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(RecommenderDataError, match="file not found"):
        load_interactions_csv(tmp_path / "nope.csv")


def test_feature_files_standardise_numbers_and_one_hot_categories(tmp_path):
    path = write(
        tmp_path / "customers.csv",
        "customer_id,age,life_stage\nc1,20,student\nc2,40,retired\nc3,,student\n",
    )

    table = load_features_csv(path, key="customer_id")

    assert table.names == ["age", "life_stage=student", "life_stage=retired"]
    # Mean 30, std 10; the missing age becomes the mean (0 after standardising).
    assert table.values.tolist() == [[-1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    assert table.categorical["life_stage"].tolist() == ["student", "retired", "student"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("customer_id,age\n", "no rows (the file has a header but no data)"),
        ("id,age\nc1,3\n", "missing column customer_id (found: id, age)"),
        ("customer_id\nc1\n", "no feature columns besides customer_id"),
        ("customer_id,age\nc1,3\nc1,4\n", "line 3: duplicate customer_id 'c1' (first on line 2)"),
    ],
)
def test_bad_feature_files_are_rejected(tmp_path, text, message):
    path = write(tmp_path / "f.csv", text)

    with pytest.raises(RecommenderDataError) as caught:
        load_features_csv(path, key="customer_id")

    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_assemble_adds_cold_start_products_and_rejects_ids_without_features(tmp_path):
    log = build_log(customer_ids=["c1", "c2"], product_ids=["p1", "p2"], events=["click", "purchase"])
    products = load_features_csv(write(tmp_path / "p.csv", "product_id,risk\np2,1\np1,3\np9,5\n"), key="product_id")

    data = assemble(log, products=products)

    assert data.log.product_ids == ["p1", "p2", "p9"]
    assert data.product_features[:, 0].tolist() == pytest.approx([0.0, -1.224745, 1.224745], abs=1e-6)
    partial = load_features_csv(write(tmp_path / "q.csv", "product_id,risk\np1,1\n"), key="product_id")
    with pytest.raises(RecommenderDataError) as caught:
        assemble(log, products=partial)
    assert str(caught.value) == (
        f"{tmp_path / 'q.csv'}: no row for product 'p2': every product in the interactions needs a row in the "
        "product_id feature file"
    )


def test_segment_column_must_be_a_categorical_customer_column(tmp_path):
    log = build_log(customer_ids=["c1"], product_ids=["p1"])
    customers = load_features_csv(write(tmp_path / "c.csv", "customer_id,age,band\nc1,30,a\n"), key="customer_id")

    assert assemble(log, customers=customers, segment_column="band").segment_names == ["a"]
    with pytest.raises(RecommenderDataError, match="segment column 'age' is not a categorical column"):
        assemble(log, customers=customers, segment_column="age")


HOUR = 3600.0


def test_hold_out_last_takes_the_latest_new_interest_and_drops_the_customers_future():
    log = build_log(
        customer_ids=["a", "a", "a", "a", "a", "a", "b"],
        product_ids=["p1", "p3", "p2", "p2", "p2", "p1", "p1"],
        events=["click", "impression", "impression", "click", "purchase", "click", "click"],
        timestamps=[0.0, 2 * HOUR, 5 * HOUR, 5.5 * HOUR, 8 * HOUR, 7 * HOUR, 1 * HOUR],
    )

    holdout = hold_out_last(log, seed=0)

    # p2 is a's latest new interest (first clicked at 5.5 h; p1 was first clicked at 0). b liked one product only.
    assert holdout.customers.tolist() == [0]
    assert holdout.products.tolist() == [log.product_index["p2"]]
    assert holdout.labels.tolist() == [2]
    assert holdout.at.tolist() == [4.5 * HOUR]
    # a keeps what happened before 4.5 h; b keeps everything.
    kept = [(log.customer_ids[c], log.product_ids[p], t) for c, p, t in zip(
        holdout.train.customer, holdout.train.product, holdout.train.timestamp, strict=True)]
    assert kept == [("a", "p1", 0.0), ("a", "p3", 2 * HOUR), ("b", "p1", 1 * HOUR)]


def test_hold_out_without_timestamps_is_seeded_and_drops_only_that_pairs_positives():
    log = build_log(
        customer_ids=["a"] * 4 + ["b"] * 2,
        product_ids=["p1", "p2", "p3", "p3", "p1", "p2"],
        events=["click", "click", "click", "impression", "click", "purchase"],
    )

    first, again = hold_out_last(log, seed=7), hold_out_last(log, seed=7)
    others = {tuple(hold_out_last(log, seed=s).products.tolist()) for s in range(20)}

    assert first.products.tolist() == again.products.tolist()
    assert len(others) > 1
    assert np.isnan(first.at).all()
    assert len(first.train.event) == len(log.event) - 2
    # The held-out pairs are gone from the training matrix, everything else is still there.
    matrix = first.train.matrix.toarray()
    for customer, product in zip(first.customers, first.products, strict=True):
        assert matrix[customer, product] == 0.0
    assert int((matrix > 0).sum()) == int((log.matrix.toarray() > 0).sum()) - 2
