"""`manage.py evaluate_recommender` on CSV files: no database, a table, a JSON file, clear errors."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from advisor.ml.data import EVENTS, synthetic_bank

MODELS = ["hybrid", "popularity", "item_knn", "als"]
METRICS = ["hr@k", "ndcg@k", "map@k", "recall@k", "coverage", "diversity"]


def write_bank(folder: Path, *, customers: int = 300, products: int = 40, events: int = 9000) -> dict[str, Path]:
    log, customer_table, product_table = synthetic_bank(customers=customers, products=products, events=events, seed=2)
    paths = {name: folder / f"{name}.csv" for name in ("interactions", "customers", "products")}
    with paths["interactions"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "product_id", "event", "timestamp"])
        for c, p, e, t in zip(log.customer, log.product, log.event, log.timestamp, strict=True):
            writer.writerow([log.customer_ids[c], log.product_ids[p], EVENTS[e], f"{t:.0f}"])
    for name, table, raw in (("customers", customer_table, "life_stage"), ("products", product_table, "category")):
        with paths[name].open("w", newline="") as handle:
            writer = csv.writer(handle)
            numeric = [n for n in table.encoder.numeric]
            writer.writerow([table.key, *numeric, raw])
            for i, ident in enumerate(table.ids):
                writer.writerow([ident, *(f"{table.values[i, k]:.4f}" for k in range(len(numeric))),
                                 table.categorical[raw][i]])
    return paths


def test_the_command_evaluates_csv_files_without_a_database(tmp_path, capsys):
    # No django_db mark: pytest-django makes any database access fail this test.
    paths = write_bank(tmp_path)
    out = tmp_path / "report" / "metrics.json"

    call_command(
        "evaluate_recommender", interactions=paths["interactions"], customer_features=paths["customers"],
        product_features=paths["products"], k=10, seed=0, json=out, quiet=True,
    )

    report = json.loads(out.read_text())
    assert list(report) == ["protocol", "models"]
    assert list(report["models"]) == MODELS
    assert all(list(values) == METRICS for values in report["models"].values())
    assert all(0.0 <= v <= 1.0 for values in report["models"].values() for v in values.values())
    protocol = report["protocol"]
    assert (protocol["k"], protocol["seed"], protocol["products"], protocol["customers"]) == (10, 0, 40, 300)
    assert protocol["segment_column"] == "life_stage"
    assert protocol["diversity_vectors"] == "product features"
    assert protocol["customers_evaluated"] > 250
    printed = capsys.readouterr().out
    assert "model" in printed and "ndcg@10" in printed
    assert [line.split()[0] for line in printed.splitlines()[2:6]] == MODELS
    # Recommending what a customer likes beats recommending what is popular on this log.
    assert report["models"]["hybrid"]["ndcg@k"] > report["models"]["popularity"]["ndcg@k"]


def test_the_same_seed_gives_the_same_report(tmp_path):
    paths = write_bank(tmp_path, customers=120, products=20, events=3000)
    first, second = tmp_path / "a.json", tmp_path / "b.json"

    for out in (first, second):
        call_command("evaluate_recommender", interactions=paths["interactions"], seed=3, json=out, quiet=True)

    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["models"] == b["models"]
    assert a["protocol"]["diversity_vectors"] == "item co-occurrence"


@pytest.mark.parametrize(
    ("interactions", "customers", "message"),
    [
        ("", None, "interactions.csv: the file is empty (expected a header line)"),
        ("customer_id,item\nc1,p1\n", None, "interactions.csv: missing column(s) product_id"),
        ("customer_id,product_id,timestamp\nc1,p1,soon\n", None,
         "interactions.csv: line 2: column timestamp: bad timestamp 'soon'"),
        ("customer_id,product_id,event\nc1,p1,bought\n", None,
         "interactions.csv: line 2: column event: unknown event 'bought'"),
        ("customer_id,product_id\nc1,p1\nc2,p1\n", None,
         "interactions.csv: no customer has at least two distinct liked products"),
        ("customer_id,product_id\nc1,p1\nc1,p2\n", "customer_id,age\nc9,40\n",
         "customers.csv: no row for customer 'c1': every customer in the interactions needs a row"),
    ],
)
def test_bad_input_is_a_command_error_naming_file_and_problem(tmp_path, interactions, customers, message):
    (tmp_path / "interactions.csv").write_text(interactions)
    options = {"interactions": tmp_path / "interactions.csv", "quiet": True}
    if customers is not None:
        (tmp_path / "customers.csv").write_text(customers)
        options["customer_features"] = tmp_path / "customers.csv"

    with pytest.raises(CommandError) as caught:
        call_command("evaluate_recommender", **options)

    assert str(caught.value).startswith(str(tmp_path) + "/" + message)


def test_a_bad_file_exits_non_zero_with_the_message_and_no_traceback(tmp_path):
    (tmp_path / "interactions.csv").write_text("customer_id\nc1\n")

    done = subprocess.run(
        [sys.executable, "manage.py", "evaluate_recommender", "--interactions", str(tmp_path / "interactions.csv")],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], timeout=120,
    )

    assert done.returncode == 1
    assert f"CommandError: {tmp_path / 'interactions.csv'}: missing column(s) product_id" in done.stderr
    assert "Traceback" not in done.stderr
