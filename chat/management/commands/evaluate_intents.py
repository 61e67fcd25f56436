"""`python manage.py evaluate_intents --data PATH [--train PATH] [--json OUT]`: accuracy and macro-F1 of an
intent model on a CSV of `text,category` rows.

Without --train, the active `chat.intents` version is evaluated (train it first: `manage.py train_intents`).
With --train PATH (also `text,category`), a model is trained on that file alone with the same recipe (both
encoders + logistic regression) and evaluated; nothing is registered. Banking77:

    python manage.py evaluate_intents --train ../shared/datasets/banking77/train.csv \\
        --data ../shared/datasets/banking77/test.csv --json banking77.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from advisor.ml.hybrid import tqdm_progress
from chat.ml.intents import IntentDataError, IntentModel, encode, evaluate, read_examples


class Command(BaseCommand):
    help = "Evaluate intent recognition (accuracy, macro-F1) on a text,category CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, required=True, help="CSV with text,category to evaluate on.")
        parser.add_argument("--train", type=Path, help="Train a fresh model on this CSV first (not registered).")
        parser.add_argument("--json", type=Path, help="Write {accuracy, macro_f1, n} here.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        progress = tqdm_progress(enabled=not options["quiet"])
        try:
            data = read_examples(options["data"])
            if options["train"]:
                train = read_examples(options["train"])
                # A bank's own file has no per-source weights: every example counts once in both heads.
                model = IntentModel.fit(encode([e.text for e in train], progress=progress), [e.intent for e in train],
                                        seed=options["seed"])
                label = f"trained on {options['train']} ({len(train):,} examples)"
            else:
                from chat.ml.scoring import IntentModelUnavailable, active_model

                try:
                    version, model = active_model()
                except IntentModelUnavailable as error:
                    raise CommandError(f"{error} (or give --train PATH)") from error
                label = version.label
        except IntentDataError as error:
            raise CommandError(str(error)) from error
        unknown = sorted({e.intent for e in data} - set(model.classes))
        report = evaluate(model, data, progress=progress)
        self.stdout.write(f"model: {label}")
        self.stdout.write(f"data: {options['data']} ({report.n:,} examples, {len({e.intent for e in data})} intents)")
        if unknown:
            self.stdout.write(self.style.WARNING(f"intents the model was never taught: {', '.join(unknown)}"))
        self.stdout.write(f"accuracy {report.accuracy:.4f}   macro-F1 {report.macro_f1:.4f}")
        for truth, predicted, count in report.confusions[:5]:
            self.stdout.write(f"  {count:>3} × {truth} → {predicted}")
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(json.dumps(
                {"accuracy": round(report.accuracy, 4), "macro_f1": round(report.macro_f1, 4), "n": report.n},
                indent=2) + "\n")
            self.stdout.write(f"written to {options['json']}")
