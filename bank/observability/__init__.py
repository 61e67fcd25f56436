"""What an operator needs to run the platform: probes, metrics, request ids in logs, worker heartbeats.

- `/healthz` (liveness) and `/readyz` (readiness): bank.observability.health, answered by ProbeMiddleware.
- `/metrics` (Prometheus): django-prometheus' request metrics plus the platform's queue, worker and model gauges
  (bank.observability.metrics), for loopback callers or a `METRICS_TOKEN` bearer.
- Request ids (django-guid, header `X-Request-ID`) on every log line and carried into django-q2 tasks
  (bank.observability.task_context); JSON log lines with `LOG_FORMAT=json` (bank.observability.logs).
- Worker heartbeats: each django-q2 cluster's sentinel writes one through the broker (bank.observability.brokers).

docs/runbook.md says how each is used in production.
"""
