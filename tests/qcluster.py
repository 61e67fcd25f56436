"""A real `manage.py qcluster` for end-to-end tests: started on the test database, stopped whatever happens.

The cluster is a separate process. It gets the database this test runs on (test_<EMBEDDED_PG_DB>) as DATABASE_URL,
the way a worker machine is configured, so it sees only committed rows: tests that use it must be transactional
(`@pytest.mark.django_db(transaction=True, serialized_rollback=True)`, see tests/test_concurrency.py). Used by
tests/test_workers.py (ORM broker) and tests/test_redis_broker.py (Redis broker).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"

T = TypeVar("T")


def redis_reachable() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def cluster_database_url() -> str:
    """DATABASE_URL of the database this test runs on (the embedded server's socket folder as the host)."""
    connection.ensure_connection()
    db = connection.settings_dict
    assert db["NAME"].startswith("test_"), db["NAME"]
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "", safe="") + (f":{db['PORT']}" if db.get("PORT") else "")
    return f"postgresql://{credentials}@{host}/{quote(db['NAME'], safe='')}"


@contextmanager
def running_cluster(log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run `manage.py qcluster` on the test database, with `env` (Q_CLUSTER_NAME, Q_BROKER_URL, ...) over this
    process's environment and its output in `log`; on leaving, SIGTERM it and wait (SIGKILL after 30 s)."""
    cluster_env = {**os.environ, "DATABASE_URL": cluster_database_url(), "DJANGO_SETTINGS_MODULE": "bank.settings",
                   **env}
    cluster_env.pop("Q_SYNC", None)  # a synchronous configuration would make the cluster pointless
    with log.open("w") as sink:
        cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=cluster_env,
                                   stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield cluster
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()
            cluster.wait()


def wait_for(predicate: Callable[[], T], *, cluster: subprocess.Popen[bytes], log: Path, what: str,
             seconds: float = 90) -> T:
    """The first truthy value of `predicate()`, polled while the cluster runs; fails with the cluster's log if the
    cluster exits or `seconds` pass (`what` says what did not happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        assert cluster.poll() is None, f"the cluster exited early:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)
    raise AssertionError(f"{what} within {seconds} s; cluster log:\n{log.read_text()[-3000:]}")


def sleepy_part_task(job_id: int, part: str, size: int, seconds: float) -> dict[str, object]:
    """A part of a fanned-out Job for the cluster tests (`bank.jobs.run_part`): waits, then says which worker ran it."""
    from bank.jobs import run_part

    def work() -> dict[str, object]:
        time.sleep(seconds)
        return {"items": size, "worker": str(os.getpid())}

    return run_part(job_id, key=part, size=size, work=work)
