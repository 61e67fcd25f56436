"""Two middlewares: the probes answered before the rest of the stack, and the request's context for the logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import ResolverMatch

from bank.observability import views
from bank.observability.logs import current_request

access_log = logging.getLogger("bank.access")

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": views.healthz,
    "/readyz": views.readyz,
    "/metrics": views.metrics,
}


class ProbeMiddleware:
    """Answers /healthz, /readyz and /metrics before the host check, the HTTPS redirect, sessions and locale.

    Orchestrators and Prometheus call a pod by its address (Host: 10.1.2.3:8000), which ALLOWED_HOSTS rightly
    refuses, and over plain HTTP inside the cluster, which SECURE_SSL_REDIRECT would redirect. None of the three
    builds a URL from the Host header, so answering them here is safe. Placed right after the request-id
    middleware, so a probe's log lines carry an id too. They are not URL patterns: this is the one way in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        view = PROBES.get(request.path_info)
        if view is None:
            return self.get_response(request)
        # Names the probe in django-prometheus' per-view metrics instead of "<unnamed view>".
        request.resolver_match = ResolverMatch(view, (), {}, url_name=request.path_info.lstrip("/"))
        return view(request)


class RequestContextMiddleware:
    """Makes the request visible to the log filter (who is asking) and writes one access line per request.

    After AuthenticationMiddleware. The access line (logger bank.access, on with LOG_ACCESS) replaces gunicorn's in
    production: it carries the request id and the user, and its path has no query string (search terms, which
    can be personal, stay out of the logs).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = current_request.set(request)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            if access_log.isEnabledFor(logging.INFO):
                # Percent-encoded again: a decoded path could hold a line break and forge a plain-text log line.
                access_log.info("%s %s %s %.1f ms", request.method, quote(request.path), response.status_code,
                                (time.monotonic() - started) * 1000, extra={"status_code": response.status_code})
            return response
        finally:
            current_request.reset(token)
