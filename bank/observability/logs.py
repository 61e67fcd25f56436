"""Log lines that say which request (and whose) they belong to; JSON lines for a log pipeline.

`RequestContextFilter` (on the console handler in settings.LOGGING) puts on every record:
- `request_id`: the request's id (django-guid: the caller's valid `X-Request-ID`, else a new one), or inside a
  django-q2 task the id of the request that queued it (bank.observability.task_context); None elsewhere;
- `user_id`: the primary key of the logged-in user, once the request has resolved who that is;
- `partner_id`: the partner of the API token the request authenticated with.
Never a username or an e-mail: the ids are enough to look a person up, and a log line stays free of PII.

`JsonFormatter` (LOG_FORMAT=json) writes one JSON object a line with exactly those fields plus timestamp, level,
logger, message and, when there is one, the exception. Nothing else a library attaches to a record is written:
Django's request logger attaches the request itself, whose text carries the query string.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty
from django_guid import get_guid
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from bank.pii import mask_pii

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def _user_id(request: HttpRequest) -> int | None:
    # AuthenticationMiddleware leaves a lazy object; reading it would query the database from inside a log call,
    # so a user nobody has looked at yet is not named. DRF replaces it with the user it authenticated.
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        wrapped = user._wrapped  # type: ignore[attr-defined]  # LazyObject's own attribute; the stubs leave it out
        user = None if wrapped is empty else wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "pk", None)


def _partner_id(request: HttpRequest) -> int | None:
    # DRF copies what authenticated the request onto the Django request: a partner's API token has partner_id.
    return getattr(request.__dict__.get("auth"), "partner_id", None)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_guid()
        request = current_request.get()
        record.user_id = _user_id(request) if request is not None else None
        record.partner_id = _partner_id(request) if request is not None else None
        return True


FIELDS = ["timestamp", "level", "logger", "message", "request_id", "user_id", "partner_id"]
_OPTIONAL = {"exc_info", "stack_info", "status_code"}


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with a fixed set of fields (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message", "request_id", "user_id", "partner_id"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        kept = {key: log_data.get(key) for key in FIELDS}
        for key in _OPTIONAL & log_data.keys():
            value = log_data[key]
            # MaskPiiFilter masks the message; a traceback quotes values too (a card number in a ValueError).
            kept[key] = mask_pii(value) if isinstance(value, str) else value
        return kept
