"""The API's one error shape, described for the OpenAPI schema (bank.api.errors produces it)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_basic_type, build_parameter_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from bank.resilience import RETRY_AFTER_SECONDS


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


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string (≤ 200 characters), kept 24 hours. A retry with the same key and body gets the "
    "first answer again, even an error (same status and body; a `replayed` field, where the body has one, says "
    "true), with the header `Idempotent-Replayed: true`, and nothing runs twice; the same key with another body is "
    "a 422 (idempotency_key_reused); a retry while the first is still running is a 409 "
    "(idempotency_request_in_flight). 5xx answers are not kept: retry them with the same key.",
)
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER, response=True, enum=["true"],
    description="Present on an answer replayed for a repeated Idempotency-Key.",
)
_IDEMPOTENCY_ERRORS = {
    400: "A parameter cannot be used, e.g. an Idempotency-Key over 200 characters (code invalid_parameter).",
    409: "A request with this Idempotency-Key is still being processed (code idempotency_request_in_flight).",
    422: "The Idempotency-Key was already used with a different request body (code idempotency_key_reused).",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the Idempotency-Key header and its 409/422 answers on every operation whose
    view method is wrapped by bank.api.idempotency.idempotent (so no view documents them by hand).

    The additions are made to the finished operation because @extend_schema's parameters and responses replace
    what a schema class's hooks return."""

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return bool(getattr(handler, "idempotent", False))

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        # A response header: drf-spectacular reads these from here for every answer of the operation.
        return [*parameters, IDEMPOTENT_REPLAYED] if self._is_idempotent() else parameters

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is None or not self._is_idempotent():
            return operation
        header = build_parameter_type(name=IDEMPOTENCY_KEY.name,
                                      schema={**(build_basic_type(OpenApiTypes.STR) or {}), "maxLength": 200},
                                      location=OpenApiParameter.HEADER, description=IDEMPOTENCY_KEY.description)
        # Replaces a view's own description of the header, so every endpoint tells the same story.
        parameters = [p for p in operation.get("parameters", [])
                      if not (p["in"] == OpenApiParameter.HEADER and p["name"] == IDEMPOTENCY_KEY.name)]
        operation["parameters"] = [*parameters, header]
        for code, meaning in _IDEMPOTENCY_ERRORS.items():
            earlier = operation["responses"].get(str(code), {}).get("description", "")
            if code == 400 and earlier:
                continue  # the operation's own 400 (invalid_parameter) already covers a bad key
            if earlier and meaning not in earlier:
                # The operation already answers this status for its own reasons (e.g. application_in_progress).
                meaning = f"{earlier} Or: {meaning[0].lower()}{meaning[1:]}"
            operation["responses"][str(code)] = self._get_response_for_code(
                OpenApiResponse(ErrorOut, description=meaning), str(code)
            )
        operation["responses"] = dict(sorted(operation["responses"].items()))
        return operation


def document_cross_cutting_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the answers every operation of a kind can give, added once here.

    - 429: every API view is rate limited (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES), with Retry-After.
    - 404 on a paginated list: a page past the last one ("Invalid page."); a malformed page is a 400.
    Found by schema fuzzing (tests/test_schema_fuzz.py): both were answered but undocumented.
    - 503 service_unavailable: every request under /api/ while the database is unreachable
      (bank.resilience.DatabaseUnavailableMiddleware), with Retry-After. An operation that already answers 503 for
      a reason of its own (model_not_ready) keeps it; the database's reason is added to it.
    """
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.setdefault("429", {
                "description": "Too many requests for this token or login (code rate_limited); retry after the "
                               "number of seconds in Retry-After.",
                "headers": {"Retry-After": {"schema": {"type": "integer"},
                                            "description": "Seconds until the next request is allowed."}},
                "content": {"application/json": {"schema": error_ref}},
            })
            _document_database_unavailable(responses, error_ref)
            paginated = any(p.get("in") == "query" and p.get("name") == "page" for p in operation.get("parameters", []))
            if paginated:
                responses.setdefault("404", {
                    "description": "The page is past the last one (code not_found).",
                    "content": {"application/json": {"schema": error_ref}},
                })
    return result


_UNAVAILABLE = ("The database is unreachable (code service_unavailable); retry after the number of seconds in "
                "Retry-After (a POST with the same Idempotency-Key).")


def _document_database_unavailable(responses: dict[str, Any], error_ref: dict[str, str]) -> None:
    """Add bank.resilience's 503 to one operation's responses, or the database's reason to the operation's own."""
    retry_after = {"schema": {"type": "integer", "example": RETRY_AFTER_SECONDS},
                   "description": "Seconds to wait before retrying."}
    own = responses.get("503")
    if own is None:
        responses["503"] = {
            "description": _UNAVAILABLE,
            "headers": {"Retry-After": {**retry_after, "required": True}},
            "content": {"application/json": {"schema": error_ref, "example": {"error": {
                "code": "service_unavailable", "message": "The service is briefly unavailable; retry after the "
                "number of seconds in Retry-After (a POST with the same Idempotency-Key).", "details": {}}}}},
        }
        return
    # The operation's own 503 (model_not_ready) is sent without Retry-After: there the header is documented but
    # not required, as only the database's answer carries it.
    if _UNAVAILABLE not in own.get("description", ""):
        own["description"] = f"{own.get('description', '')} Or: {_UNAVAILABLE[0].lower()}{_UNAVAILABLE[1:]}".strip()
    own.setdefault("headers", {})["Retry-After"] = {
        **retry_after, "description": "Seconds to wait before retrying (sent with service_unavailable)."}
    own.setdefault("content", {}).setdefault("application/json", {"schema": error_ref})
