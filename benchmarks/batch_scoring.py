"""Batch scoring (issue 9): every consenting customer's top-10 suitable products, against the online path in the
same run.

    EMBEDDED_PG_DB=bench_batch nice -n 10 python benchmarks/batch_scoring.py --customers 20000 [--device auto]

Builds (once, in its own database and artifact folder) a demo bank of --customers and trains and activates a
recommender if none is active, then:

- the batch: `advisor.batch.score_recommendations` over every consenting customer -- read, score on the device,
  LightGBM ranker, mask + top-k + MMR, binary COPY and the swap -- with its wall time split, the process CPU time
  and torch's threads;
- the peer: the online path one customer at a time, on a sample (`scoring.score_customer`, the customer's facts,
  `SuitabilityGate`, dismissals, MMR: what `recommend_products` does before it explains and stores the list),
  whose lists it also compares with the stored ones;
- the 1M figure: the batch's per-customer wall and CPU time times 1,000,000, **extrapolated** (labelled so): a
  million customers take ~45 min to seed here;
- with --replicate N (e.g. 1000000): the score, ranker, mask + top-k and write steps **measured** on N customers
  synthesised in memory by replicating the real customers' read chunks (their histories, features, embeddings and
  facts) under new ids, written to the results table and swapped in; the read step is the real run's,
  extrapolated. The table is restored to a real run afterwards.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bench_batch")
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(ROOT / "var" / "bench_batch" / "models"))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from advisor.batch import ResultsTable, score_recommendations  # noqa: E402
from advisor.ml import scoring  # noqa: E402
from advisor.ml.batch import ChunkState, DeviceScorer, StepClock, resolve_device  # noqa: E402
from advisor.models import BatchRecommendation  # noqa: E402
from advisor.services import DISMISS_QUIET_PERIOD, _diversify  # noqa: E402
from advisor.suitability import CustomerFacts, SuitabilityGate, catalogue_rules  # noqa: E402
from bank.registry import active_version  # noqa: E402
from customers.models import Customer  # noqa: E402
from products.models import Product  # noqa: E402

MILLION = 1_000_000


def prepare(customers: int) -> None:
    call_command("migrate", interactive=False, verbosity=0)
    if not Customer.objects.exists():
        print(f"seeding {customers:,} customers …", flush=True)
        started = time.perf_counter()
        call_command("seed_demo", customers=customers, seed=7, months=3, quiet=True)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    if active_version(scoring.MODEL_NAME) is None:
        print("training the recommender …", flush=True)
        started = time.perf_counter()
        call_command("train_recommender", activate=True, skip_evaluation=True, quiet=True)
        print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)


def online_lists(sample: list[Customer], now: object, k: int) -> tuple[float, float, dict[int, list[int]]]:
    """(wall seconds, CPU seconds, lists) of the online path for each customer of `sample`, one at a time."""
    lists: dict[int, list[int]] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for customer in sample:
        rules = catalogue_rules()
        gate = SuitabilityGate(CustomerFacts.of(customer), rules)
        scored = scoring.score_customer(
            customer=customer, catalogue_ids=rules.ids, catalogue_stamp=rules.stamp, now=now
        )
        wanted = np.ones(len(rules.ids), dtype=bool)
        for product_id in scored.dismissed_since(now - DISMISS_QUIET_PERIOD):
            if product_id in rules.index:
                wanted[rules.index[product_id]] = False
        chosen = _diversify(scores=scored.scores, allowed=gate.allowed() & wanted, vectors_at=scored.vectors_at, k=k)
        lists[customer.pk] = [int(rules.ids[r.index]) for r in chosen]
    return time.perf_counter() - started, time.process_time() - cpu, lists


def replicated(target: int, *, chunk: int, device: str | None, now: object) -> None:
    """Score and write `target` customers replicated from the real ones' read chunks (new ids); print the split."""
    import torch

    dev = resolve_device(device)
    rules = catalogue_rules()
    loaded = scoring.active_recommender(catalogue_stamp=rules.stamp)
    scorer = DeviceScorer(loaded, rules, device=dev, k=10, now=now)
    started = time.perf_counter()
    states: list[ChunkState] = []
    while (state := scorer.read(after=int(states[-1].pks[-1]) if states else None, limit=chunk)) is not None:
        states.append(state)
    read_seconds = time.perf_counter() - started
    real = sum(len(state.pks) for state in states)
    offset = int(states[-1].pks[-1]) + 1
    seconds: dict[str, float] = {}
    clock = StepClock(seconds, synchronize=dev == "cuda")
    customers = rows = copy = 0
    started, cpu = time.perf_counter(), time.process_time()
    with ResultsTable() as table:
        while customers < target:
            for state in states:
                if customers >= target:
                    break
                twin = dataclasses.replace(state, pks=state.pks + copy * offset)
                result = scorer.top_k(twin, clock)
                with clock("write"):
                    table.write(customers=result[0], ranks=result[1], products=result[2], scores=result[3],
                                model_version_id=loaded.version.pk, computed_at=now)
                customers += len(state.pks)
                rows += len(result[0])
            copy += 1
        with clock("write"):
            table.swap()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    read = read_seconds / real * customers
    print(f"\nREPLICATED {customers:,} customers ({copy} copies of the {real:,} real ones, new ids; {dev}, "
          f"{torch.get_num_threads()} torch threads): {rows:,} rows")
    for name, value in seconds.items():
        print(f"  {name:<10}  {value:8.2f} s  (measured)")
    print(f"  {'read':<10}  {read:8.2f} s  (extrapolated from reading the real {real:,}: {read_seconds:.2f} s)")
    print(f"  measured steps: wall {wall:.2f} s, CPU (process) {cpu:.2f} s, {rows / wall:,.0f} rows/s written; "
          f"with the read: wall {wall + read:,.0f} s, {customers / (wall + read):,.0f} customers/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000, help="Seeded when the database has none.")
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--device", default=None, help="auto, cpu or cuda (default: settings.ML_DEVICE)")
    parser.add_argument("--sample", type=int, default=300, help="customers scored one by one by the online peer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replicate", type=int, default=0,
                        help="also score and write this many customers replicated from the real ones (e.g. 1000000)")
    args = parser.parse_args()

    prepare(args.customers)
    products = Product.objects.filter(is_active=True).count()
    consenting = Customer.objects.filter(consent_profiling=True).count()
    print(f"bank: {Customer.objects.count():,} customers ({consenting:,} consent to profiling), {products:,} products "
          f"on sale; model {active_version(scoring.MODEL_NAME).label}", flush=True)
    now = timezone.now()

    ids = list(Customer.objects.filter(consent_profiling=True).values_list("pk", flat=True))
    rng = random.Random(args.seed)  # nosec B311  # a reproducible benchmark sample, not security
    sample_ids = sorted(rng.sample(ids, min(args.sample, len(ids))))
    sample = list(Customer.objects.filter(pk__in=sample_ids).order_by("pk"))
    online_lists(sample[:5], now, 10)  # load the model, fill the catalogue caches
    online_wall, online_cpu, online = online_lists(sample, now, 10)

    run = score_recommendations(device=args.device, chunk=args.chunk, now=now)
    stored: dict[int, list[int]] = {}
    for customer_id, product_id in (
        BatchRecommendation.objects.filter(customer_id__in=sample_ids).order_by("customer_id", "rank")
        .values_list("customer_id", "product_id")
    ):
        stored.setdefault(customer_id, []).append(product_id)
    same = sum(stored.get(pk, []) == online[pk] for pk in sample_ids)

    batch_rate = run.customers / run.wall_seconds
    online_rate = len(sample) / online_wall
    print(f"\nbatch ({run.device}, {run.threads} torch threads, chunk {args.chunk}): {run.customers:,} customers, "
          f"{run.rows:,} rows, {run.ranked_pairs:,} pairs ranked, {run.customers_without_any:,} with nothing suitable")
    width = max(len(name) for name in run.seconds)
    for name, seconds in run.seconds.items():
        print(f"  {name:<{width}}  {seconds:8.2f} s  {100 * seconds / run.wall_seconds:5.1f} %")
    other = run.wall_seconds - sum(run.seconds.values())
    print(f"  {'other':<{width}}  {other:8.2f} s  {100 * other / run.wall_seconds:5.1f} %")
    print(f"  wall {run.wall_seconds:.2f} s, CPU (process) {run.cpu_seconds:.2f} s "
          f"({run.cpu_seconds / run.wall_seconds:.2f} cores busy), {run.rows / run.wall_seconds:,.0f} rows/s")
    print(f"\n{'path':<44} {'customers/s':>12} {'CPU ms/customer':>16}")
    print(f"{'batch (score_recommendations)':<44} {batch_rate:>12,.0f} {1000 * run.cpu_seconds / run.customers:>16.2f}")
    print(f"{'online, one at a time (sample of ' + str(len(sample)) + ')':<44} {online_rate:>12,.0f} "
          f"{1000 * online_cpu / len(sample):>16.2f}")
    print(f"ratio batch / online: {batch_rate / online_rate:.1f}x; sampled lists identical to the online ones: "
          f"{same} of {len(sample_ids)}")
    per_wall, per_cpu = run.wall_seconds / run.customers, run.cpu_seconds / run.customers
    print(f"\n1M customers, EXTRAPOLATED linearly from this run of {run.customers:,} (not measured): "
          f"wall {per_wall * MILLION:,.0f} s, CPU {per_cpu * MILLION:,.0f} s on {len(os.sched_getaffinity(0))} cores "
          f"({run.device}); ranker alone {run.seconds.get('ranker', 0) / run.customers * MILLION:,.0f} s")
    if args.replicate:
        replicated(args.replicate, chunk=args.chunk, device=args.device, now=now)
        restored = score_recommendations(device=args.device, chunk=args.chunk, now=now)
        print(f"results table restored to a real run: {restored.rows:,} rows")


if __name__ == "__main__":
    main()
