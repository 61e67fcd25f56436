"""A django-q2 worker SIGKILLed while it writes a model artifact: the training is redelivered and finishes, and no
partial artifact is left, registered or served.

The real path end to end: `start_job` queues `risk.tasks.train_anomaly_task` on the ML cluster (ORM broker, the test
database), a real `qcluster` process (Q_CLUSTER_NAME=ml) trains the anomaly model on the transactions below and
registers it through bank.registry. The first cluster runs with one change, made by the launcher below: once the
artifact's files are in their scratch folder it cuts the biggest one in half (a write in progress), says so and
stalls before the rename. The test then SIGKILLs that cluster's whole process group (parent, sentinel, worker: a
container or machine OOM-killed) and starts a plain one. The ORM broker redelivers a task whose worker never
acknowledged it once `retry` seconds have passed since it was handed out (Q_ML_RETRY, short here); the Job records
two attempts; the second registration sweeps what the dead writer left (bank.registry.sweep_orphaned_scratch).

Transactional: the cluster's processes need committed rows (see tests/test_concurrency.py on serialized_rollback).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from bank import registry
from bank.jobs import start_job
from bank.models import Job, ModelVersion

ROOT = Path(__file__).resolve().parent.parent
ANOMALY = "risk.anomaly"
# The first attempt is killed within seconds; the second must finish within TIMEOUT (training here takes ~2 s).
# The broker hands the task out again RETRY seconds after it first did: that wait is most of this test's time.
TIMEOUT_SECONDS, RETRY_SECONDS = 15, 18

# Runs `qcluster` with bank.registry._atomic_dir wrapped: after the artifact's files are written into the scratch
# folder and before they are renamed into place, the biggest file is cut to half its size, the marker file names
# the worker's pid and the scratch folder, and the worker waits to be killed. django-q2 forks its workers, so they
# inherit the wrapper.
STALLING_CLUSTER = """
import os, sys, time
from contextlib import contextmanager
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
django.setup()

from bank import registry

unpatched = registry._atomic_dir
marker = Path(os.environ["FAULT_MARKER"])


