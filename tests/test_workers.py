"""django-q2 end to end on the ORM broker (the default): a real `qcluster` process takes a task from the database
and stores its result, on the default cluster and on the ML cluster.

The Redis broker (the scale-out path) is tests/test_redis_broker.py; both start their clusters with tests/qcluster.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.qcluster import running_cluster, wait_for


def _round_trip(tmp_path: Path, *, cluster_name: str | None = None) -> tuple[bool, object, str]:
    from django_q.models import Task
    from django_q.tasks import async_task

    log = tmp_path / "qcluster.log"
    env = {"Q_CLUSTER_NAME": cluster_name} if cluster_name else {}
    with running_cluster(log, **env) as cluster:
        task_id = async_task("math.floor", 2.5, **({"cluster": cluster_name} if cluster_name else {}))
        task = wait_for(lambda: Task.objects.filter(id=task_id).first(), cluster=cluster, log=log,
                        what="the cluster did not run the task", seconds=60)
    return task.success, task.result, task.cluster


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_orm_broker_cluster_runs_a_task(tmp_path, settings):
    assert _round_trip(tmp_path) == (True, 2, settings.Q_CLUSTER["name"])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ml_cluster_takes_tasks_queued_for_it(tmp_path, settings):
    assert _round_trip(tmp_path, cluster_name=settings.ML_CLUSTER) == (True, 2, settings.ML_CLUSTER)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_job_of_parts_is_shared_by_the_workers_and_closed_by_the_last_part(tmp_path):
    from bank.jobs import Part, fan_out
    from bank.models import Job

    log = tmp_path / "qcluster.log"
    with running_cluster(log, Q_WORKERS="2") as cluster:
        job = fan_out(kind="Split", task="tests", part_task="tests.qcluster.sleepy_part_task",
                      parts=[Part(key=str(n), size=10 + n, kwargs={"seconds": 1.0}) for n in range(6)])
        wait_for(lambda: Job.objects.filter(pk=job.pk, state=Job.State.DONE).exists(), cluster=cluster, log=log,
                 what="the parts did not all finish", seconds=90)

    job.refresh_from_db()
    assert (job.done, job.total, job.result["parts"], job.result["items"]) == (75, 75, 6, 75)
    assert len(job.result["worker"]) == 2  # both workers took parts
