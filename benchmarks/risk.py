"""Risk throughput: transaction monitoring in-process and through the API, credit scoring, and training time.

    EMBEDDED_PG_DB=bank_bench_risk python benchmarks/risk.py --customers 10000 --events 50000 --api-requests 500

Builds (once, in its own database) a demo bank of --customers with 6 months of history, then prints:

- training time of the credit model (5-fold cross-validation of the GBM and the scorecard, then the final fit)
  and of the anomaly model;
- credit scoring: customers/s through `score_customers` (features from SQL, both models, reasons, rows
  written, grades refreshed) and rows/s of the two models alone on the feature table;
- monitoring, in-process: a stream of --events new transactions over a week after the data's end (3,000 random
  customers, each transaction a copy of one of the customer's own past payments; about 1 % made unusual),
  judged by the engine alone (rules, restrictions, anomaly model; per-customer state in memory) and end to end
  through the batch path (`monitor_new_transactions`: reading the new rows, warming states from history, judging,
  writing alerts, moving the cursor);
- monitoring through the API: --api-requests POSTs to /api/v1/risk/transactions/ through Django's full request
  stack in-process (token authentication, validation, the synchronous decision, the insert), one at a time.

The synthetic rows it inserts are deleted at the end, so runs are repeatable.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_bench_risk")
# Its own artifact folder too: a benchmark's models never sit beside (or replace) the platform's.
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(Path(__file__).resolve().parent.parent / "var" / "bench" / "models"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from customers.models import Customer, Transaction  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def synthetic_stream(n: int, *, seed: int, customers: int = 3000, days: int = 7) -> list[dict]:
    """New transactions over the `days` after the data's end for `customers` random customers, each a copy of one
    of that customer's own past payments (same account, category, channel, counterparty, time of day; amount
    within ±20 %), in time order; about 1 % are made unusual (a large amount, a new counterparty, 3 a.m.)."""
    rng = random.Random(seed)  # nosec B311  # seeded synthetic benchmark data, not security
    with connection.cursor() as cur:
        cur.execute("SELECT max(timestamp) FROM customers_transaction")
        end = cur.fetchone()[0]
        cur.execute("SELECT id FROM customers_customer")
        ids = [r[0] for r in cur.fetchall()]
        chosen = rng.sample(ids, min(customers, len(ids)))
        cur.execute(
            "SELECT customer_id, account_id, amount, timestamp, category, channel, counterparty"
            " FROM customers_transaction WHERE amount < 0 AND customer_id = ANY(%s)", [chosen],
        )
        pool = cur.fetchall()
    zone = timezone.get_current_timezone()
    start = end.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    rows = []
    for _ in range(n):
        customer, account, amount, moment, category, channel, counterparty = rng.choice(pool)
        local = moment.astimezone(zone)
        moment = start + timedelta(days=rng.randrange(days), hours=local.hour, minutes=local.minute,
                                   seconds=rng.randrange(60))
        amount = (amount * Decimal(str(round(rng.uniform(0.8, 1.2), 2)))).quantize(Decimal("0.01"))
        if rng.random() < 0.01:  # the unusual ones
            kind = rng.randrange(3)
            if kind == 0:
                amount = Decimal("-38000.00")
            elif kind == 1:
                counterparty, amount = "Unknown Trading Ltd", Decimal("-15000.00")
                category, channel = "transfer", "online"
            else:
                moment = moment.replace(hour=3)
                amount = Decimal("-4200.00")
        rows.append({"customer_id": customer, "account_id": account, "amount": amount or Decimal("-1.00"),
                     "timestamp": moment, "category": category, "channel": channel, "counterparty": counterparty})
    rows.sort(key=lambda r: r["timestamp"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--api-requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from bank.registry import active_version
    from risk.ml.dataset import credit_rows, data_end
    from risk.ml.scoring import active_credit_model
    from risk.ml.training import train_anomaly_model, train_credit_model
    from risk.models import Alert, MonitoringCursor
    from risk.monitoring.engine import Monitor, event_from_row, reset_monitor
    from risk.services.credit import score_customers
    from risk.services.monitoring import BATCH_CURSOR, monitor_new_transactions

    call_command("migrate", interactive=False, verbosity=0)
    if not Customer.objects.exists():
        print(f"seeding {args.customers:,} customers, 6 months …", flush=True)
        call_command("seed_demo", customers=args.customers, seed=7, months=6, quiet=True)
    customers = Customer.objects.count()
    transactions = Transaction.objects.count()
    print(f"bank: {customers:,} customers, {transactions:,} transactions; {os.cpu_count()} CPUs, CPU only\n")

    started = time.perf_counter()
    credit = train_credit_model(activate=active_version("risk.credit") is None)
    print(f"train risk.credit   {time.perf_counter() - started:7.1f} s  ({credit.version.training_data['rows']:,} "
          f"borrowers, {credit.version.training_data['defaults']:,} defaults; 5-fold AUC gbm "
          f"{credit.metrics['gbm']['auc']:.3f}, scorecard {credit.metrics['scorecard']['auc']:.3f})")
    started = time.perf_counter()
    anomaly = train_anomaly_model(activate=active_version("risk.anomaly") is None)
    print(f"train risk.anomaly  {time.perf_counter() - started:7.1f} s  "
          f"({anomaly.version.training_data['rows']:,} transactions replayed)")

    loaded = active_credit_model()
    rows, _ = credit_rows(window_end=data_end(), feature_days=loaded.feature_days)
    started = time.perf_counter()
    scored = loaded.model.score(rows.table)
    _ = scored.pd_gbm.sum() + scored.pd_scorecard.sum()
    model_seconds = time.perf_counter() - started
    started = time.perf_counter()
    n = len(score_customers(propose_interventions=False))
    seconds = time.perf_counter() - started
    print(f"scoring, models only        {rows.table.n / model_seconds:10,.0f} customers/s (both models)")
    print(f"scoring, score_customers    {n / seconds:10,.0f} customers/s (SQL features, both models, 3 reasons "
          f"each, rows + grades written; {n:,} in {seconds:.1f} s)\n")

    stream = synthetic_stream(args.events, seed=args.seed)
    monitor = Monitor()
    started = time.perf_counter()
    monitor.warm({r["customer_id"] for r in stream}, now=stream[0]["timestamp"])
    warm_seconds = time.perf_counter() - started
    events = [event_from_row(**r, zone=monitor.zone) for r in stream]
    started = time.perf_counter()
    verdicts = []
    for i in range(0, len(events), 1000):
        verdicts += monitor.evaluate_many(events[i:i + 1000])
    seconds = time.perf_counter() - started
    alerting = sum(v.alerting for v in verdicts)
    print(f"monitoring, engine in-process  {len(events) / seconds:10,.0f} tx/s  ({len(events):,} transactions, "
          f"{alerting:,} alerts, {sum(v.decision != 'accept' for v in verdicts):,} review/block; state of "
          f"{len(monitor.states):,} customers warmed in {warm_seconds:.1f} s beforehand)")

    newest = Transaction.objects.order_by("-id").values_list("id", flat=True).first()
    MonitoringCursor.objects.update_or_create(name=BATCH_CURSOR, defaults={"last_transaction_id": newest})
    inserted = Transaction.objects.bulk_create([Transaction(**r) for r in stream], batch_size=5000)
    last_alert = Alert.objects.order_by("-id").values_list("id", flat=True).first() or 0
    reset_monitor()
    started = time.perf_counter()
    result = monitor_new_transactions()
    seconds = time.perf_counter() - started
    print(f"monitoring, batch path      {result['transactions'] / seconds:10,.0f} tx/s  (read rows, warm states from "
          f"SQL, judge, write {result['alerts']:,} alerts, move the cursor; cold process)")

    from customers.models import Partner, PartnerConsent, PartnerScope
    from customers.partners import issue_partner_token

    partner, _ = Partner.objects.get_or_create(name="Benchmark processor")
    sample = list(Customer.objects.order_by("id").values_list("id", flat=True)[:2000])
    PartnerConsent.objects.bulk_create([PartnerConsent(customer_id=c, partner=partner) for c in sample],
                                       ignore_conflicts=True)
    _, secret = issue_partner_token(partner=partner, name="bench", scopes=[PartnerScope.TRANSACTIONS_WRITE])
    accounts = {}
    for customer in Customer.objects.filter(id__in=sample).prefetch_related("accounts"):
        current = next((a for a in customer.accounts.all() if a.type == "current"), None)
        if current is not None:
            accounts[customer.pk] = (str(customer.public_id), str(current.public_id))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    rng = random.Random(args.seed)  # nosec B311  # seeded synthetic benchmark data, not security
    latencies: list[float] = []
    decisions: dict[str, int] = {}
    moment = stream[-1]["timestamp"] + timedelta(hours=1)  # after the synthetic week, as new traffic would be
    api_started = time.perf_counter()
    for i in range(args.api_requests):
        customer, account = accounts[rng.choice(list(accounts))]
        body = {"customer": customer, "account": account, "amount": f"-{rng.uniform(20, 400):.2f}",
                "category": rng.choice(["groceries", "dining", "transport", "shopping"]), "channel": "pos",
                "counterparty": "FreshMart 鲜丰超市", "timestamp": (moment + timedelta(seconds=i)).isoformat()}
        started = time.perf_counter()
        response = client.post("/api/v1/risk/transactions/", body, content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY=f"bench-{args.seed}-{i}-{time.time_ns()}")
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 201), response.content[:300]  # nosec B101  # a benchmark script: a failed request aborts the run
        decision = response.json()["decision"]
        decisions[decision] = decisions.get(decision, 0) + 1
    api_seconds = time.perf_counter() - api_started
    print(f"monitoring, API             {args.api_requests / api_seconds:10,.0f} tx/s  (one client, in-process "
          f"request stack; p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
          f"p99 {percentile(latencies, 99):.1f} ms; decisions {decisions})")

    # Leave the bank as it was: the synthetic and API rows, their alerts and idempotency records go.
    from risk.models import IngestionRecord

    ids = [t.pk for t in inserted]
    Alert.objects.filter(id__gt=last_alert).delete()
    Transaction.objects.filter(pk__in=ids).delete()
    Transaction.objects.filter(id__gt=max(ids), counterparty="FreshMart 鲜丰超市", timestamp__gte=moment).delete()
    IngestionRecord.objects.filter(key__startswith="bench-").delete()
    MonitoringCursor.objects.filter(name=BATCH_CURSOR).delete()


if __name__ == "__main__":
    main()
