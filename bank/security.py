"""Login throttling and the Content-Security-Policy: the platform's glue around django-axes and django-csp.

- `LoginThrottleBackend` refuses a login for a username+address pair that failed too often (django-axes).
- `lockout_response` is the page a locked-out login gets: 429, saying when it may try again.
- `record_lockout` writes the lockout to the audit log (connected in BankConfig.ready).
- `BankCSPMiddleware` sends the strict policy of settings.CONTENT_SECURITY_POLICY, loosened for /admin/ only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from bank import audit

ADMIN_PREFIX = "/admin/"


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check, first of AUTHENTICATION_BACKENDS. It authenticates nobody itself.

    A call without a request (the test client's login(), a shell) is not a login over HTTP, has no address to
    throttle and no attacker behind it, so it is let through to the next backend instead of failing as axes
    does by default."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        if request is None:
            return None
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            # Tells record_lockout this attempt was refused during a lockout (already audited), not the one
            # that caused it.
            request.bank_refused_while_locked = True  # type: ignore[attr-defined]
            raise


def _channel(request: HttpRequest) -> str:
    return "admin" if request.path_info.startswith(ADMIN_PREFIX) else "portal"


def record_lockout(sender: Any, *, request: HttpRequest, username: str | None, ip_address: str | None,
                   **kwargs: Any) -> None:
    """Audit the moment a username+address pair is locked out (not every refused try after it: an attacker
    hammering a locked account must not be able to flood the append-only log)."""
    if getattr(request, "bank_refused_while_locked", False):
        return
    audit.record(
        action="login.locked_out", actor=None, channel=_channel(request), subject=f"login:{username or ''}"[:120],
        detail={"ip_address": ip_address or "", "failures": settings.AXES_FAILURE_LIMIT,
                "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)},
    )


def _locked_until(*, username: str, ip_address: str) -> datetime:
    from axes.models import AccessAttempt

    last = (AccessAttempt.objects.filter(username=username, ip_address=ip_address)
            .order_by("-attempt_time").values_list("attempt_time", flat=True).first())
    return (last or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(request: HttpRequest, original_response: HttpResponse | None,
                     credentials: dict[str, Any] | None) -> HttpResponse:
    """The page for a refused login: 429, when the lock ends, and a way back. Same page for the admin login."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    until = _locked_until(username=username, ip_address=getattr(request, "axes_ip_address", "") or "")
    minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
    context = {"locked_until": until, "minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "registration/locked_out.html", context, status=429)


class BankCSPMiddleware(CSPMiddleware):
    """The strict policy everywhere, except that the staff admin may use inline styles.

    The admin's own pages run no inline script, but this project's admin charts are inline SVG with <style>
    blocks and its list columns use style attributes (format_html); rewriting all of them would buy little, as
    only staff reach /admin/ and scripts stay 'self' only. Portal pages have no inline styles at all."""

    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(ADMIN_PREFIX) and parts.update is None and parts.replace is None:
            parts.update = {"style-src": [UNSAFE_INLINE]}
        return parts
