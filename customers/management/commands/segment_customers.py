"""`python manage.py segment_customers [--seed N] [--k-min 3 --k-max 10] [--quiet]`: segment in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.segmentation import NotEnoughCustomers, segment_customers
from customers.segments.clustering import K_MAX, K_MIN


def _bars() -> Callable[[str, int], Callable[[int], None]]:
    """A `bank.jobs.Progress` that draws a tqdm bar per step on stderr."""
    from tqdm import tqdm

    def open_bar(description: str, total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=description)

        def advance(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return advance

    return open_bar


class Command(BaseCommand):
    help = "Cluster customers into segments (k by silhouette), name them, keep known segments' codes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--k-min", type=int, default=K_MIN)
        parser.add_argument("--k-max", type=int, default=K_MAX)
        parser.add_argument("--quiet", action="store_true", help="No progress bars.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 2 <= options["k_min"] <= options["k_max"]:
            raise CommandError("need 2 <= --k-min <= --k-max")
        try:
            run = segment_customers(seed=options["seed"], k_min=options["k_min"], k_max=options["k_max"],
                                    progress=None if options["quiet"] else _bars())
        except NotEnoughCustomers as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{run.customers:,} customers in {run.k} segments (silhouette {run.silhouette:.3f}; "
            f"{run.matched} kept, {run.created} new, {run.retired} retired) in {run.seconds:.1f} s"
        )
        for snapshot in run.snapshots.select_related("segment").order_by("-size"):
            self.stdout.write(f"  {snapshot.segment.code} {snapshot.size:>7,} {snapshot.share:>6.1%}  "
                              f"{snapshot.segment.name_en} / {snapshot.segment.name_zh}")
