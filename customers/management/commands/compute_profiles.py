"""`python manage.py compute_profiles [--customers 1,2,3] [--as-of YYYY-MM-DD]`: profiles in-process."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.services import compute_profiles


def _ids(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError(f"--customers takes comma-separated ids, got {raw!r}") from exc


class Command(BaseCommand):
    help = "Compute customer profile snapshots (features, summaries, summary embeddings)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", help="Comma-separated customer ids (default: every customer).")
        parser.add_argument("--as-of", type=date.fromisoformat, help="The snapshot date (default: today).")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        written = compute_profiles(
            customer_ids=_ids(options["customers"]) if options["customers"] else None,
            as_of=options["as_of"],
            batch_size=options["batch_size"],
            progress=True,
        )
        self.stdout.write(f"{written} profiles written ({time.monotonic() - started:.1f} s).")
