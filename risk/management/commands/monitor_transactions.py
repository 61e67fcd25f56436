"""`python manage.py monitor_transactions [--limit N]`: run transaction monitoring on what was posted since the last
run (the workers do it every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Monitor transactions posted since the last run; store alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from risk.services.monitoring import monitor_new_transactions

        self.stdout.write(str(monitor_new_transactions(limit=options["limit"])))
