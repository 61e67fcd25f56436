"""Liveness and readiness: what /healthz and /readyz check.

Liveness is the process answering at all (no database: a restart never fixes a database outage, and an
orchestrator that restarts every web process while the database is down makes the outage worse).

Readiness is "this process can serve the bank's pages and API, and the platform around it is whole":
- database: a round trip to PostgreSQL;
- migrations: none of this code's migrations is unapplied (a deploy that skipped `migrate` serves errors);
- models: every model in READYZ_MODELS (by default each trained one, settings.MODEL_TRAINING_TASKS) has an
  active version whose artifact is on disk (the sha256 was checked when it was activated; hashing 100 MB on
  every probe would not be a probe);
- workers: every django-q2 cluster (the default one and "ml") has a heartbeat within
  READYZ_WORKER_MAX_AGE_SECONDS (bank.observability.heartbeats).
Every check runs and reports its status and time; those named in READYZ_CHECKS decide the answer (all four by
default; docs/runbook.md says when a web tier should leave workers out). Details name no host, user or error
text: the endpoint is public. What failed is logged in full.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bank.models import ModelVersion
from bank.observability.heartbeats import expected_queues, queue_liveness

logger = logging.getLogger(__name__)

CHECK_NAMES = ("database", "migrations", "models", "workers")


class CheckFailed(Exception):
    """A readiness check's negative answer; its message is safe to show the caller."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    required: bool
    detail: str
    duration_ms: float

    def as_json(self) -> dict[str, object]:
        return {"status": "ok" if self.ok else "fail", "required": self.required, "detail": self.detail,
                "duration_ms": round(self.duration_ms, 1)}


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "reachable"


def check_migrations() -> str:
    executor = MigrationExecutor(connection)
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if unapplied:
        raise CheckFailed(f"{len(unapplied)} unapplied migration(s): run `manage.py migrate`")
    return "all applied"


def check_models() -> str:
    required = list(settings.READYZ_MODELS)
    active = {
        name: path for name, path in ModelVersion.objects.filter(
            name__in=required, status=ModelVersion.Status.ACTIVE).values_list("name", "artifact_path")
    }
    # Model names are the registry's public vocabulary (README, admin), not secrets.
    no_version = [name for name in required if name not in active]
    no_files = [name for name in required if name in active and not Path(active[name]).exists()]
    if no_version or no_files:
        parts = []
        if no_version:
            parts.append(f"no active version: {', '.join(no_version)}")
        if no_files:
            parts.append(f"artifact missing: {', '.join(no_files)}")
        raise CheckFailed("; ".join(parts))
    return f"{len(required)} active" if required else "none required"


def check_workers() -> str:
    if settings.Q_CLUSTER.get("sync"):
        return "tasks run in-process (Q_SYNC)"
    within = settings.READYZ_WORKER_MAX_AGE_SECONDS
    queues = queue_liveness(expected_queues(), within_seconds=within)
    parts = []
    for queue in queues:
        if queue.alive:
            parts.append(f"{queue.queue}: {queue.alive} alive")
        elif queue.last_beat_age is None:
            parts.append(f"{queue.queue}: no heartbeat ever")
        else:
            parts.append(f"{queue.queue}: last heartbeat {queue.last_beat_age:.0f} s ago")
    detail = "; ".join(parts)
    if any(not queue.alive for queue in queues):
        raise CheckFailed(detail)
    return detail


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "models": check_models,
    "workers": check_workers,
}


def run_checks() -> list[CheckResult]:
    """Run every readiness check, each timed; the ones after a failed database check are not attempted."""
    required = set(settings.READYZ_CHECKS)
    results: list[CheckResult] = []
    database_ok = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        if name != "database" and not database_ok:
            ok, detail = False, "not checked: the database is unreachable"
        else:
            try:
                ok, detail = True, check()
            except CheckFailed as failure:
                ok, detail = False, str(failure)
            except Exception:  # any error is a "not ready", never a 500 from the probe
                logger.warning("Readiness check %s failed", name, exc_info=True)
                ok, detail = False, "error (logged)"
                if name == "database":
                    # The broken connection is closed when the request finishes (CONN_HEALTH_CHECKS).
                    detail = "unreachable (logged)"
        if name == "database":
            database_ok = ok
        results.append(CheckResult(name=name, ok=ok, required=name in required, detail=detail,
                                   duration_ms=(time.perf_counter() - started) * 1000))
    return results


def is_ready(results: list[CheckResult]) -> bool:
    return all(result.ok for result in results if result.required)
