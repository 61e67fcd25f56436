"""Latency of the recommendations (and chat) endpoints against a trivial authenticated endpoint, in the same run,
as the catalogue grows.

    EMBEDDED_PG_DB=bank_bench python benchmarks/recommend.py --customers 10000 --products 5000,50000 [--chat]

Builds (once, in its own database) a demo bank of --customers (timing the seeding), sets the catalogue to each
size of --products in turn -- widening it by cloning the demo products with new codes (same texts and
embeddings, shuffled rates), or shrinking it back by removing the clones this script made -- trains and activates
a recommender at the first size if none is active (the platform then serves it over the larger catalogue, new
products scored cold-start from their features, as it would between two nightly retrains), and times, through
Django's full request stack in-process (no network: a load balancer's upstream view minus the socket):

- the trivial endpoint: GET /api/v1/customers/me/ (session, authentication, rate limit, one customer row, a
  serializer);
- GET /api/v1/customers/{id}/recommendations/?k=10 twice in a row: a new list (scoring, gate, MMR, reasons, the
  stored set; RECOMMENDATIONS_FRESH_HOURS=0 for that call) and the same request again, which shows that list
  again (the customer's current list: its validity checks and the gate re-applied, nothing written);
- with --chat, POST /api/v1/chat/sessions/{id}/messages/ with a Banking77 test question (intent, retrieval,
  extractive answer, the stored turn) in a session started beforehand.

Each round picks a logged-in customer and sends one request to every endpoint in a shuffled order, so that all
of them see the same machine state. It prints p50/p95/p99 per endpoint and size, the ratios to the trivial
endpoint, the growth from the smallest to the largest catalogue, and the targets of issue 9 (p50 <= 2x trivial,
p95 <= 50 ms, <= 2x growth).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_bench")
# Its own artifact folder too: a benchmark's models never sit beside (or replace) the platform's.
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(ROOT / "var" / "bench" / "models"))
# The threads a web worker runs its models with (gunicorn.conf.py sets the same for gunicorn's workers).
for _name in ("ML_CPU_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

from customers.models import Customer  # noqa: E402
from products.models import Product  # noqa: E402

CLONE_MARK = "-X"
TRIVIAL = "trivial GET customers/me/"
RECOMMEND = "recommendations, new list"
SHOWN_AGAIN = "recommendations, shown again"
CHAT = "chat POST messages/"
P50_RATIO_TARGET, P95_TARGET_MS, GROWTH_TARGET = 2.0, 50.0, 2.0


def widen_catalogue(target: int, seed: int = 0) -> None:
    """Clone demo products (new codes, jittered terms) until the catalogue has `target` products."""
    have = Product.objects.count()
    if have >= target:
        return
    rng = random.Random(seed + have)  # nosec B311  # seeded synthetic benchmark data, not security
    originals = list(Product.objects.exclude(code__contains=CLONE_MARK).order_by("id"))
    first = Product.objects.filter(code__contains=CLONE_MARK).count()
    clones = []
    for n in range(first, first + target - have):
        p = originals[n % len(originals)]
        clone = Product(**{
            f.attname: getattr(p, f.attname) for f in Product._meta.concrete_fields if f.attname not in ("id",)
        })
        clone.code = f"{p.code}{CLONE_MARK}{n:05d}"[:40]
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


def shrink_catalogue(target: int) -> None:
    """Remove the clones above the `target` first products (and what this benchmark recorded about them)."""
    from advisor.models import BlockedCandidate, Recommendation

    extra = list(Product.objects.order_by("pk").values_list("pk", "code")[target:])
    if not extra:
        return
    if any(CLONE_MARK not in code for _, code in extra):
        raise SystemExit(f"cannot shrink the catalogue to {target:,}: products above it are not this benchmark's "
                         "clones; use a fresh database (EMBEDDED_PG_DB)")
    pks = [pk for pk, _ in extra]
    with transaction.atomic():
        for start in range(0, len(pks), 5000):
            chunk = pks[start : start + 5000]
            Recommendation.objects.filter(product_id__in=chunk).delete()
            BlockedCandidate.objects.filter(product_id__in=chunk).delete()
            Product.objects.filter(pk__in=chunk).delete()


def set_catalogue(size: int, seed: int) -> float:
    started = time.perf_counter()
    shrink_catalogue(size)
    widen_catalogue(size, seed=seed)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def chat_questions(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)  # nosec B311  # seeded synthetic benchmark data, not security
    with (Path(settings.BANKING77_DIR) / "test.csv").open() as handle:
        english = [row["text"] for row in csv.DictReader(handle)]
    return rng.sample(english, min(n, len(english)))


def prepare_chat() -> None:
    from bank.registry import active_version

    logging.getLogger("chat.answers").setLevel(logging.WARNING)  # each rejected answer is logged at INFO
    settings.CHAT_LLM_BACKEND = "none"  # extractive answers: generation is benchmarks/chat.py's subject
    call_command("load_knowledge_base", quiet=True)
    if active_version("chat.intents") is None:
        print("training a quick intent model …", flush=True)
        call_command("train_intents", activate=True, quiet=True, max_per_intent=20)


def logged_in_clients(n: int, seed: int) -> list[tuple[str, Client]]:
    """`n` verified customers with a user, each with a logged-in test client (logging in is not timed)."""
    from django.contrib.auth import get_user_model

    pool = list(
        Customer.objects.filter(user__isnull=False, kyc_status="verified")
        .order_by("pk").values_list("public_id", "user_id")[:5000]
    )
    picked = random.Random(seed).sample(pool, min(n, len(pool)))  # nosec B311  # benchmark sampling
    users = get_user_model().objects.in_bulk([u for _, u in picked])
    clients = []
    for public_id, user_id in picked:
        client = Client()
        client.force_login(users[user_id])
        clients.append((str(public_id), client))
    return clients


def measure(
    clients: list[tuple[str, Client]], *, requests: int, chat: list[str] | None, seed: int
) -> dict[str, list[float]]:
    rng = random.Random(seed)  # nosec B311  # benchmark sampling
    timings: dict[str, list[float]] = {TRIVIAL: [], RECOMMEND: [], SHOWN_AGAIN: []}
    fresh_hours = settings.RECOMMENDATIONS_FRESH_HOURS

    def new_list(client: Client, public_id: str) -> Any:
        settings.RECOMMENDATIONS_FRESH_HOURS = 0  # no stored list may be shown again: the list is made now
        try:
            return client.get(f"/api/v1/customers/{public_id}/recommendations/?k=10")
        finally:
            settings.RECOMMENDATIONS_FRESH_HOURS = fresh_hours

    sessions: dict[str, str] = {}
    if chat is not None:
        timings[CHAT] = []
        for public_id, client in clients:
            response = client.post("/api/v1/chat/sessions/", {}, content_type="application/json")
            assert response.status_code == 201, response.content[:300]  # nosec B101  # a failed set-up aborts
            sessions[public_id] = response.json()["id"]
    for n in range(requests):
        public_id, client = rng.choice(clients)
        # Groups of calls, shuffled; within the recommendations group a new list is made, then asked for again
        # (as the customer's app or the portal does on the next visit), which shows the stored one.
        groups = [
            [(TRIVIAL, lambda c=client: c.get("/api/v1/customers/me/"))],
            [
                (RECOMMEND, lambda c=client, p=public_id: new_list(c, p)),
                (SHOWN_AGAIN, lambda c=client, p=public_id: c.get(f"/api/v1/customers/{p}/recommendations/?k=10")),
            ],
        ]
        if chat is not None:
            text = chat[n % len(chat)]
            path = f"/api/v1/chat/sessions/{sessions[public_id]}/messages/"
            groups.append([(CHAT, lambda c=client, u=path, t=text: c.post(u, {"text": t},
                                                                             content_type="application/json"))])
        rng.shuffle(groups)
        answers: dict[str, Any] = {}
        for name, call in (call for group in groups for call in group):
            started = time.perf_counter()
            response = call()
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code, response.content[:300])  # nosec B101  # a failed request aborts the run
            answers[name] = response
        # The second ask must be the list just made, or the run measured something else.
        assert answers[SHOWN_AGAIN].json()["id"] == answers[RECOMMEND].json()["id"]  # nosec B101  # a wrong measurement aborts the run
    return timings


def report(size: int, customers: int, timings: dict[str, list[float]]) -> None:
    trivial = timings[TRIVIAL]
    print(f"\n{customers:,} customers × {size:,} products, {len(trivial)} requests per endpoint")
    print(f"{'endpoint':<30}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'p50 ×':>8}{'p95 ×':>8}")
    for name, values in timings.items():
        print(f"{name:<30}{percentile(values, 50):>9.2f}{percentile(values, 95):>9.2f}"
              f"{percentile(values, 99):>9.2f}{statistics.fmean(values):>9.2f}"
              f"{percentile(values, 50) / percentile(trivial, 50):>7.2f}×"
              f"{percentile(values, 95) / percentile(trivial, 95):>7.2f}×", flush=True)


def verdicts(results: dict[int, dict[str, list[float]]]) -> None:
    sizes = sorted(results)
    print(f"\ntargets (issue 9): p50 <= {P50_RATIO_TARGET:g}× trivial, p95 <= {P95_TARGET_MS:g} ms, "
          f"<= {GROWTH_TARGET:g}× growth {sizes[0]:,} -> {sizes[-1]:,} products")
    for name in results[sizes[0]]:
        if name == TRIVIAL:
            continue
        for size in sizes:
            ratio = percentile(results[size][name], 50) / percentile(results[size][TRIVIAL], 50)
            p95 = percentile(results[size][name], 95)
            print(f"  {name:<30}{size:>8,} products: p50 {ratio:.2f}× trivial "
                  f"[{'ok' if ratio <= P50_RATIO_TARGET else 'ABOVE'}], p95 {p95:.1f} ms "
                  f"[{'ok' if p95 <= P95_TARGET_MS else 'ABOVE'}]")
        if len(sizes) > 1:
            small, large = results[sizes[0]][name], results[sizes[-1]][name]
            growth50 = percentile(large, 50) / percentile(small, 50)
            growth95 = percentile(large, 95) / percentile(small, 95)
            trivial_growth = percentile(results[sizes[-1]][TRIVIAL], 50) / percentile(results[sizes[0]][TRIVIAL], 50)
            print(f"  {name:<30} growth {sizes[0]:,} -> {sizes[-1]:,}: p50 {growth50:.2f}×, p95 {growth95:.2f}× "
                  f"[{'ok' if max(growth50, growth95) <= GROWTH_TARGET else 'ABOVE'}] "
                  f"(trivial's own p50 moved {trivial_growth:.2f}×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000, help="Seeded when the database has none.")
    parser.add_argument("--products", default="5000,50000", help="Catalogue sizes, comma-separated.")
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and catalogue size")
    parser.add_argument("--clients", type=int, default=50, help="distinct logged-in customers to draw from")
    parser.add_argument("--chat", action="store_true", help="Time the chat endpoint too.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.products.split(",") if s.strip())
    logging.getLogger("axes").setLevel(logging.WARNING)  # a line per force_login otherwise

    call_command("migrate", interactive=False, verbosity=0)
    if not Customer.objects.exists():
        print(f"seeding {args.customers:,} customers …", flush=True)
        started = time.perf_counter()
        call_command("seed_demo", customers=args.customers, seed=7, months=3, quiet=True)
        print(f"seeded {args.customers:,} customers in {time.perf_counter() - started:.0f} s", flush=True)
    from bank.registry import active_version

    customers = Customer.objects.count()
    chat = None
    if args.chat:
        prepare_chat()
        # Different questions at each size: the embedders memoise recent query vectors, and a question sent
        # again would be answered from that memo, which a real stream of customers' messages seldom is.
        per_size = max(args.requests, 50)
        chat = chat_questions(per_size * len(sizes), args.seed)
    results: dict[int, dict[str, list[float]]] = {}
    for phase, size in enumerate(sizes):
        seconds = set_catalogue(size, args.seed)
        print(f"\ncatalogue set to {Product.objects.filter(is_active=True).count():,} products on sale "
              f"in {seconds:.0f} s", flush=True)
        if active_version("advisor.recommender") is None:
            print("training the recommender …", flush=True)
            started = time.perf_counter()
            call_command("train_recommender", activate=True, skip_evaluation=True, quiet=True)
            print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
        clients = logged_in_clients(args.clients, args.seed)
        started = time.perf_counter()
        public_id, client = clients[0]
        for _ in range(5):  # load the model over this catalogue, fill the catalogue caches
            client.get(f"/api/v1/customers/{public_id}/recommendations/?k=10")
        if chat is not None:  # load the encoders and the intent model (not one of the timed questions)
            session = client.post("/api/v1/chat/sessions/", {}, content_type="application/json").json()["id"]
            for text in ("How do I top up my card?", "我的卡丢了"):
                client.post(f"/api/v1/chat/sessions/{session}/messages/", {"text": text},
                            content_type="application/json")
        print(f"model {active_version('advisor.recommender').label} warmed up in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        questions = None if chat is None else chat[phase * per_size:(phase + 1) * per_size]
        results[size] = measure(clients, requests=args.requests, chat=questions, seed=args.seed + size)
        report(size, customers, results[size])
    verdicts(results)
    print(f"\n(CPU, {len(os.sched_getaffinity(0))} cores; in-process, Django test client)")


if __name__ == "__main__":
    main()
