"""/healthz, /readyz and /metrics (answered by ProbeMiddleware, ahead of the rest of the middleware stack)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse

from bank.observability import health
from bank.observability import metrics as platform_metrics

logger = logging.getLogger(__name__)

READ_METHODS = ("GET", "HEAD")
# Whether this process was ready at its last probe: a change is logged once, not every probe.
_was_ready: bool | None = None


def _error(status: int, code: str, message: str) -> JsonResponse:
    # The API's one error shape (bank.api.errors), written directly: these views are not DRF views.
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


def _not_allowed() -> JsonResponse:
    response = _error(405, "method_not_allowed", "Only GET and HEAD.")
    response["Allow"] = ", ".join(READ_METHODS)
    return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else."""
    if request.method not in READ_METHODS:
        return _not_allowed()
    return _no_store(JsonResponse({"status": "ok"}))


def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when every required check passes, else 503; each check's status, detail and time."""
    if request.method not in READ_METHODS:
        return _not_allowed()
    global _was_ready
    results = health.run_checks()
    ready = health.is_ready(results)
    if ready != _was_ready:
        failed = "; ".join(f"{r.name}: {r.detail}" for r in results if r.required and not r.ok)
        logger.log(logging.INFO if ready else logging.WARNING, "Ready" if ready else f"Not ready: {failed}")
        _was_ready = ready
    body = {"status": "ready" if ready else "not ready", "checks": {r.name: r.as_json() for r in results}}
    response = JsonResponse(body, status=200 if ready else 503)
    # Django logs every 5xx as an ERROR; a probe answering "not yet" every few seconds is not one (the change
    # of state is logged above). The attribute is how Django's own handlers mark a response already logged.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return _no_store(response)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for loopback callers (not through a proxy) or `Authorization: Bearer $METRICS_TOKEN`."""
    if request.method not in READ_METHODS:
        return _not_allowed()
    if not platform_metrics.allowed(request):
        return _error(403, "permission_denied",
                      "Metrics are served to local callers or with the METRICS_TOKEN bearer token.")
    body, content_type = platform_metrics.render()
    return _no_store(HttpResponse(body, content_type=content_type))
