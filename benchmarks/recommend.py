"""Latency of the recommendations endpoint against a trivial authenticated endpoint, in the same run.

    EMBEDDED_PG_DB=bank_bench python benchmarks/recommend.py --customers 100000 --products 5000 --requests 400

Builds (once, in its own database) a demo bank of --customers, widens the catalogue to --products by cloning
the demo products with new codes (same texts and embeddings, shuffled rates and minimums), trains and activates
a recommender, then times, through Django's full request stack in-process (no network, as a load balancer's
upstream would see it minus the socket):

- the trivial endpoint: GET /api/v1/customers/me/ (authentication, one customer row, a serializer);
- GET /api/v1/customers/{id}/recommendations/?k=10 (scoring, gate, MMR, reasons, two inserts).

It prints p50/p95/p99 for both and the ratios. Requests alternate between the two endpoints so that both
see the same machine state.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_bench")
# Its own artifact folder too: a benchmark's models never sit beside (or replace) the platform's.
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(Path(__file__).resolve().parent.parent / "var" / "bench" / "models"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

from customers.models import Customer  # noqa: E402
from products.models import Product  # noqa: E402


def widen_catalogue(target: int, seed: int = 0) -> None:
    """Clone demo products (new codes, jittered terms) until the catalogue has `target` products."""
    have = Product.objects.count()
    if have >= target:
        return
    rng = random.Random(seed)  # nosec B311  # seeded synthetic benchmark data, not security
    originals = list(Product.objects.exclude(code__contains="-X").order_by("id"))
    clones = []
    for n in range(target - have):
        p = originals[n % len(originals)]
        clone = Product(**{
            f.attname: getattr(p, f.attname) for f in Product._meta.concrete_fields if f.attname not in ("id",)
        })
        clone.code = f"{p.code}-X{n:05d}"[:40]
        clone.name_en = f"{p.name_en} · series {n}"
        clone.name_zh = f"{p.name_zh}（第{n}期）"
        if clone.expected_return_max is not None:
            clone.expected_return_max = (clone.expected_return_max * Decimal(str(rng.uniform(0.9, 1.1)))).quantize(
                Decimal("0.001")
            )
            if clone.expected_return_min is not None:
                clone.expected_return_min = min(clone.expected_return_min, clone.expected_return_max)
        clones.append(clone)
    with transaction.atomic():
        Product.objects.bulk_create(clones, batch_size=1000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    call_command("migrate", interactive=False, verbosity=0)
    if not Customer.objects.exists():
        print(f"seeding {args.customers:,} customers …", flush=True)
        call_command("seed_demo", customers=args.customers, seed=7, months=3, quiet=True)
    widen_catalogue(args.products, seed=args.seed)
    from bank.registry import active_version

    if active_version("advisor.recommender") is None:
        print("training the recommender …", flush=True)
        call_command("train_recommender", activate=True)
    customers = Customer.objects.count()
    products = Product.objects.filter(is_active=True).count()
    print(f"bank: {customers:,} customers, {products:,} products on sale; model "
          f"{active_version('advisor.recommender').label}", flush=True)

    rng = random.Random(args.seed)  # nosec B311  # seeded synthetic benchmark data, not security
    pool = list(Customer.objects.filter(user__isnull=False).values_list("public_id", "user_id")[:5000])
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk([u for _, u in pool])
    trivial: list[float] = []
    recommend: list[float] = []
    warm = Client()
    public_id, user_id = pool[0]
    warm.force_login(users[user_id])
    for _ in range(5):  # load the model, fill the catalogue caches
        warm.get(f"/api/v1/customers/{public_id}/recommendations/?k=10")
    for _ in range(args.requests):
        public_id, user_id = rng.choice(pool)
        client = Client()
        client.force_login(users[user_id])
        for path, sink in (("/api/v1/customers/me/", trivial),
                           (f"/api/v1/customers/{public_id}/recommendations/?k=10", recommend)):
            started = time.perf_counter()
            response = client.get(path)
            sink.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code, response.content[:300])  # nosec B101  # a benchmark script: a failed request aborts the run

    print(f"\n{'endpoint':<34}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, values in (("trivial  GET customers/me/", trivial), ("recommendations ?k=10", recommend)):
        print(f"{name:<34}{percentile(values, 50):>9.2f}{percentile(values, 95):>9.2f}"
              f"{percentile(values, 99):>9.2f}{statistics.fmean(values):>9.2f}")
    print(f"\nratio recommendations / trivial: p50 {percentile(recommend, 50) / percentile(trivial, 50):.2f}×, "
          f"p95 {percentile(recommend, 95) / percentile(trivial, 95):.2f}×  "
          f"({args.requests} requests each, {customers:,} customers × {products:,} products, CPU)")


if __name__ == "__main__":
    main()