@contextmanager
def stalls_mid_write(final):
    with unpatched(final) as scratch:
        yield scratch
        files = [p for p in scratch.rglob("*") if p.is_file()]
        biggest = max(files, key=lambda p: p.stat().st_size)
        os.truncate(biggest, biggest.stat().st_size // 2)
        marker.write_text(f"{os.getpid()} {scratch}")
        time.sleep(3600)


registry._atomic_dir = stalls_mid_write
from django.core.management import call_command

call_command("qcluster")
"""


def _cluster_env(artifacts: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The cluster must see the test database, not the development one (as in tests/test_workers.py).
    name = connection.settings_dict["NAME"]
    if connection.settings_dict["ENGINE"] == "bank.db.embedded":
        env["EMBEDDED_PG_DB"] = name
    else:
        params = connection.get_connection_params()
        env["DATABASE_URL"] = f"postgresql://{params.get('user', '')}@{params.get('host', '')}/{name}"
    env.update({
        "Q_CLUSTER_NAME": "ml", "Q_ML_TIMEOUT": str(TIMEOUT_SECONDS), "Q_ML_RETRY": str(RETRY_SECONDS),
        "MODEL_ARTIFACT_DIR": str(artifacts), "LOG_LEVEL": "WARNING",
    })
    env.pop("Q_SYNC", None)
    return env


def _seed_transactions(customers: int = 4, each: int = 45) -> None:
    """Enough history for the anomaly model (it learns from every transaction after a customer's first 10)."""
    from customers.models import Transaction
    from customers.tests.factories import AccountFactory, CustomerFactory

    start = datetime(2026, 3, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    rows = []
    for c in range(customers):
        account = AccountFactory(customer=CustomerFactory())
        for i in range(each):
            rows.append(Transaction(
                account=account, customer=account.customer, amount=Decimal(-(20 + (i * 37 + c * 11) % 400)),
                timestamp=start + timedelta(hours=7 * i + c), merchant=f"Shop {i % 6}",
                category=("groceries", "dining", "transport")[i % 3], channel=("pos", "online")[i % 2],
                counterparty=f"Shop {i % 6} Ltd",
            ))
    Transaction.objects.bulk_create(rows)


def _stop(cluster: subprocess.Popen[str]) -> None:
    if cluster.poll() is None:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()


def _wait_for(condition, *, seconds: float, cluster: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if cluster.poll() is not None:
            raise AssertionError(f"the cluster exited ({cluster.returncode}) before {what}: "
                                 f"{cluster.stderr.read()[-3000:] if cluster.stderr else ''}")
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {seconds} s")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_write_is_redelivered_and_leaves_no_partial_artifact(settings, tmp_path):
    from django_q.models import OrmQ, Task

    from risk.monitoring.anomaly import FlatForest

    _seed_transactions()
    artifacts = Path(settings.MODEL_ARTIFACT_DIR)
    marker = tmp_path / "stalled-mid-write"
    env = _cluster_env(artifacts)
    started = time.monotonic()

    job = start_job(kind="Train risk.anomaly", task=settings.MODEL_TRAINING_TASKS[ANOMALY], ml=True)

    first = subprocess.Popen([sys.executable, "-c", STALLING_CLUSTER], cwd=ROOT,
                             env={**env, "FAULT_MARKER": str(marker)}, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(marker.exists, seconds=45, cluster=first, what="worker writing the artifact")
        worker_pid, scratch_path = marker.read_text().split(maxsplit=1)
        scratch = Path(scratch_path)
        # Mid-write: the files exist, one of them half written, and nothing has been renamed into place.
        assert scratch.is_dir() and any(scratch.iterdir())
        assert ModelVersion.objects.get(name=ANOMALY).status == ModelVersion.Status.TRAINING

        os.killpg(first.pid, signal.SIGKILL)  # the cluster's parent, sentinel, monitor and worker at once
        first.wait(timeout=10)
        killed_at = time.monotonic()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()

    # What the kill left: a hidden scratch folder with a half-written file, no artifact, nothing active, the Job
    # stuck "running" on its first attempt, the task still in the queue (never acknowledged).
    assert scratch.is_dir()
    assert [p.name for p in (artifacts / ANOMALY).iterdir() if not p.name.startswith(".")] == []
    assert registry.active_version(ANOMALY) is None
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.RUNNING, 1)
    assert OrmQ.objects.count() == 1

    second = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: Job.objects.filter(pk=job.pk, state__in=[Job.State.DONE, Job.State.FAILED]).exists(),
                  seconds=RETRY_SECONDS + TIMEOUT_SECONDS + 20, cluster=second, what="redelivered training")
        finished_at = time.monotonic()
        _wait_for(lambda: OrmQ.objects.count() == 0, seconds=10, cluster=second, what="acknowledgement")
    finally:
        _stop(second)

    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == (Job.State.DONE, 2, "")
    assert job.result["version"] == f"{ANOMALY}@v2" and job.result["activated"] is True
    # django-q2 recorded the one run that finished; the killed one never reported anything.
    tasks = list(Task.objects.filter(func="risk.tasks.train_anomaly_task").values_list("success", "result"))
    assert tasks == [(True, job.result["version_id"])]

    versions = {v.version: v for v in ModelVersion.objects.filter(name=ANOMALY)}
    assert {n: v.status for n, v in versions.items()} == {1: ModelVersion.Status.FAILED, 2: ModelVersion.Status.ACTIVE}
    assert versions[1].artifact_path == "" and f"pid {worker_pid}" in versions[1].notes
    # The only folder left is the complete, verified v2; the dead writer's scratch folder is gone.
    active = versions[2]
    assert [p.name for p in (artifacts / ANOMALY).iterdir()] == [Path(active.artifact_path).name]
    assert not scratch.exists()
    assert registry.verify(active)
    # Nothing registered as usable points at a missing or partial file, and the active model loads.
    usable = ModelVersion.objects.filter(status__in=[ModelVersion.Status.READY, ModelVersion.Status.ACTIVE])
    assert all(registry.verify(v) for v in usable)
    loaded = FlatForest.load(Path(active.artifact_path))
    assert round(loaded.threshold_score, 5) == active.metrics["threshold_score"]
    print(f"\nworker kill: killed {killed_at - started:.1f} s after queueing; redelivered and finished "
          f"{finished_at - killed_at:.1f} s after the kill (retry {RETRY_SECONDS} s); attempts {job.attempts}")


@pytest.mark.django_db
def test_sweep_removes_only_scratch_folders_whose_writer_is_gone(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    folder = tmp_path / "models" / "demo.model"
    folder.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # a writer that has exited (and been reaped)
    gone.wait()
    host = registry._host_tag()
    other_host = "f" * 8 if host != "f" * 8 else "e" * 8
    dead = folder / f".v1-0a1b2c3d.{host}-{gone.pid}.x1"
    alive = folder / f".v2-0a1b2c3d.{host}-{os.getpid()}.x2"
    elsewhere = folder / f".v3-0a1b2c3d.{other_host}-{gone.pid}.x3"
    for scratch in (dead, alive, elsewhere):
        scratch.mkdir()
        (scratch / "weights.bin").write_bytes(b"half")
    for n in (1, 2, 3):
        ModelVersion.objects.create(name="demo.model", version=n)

    assert registry.sweep_orphaned_scratch("demo.model") == [dead]

    assert sorted(p.name for p in folder.iterdir()) == sorted([alive.name, elsewhere.name])
    statuses = dict(ModelVersion.objects.filter(name="demo.model").values_list("version", "status"))
    assert statuses == {1: ModelVersion.Status.FAILED, 2: ModelVersion.Status.TRAINING,
                        3: ModelVersion.Status.TRAINING}
