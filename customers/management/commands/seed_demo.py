"""`python manage.py seed_demo --customers N --seed S [--months M] [--reset]`: generate the demo bank."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.demo.generator import DemoBankExists, seed_demo_bank


class Command(BaseCommand):
    help = (
        "Generate the demo bank: catalogue, customers, users, accounts, holdings, interactions, transactions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--months", type=int, default=6, help="Months of transactions and interactions.")
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="Last day of the history (YYYY-MM-DD); today by default.",
        )
        parser.add_argument("--reset", action="store_true", help="Delete the demo customers first.")
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 1 or options["months"] < 1:
            raise CommandError("--customers and --months must be at least 1")
        try:
            report = seed_demo_bank(
                customers=options["customers"],
                seed=options["seed"],
                months=options["months"],
                as_of=options["as_of"],
                reset=options["reset"],
                progress=not options["quiet"] and sys.stderr.isatty(),
            )
        except DemoBankExists as exc:
            raise CommandError(str(exc)) from exc
        if report.catalogue_only:
            self.stdout.write(
                f"Customers already exist; installed the missing catalogue ({report.products} products)."
            )
            return
        rows = ", ".join(f"{table.split('_', 1)[1]} {count:,}" for table, count in report.rows.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo bank: {report.products} products, {rows} in {report.total_seconds:.1f} s "
                f"(latent preferences: {report.latent_path})"
            )
        )
