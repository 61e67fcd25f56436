"""/healthz and /readyz: liveness without the database; readiness 200 only when every required check passes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from bank.models import ModelVersion
from bank.observability.models import ClusterHeartbeat

REQUIRED_MODELS = ["advisor.recommender", "chat.intents", "risk.credit", "risk.anomaly"]


def test_healthz_answers_without_the_database(client):
    # No django_db mark: any query would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_probes_answer_an_orchestrator_calling_by_address_over_plain_http(client, settings):
    # A kubelet probes http://10.1.2.3:8000/healthz: not an allowed host, and HTTPS-only mode would redirect it.
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_probes_refuse_writes(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


def _everything_ready(tmp_path) -> None:
    for number, name in enumerate(REQUIRED_MODELS, start=1):
        folder = tmp_path / name
        folder.mkdir()
        ModelVersion.objects.create(name=name, version=number, status=ModelVersion.Status.ACTIVE,
                                    artifact_path=str(folder), activated_at=timezone.now())
    for queue in ("bank", "ml"):
        ClusterHeartbeat.objects.create(key=f"django_q:bank:cluster:{queue}-1", queue=queue, host="worker-7.internal",
                                        pid=4242, status="Idle", workers=2, stat="x", beat_at=timezone.now())


@pytest.mark.django_db
def test_readyz_is_200_when_every_check_passes(client, tmp_path):
    _everything_ready(tmp_path)

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {name: (check["status"], check["required"], check["detail"]) for name, check in body["checks"].items()} == {
        "database": ("ok", True, "reachable"),
        "migrations": ("ok", True, "all applied"),
        "models": ("ok", True, "4 active"),
        "workers": ("ok", True, "bank: 1 alive; ml: 1 alive"),
    }
    assert all(isinstance(check["duration_ms"], float) for check in body["checks"].values())
    # Public endpoint: no host names or process ids of the workers.
    assert b"worker-7" not in response.content and b"4242" not in response.content


@pytest.mark.django_db
def test_readyz_is_503_when_an_active_model_is_missing_or_its_files_are_gone(client, tmp_path):
    _everything_ready(tmp_path)
    ModelVersion.objects.filter(name="risk.credit").update(status=ModelVersion.Status.RETIRED)
    (tmp_path / "chat.intents").rmdir()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["models"] == {
        "status": "fail", "required": True, "duration_ms": response.json()["checks"]["models"]["duration_ms"],
        "detail": "no active version: risk.credit; artifact missing: chat.intents",
    }


@pytest.mark.django_db
def test_readyz_is_503_when_a_queue_has_no_live_cluster(client, tmp_path):
    _everything_ready(tmp_path)
    ClusterHeartbeat.objects.filter(queue="ml").update(beat_at=timezone.now() - timedelta(seconds=300))

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["workers"]["status"] == "fail"
    assert checks["workers"]["detail"] == "bank: 1 alive; ml: last heartbeat 300 s ago"


@pytest.mark.django_db
def test_a_check_left_out_of_readyz_checks_is_reported_but_does_not_decide(client, settings, tmp_path):
    _everything_ready(tmp_path)
    ClusterHeartbeat.objects.all().delete()
    settings.READYZ_CHECKS = ["database", "migrations", "models"]

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["workers"] | {"duration_ms": 0} == {
        "status": "fail", "required": False, "detail": "bank: no heartbeat ever; ml: no heartbeat ever",
        "duration_ms": 0}


@pytest.mark.django_db
def test_readyz_is_503_when_a_migration_is_unapplied(client, tmp_path, monkeypatch):
    _everything_ready(tmp_path)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("a migration", False)])

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["detail"] == "1 unapplied migration(s): run `manage.py migrate`"


@pytest.mark.django_db
def test_readyz_is_503_and_says_nothing_more_when_the_database_is_unreachable(client, tmp_path, monkeypatch):
    _everything_ready(tmp_path)

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" (10.0.0.9), port 5432 failed')

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "fail"
    assert checks["database"]["detail"] == "unreachable (logged)"
    assert [checks[name]["detail"] for name in ("migrations", "models", "workers")] == [
        "not checked: the database is unreachable"] * 3
    assert b"db.internal" not in response.content


@pytest.mark.django_db
def test_workers_check_passes_when_tasks_run_in_process(client, settings, tmp_path):
    _everything_ready(tmp_path)
    ClusterHeartbeat.objects.all().delete()
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["workers"]["detail"] == "tasks run in-process (Q_SYNC)"
