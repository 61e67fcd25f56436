"""Long background work that staff can follow: queue it, run it with progress, record how it ended.

    job = start_job(kind="Train advisor.recommender", task="advisor.tasks.train_recommender_task",
                    requested_by=request.user, ml=True)          # queued on commit, with job_id=job.pk

    def train_recommender_task(job_id: int | None = None) -> int:   # the django-q2 entry point
        return run_job(job_id, kind=..., task=..., work=lambda progress: ...)

`work(progress)` receives a `Progress` (the same callback shape the ML code draws tqdm bars with): each step
it announces is written to the Job row, at most once a second, so the admin can show a bar without the
worker spending its time on UPDATEs.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F
from django.utils import timezone

from bank.models import Job
from bank.tasks import enqueue

logger = logging.getLogger(__name__)

Advance = Callable[[int], None]
Progress = Callable[[str, int], Advance]
WRITE_EVERY_SECONDS = 1.0


def start_job(
    *,
    kind: str,
    task: str,
    requested_by: AbstractBaseUser | AnonymousUser | None = None,
    ml: bool = False,
    **kwargs: Any,
) -> Job:
    """Create a queued Job and queue `task(job_id=…, **kwargs)` once the surrounding transaction commits."""
    user = requested_by if requested_by is not None and requested_by.is_authenticated else None
    job = Job.objects.create(kind=kind, task=task, requested_by=user)
    enqueue(task, job_id=job.pk, ml=ml, **kwargs)
    return job


class JobProgress:
    """A `Progress` that writes the current step and count to the Job row (throttled)."""

    def __init__(self, job_id: int, *, echo: Progress | None = None) -> None:
        self.job_id = job_id
        self.echo = echo
        self._last_write = 0.0

    def __call__(self, step: str, total: int) -> Advance:
        Job.objects.filter(pk=self.job_id).update(step=step[:200], done=0, total=total, updated_at=timezone.now())
        self._last_write = time.monotonic()
        echoed = self.echo(step, total) if self.echo is not None else None
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if echoed is not None:
                echoed(n)
            now = time.monotonic()
            if done >= total or now - self._last_write >= WRITE_EVERY_SECONDS:
                self._last_write = now
                Job.objects.filter(pk=self.job_id).update(done=min(done, total), updated_at=timezone.now())

        return advance


def run_job(
    job_id: int | None,
    *,
    kind: str,
    task: str,
    work: Callable[[Progress], dict[str, Any]],
) -> Job:
    """Run `work` as Job `job_id` (a new Job when None: scheduled work is followed the same way).

    Safe to redeliver: a job that already finished is not run again (the ORM broker redelivers a task whose
    worker died, possibly after the work was done); a job left running by a dead worker is run again, its
    attempts counted. A failure is recorded on the row (state failed, the error) and re-raised so that
    django-q2 records it too.
    """
    if job_id is None:
        job = Job.objects.create(kind=kind, task=task)
    else:
        job = Job.objects.get(pk=job_id)
        if job.state in (Job.State.DONE, Job.State.FAILED):
            logger.info("job %s already %s; not running it again", job.pk, job.state)
            return job
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, error=""
    )
    try:
        result = work(JobProgress(job.pk))
    except BaseException as error:
        Job.objects.filter(pk=job.pk).update(
            state=Job.State.FAILED, finished_at=timezone.now(),
            error="".join(traceback.format_exception_only(error)).strip()[:4000],
        )
        raise
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.DONE, finished_at=timezone.now(), result=result, step="finished"
    )
    job.refresh_from_db()
    return job
