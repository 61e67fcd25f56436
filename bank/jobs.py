"""Long background work that staff can follow: queue it, run it with progress, record how it ended.

    job = start_job(kind="Train advisor.recommender", task="advisor.tasks.train_recommender_task",
                    requested_by=request.user, ml=True)          # queued on commit, with job_id=job.pk

    def train_recommender_task(job_id: int | None = None) -> int:   # the django-q2 entry point
        return run_job(job_id, kind=..., task=..., work=lambda progress: ...)

`work(progress)` receives a `Progress` (the same callback shape the ML code draws tqdm bars with): each step
it announces is written to the Job row, at most once a second, so the admin can show a bar without the
worker spending its time on UPDATEs.

Work over the whole bank is split into parts that every worker of every cluster can take (`fan_out`), each run
by `run_part`: the Job counts the parts' items as they finish, a redelivered part that already finished does
not run again, and the part that finishes last closes the Job with the parts' results added up.

    parts = id_range_parts(Customer.objects.filter(...), 1000)  # Part(key="1-1000", size=1000, kwargs=ids)
    fan_out(kind="Refresh x", task="app.tasks.refresh_task", part_task="app.tasks.refresh_part_task", parts=parts)

    def refresh_part_task(job_id: int, part: str, size: int, first_id: int, last_id: int) -> dict:
        return run_part(job_id, key=part, size=size, work=lambda: {"customers": ...})
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from bank.models import Job, JobPart
from bank.tasks import enqueue

logger = logging.getLogger(__name__)

Advance = Callable[[int], None]
Progress = Callable[[str, int], Advance]
WRITE_EVERY_SECONDS = 1.0


def start_job(
    *,
    kind: str,
    task: str,
    requested_by: User | AnonymousUser | None = None,
    ml: bool = False,
    **kwargs: Any,
) -> Job:
    """Create a queued Job and queue `task(job_id=…, **kwargs)` once the surrounding transaction commits."""
    user = requested_by if isinstance(requested_by, User) else None
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


# --- work split over the workers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    key: str  # unique within the job, e.g. the id range "1-1000"
    size: int  # the items it counts for in the job's progress
    kwargs: dict[str, Any] = field(default_factory=dict)  # what the part task needs besides job_id, part and size


def id_ranges(queryset: QuerySet[Any], size: int) -> list[tuple[int, int, int]]:
    """`queryset`'s rows in primary-key order cut into runs of `size`: (first pk, last pk, rows) per run, by one
    query (the ids themselves never come to Python, so a million rows cost a second of the database's time)."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    inner, params = queryset.order_by().values("pk").query.sql_with_params()
    sql = f"""
        SELECT min(pk), max(pk), count(*) FROM (
            SELECT pk, (row_number() OVER (ORDER BY pk) - 1) / %s AS part FROM ({inner}) AS rows (pk)
        ) AS numbered GROUP BY part ORDER BY part
    """  # nosec B608  # `inner` is SQL the ORM compiled; its values stay in params
    with connection.cursor() as cursor:
        cursor.execute(sql, [size, *params])
        return [(int(first), int(last), int(n)) for first, last, n in cursor.fetchall()]


def id_range_parts(queryset: QuerySet[Any], size: int) -> list[Part]:
    """`queryset` cut by `id_ranges` into Parts keyed "first-last", each passing first_id and last_id to its task."""
    return [Part(key=f"{first}-{last}", size=n, kwargs={"first_id": first, "last_id": last})
            for first, last, n in id_ranges(queryset, size)]


def fan_out(
    *,
    kind: str,
    task: str,
    part_task: str,
    parts: Sequence[Part],
    job_id: int | None = None,
    ml: bool = False,
    **kwargs: Any,
) -> Job:
    """Run Job `job_id` (a new one when None) as `parts`: queue `part_task(job_id=…, part=key, size=…,
    **part.kwargs, **kwargs)` for each, on the ML cluster with `ml`, once the Job row says how many there are.

    The Job is running until its last part finishes (`run_part`); its progress counts the parts' sizes. A
    redelivered fan-out (the Job already split, done or failed) queues nothing again. Without parts the Job is
    done at once.
    """
    if job_id is None:
        job = Job.objects.create(kind=kind, task=task)
    else:
        job = Job.objects.get(pk=job_id)
        if job.state in (Job.State.DONE, Job.State.FAILED) or "parts" in job.result:
            logger.info("job %s already split (%s); not splitting it again", job.pk, job.state)
            return job
    now = timezone.now()
    total = sum(part.size for part in parts)
    with transaction.atomic():
        if not parts:
            Job.objects.filter(pk=job.pk).update(
                state=Job.State.DONE, started_at=now, finished_at=now, attempts=F("attempts") + 1, done=0, total=0,
                result={"parts": 0}, step="finished",
            )
        else:
            Job.objects.filter(pk=job.pk).update(
                state=Job.State.RUNNING, started_at=now, attempts=F("attempts") + 1, error="", done=0, total=total,
                result={"parts": len(parts)}, step=f"0 of {len(parts):,} parts done",
            )
            for part in parts:
                enqueue(part_task, job_id=job.pk, part=part.key, size=part.size, ml=ml, **part.kwargs, **kwargs)
    job.refresh_from_db()
    return job


def run_part(job_id: int, *, key: str, size: int, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one part of a fanned-out Job and count it: `work()`'s result is kept on the part, `size` is added to
    the Job's progress, and the part that finishes last marks the Job done with the parts' numbers added up.

    A part that already ended is not run again (a redelivery; django-q2 does not retry a task that raised, and
    rerunning the whole Job is the way to retry). A failing part marks the Job failed, naming the part, ends with
    its error as its result and re-raises; the other parts still run and count, and the last one still adds up
    the results, the failures listed under "failed".
    """
    if JobPart.objects.filter(job_id=job_id, key=key).exists():
        logger.info("part %s of job %s already finished; not running it again", key, job_id)
        return {}
    try:
        result = work()
    except BaseException as error:
        message = f"part {key}: " + "".join(traceback.format_exception_only(error)).strip()[:4000]
        Job.objects.filter(pk=job_id).exclude(state=Job.State.DONE).update(state=Job.State.FAILED, error=message)
        _part_ended(job_id, key=key, size=0, result={"failed": message})
        raise
    _part_ended(job_id, key=key, size=size, result=result)
    return result


def _part_ended(job_id: int, *, key: str, size: int, result: dict[str, Any]) -> None:
    with transaction.atomic():
        # The Job row's lock puts the parts' endings in a line: exactly one of them sees that it was the last.
        job = Job.objects.select_for_update().get(pk=job_id)
        _, created = JobPart.objects.get_or_create(job=job, key=key, defaults={"size": size, "result": result})
        if not created:  # the same part, redelivered while this one ran, ended first and was counted
            return
        ended = JobPart.objects.filter(job=job).count()
        expected = int(job.result.get("parts", 0))
        now = timezone.now()
        updates: dict[str, Any] = {"done": F("done") + size, "updated_at": now,
                                   "step": f"{ended:,} of {expected:,} parts done"}
        if ended >= expected:
            results = JobPart.objects.filter(job=job).order_by("pk").values_list("result", flat=True)
            updates.update(finished_at=now, step="finished", result={"parts": ended, **_added_up(results)})
            if job.state != Job.State.FAILED:
                updates["state"] = Job.State.DONE
        Job.objects.filter(pk=job.pk).update(**updates)


def _added_up(results: Any) -> dict[str, Any]:
    """The parts' results as one: numbers added, anything else listed once (e.g. why a part skipped its work)."""
    totals: dict[str, Any] = {}
    for result in results:
        for name, value in (result or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                totals[name] = totals.get(name, 0) + value
            else:
                seen = totals.setdefault(name, [])
                if isinstance(seen, list) and value not in seen:
                    seen.append(value)
    return totals
