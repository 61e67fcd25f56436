"""Rate limits of the API, per partner token and per logged-in user (customer or staff), reads and writes apart.

Counted in PostgreSQL by bank.ratelimits (atomic under concurrency, unlike DRF's cache-based throttles). A request
over the limit gets 429 with `Retry-After` and the API's error shape, code `rate_limited`. Limits are settings
(API_RATE_LIMIT_*), read per request so tests and deployments can change them without a restart of the module.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from bank.ratelimits import hit


class RateLimited(exceptions.Throttled):
    default_code = "rate_limited"
    default_detail = _("Too many requests.")
    # Lazy, as DRF's own are (the stubs type these two as str).
    extra_detail_singular = _("Try again in {wait} second.")  # type: ignore[assignment]
    extra_detail_plural = _("Try again in {wait} seconds.")  # type: ignore[assignment]


def client_key(request: Request) -> str:
    """Who is counted: the partner token, else the logged-in user, else the client address (anonymous requests
    reach only the few public endpoints)."""
    # Session logins leave request.auth None; a partner token authenticates with its PartnerToken row (bank
    # does not import customers, so it is recognised as "an auth object with a primary key").
    token_pk = getattr(request.auth, "pk", None)
    if token_pk is not None:
        return f"token:{token_pk}"
    user = request.user
    if user is not None and user.is_authenticated and getattr(user, "pk", None) is not None:
        return f"user:{user.pk}"
    # REMOTE_ADDR, not X-Forwarded-For: a client can write that header itself. Behind a proxy, the proxy (or
    # a middleware trusting it) must set REMOTE_ADDR.
    return f"ip:{request.META.get('REMOTE_ADDR', 'unknown')}"


class RateLimitThrottle(BaseThrottle):
    """Fixed-window limit per client: API_RATE_LIMIT_READS for GET/HEAD/OPTIONS, API_RATE_LIMIT_WRITES for the
    rest, each per API_RATE_LIMIT_WINDOW_SECONDS. Raises (rather than returning False) so the 429 carries the
    project's code `rate_limited` and the exact wait."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if not settings.API_RATE_LIMIT_ENABLED:
            return True
        kind = "read" if request.method in SAFE_METHODS else "write"
        limit = settings.API_RATE_LIMIT_READS if kind == "read" else settings.API_RATE_LIMIT_WRITES
        decision = hit(
            key=f"{client_key(request)}:{kind}", limit=limit, window_seconds=settings.API_RATE_LIMIT_WINDOW_SECONDS
        )
        if not decision.allowed:
            raise RateLimited(wait=decision.retry_after)
        return True

    def wait(self) -> float | None:
        return None
