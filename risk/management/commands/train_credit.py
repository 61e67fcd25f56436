"""`python manage.py train_credit [--activate] [--score]`: train, cross-validate and register a risk.credit version
(the GBM and the scorecard side by side) on the database; `--score` then scores every customer with it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from risk.ml.tabular import CreditDataError


class Command(BaseCommand):
    help = "Train and register the credit model (GBM + scorecard) on the database's customers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--activate", action="store_true", help="Activate it even if another is active.")
        parser.add_argument("--score", action="store_true", help="Score every customer with the active model after.")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        from risk.ml.training import train_credit_model
        from risk.services.credit import NoActiveCreditModel, score_customers

        try:
            result = train_credit_model(activate=True if options["activate"] else None, seed=options["seed"])
        except CreditDataError as error:
            raise CommandError(str(error)) from None
        m = result.metrics
        data = result.version.training_data
        self.stdout.write(
            f"{result.version.label}: {data['rows']} borrowers, {data['defaults']} defaults "
            f"({data['default_rate']:.1%}), {m['folds']}-fold AUC gbm {m['gbm']['auc']:.3f} / scorecard "
            f"{m['scorecard']['auc']:.3f}, KS {m['gbm']['ks']:.3f} / {m['scorecard']['ks']:.3f}, "
            f"ECE {m['gbm']['ece']:.3f} / {m['scorecard']['ece']:.3f}; "
            f"{'activated' if result.activated else 'ready (activate it in Model versions)'} in {result.seconds} s"
        )
        if options["score"]:
            try:
                scores = score_customers()
            except NoActiveCreditModel as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"scored {len(scores)} customers")
