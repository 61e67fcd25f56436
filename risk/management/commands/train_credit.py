"""`python manage.py train_credit [--activate] [--score]`: train, cross-validate and register a risk.credit version
(the GBM and the scorecard side by side) on the database; `--score` then scores every customer with it, here, a
part of NIGHTLY_PART_SIZE customers at a time (the nightly task's parts, run in this process) under a progress
bar, so that a large bank is never held in memory at once."""

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
        from risk.services.credit import NoActiveCreditModel

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
            f"ECE {m['gbm']['ece']:.3f} / {m['scorecard']['ece']:.3f}; {self._state(result)} in {result.seconds} s"
        )
        if options["score"]:
            try:
                scored = self._score_everyone()
            except NoActiveCreditModel as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"scored {scored:,} customers")

    @staticmethod
    def _state(result: Any) -> str:
        if result.activated:
            return "activated"
        if result.below_floor:
            return f"not activated: below its quality floor ({'; '.join(result.below_floor)})"
        return "ready (activate it in Model versions)"

    def _score_everyone(self) -> int:
        from django.conf import settings
        from tqdm import tqdm

        from bank.jobs import id_ranges
        from customers.models import Customer
        from risk.services.credit import score_customers

        parts = id_ranges(Customer.objects.all(), settings.NIGHTLY_PART_SIZE)
        scored = 0
        with tqdm(total=sum(n for _, _, n in parts), desc="Scoring customers' credit risk", unit="customer") as bar:
            for first, last, n in parts:
                ids = list(Customer.objects.filter(pk__gte=first, pk__lte=last).order_by("pk")
                           .values_list("pk", flat=True))
                scored += len(score_customers(customer_ids=ids))
                bar.update(n)
        return scored
