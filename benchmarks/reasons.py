"""How well the reasons for applying are read into need labels, per reader, and how long a reason takes.

    EMBEDDED_PG_DB=bank_bench .venv/bin/python benchmarks/reasons.py [--tune] [--split test|tune|all]

Reads advisor/applications/data/reasons_eval.jsonl (English and Chinese reasons, hand-labelled: paraphrases
without the keywords, negations, reasons that state no need) with:

- rules+keywords: the reading before clauses and embeddings (products.needs rules and the keyword regexes over the
  whole text) -- what the platform did with no language model;
- +negation: the same with clauses that deny a need set aside (read_needs without embeddings);
- +embeddings: read_needs with the sentence-embedding reader (similarity.THRESHOLDS).

It prints micro precision / recall / F1 per reader, for English and Chinese, and p50/p95 latency per reason
(models warm). The thresholds were chosen on the "tune" half (`--tune` shows the grid's best per encoder there);
the figures to quote are on the "test" half, which the thresholds and exemplars never saw.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_bench")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from advisor.applications import reading, similarity  # noqa: E402

DATA = ROOT / "advisor" / "applications" / "data" / "reasons_eval.jsonl"


def load(split: str) -> list[dict]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def scores(rows: list[dict], predicted: list[list[str]]) -> tuple[float, float, float, int, int]:
    tp = fp = fn = 0
    for row, labels in zip(rows, predicted, strict=True):
        gold, got = set(row["labels"]), set(labels)
        tp, fp, fn = tp + len(gold & got), fp + len(got - gold), fn + len(gold - got)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, fp, fn


def before(text: str) -> list[str]:
    found = {**reading.keyword_labels(text), **reading.rule_labels(text)}
    return [label for label in reading.VOCABULARY if label in found]


def timed(read, rows: list[dict]) -> tuple[list[list[str]], list[float]]:
    out, seconds = [], []
    for row in rows:
        started = time.perf_counter()
        out.append(read(row["text"]))
        seconds.append(time.perf_counter() - started)
    return out, seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def tune(rows: list[dict]) -> None:
    """The grid over each encoder's thresholds on `rows`, scored on that encoder's reasons: best F1 first."""
    prepared = []
    for row in rows:
        clauses = [c for c in reading.split_clauses(row["text"]) if not c.negated]
        rules = reading._evidence(clauses, reading.rule_labels)
        sims = similarity.clause_similarities([c.pieces for c in clauses]) if clauses else []
        prepared.append((row, clauses, rules, sims))
    for encoder, language in ((similarity.TEXT_MODEL_NAME, "en"), (similarity.MULTILINGUAL_MODEL_NAME, "zh")):
        mine = [p for p in prepared if p[0]["language"] == language]
        low, steps = (0.30, 24) if language == "en" else (0.78, 10)
        grid = [round(low + 0.02 * i, 2) for i in range(steps)]
        results = []
        for confirm, accept, margin in itertools.product([0.0, *grid[::2]], grid, [0.0, 0.01, 0.02, 0.05, 0.08]):
            if accept < confirm:
                continue
            bar = {encoder: similarity.Thresholds(confirm=confirm, accept=accept, margin=margin)}
            predicted = []
            for _, clauses, rules, sims in mine:
                labels = set(rules) | set(reading._embedding_labels(clauses, sims, bar))
                predicted.append(sorted(labels))
            p, r, f1, _, _ = scores([m[0] for m in mine], predicted)
            results.append((round(f1, 3), round(p, 3), round(r, 3), confirm, accept, margin))
        results.sort(key=lambda item: (-item[0], -item[1]))
        print(f"{encoder} on the tune half ({len(mine)} reasons): best F1, P, R, confirm, accept, margin")
        for result in results[:5]:
            print("  ", result)
        best = results[0]
        print("   best F1 at each margin (confirm, accept free):",
              {m: max(r[0] for r in results if r[5] == m) for m in sorted({r[5] for r in results})})
        print("   F1 by accept (confirm, margin as best):",
              {r[4]: r[0] for r in results if r[3] == best[3] and r[5] == best[5]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=["test", "tune", "all"])
    parser.add_argument("--tune", action="store_true", help="print the threshold grid's best on the tune half")
    parser.add_argument("--errors", action="store_true", help="print every reason the embedding reader got wrong")
    args = parser.parse_args()
    call_command("migrate", interactive=False, verbosity=0)
    if args.tune:
        tune(load("tune"))
        return
    rows = load(args.split)
    reading.read_needs(text="warm up 热身", model=None, embeddings=True)  # load both encoders and exemplars
    readers = {
        "rules+keywords (before)": before,
        "+negation": lambda t: reading.read_needs(text=t, model=None, embeddings=False).labels,
        "+embeddings": lambda t: reading.read_needs(text=t, model=None, embeddings=True).labels,
    }
    print(f"{args.split} split: {len(rows)} reasons "
          f"({sum(r['language'] == 'en' for r in rows)} en, {sum(r['language'] == 'zh' for r in rows)} zh)")
    print(f"{'reader':26} {'lang':4} {'P':>6} {'R':>6} {'F1':>6} {'FP':>4} {'FN':>4} {'p50 ms':>8} {'p95 ms':>8}")
    for name, read in readers.items():
        predicted, seconds = timed(read, rows)
        for language in ("en", "zh", "all"):
            idx = [i for i, r in enumerate(rows) if language == "all" or r["language"] == language]
            p, r, f1, fp, fn = scores([rows[i] for i in idx], [predicted[i] for i in idx])
            ms = [seconds[i] * 1000 for i in idx]
            print(f"{name:26} {language:4} {p:6.3f} {r:6.3f} {f1:6.3f} {fp:4d} {fn:4d} "
                  f"{statistics.median(ms):8.1f} {percentile(ms, 95):8.1f}")
        if args.errors and name == "+embeddings":
            for row, labels in zip(rows, predicted, strict=True):
                if set(labels) != set(row["labels"]):
                    print(f"   {row['text']!r}: want {row['labels']}, got {labels}")


if __name__ == "__main__":
    main()
