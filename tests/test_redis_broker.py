"""The scale-out path end to end: a real `manage.py qcluster` on the Redis broker runs a real task.

The cluster is a separate process on pytest's test database (tests/qcluster.py: test_<EMBEDDED_PG_DB>, handed over
as DATABASE_URL, the way a worker machine is configured), under a cluster name of its own so its Redis keys
(django_q:<name>:q) collide with nothing else on the server. The task is queued from this process through Redis
while a request id is current; the test sees the task's result stored in the database, the work done (expired
rate-limit counters deleted), the cluster's heartbeat, and the worker's JSON log line carrying the request id.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.qcluster import REDIS_HOST, REDIS_PORT, REDIS_URL, redis_reachable, running_cluster, wait_for


@pytest.mark.skipif(not redis_reachable(), reason=f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT}")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_qcluster_on_the_redis_broker_runs_a_task_and_reports_its_heartbeat(tmp_path):
    import redis
    from django_guid import clear_guid, set_guid
    from django_q.models import Task
    from django_q.tasks import async_task

    from bank.models import RateLimitWindow
    from bank.observability.brokers import RedisBroker
    from bank.observability.models import ClusterHeartbeat

    name = f"test-{uuid.uuid4().hex[:12]}"
    now = timezone.now()
    RateLimitWindow.objects.create(key="ip:10.0.0.1:read", window_start=now - timedelta(hours=2), count=3)
    RateLimitWindow.objects.create(key="ip:10.0.0.2:read", window_start=now - timedelta(hours=1), count=9)
    RateLimitWindow.objects.create(key="ip:10.0.0.3:read", window_start=now, count=1)

    log = tmp_path / "qcluster.log"
    server = redis.Redis.from_url(REDIS_URL)
    env = {"Q_BROKER_URL": REDIS_URL, "Q_CLUSTER_NAME": name, "Q_WORKERS": "1", "LOG_FORMAT": "json"}
    try:
        with running_cluster(log, **env) as cluster:
            # This process's django-q2 is configured for the ORM broker (it read settings at import): queue through
            # a Redis broker of the same class the cluster uses, on the cluster's queue.
            broker = RedisBroker(list_key=name)
            broker.connection = server
            request_id = uuid.uuid4().hex
            set_guid(request_id)
            try:
                task_id = async_task("bank.tasks.purge_rate_limit_windows_task", broker=broker, cluster=name)
            finally:
                clear_guid()

            task = wait_for(lambda: Task.objects.filter(id=task_id).first(), cluster=cluster, log=log,
                            what="the task's result was not stored")
            assert (task.success, task.result, task.cluster, task.func) == (
                True, 2, name, "bank.tasks.purge_rate_limit_windows_task")
            assert list(RateLimitWindow.objects.values_list("key", flat=True)) == ["ip:10.0.0.3:read"]

            beat = wait_for(lambda: ClusterHeartbeat.objects.filter(queue=name).first(), cluster=cluster, log=log,
                            what="no heartbeat")
            assert beat.workers == 1 and (timezone.now() - beat.beat_at).total_seconds() < 30

            def worker_line():
                lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
                return next((line for line in lines if line["logger"] == "bank.worker"
                             and line["message"].startswith(f"Task {task_id} succeeded")), None)

            line = wait_for(worker_line, cluster=cluster, log=log, what="no JSON log line for the task")
            assert line["request_id"] == request_id and line["level"] == "INFO"
    finally:
        server.delete(f"django_q:{name}:q")
