"""django-q2 end to end: a real `qcluster` process takes a task from the broker and stores its result.

Run against the ORM broker (the default) and against Redis (the scale-out path) when one is reachable.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _cluster_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    # The cluster must see the test database, not the development one.
    name = connection.settings_dict["NAME"]
    if connection.settings_dict["ENGINE"] == "bank.db.embedded":
        env["EMBEDDED_PG_DB"] = name
    else:
        params = connection.get_connection_params()
        env["DATABASE_URL"] = f"postgresql://{params.get('user', '')}@{params.get('host', '')}/{name}"
    env.update(extra)
    return env


def _round_trip(env: dict[str, str], *, cluster_name: str | None = None) -> object:
    from django_q.tasks import async_task, result

    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        task_id = async_task("math.floor", 2.5, cluster=cluster_name) if cluster_name else async_task(
            "math.floor", 2.5)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            value = result(task_id)
            if value is not None:
                return value
            assert cluster.poll() is None, cluster.stderr.read()[-2000:] if cluster.stderr else ""
            time.sleep(0.3)
        raise AssertionError("the cluster did not run the task within 60 s")
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_orm_broker_cluster_runs_a_task():
    assert _round_trip(_cluster_env({})) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ml_cluster_takes_tasks_queued_for_it(settings):
    env = _cluster_env({"Q_CLUSTER_NAME": settings.ML_CLUSTER})
    assert _round_trip(env, cluster_name=settings.ML_CLUSTER) == 2


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_redis_broker_cluster_runs_a_task():
    url = "redis://127.0.0.1:6379/13"
    env = _cluster_env({"Q_BROKER_URL": url})
    # This process queues through Redis too: django_q reads its configuration once, at import.
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','bank.settings'); django.setup();"
        "from django_q.tasks import async_task; print(async_task('math.floor', 7.9))"
    )
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        queued = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert queued.returncode == 0, queued.stderr[-2000:]
        task_id = queued.stdout.strip().splitlines()[-1]
        from django_q.models import Task

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            task = Task.objects.filter(id=task_id).first()
            if task is not None:
                assert task.success and task.result == 7
                return
            time.sleep(0.3)
        raise AssertionError("the Redis-backed cluster did not run the task within 60 s")
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()
