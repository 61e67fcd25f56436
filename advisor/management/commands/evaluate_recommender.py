"""`python manage.py evaluate_recommender --interactions PATH [--customer-features PATH] [--product-features PATH]
[--k 10] [--seed 0] [--json OUT]`: the hybrid recommender against its baselines on any bank's CSV exports.

The CSV mode never touches the database. `--from-database` evaluates on our own tables instead (with the
profile and product embeddings), and `--export DIR` also writes them in the CSV format first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from advisor.ml.data import RecommenderDataError, assemble, load_features_csv, load_interactions_csv
from advisor.ml.evaluation import evaluate
from advisor.ml.hybrid import tqdm_progress


class Command(BaseCommand):
    help = "Evaluate the hybrid recommender and its baselines (leave-last-out; HR, NDCG, MAP, Recall at k)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interactions", type=Path, help="customer_id,product_id[,event,timestamp,weight]")
        parser.add_argument("--customer-features", type=Path)
        parser.add_argument("--product-features", type=Path)
        parser.add_argument("--segment-column", help="Customer column for popularity segments (default life_stage).")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", type=Path, help="Write the metrics here as JSON.")
        parser.add_argument("--from-database", action="store_true", help="Evaluate on this platform's tables.")
        parser.add_argument("--export", type=Path, help="With --from-database: also write the CSVs to this folder.")
        parser.add_argument("--quiet", action="store_true", help="No progress bars.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["k"] < 1:
            raise CommandError(f"--k must be at least 1, got {options['k']}")
        try:
            data = self._data(options)
            report = evaluate(
                data, k=options["k"], seed=options["seed"], progress=tqdm_progress(enabled=not options["quiet"])
            )
        except RecommenderDataError as exc:
            raise CommandError(str(exc)) from exc
        protocol = report.protocol
        self.stdout.write(
            f"{protocol['customers_evaluated']:,} customers evaluated (leave-last-out, k={protocol['k']}, "
            f"seed={protocol['seed']}); {protocol['products']:,} products; "
            f"{protocol['train_events']:,} training events; {protocol['seconds']:.1f} s"
        )
        self.stdout.write(report.table())
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(json.dumps(report.to_json(), indent=2, sort_keys=False) + "\n")
            self.stdout.write(f"Metrics written to {options['json']}")

    def _data(self, options: dict[str, Any]) -> Any:
        if options["from_database"]:
            from advisor.ml.dataset import export_csv, load_from_database

            data = load_from_database()
            if options["export"]:
                paths = export_csv(data, options["export"])
                self.stdout.write("Exported " + ", ".join(str(p) for p in paths.values()))
            return data
        if options["interactions"] is None:
            raise CommandError("give --interactions PATH (or --from-database)")
        log = load_interactions_csv(options["interactions"])
        customers = (
            load_features_csv(options["customer_features"], key="customer_id")
            if options["customer_features"]
            else None
        )
        products = (
            load_features_csv(options["product_features"], key="product_id") if options["product_features"] else None
        )
        return assemble(log, customers=customers, products=products, segment_column=options["segment_column"])
