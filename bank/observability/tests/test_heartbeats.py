"""The brokers' heartbeats: a cluster's statistic lands in the database and django-q2 reads it back from there."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from bank.observability import heartbeats
from bank.observability.brokers import OrmBroker
from bank.observability.models import ClusterHeartbeat


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch):
    monkeypatch.setattr(heartbeats, "_last_write", {})


def _pack(*, pid: int, status: str = "Idle") -> tuple[str, str]:
    stat = Status(pid=pid, cluster_id=uuid.uuid4())
    stat.status = status
    stat.workers = [pid + 1, pid + 2]
    return Stat.get_key(stat.cluster_id), SignedPackage.dumps(stat)


@pytest.mark.django_db
def test_a_cluster_statistic_becomes_a_heartbeat_row_that_django_q_reads_back():
    broker = OrmBroker(list_key="bank")
    key, pack = _pack(pid=321)

    broker.set_stat(key, pack, 3)

    beat = ClusterHeartbeat.objects.get()
    assert (beat.key, beat.queue, beat.pid, beat.status, beat.workers) == (key, "bank", 321, "Idle", 2)
    assert [stat.pid for stat in Stat.get_all(broker)] == [321]
    assert Stat.get(pid=321, cluster_id=key.rsplit(":", 1)[1], broker=broker).pid == 321


@pytest.mark.django_db
def test_heartbeats_are_written_every_few_seconds_or_at_once_when_the_status_changes():
    broker = OrmBroker(list_key="bank")
    key, idle = _pack(pid=5)
    broker.set_stat(key, idle, 3)
    first = ClusterHeartbeat.objects.get().beat_at

    broker.set_stat(key, idle, 3)  # half a second later, as the sentinel does
    assert ClusterHeartbeat.objects.get().beat_at == first

    _, stopping = _pack(pid=5, status="Stopping")
    broker.set_stat(key, stopping, 3)
    assert ClusterHeartbeat.objects.get().status == "Stopping"


@pytest.mark.django_db
def test_a_stopped_cluster_is_no_longer_reported_alive():
    ClusterHeartbeat.objects.create(key="django_q:bank:cluster:old", queue="bank", host="h", pid=1, stat="x",
                                    beat_at=timezone.now() - timedelta(seconds=90))
    ClusterHeartbeat.objects.create(key="django_q:bank:cluster:new", queue="bank", host="h", pid=2, stat="y",
                                    beat_at=timezone.now() - timedelta(seconds=10))

    (bank,) = heartbeats.queue_liveness(["bank"], within_seconds=60)

    assert (bank.alive, round(bank.last_beat_age)) == (1, 10)
    assert heartbeats.recent_stats(key_prefix="django_q:bank:cluster:") == ["y"]
