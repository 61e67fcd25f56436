"""`python manage.py train_intents [--activate | --no-activate] [--max-per-intent N]`: train the assistant's
intent model (Banking77 + the project's English and Chinese examples), evaluate it on held-out data and
register it as a new `chat.intents` version."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from advisor.ml.hybrid import tqdm_progress
from bank.registry import quality_failures
from chat.ml.intents import IntentDataError
from chat.ml.training import report_table, train_intents


class Command(BaseCommand):
    help = "Train the chat intent model, evaluate it on held-out data and register it."

    def add_arguments(self, parser: CommandParser) -> None:
        choice = parser.add_mutually_exclusive_group()
        choice.add_argument("--activate", dest="activate", action="store_true", default=None,
                            help="Activate the new version (default: only when no version is active).")
        choice.add_argument("--no-activate", dest="activate", action="store_false")
        parser.add_argument("--max-per-intent", type=int, help="Train on at most N examples per intent and file.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--english-on-both", action="store_true",
                            help="The English head reads the e5 vector beside MiniLM's: a turn in English then runs "
                                 "both encoders. Helps with little training data (a tenth of it: +1.5-5 points), "
                                 "not with the full data.")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = train_intents(activate=options["activate"], max_per_intent=options["max_per_intent"],
                                   seed=options["seed"], english_on_both=options["english_on_both"],
                                   progress=tqdm_progress(enabled=not options["quiet"]))
        except IntentDataError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(report_table(result.reports))
        below = quality_failures(result.version)
        state = ("active" if result.activated
                 else f"not activated: below its quality floor ({'; '.join(below)})" if below
                 else "ready (not activated)")
        self.stdout.write(self.style.SUCCESS(f"{result.version.label} {state}, {result.seconds:.1f} s"))
