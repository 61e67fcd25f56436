"""The API's one error shape, described for the OpenAPI schema (bank.api.errors produces it)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorBodyOut(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable, e.g. invalid_parameter, not_found, token_expired."
    )
    message = serializers.CharField(help_text="For a person to read.")
    details = serializers.DictField(
        help_text="For invalid_parameter: the parameter named, with its messages; otherwise empty."
    )


class ErrorOut(serializers.Serializer):
    """The one error shape of the API (bank.api.errors), for the schema."""

    error = ErrorBodyOut()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error answers an operation can give, for @extend_schema(responses=...)."""
    meanings = {
        400: "A query parameter cannot be used (code invalid_parameter; details names it).",
        401: "No credentials, or an invalid, expired or revoked token (WWW-Authenticate: Bearer).",
        403: "The token lacks the scope this endpoint needs, or the caller may not use this endpoint.",
        404: "Not found, or not visible to the caller (the two are not told apart).",
        409: "The request is valid but cannot be served in the customer's current state; the code says why "
             "(e.g. risk_profile_missing, risk_profile_expired, no_target).",
        422: "The Idempotency-Key was already used with a different request body (code idempotency_key_reused).",
        503: "The service needs something that is not ready yet, e.g. no active model (code model_not_ready).",
    }
    return {status: OpenApiResponse(ErrorOut, description=meanings[status]) for status in statuses}
