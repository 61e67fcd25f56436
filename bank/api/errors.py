"""The one error shape of the API.

Every error, whatever raised it, is returned as
    {"error": {"code": "<machine_readable>", "message": "<for a person>", "details": {...}}}
with the HTTP status DRF chose. Unexpected exceptions still become a 500 from Django (and are logged);
views must turn bad input into a ValidationError (400) before it reaches the database.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import exception_handler as drf_exception_handler


class InvalidParameter(exceptions.ValidationError):
    """A query parameter that cannot be used; carries the parameter's name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__({name: [message]}, code="invalid_parameter")


def raise_first_error(errors: Any) -> None:
    """Turn a serializer's or filterset's errors into a 400 naming the first bad parameter."""
    name, messages = next(iter(errors.items()))
    # A nested field (a DictField's child, a nested serializer) has a dict of messages, not a list: found by the
    # schema fuzzer as a KeyError (500) on {"answers": {"q1": [1]}}.
    raise InvalidParameter(name, _first_message(messages))


def validated_query(serializer_class: type[Serializer], query_params: Any) -> dict[str, Any]:
    """The query string checked by `serializer_class`; the first bad parameter becomes a 400 naming it."""
    query = serializer_class(data=query_params)
    if not query.is_valid():
        raise_first_error(query.errors)
    return dict(query.validated_data)


_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid_request",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _first_message(value)
            return text if key in ("detail", "non_field_errors") else f"{key}: {text}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = _CODES.get(response.status_code, "error")
    details: Any = {}
    if isinstance(exc, exceptions.ValidationError):
        codes = exc.get_codes()
        code = "invalid_parameter" if _has_code(codes, "invalid_parameter") else "validation_error"
        details = response.data
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str) and codes not in ("invalid", "error"):
            code = codes
    message = _first_message(getattr(exc, "detail", str(exc)))
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response


def _has_code(codes: Any, wanted: str) -> bool:
    if isinstance(codes, dict):
        return any(_has_code(v, wanted) for v in codes.values())
    if isinstance(codes, list):
        return any(_has_code(v, wanted) for v in codes)
    return codes == wanted
