"""The database layer: migrations from zero, no drift between models and migrations, the shared embedded
server, and the pgvector extension."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # Fails when a model changed without a migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_vector_extension_is_enabled():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        (version,) = cursor.fetchone()
    major, minor, patch = (int(part) for part in version.split("."))
    # pgvector >= 0.8.4: earlier 0.8.x had a parallel HNSW build overflow (FACTS.md).
    assert (major, minor, patch) >= (0, 8, 4)


@pytest.mark.django_db
def test_migrations_run_from_zero_on_a_fresh_database():
    """`migrate` on an empty database, in a separate process, exactly as a new machine runs it."""
    name = f"migrate_check_{uuid.uuid4().hex[:8]}"
    env = dict(os.environ)
    params = connection.get_connection_params()
    if settings.DATABASES["default"]["ENGINE"] == "bank.db.embedded":
        env["EMBEDDED_PG_DB"] = name
    else:
        env["DATABASE_URL"] = f"postgresql://{params.get('user', '')}@{params.get('host', '')}/{name}"
        with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        with psycopg.connect(**{**params, "dbname": name}) as conn:
            tables = {row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            groups = {row[0] for row in conn.execute("SELECT name FROM auth_group")}
            grants = conn.execute(
                "SELECT count(*) FROM auth_group_permissions gp JOIN auth_group g ON g.id = gp.group_id "
                "WHERE g.name = 'Relationship manager'").fetchone()[0]
    finally:
        with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert {"customers_customer", "customers_transaction", "products_product", "bank_modelversion",
            "django_q_ormq"} <= tables
    assert groups == {"Relationship manager", "Risk officer", "Compliance officer", "Support agent",
                      "Administrator"}
    assert grants > 0


def test_two_processes_starting_at_once_share_one_embedded_server(tmp_path):
    """Two processes race to start the server on a new data directory: one initdb, one postmaster,
    both connect, and the directory is usable afterwards."""
    datadir = tmp_path / "pgdata"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        import psycopg
        from bank.db.embedded.server import ensure_server
        host = ensure_server(Path({str(datadir)!r}), database="race")
        with psycopg.connect(host=host, user="postgres", dbname="race") as conn:
            pid = conn.execute("SELECT pg_postmaster_start_time()::text").fetchone()[0]
        print(pid)
        """
    )
    # Both must hold their handle while the other checks, so start them together and let each exit.
    procs = [
        subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    starts = {out.strip() for out, _ in outputs}
    # Either both saw the same postmaster, or the first had already stopped it (last holder exits)
    # before the second started: never two servers on one directory at the same time, never a failure.
    assert len(starts) in (1, 2)
    assert (datadir / "PG_VERSION").read_text().strip() == "18"
    # The directory is intact: a third process starts it again and reads the database.
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
