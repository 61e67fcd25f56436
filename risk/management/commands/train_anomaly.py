"""`python manage.py train_anomaly [--activate]`: fit and register the monitoring anomaly model (risk.anomaly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from risk.ml.tabular import CreditDataError


class Command(BaseCommand):
    help = "Train and register the transaction-monitoring anomaly model (isolation forest)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--activate", action="store_true")
        parser.add_argument("--customers", type=int, default=3000, help="Customers whose histories are replayed.")

    def handle(self, *args: Any, **options: Any) -> None:
        from risk.ml.training import train_anomaly_model

        try:
            result = train_anomaly_model(activate=True if options["activate"] else None,
                                         max_customers=options["customers"])
        except CreditDataError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{result.version.label}: {result.version.training_data['rows']} transactions, threshold "
            f"{result.metrics['threshold_score']}, {'activated' if result.activated else 'ready'} in {result.seconds} s"
        )
