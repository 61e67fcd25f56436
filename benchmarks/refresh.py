"""The nightly refresh of everyone's recommendation list (issue 9, "beyond one machine"): one process going
through the customers, against the same customers split into parts and taken by real django-q2 ML clusters.

    EMBEDDED_PG_DB=bank_bench python benchmarks/refresh.py --customers 1200 --part 100 --workers 1,2

Uses the bank `benchmarks/recommend.py` built (its database and artifact folder; run that first), then, on the
first --customers consenting customers:

- the peer: `recommend_products` for each customer in this process, one after the other, with the model loaded
  beforehand -- what the refresh was before it was split (one task for the whole bank, which a million customers
  would keep busy for hours, past the ML cluster's one-hour timeout);
- the split refresh: `bank.jobs.fan_out` of parts of --part customers (what `recommend_all_task` queues, limited
  here to the same customers), taken by a real `manage.py qcluster` (Q_CLUSTER_NAME=ml) with each --workers
  count over the ORM broker, timed from the fan-out until the Job is done. Each cluster is started and warmed
  first (a small job, so that every worker has loaded the model), as a worker that has run a night before is.

Every run adds a batch list per customer (as the nightly refresh does). It prints customers/s per run and the
ratio to the peer, and the machine's cores: on N cores, more than N workers only share them.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_bench")
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(ROOT / "var" / "bench" / "models"))
for _name in ("ML_CPU_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one thread per worker process, as a cluster worker runs

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from advisor.ml import scoring  # noqa: E402
from advisor.models import Channel  # noqa: E402
from advisor.services import recommend_products  # noqa: E402
from bank.jobs import fan_out, id_range_parts  # noqa: E402
from bank.models import Job  # noqa: E402
from customers.models import Customer  # noqa: E402


def database_url() -> str:
    connection.ensure_connection()
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "", safe="") + (f":{db['PORT']}" if db.get("PORT") else "")
    return f"postgresql://{credentials}@{host}/{quote(db['NAME'], safe='')}"


def start_cluster(workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url(), "Q_CLUSTER_NAME": "ml", "Q_ML_WORKERS": str(workers)}
    env.pop("Q_SYNC", None)
    with log.open("w") as sink:
        return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,  # nosec B603  # our own manage.py
                                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)


def stop_cluster(cluster: subprocess.Popen[bytes]) -> None:
    os.killpg(cluster.pid, signal.SIGTERM)
    try:
        cluster.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()


def split_run(customer_ids: list[int], part: int, *, cluster: subprocess.Popen[bytes], log: Path) -> float:
    """Fan the customers out in parts of `part` and wait for the Job; returns the seconds it took."""
    customers = Customer.objects.filter(pk__in=customer_ids)
    parts = id_range_parts(customers, part)
    started = time.perf_counter()
    job = fan_out(kind="Refresh recommendations (benchmark)", task="benchmarks/refresh.py",
                  part_task="advisor.tasks.recommend_part_task", parts=parts, ml=True, k=10)
    while True:
        job.refresh_from_db()
        if job.state == Job.State.DONE:
            return time.perf_counter() - started
        if job.state == Job.State.FAILED or cluster.poll() is not None:
            raise SystemExit(f"the refresh failed ({job.error or 'cluster exited'}); log: {log.read_text()[-2000:]}")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1200)
    parser.add_argument("--part", type=int, default=100, help="customers per part (the setting's default: 1000)")
    parser.add_argument("--workers", default="1,2", help="ML workers per cluster, comma-separated")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    logging.getLogger("django-q").setLevel(logging.WARNING)  # a line per queued part otherwise
    consenting = Customer.objects.filter(consent_profiling=True).order_by("pk")
    ids = list(consenting.values_list("pk", flat=True)[: args.customers])
    if len(ids) < args.customers:
        raise SystemExit(f"the bank has {len(ids)} consenting customers; build it with benchmarks/recommend.py")
    if scoring.active_recommender() is None:
        raise SystemExit("no active recommender; run benchmarks/recommend.py first")
    print(f"{len(ids):,} customers, parts of {args.part}, {os.cpu_count()} cores", flush=True)

    started = time.perf_counter()
    for customer in Customer.objects.filter(pk__in=ids).order_by("pk"):
        recommend_products(customer=customer, k=10, channel=Channel.BATCH)
    peer = time.perf_counter() - started
    rows = [("one process, customer after customer (the peer)", peer)]
    print(f"{rows[0][0]:<58}{peer:>8.1f} s{len(ids) / peer:>9.1f} customers/s", flush=True)

    log = ROOT / "var" / "bench" / "refresh-cluster.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    for workers in (int(w) for w in args.workers.split(",")):
        cluster = start_cluster(workers, log)
        try:
            split_run(ids[: 2 * workers], 1, cluster=cluster, log=log)  # warm: every worker loads the model
            seconds = split_run(ids, args.part, cluster=cluster, log=log)
        finally:
            stop_cluster(cluster)
        label = f"split into parts, one ML cluster of {workers} worker{'s' if workers > 1 else ''}"
        print(f"{label:<58}{seconds:>8.1f} s{len(ids) / seconds:>9.1f} customers/s{peer / seconds:>8.2f}× the peer",
              flush=True)


if __name__ == "__main__":
    main()
