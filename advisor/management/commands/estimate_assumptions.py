"""`python manage.py estimate_assumptions prices.csv [--name N] [--effective YYYY-MM-DD] [--prior-years 10]`:
re-estimate the capital-market assumptions from index levels (CSV columns date,asset_class,level, at least 24
months), shrunk toward the set in force, and store them as a new set effective from the given date."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from advisor.investing.services import AdviceUnavailable, estimate_assumptions_from_prices


class Command(BaseCommand):
    help = "Re-estimate capital-market assumptions from a CSV of index levels (with shrinkage)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv", type=Path)
        parser.add_argument("--name", default="")
        parser.add_argument("--effective", type=date.fromisoformat, default=None)
        parser.add_argument("--prior-years", type=float, default=10.0,
                            help="How many years of history weigh as much as the prior's expected returns.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["csv"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        effective = options["effective"] or timezone.localdate()
        name = options["name"] or f"Estimated from {path.name}"
        with path.open(newline="", encoding="utf-8") as handle:
            try:
                cma = estimate_assumptions_from_prices(rows=csv.DictReader(handle), name=name,
                                                       effective_date=effective,
                                                       prior_weight_years=options["prior_years"])
            except (ValueError, AdviceUnavailable) as error:
                raise CommandError(str(error)) from None
        self.stdout.write(f"{cma} — {cma.description}")
        for row in cma.classes.all():
            self.stdout.write(f"  {row.asset_class:<14} return {row.expected_return:>6} %  volatility "
                              f"{row.volatility:>6} %")
        self.stdout.write(f"  covariance shrinkage {cma.estimation['covariance_shrinkage']}, "
                          f"sample-mean weight {cma.estimation['mean_weight']}")
