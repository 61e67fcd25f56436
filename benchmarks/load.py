"""Load test: the portal + API mix (benchmarks/locustfile.py) against gunicorn on 127.0.0.1, headless, bounded.

    python benchmarks/load.py --customers 2000 --users 20 --duration 60

1. Sets up a demo bank of --customers in its own embedded PostgreSQL (var/bench/pg-load, database bench_load;
   never the platform's own), with `manage.py demo --no-serve` (idempotent: a second run reuses it, models too).
2. Issues the demo logins (a customer, the demo partner's token with every scope, consented customers).
3. Starts gunicorn as `manage.py demo` does (bank.wsgi, --web-workers workers) on a free port, warms every route
   up (models load lazily, once per worker), then runs locust for --duration seconds with --users users.
4. Prints throughput, p50/p95/p99 per route and the error rate; writes locust's CSVs under var/bench/load/.

The API rate limits stay on (their counting is part of each request's cost) but are raised out of reach: all
API users share one partner token, and a real partner's limit is not what is measured here. Not part of CI.
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess  # nosec B404  # starts gunicorn and locust, fixed argv
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):  # nosec B310  # http://127.0.0.1 only
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer {url} within {timeout:.0f} s")


def _get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # nosec B310  # http://127.0.0.1 only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5.0)
    parser.add_argument("--duration", type=int, default=60, help="Seconds of measured load.")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--datadir", default=str(ROOT / "var" / "bench" / "pg-load"))
    args = parser.parse_args()

    os.environ.pop("DATABASE_URL", None)
    os.environ.update({
        "EMBEDDED_PG_DATADIR": args.datadir,
        "EMBEDDED_PG_DB": "bench_load",
        "BANK_VAR_DIR": str(Path(args.datadir).parent / "load-var"),
        "DJANGO_SETTINGS_MODULE": "bank.settings",
        "API_RATE_LIMIT_READS": "1000000",
        "API_RATE_LIMIT_WRITES": "1000000",
    })
    out = ROOT / "var" / "bench" / "load"
    out.mkdir(parents=True, exist_ok=True)
    python = sys.executable

    started = time.monotonic()
    subprocess.run([python, "manage.py", "demo", "--no-serve", "--customers", str(args.customers)],  # nosec B603
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"demo bank ready in {time.monotonic() - started:.0f} s")

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from bank.demo_logins import DEMO_PASSWORD, ensure_demo_logins
    from customers.models import Customer, PartnerConsent
    from products.models import Product

    logins = ensure_demo_logins()
    consenting = list(PartnerConsent.objects.filter(partner__name="Demo Fintech").order_by("customer_id")
                      .values_list("customer__public_id", flat=True)[:200])
    codes = list(Product.objects.order_by("code").values_list("code", flat=True))
    print(f"{Customer.objects.count():,} customers, {len(codes)} products, {len(consenting)} consenting customers")

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # This process holds the embedded PostgreSQL open; gunicorn's workers join it.
    server = subprocess.Popen(  # nosec B603  # fixed argv
        [python, "-m", "gunicorn", "bank.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(args.web_workers),
         "--timeout", "120", "--log-level", "warning"], cwd=ROOT, env=dict(os.environ))
    try:
        _wait_until_up(f"{base}/login/", timeout=120)
        warm = time.monotonic()
        # Each worker loads its models on first use: several requests per heavy route reach every worker.
        for customer in consenting[: 4 * args.web_workers]:
            _get(f"{base}/api/v1/customers/{customer}/recommendations/", logins.partner_token)
            _get(f"{base}/api/v1/products/?q=travel", logins.partner_token)
        print(f"warmed up in {time.monotonic() - warm:.0f} s; load: {args.users} users for {args.duration} s")

        env = {**os.environ, "LOAD_CUSTOMER_USERNAME": logins.customer_username, "LOAD_PASSWORD": DEMO_PASSWORD,
               "LOAD_PARTNER_TOKEN": logins.partner_token, "LOAD_CUSTOMER_IDS": ",".join(map(str, consenting)),
               "LOAD_PRODUCT_CODES": ",".join(codes)}
        subprocess.run(  # nosec B603  # fixed argv
            [python, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"), "--headless",
             "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", f"{args.duration}s",
             "--host", base, "--csv", str(out / "load"), "--only-summary", "--loglevel", "WARNING",
             "--stop-timeout", "10"],
            cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(out / "load_stats.csv", duration=args.duration, users=args.users, workers=args.web_workers)


def report(stats: Path, *, duration: int, users: int, workers: int) -> None:
    rows = list(csv.DictReader(stats.open()))
    print(f"\n{users} users, {duration} s, gunicorn {workers} workers, {os.cpu_count()} CPUs (shared with locust)")
    print(f"{'route':<32} {'requests':>8} {'errors':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "ALL"
        print(f"{name:<32} {row['Request Count']:>8} {row['Failure Count']:>7} {float(row['Requests/s']):>7.1f} "
              f"{row['50%']:>7} {row['95%']:>7} {row['99%']:>7}")
    total = next(row for row in rows if row["Name"] == "Aggregated")
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    print(f"\nthroughput {float(total['Requests/s']):.1f} req/s; error rate {failures / max(requests, 1):.2%} "
          f"({failures} of {requests})")
    failures_csv = stats.with_name("load_failures.csv")
    if failures and failures_csv.exists():
        for row in csv.DictReader(failures_csv.open()):
            print(f"  {row['Method']} {row['Name']}: {row['Occurrences']}x {row['Error'][:160]}")


if __name__ == "__main__":
    main()
