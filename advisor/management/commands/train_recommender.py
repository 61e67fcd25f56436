"""`python manage.py train_recommender [--activate | --no-activate] [--skip-evaluation]`: train the hybrid
recommender on the database and register it as a new `advisor.recommender` version."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from advisor.ml.data import RecommenderDataError
from advisor.ml.hybrid import tqdm_progress
from advisor.ml.training import train_recommender
from bank.registry import quality_failures


class Command(BaseCommand):
    help = "Train the product recommender on the database, evaluate it offline and register it."

    def add_arguments(self, parser: CommandParser) -> None:
        choice = parser.add_mutually_exclusive_group()
        choice.add_argument("--activate", dest="activate", action="store_true", default=None,
                            help="Activate the new version (default: only when no version is active).")
        choice.add_argument("--no-activate", dest="activate", action="store_false")
        parser.add_argument("--skip-evaluation", action="store_true", help="Register without offline metrics.")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--quiet", action="store_true", help="No progress bars.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = train_recommender(
                activate=options["activate"],
                evaluate_first=not options["skip_evaluation"],
                k=options["k"],
                seed=options["seed"],
                progress=tqdm_progress(enabled=not options["quiet"]),
            )
        except RecommenderDataError as exc:
            raise CommandError(str(exc)) from exc
        if result.report is not None:
            self.stdout.write(result.report.table())
        below = quality_failures(result.version)
        state = ("active" if result.activated
                 else f"not activated: below its quality floor ({'; '.join(below)})" if below
                 else "ready (not activated)")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.version.label} {state}, device {result.version.device or 'cpu'}, "
                f"{result.seconds:.1f} s: {result.version.artifact_path}"
            )
        )
