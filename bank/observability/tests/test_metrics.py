"""/metrics: who may read it, and what it says (request metrics per view and status, the platform's gauges)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Task
from prometheus_client.parser import text_string_to_metric_families

from bank.models import ModelVersion
from bank.observability.models import ClusterHeartbeat


def samples(response) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a metrics page, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_are_refused_to_a_remote_caller_without_the_token(client):
    response = client.get("/metrics", REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_local_address_through_a_proxy_is_not_local(client):
    # nginx on the same host connects from 127.0.0.1 on behalf of anyone on the internet.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 403
    assert client.get("/metrics", HTTP_FORWARDED="for=203.0.113.7").status_code == 403


@pytest.mark.django_db
def test_metrics_are_served_to_a_loopback_caller(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


@pytest.mark.django_db
def test_metrics_are_served_to_the_bearer_of_metrics_token_only(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.5", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
                      ).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.5", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    # A wrong token is refused even from loopback: whoever sends one means it.
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


@pytest.mark.django_db
def test_requests_are_counted_and_timed_per_view_and_status(client):
    key = ("django_http_responses_total_by_status_view_method_total",
           (("method", "GET"), ("status", "401"), ("view", "api-products")))
    latency = ("django_http_requests_latency_seconds_by_view_method_count",
               (("method", "GET"), ("view", "api-products")))
    before = samples(client.get("/metrics"))

    assert client.get("/api/v1/products/").status_code == 401

    after = samples(client.get("/metrics"))
    assert after[key] - before.get(key, 0) == 1
    assert after[latency] - before.get(latency, 0) == 1


@pytest.mark.django_db
def test_platform_gauges_read_queues_tasks_workers_and_models(client, tmp_path):
    now = timezone.now()
    broker = get_broker(list_key="bank")
    broker.enqueue("package-1")
    broker.enqueue("package-2")
    Task.objects.create(id="t1", name="t1", func="x.y", started=now - timedelta(seconds=4), stopped=now,
                        success=True)
    Task.objects.create(id="t2", name="t2", func="x.y", started=now - timedelta(seconds=2), stopped=now,
                        success=False, cluster="ml")
    ModelVersion.objects.create(name="advisor.recommender", version=3, status=ModelVersion.Status.ACTIVE,
                                artifact_path=str(tmp_path), activated_at=now - timedelta(hours=2))
    ModelVersion.objects.create(name="risk.credit", version=7, status=ModelVersion.Status.FAILED)
    ClusterHeartbeat.objects.create(key="django_q:bank:cluster:1", queue="bank", host="h", pid=1, stat="x",
                                    beat_at=now)

    found = samples(client.get("/metrics"))

    assert found[("bank_queue_depth", (("queue", "bank"),))] == 2
    assert found[("bank_queue_depth", (("queue", "ml"),))] == 0
    assert found[("bank_tasks_finished_last_hour", (("outcome", "success"), ("queue", "bank")))] == 1
    assert found[("bank_tasks_finished_last_hour", (("outcome", "failure"), ("queue", "ml")))] == 1
    assert found[("bank_task_latency_seconds_last_hour", (("quantile", "1"), ("queue", "bank")))] == 4
    assert found[("bank_task_failures_stored", (("queue", "ml"),))] == 1
    assert found[("bank_worker_clusters_alive", (("queue", "bank"),))] == 1
    assert found[("bank_worker_clusters_alive", (("queue", "ml"),))] == 0
    assert found[("bank_model_active_version", (("model", "advisor.recommender"),))] == 3
    assert 7199 < found[("bank_model_active_age_seconds", (("model", "advisor.recommender"),))] < 7300
    assert found[("bank_model_training_failures_last_day", (("model", "risk.credit"),))] == 1
    assert found[("bank_readiness_check_ok", (("check", "database"), ("required", "true")))] == 1
    assert found[("bank_readiness_check_ok", (("check", "models"), ("required", "true")))] == 0
    assert found[("bank_metrics_collect_errors", ())] == 0
    for counter in ("bank_recommendation_sets_created_total", "bank_chat_messages_created_total",
                    "bank_risk_alerts_created_total", "bank_transactions_monitored_total"):
        assert (counter, ()) in found
