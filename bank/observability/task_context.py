"""Request ids carried into django-q2 tasks, and one log line for each task a worker runs.

A task queued while a request is served (directly or on commit) carries that request's id in its package; the
worker runs it under that id and the cluster's monitor logs its outcome under it, so every log line of the task
says which request asked for it. A task queued by the scheduler or a command has no request: it runs under its own
task id. Connected in ObservabilityConfig.ready through django-q2's signals (pre_enqueue in the queuing process,
pre_execute and post_execute_in_worker in the worker process, post_execute in the monitor).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

from django_guid import get_guid
from django_guid.context import guid

logger = logging.getLogger("bank.worker")

TASK_REQUEST_ID = "request_id"  # the key added to django-q2's task package

# What was current before a task started: with Q_SYNC the task runs inside the request that queued it, whose id
# must come back afterwards; in a worker it is None.
_outer_request_id: ContextVar[str | None] = ContextVar("outer_request_id", default=None)
_started_at: ContextVar[float] = ContextVar("task_started_at", default=0.0)


def tag_with_request_id(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    request_id = get_guid()
    if request_id:
        task[TASK_REQUEST_ID] = request_id


def task_starting(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    _outer_request_id.set(guid.get())
    _started_at.set(time.monotonic())
    guid.set(task.get(TASK_REQUEST_ID) or task.get("id"))
    logger.info("Task %s started: %s (queue %s)", task.get("id"), _func_name(task), task.get("cluster") or "default")


def task_finished(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    took = time.monotonic() - _started_at.get()
    outcome = "succeeded" if task.get("success") else "failed"
    logger.log(logging.INFO if task.get("success") else logging.WARNING, "Task %s %s after %.3f s: %s",
               task.get("id"), outcome, took, _func_name(task))
    guid.set(_outer_request_id.get())


def task_saved(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    # In the cluster's monitor process, just before it logs "Processed" or "Failed" (with the traceback): the same
    # id, so the failure is found with the request. It stays until the next task's result. With Q_SYNC the
    # "monitor" is the caller itself, whose own id must stay.
    if not task.get("sync"):
        guid.set(task.get(TASK_REQUEST_ID) or task.get("id"))


def _func_name(task: dict[str, Any]) -> str:
    func = task.get("func")
    return func if isinstance(func, str) else f"{getattr(func, '__module__', '?')}.{getattr(func, '__name__', '?')}"


def connect() -> None:
    from django_q.signals import post_execute, post_execute_in_worker, pre_enqueue, pre_execute

    pre_enqueue.connect(tag_with_request_id, dispatch_uid="bank.observability.tag_with_request_id")
    pre_execute.connect(task_starting, dispatch_uid="bank.observability.task_starting")
    post_execute_in_worker.connect(task_finished, dispatch_uid="bank.observability.task_finished")
    post_execute.connect(task_saved, dispatch_uid="bank.observability.task_saved")
