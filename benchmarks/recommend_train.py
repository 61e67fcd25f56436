"""Training time of the product recommender on synthetic interaction logs.

    .venv/bin/python benchmarks/recommend_train.py [--rows 1000000 5000000] [--customers 100000]
        [--products 5000] [--skip-hybrid]

For each log size: ALS alone (the default factors and iterations, on CUDA when torch sees one) and the whole
hybrid (three stage-1 generator fits, the ranker's lists, LightGBM, the final fit). The logs come from
`advisor.ml.data.synthetic_bank` (segments that prefer product categories, tastes that match product traits,
long-tailed popularity; 20% positive events). No database is needed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--skip-hybrid", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from advisor.ml.candidates import ImplicitALS, cpu_count, training_device
    from advisor.ml.data import assemble, synthetic_bank
    from advisor.ml.hybrid import HybridConfig, HybridRecommender

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def progress(step: str, total: int):  # noqa: ANN202 - the Progress protocol of advisor.ml.hybrid
        say(f"  {step} ({total:,})")
        return lambda n: None

    device = training_device()
    say(f"device {device}, {cpu_count()} CPU cores; {args.customers:,} customers, {args.products:,} products")
    results = []
    for rows in args.rows:
        started = time.perf_counter()
        log, customers, products = synthetic_bank(
            customers=args.customers, products=args.products, events=rows, seed=0
        )
        data = assemble(log, customers=customers, products=products)
        say(f"{rows:,} rows generated in {time.perf_counter() - started:.1f} s ({log.matrix.nnz:,} liked pairs)")

        config = HybridConfig()
        als = ImplicitALS(
            factors=config.als_factors, regularization=config.als_regularization, alpha=config.als_alpha,
            iterations=config.als_iterations, device=device,
        )
        started = time.perf_counter()
        als.fit(data)
        als_seconds = time.perf_counter() - started
        say(f"ALS ({config.als_factors} factors, {config.als_iterations} iterations): {als_seconds:.1f} s")

        hybrid_seconds = float("nan")
        if not args.skip_hybrid:
            started = time.perf_counter()
            model = HybridRecommender(config).fit(data, progress=progress)
            hybrid_seconds = time.perf_counter() - started
            say(
                f"hybrid: {hybrid_seconds:.1f} s ({model.info['ranker_queries']:,} lists, "
                f"{model.info['ranker_pairs']:,} pairs, {model.info['ranker_trees']} trees; "
                f"ranker {model.info['seconds']['ranker']:.1f} s)"
            )
        results.append((rows, als_seconds, hybrid_seconds))

    print()
    print(f"{'rows':>12} {'ALS s':>9} {'hybrid s':>10}   ({device}, {cpu_count()} cores)")
    for rows, als_seconds, hybrid_seconds in results:
        print(f"{rows:>12,} {als_seconds:>9.1f} {hybrid_seconds:>10.1f}")


if __name__ == "__main__":
    main()
