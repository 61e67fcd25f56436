"""What /metrics exposes, and to whom.

Two parts on one page:
- django-prometheus' request metrics, counted in the web processes as requests pass its middlewares
  (`django_http_requests_latency_seconds_by_view_method`, `django_http_responses_total_by_status_view_method`, …);
  with several gunicorn workers they are summed across them through prometheus_client's multiprocess mode
  (PROMETHEUS_MULTIPROC_DIR, set up by gunicorn.conf.py);
- the platform's own gauges, read from the database and the broker at scrape time (PlatformCollector), so they
  hold across every web process and every worker: queue depth, task outcomes and latency per queue, worker
  heartbeats, active model versions and their age, training failures, long jobs, readiness, and the counters of
  recommendations, chat messages, risk alerts and monitored transactions.

The counters named *_total below are read from the rows' ids (a PostgreSQL sequence never goes back, even when
rows are deleted), so `rate()` works across restarts and processes; a rolled-back insert skips an id, so they
can run slightly ahead of the rows. Each scrape costs a dozen indexed queries under a 2-second statement timeout.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.http import HttpRequest
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bank.models import Job, ModelVersion
from bank.observability import health
from bank.observability.heartbeats import expected_queues, queue_liveness

logger = logging.getLogger(__name__)

# A request that came through a proxy is not "local", whatever address the proxy connects from.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
STATEMENT_TIMEOUT_MS = 2000
# Business counters: (metric, help, app label, model).
ID_COUNTERS = [
    ("bank_recommendation_sets_created", "Recommendation lists served (any channel), from the rows' ids.",
     "advisor", "RecommendationSet"),
    ("bank_chat_messages_created", "Chat messages (customer, assistant and staff), from the rows' ids.",
     "chat", "Message"),
    ("bank_risk_alerts_created", "Risk alerts raised (transactions and drift), from the rows' ids.",
     "risk", "Alert"),
]


def allowed(request: HttpRequest) -> bool:
    """A loopback caller that did not come through a proxy, or the METRICS_TOKEN bearer."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer "):].encode(), token.encode())
    if any(name in request.META for name in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def render() -> tuple[bytes, str]:
    """The metrics page and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several gunicorn workers: the request metrics of all of them, from their files.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_platform), CONTENT_TYPE_LATEST


class PlatformCollector(Collector):
    """The platform's gauges, computed at scrape time. A failing section is counted in
    bank_metrics_collect_errors and logged; the others are still served."""

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        errors = 0
        sections = [self._queues, self._tasks, self._workers, self._models, self._jobs, self._business,
                    self._readiness]
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                for section in sections:
                    try:
                        # A savepoint each: a failed query must not abort the sections after it.
                        with transaction.atomic():
                            yield from section()
                    except Exception:
                        errors += 1
                        logger.warning("Metrics section %s failed", section.__name__, exc_info=True)
        except Exception:
            errors += 1
            logger.warning("Metrics could not be read from the database", exc_info=True)
        yield GaugeMetricFamily("bank_metrics_collect_errors", "Sections of this scrape that failed (see the log).",
                                value=errors)
        yield GaugeMetricFamily("bank_metrics_collect_seconds", "Time this scrape spent reading the platform.",
                                value=time.perf_counter() - started)

    def _queues(self) -> Iterator[Metric]:
        from django_q.brokers import get_broker

        depth = GaugeMetricFamily("bank_queue_depth", "Tasks waiting in the broker, per queue (cluster).",
                                  labels=["queue"])
        for queue in expected_queues():
            depth.add_metric([queue], get_broker(list_key=queue).queue_size())
        yield depth

    def _tasks(self) -> Iterator[Metric]:
        from django_q.models import Failure, Task

        default = expected_queues()[0]
        table = Task._meta.db_table
        finished = GaugeMetricFamily("bank_tasks_finished_last_hour", "Tasks finished in the last hour.",
                                     labels=["queue", "outcome"])
        latency = GaugeMetricFamily(
            "bank_task_latency_seconds_last_hour",
            "Time from queuing to the end of tasks finished in the last hour (wait + run), by quantile.",
            labels=["queue", "quantile"])
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT COALESCE(NULLIF(cluster, ''), %s),
                       count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM stopped - started)),
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM stopped - started)),
                       max(EXTRACT(EPOCH FROM stopped - started))
                FROM {table} WHERE stopped >= %s GROUP BY 1
                """,  # nosec B608  # table name from the model; values bound
                [default, timezone.now() - timedelta(hours=1)],
            )
            for queue, succeeded, failed, p50, p95, worst in cursor.fetchall():
                finished.add_metric([queue, "success"], succeeded)
                finished.add_metric([queue, "failure"], failed)
                for quantile, value in (("0.5", p50), ("0.95", p95), ("1", worst)):
                    latency.add_metric([queue, quantile], float(value))
        yield finished
        yield latency
        stored = GaugeMetricFamily("bank_task_failures_stored",
                                   "Failed tasks kept by django-q2 (admin: Failed tasks), per queue.", labels=["queue"])
        for cluster, count in Failure.objects.values_list("cluster").annotate(n=Count("id")).order_by():
            stored.add_metric([cluster or default], count)
        yield stored

    def _workers(self) -> Iterator[Metric]:
        alive = GaugeMetricFamily("bank_worker_clusters_alive",
                                  "Clusters of each queue with a heartbeat in the last READYZ_WORKER_MAX_AGE_SECONDS.",
                                  labels=["queue"])
        age = GaugeMetricFamily("bank_worker_heartbeat_age_seconds",
                                "Seconds since the freshest heartbeat of each queue's clusters.", labels=["queue"])
        for queue in queue_liveness(expected_queues(), within_seconds=settings.READYZ_WORKER_MAX_AGE_SECONDS):
            alive.add_metric([queue.queue], queue.alive)
            if queue.last_beat_age is not None:
                age.add_metric([queue.queue], queue.last_beat_age)
        yield alive
        yield age

    def _models(self) -> Iterator[Metric]:
        now = timezone.now()
        version = GaugeMetricFamily("bank_model_active_version", "The active version of each model.",
                                    labels=["model"])
        age = GaugeMetricFamily("bank_model_active_age_seconds", "Seconds since each model's active version was "
                                "activated.", labels=["model"])
        for name, number, activated_at in ModelVersion.objects.filter(
                status=ModelVersion.Status.ACTIVE).values_list("name", "version", "activated_at"):
            version.add_metric([name], number)
            if activated_at is not None:
                age.add_metric([name], (now - activated_at).total_seconds())
        yield version
        yield age
        failed = GaugeMetricFamily("bank_model_training_failures_last_day",
                                   "Model versions that failed while training in the last 24 hours.", labels=["model"])
        for name, count in (ModelVersion.objects.filter(status=ModelVersion.Status.FAILED,
                                                        created_at__gte=now - timedelta(days=1))
                            .values_list("name").annotate(n=Count("id")).order_by()):
            failed.add_metric([name], count)
        yield failed

    def _jobs(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("bank_jobs", "Long background jobs queued or running (admin: Jobs).",
                                 labels=["state"])
        counts = dict(Job.objects.filter(state__in=[Job.State.QUEUED, Job.State.RUNNING])
                      .values_list("state").annotate(n=Count("id")).order_by())
        for state in (Job.State.QUEUED, Job.State.RUNNING):
            jobs.add_metric([state], counts.get(state, 0))
        yield jobs
        yield GaugeMetricFamily(
            "bank_jobs_failed_last_day", "Long background jobs that failed in the last 24 hours.",
            value=Job.objects.filter(state=Job.State.FAILED, updated_at__gte=timezone.now() - timedelta(days=1))
            .count())

    def _business(self) -> Iterator[Metric]:
        for metric, help_text, app_label, model_name in ID_COUNTERS:
            if not apps.is_installed(app_label):
                continue
            model = apps.get_model(app_label, model_name)
            yield CounterMetricFamily(metric, help_text, value=model.objects.aggregate(m=Max("pk"))["m"] or 0)
        if apps.is_installed("risk") and apps.is_installed("customers"):
            cursor_model = apps.get_model("risk", "MonitoringCursor")
            transaction_model = apps.get_model("customers", "Transaction")
            monitored = cursor_model.objects.aggregate(m=Max("last_transaction_id"))["m"] or 0
            newest = transaction_model.objects.aggregate(m=Max("pk"))["m"] or 0
            yield CounterMetricFamily("bank_transactions_monitored",
                                      "Transactions the batch monitor has read (the id it has reached).",
                                      value=monitored)
            yield GaugeMetricFamily("bank_transaction_monitoring_backlog",
                                    "Transactions recorded but not yet read by the batch monitor (by id).",
                                    value=max(0, newest - monitored))

    def _readiness(self) -> Iterator[Metric]:
        ready = GaugeMetricFamily("bank_readiness_check_ok", "1 when the readiness check passes (as /readyz).",
                                  labels=["check", "required"])
        for result in health.run_checks():
            ready.add_metric([result.name, str(result.required).lower()], 1 if result.ok else 0)
        yield ready


# Its own registry: the platform's gauges are read from the database, once per scrape, by whichever process
# answers; they must not be summed across gunicorn workers like the request counters.
_platform = CollectorRegistry()
_platform.register(PlatformCollector())
