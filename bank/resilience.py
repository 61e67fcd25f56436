"""What a request gets while the database is unreachable: a 503 that says when to retry, never a 500.

`DatabaseUnavailableMiddleware` turns django.db.OperationalError and InterfaceError raised by a view (or while its
response renders) into 503 Service Unavailable with `Retry-After`: the API's one error shape (code
`service_unavailable`) under /api/, a short page elsewhere (portal, admin). Those two classes are what PostgreSQL
and psycopg raise when the server is down, restarting, shutting down or refusing connections, and also for a
serialization failure, a deadlock or a cancelled statement: all of them are worth retrying, none is a bug in the
request. The client may retry; a POST with the same Idempotency-Key (bank.api.idempotency), which answers with the
first result in the rare case the write did commit (the connection broke while the commit's acknowledgement was on
its way) and runs it otherwise.

Recovery needs nothing from here: a broken connection is closed at the end of the request (Django closes
connections whose requests raised a database error) and CONN_HEALTH_CHECKS tests a persistent connection before a
request reuses it (settings.DATABASES), so the first request after PostgreSQL comes back gets a fresh connection.

Covered: everything that runs inside the view or renders its response — the view's queries, DRF authentication
(partner tokens), the rate-limit throttle, the Idempotency-Key layer, template rendering. A database error raised by
another middleware outside the view (SessionMiddleware saving a modified session after it) never reaches
process_exception: Django turns it into a response through the 500 handler, so `server_error` (handler500 in
bank/urls.py) answers the same 503 for it.

The page is rendered without the request's context (no context processors): they would read the session and the
user from the database that just failed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.views import defaults

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Long enough for PostgreSQL to finish a restart or a failover, short enough that clients do not give up on us.
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from, says the database could not serve the request."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OperationalError | InterfaceError):
            return True
        seen = seen.__cause__
    return False


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 for `request`: JSON in the API's error shape under /api/, a short HTML page elsewhere."""
    if request.path_info.startswith(API_PREFIX):
        message = gettext("The service is briefly unavailable; retry after the number of seconds in Retry-After "
                          "(a POST with the same Idempotency-Key).")
        response: HttpResponse = JsonResponse(
            {"error": {"code": "service_unavailable", "message": message, "details": {}}}, status=503
        )
    else:
        response = HttpResponse(render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Answers 503 + Retry-After instead of 500 when the database is unreachable (see the module docstring).

    Listed right after SecurityMiddleware: process_exception hooks run from the last middleware to the first, so
    the others see the exception before this one answers for it, and every middleware's response processing (CSP,
    security headers) still applies to the 503.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        # One line per refused request, without a traceback: during an outage there are many, all alike.
        reason = next(iter(str(exception).strip().splitlines()), "") or type(exception).__name__
        logger.warning("database unavailable, answered 503: %s %s: %s", request.method, request.path, reason)
        return unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Django calls it inside the `except` that caught the error, so the error is at hand: a database
    that could not serve the request (raised outside any view: a middleware's own query) gets the 503 too."""
    exc = sys.exc_info()[1]
    if exc is not None and database_unavailable(exc):
        logger.warning("database unavailable outside the view (%s): 503 for %s %s", type(exc).__name__,
                       request.method, request.path_info)
        return unavailable_response(request)
    return defaults.server_error(request)
