"""`python manage.py score_recommendations [--chunk N] [--device auto|cpu|cuda] [--k 10]`: score every customer who
consented to profiling with the active recommender and replace the stored batch results (`advisor.batch`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from advisor.batch import DEFAULT_CHUNK, BatchAlreadyRunning, DeviceUnavailable, score_recommendations
from advisor.ml.hybrid import tqdm_progress
from advisor.ml.scoring import RecommenderUnavailable


class Command(BaseCommand):
    help = "Batch-score every consenting customer's top-k suitable products and swap them in atomically."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="Customers scored together.")
        parser.add_argument("--device", default=None,
                            help="auto, cpu or cuda (default: settings.ML_DEVICE, auto: cuda when present).")
        parser.add_argument("--k", type=int, default=10, help="Products per customer (1-50).")
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk"] < 1:
            raise CommandError(f"--chunk must be a positive number of customers, got {options['chunk']}.")
        try:
            run = score_recommendations(
                k=options["k"], chunk=options["chunk"], device=options["device"],
                progress=tqdm_progress(enabled=not options["quiet"]),
            )
        except DeviceUnavailable as exc:
            raise CommandError(f"--device: {exc}") from exc
        except (RecommenderUnavailable, BatchAlreadyRunning, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        split = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in run.seconds.items())
        rate = run.rows / run.wall_seconds if run.wall_seconds else 0.0
        self.stdout.write(
            f"{run.model_label} on {run.device} ({run.threads} threads): {run.customers:,} customers, "
            f"{run.rows:,} rows ({run.customers_without_any:,} customers with nothing suitable), "
            f"{run.ranked_pairs:,} pairs ranked"
        )
        self.stdout.write(f"split: {split}")
        self.stdout.write(self.style.SUCCESS(
            f"{run.wall_seconds:.2f} s wall, {run.cpu_seconds:.2f} s CPU, {rate:,.0f} rows/s, "
            f"{run.customers / run.wall_seconds if run.wall_seconds else 0:,.0f} customers/s"
        ))
