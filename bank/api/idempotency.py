"""Idempotency-Key on the API's state-changing POSTs, with Stripe's semantics, for every app.

A client that sends `Idempotency-Key: <any unique string>` may retry the request as often as it likes:

- the first request runs; its answer (status, body, a few headers) is stored with a hash of the request, even
  when it is a 4xx (a refusal is an answer: a retry must not turn it into a success behind the client's back);
- the same caller, method, path, key and body again gets that stored answer back, byte for byte, with the header
  `Idempotent-Replayed: true` (and a top-level `replayed` field set to true where the body has one), and nothing
  runs again;
- the same key with a different body is a 422 `idempotency_key_reused`, and nothing runs;
- a duplicate that arrives while the first is still running is a 409 `idempotency_request_in_flight` (retry
  later: it will get the stored answer);
- a 5xx is not stored: the request's writes are rolled back and the key released, so a retry runs it again;
- keys expire after settings.IDEMPOTENCY_KEY_TTL_HOURS (24 h), are purged hourly (bank.schedules), and an expired
  key is as good as new.

How it is exactly-once: the key is claimed by an INSERT … ON CONFLICT DO NOTHING committed on its own before the
view runs, so of 50 concurrent duplicates exactly one inserts and the others find its row (in flight: 409). The
view then runs inside one transaction that also completes the record, so the stored answer and the writes it
reports commit together or not at all; if the process dies mid-way, both roll back and the in-flight claim is
taken over by a retry after settings.IDEMPOTENCY_IN_FLIGHT_SECONDS.

How it relates to the domain-level keys (ProductInteraction.idempotency_key, risk's IngestionRecord, the
applications' and chat's keys): those are unique constraints in the services and remain a second line of
defence. This layer answers first, so for a request it has seen they are never reached; they still catch what
it cannot see: a retry after the key expired and was purged, a stale in-flight claim taken over while the first
attempt was in fact still running, and callers that reach the services without the API (portal, chat, imports).
Risk's IngestionRecord is kept settings.IDEMPOTENCY_KEY_RETENTION_DAYS (7 days), then purged hourly
(risk.tasks.purge_ingestion_keys_task).

Views opt in per method with @idempotent (the schema then documents the header and the 409/422 answers, see
bank.api.schema.AutoSchema). A request without the header runs as before.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from bank.api.errors import InvalidParameter
from bank.models import IdempotencyRecord
from bank.purge import delete_in_batches

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200
# Headers that are part of the answer (not of the transport): replayed with the body.
STORED_HEADERS = ("Location", "Retry-After", "Content-Language")
# Rows deleted per statement by the purge.
PURGE_BATCH_SIZE = 5000


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = _("This Idempotency-Key was already used with a different request.")


class IdempotencyRequestInFlight(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_request_in_flight"
    default_detail = _("A request with this Idempotency-Key is still being processed; retry in a moment.")


@dataclass(frozen=True)
class Claimed:
    """This attempt holds the key: run the view, then complete (or release) the record with `token`."""

    record_id: int
    token: uuid.UUID


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: str
    headers: dict[str, str]


# --- Pure helpers ---------------------------------------------------------------------------------------------


def caller_of(request: Request) -> str | None:
    """Whose key this is: the partner of a token, else the logged-in user (customer or staff); None if anonymous."""
    partner_id = getattr(request.auth, "partner_id", None)
    if partner_id is not None:
        return f"partner:{partner_id}"
    user = request.user
    if user is not None and user.is_authenticated and getattr(user, "pk", None) is not None:
        return f"user:{user.pk}"
    return None


def _plain(value: Any) -> Any:
    """Parsed request data as plain JSON types (a form's QueryDict keeps every value of a repeated field)."""
    if hasattr(value, "lists"):
        return {key: values if len(values) != 1 else values[0] for key, values in value.lists()}
    return value


def request_fingerprint(*, data: Any, query: Any) -> str:
    """The sha256 of the request's canonical form: the parsed body and query string with sorted keys, so that
    the same request sent with its fields in another order or other whitespace is the same request."""
    canonical = json.dumps({"body": _plain(data), "query": _plain(query)}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, cls=JSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _expires_at(now: datetime) -> datetime:
    return now + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


# --- The record's life: claim, complete, release, purge ---------------------------------------------------------


def claim_key(*, caller: str, method: str, path: str, key: str, fingerprint: str) -> Claimed | StoredAnswer:
    """Claim (caller, method, path, key) for one attempt, or answer from what an earlier one stored.

    Raises IdempotencyKeyReused when the key was used with another request, IdempotencyRequestInFlight while
    another attempt holds it. The claim is committed before this returns (when not already inside a
    transaction), so concurrent duplicates see it.
    """
    lookup = {"caller": caller, "method": method, "path": path, "key": key}
    # Three rounds cover the races: the holder released its claim (5xx) or an expired row was deleted between
    # our INSERT and our read.
    for _round in range(3):
        token, now = uuid.uuid4(), timezone.now()
        with transaction.atomic():
            # ON CONFLICT DO NOTHING: of concurrent inserts exactly one wins; the others wait for it to commit,
            # then insert nothing and read the winner's row below.
            IdempotencyRecord.objects.bulk_create(
                [IdempotencyRecord(**lookup, request_sha256=fingerprint, claim=token, claimed_at=now,
                                   expires_at=_expires_at(now))],
                ignore_conflicts=True,
            )
        record = IdempotencyRecord.objects.filter(**lookup).first()
        if record is None:
            continue
        if record.claim == token:
            return Claimed(record_id=record.pk, token=token)
        if record.expires_at <= now:
            # An expired key is as good as unused (the purge had not reached it yet).
            IdempotencyRecord.objects.filter(pk=record.pk, expires_at__lte=now).delete()
            continue
        if record.request_sha256 != fingerprint:
            raise IdempotencyKeyReused()
        if record.state == IdempotencyRecord.State.DONE:
            return StoredAnswer(status_code=record.status_code or 200, body=record.response_body,
                                headers=dict(record.response_headers))
        stale = now - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS)
        if record.claimed_at <= stale:
            # The holder has been at it longer than any request takes: its process died, and with it its
            # transaction (nothing it did was committed). Take the claim over; conditional on the old token, so
            # of several retries only one gets it.
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT, claim=record.claim
            ).update(claim=token, claimed_at=now)
            if taken:
                return Claimed(record_id=record.pk, token=token)
        raise IdempotencyRequestInFlight()
    raise IdempotencyRequestInFlight()


def _body_text(response: Response) -> str:
    data = getattr(response, "data", None)
    if data is None:
        return ""
    return json.dumps(data, cls=JSONEncoder, ensure_ascii=False)


def complete_key(*, claimed: Claimed, response: Response) -> None:
    """Store `response` as the key's answer. Called inside the view's transaction, so the answer commits with the
    writes it reports. Raises IdempotencyRequestInFlight (rolling those writes back) if the claim was taken over
    meanwhile: the attempt that took it runs the request instead."""
    now = timezone.now()
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    stored = IdempotencyRecord.objects.filter(pk=claimed.record_id, claim=claimed.token).update(
        state=IdempotencyRecord.State.DONE, status_code=response.status_code, response_body=_body_text(response),
        response_headers=headers, completed_at=now, expires_at=_expires_at(now),
    )
    if not stored:
        raise IdempotencyRequestInFlight()


def release_key(*, claimed: Claimed) -> None:
    """Forget an attempt that ended in a 5xx, so that a retry runs the request again."""
    IdempotencyRecord.objects.filter(
        pk=claimed.record_id, claim=claimed.token, state=IdempotencyRecord.State.IN_FLIGHT
    ).delete()


def purge_expired_keys(*, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete the records whose keys have expired, `batch_size` rows per statement; returns how many. Safe to run
    at any time and twice."""
    expired = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now())
    return delete_in_batches(expired, batch_size=batch_size)


# --- The view decorator ---------------------------------------------------------------------------------------


def replay(answer: StoredAnswer) -> Response:
    data = json.loads(answer.body) if answer.body else None
    if isinstance(data, dict) and isinstance(data.get("replayed"), bool):
        # Some answers say in their body whether they are a replay; keep that field truthful.
        data["replayed"] = True
    response = Response(data, status=answer.status_code, headers=answer.headers)
    response[REPLAYED_HEADER] = "true"
    return response


class _NotStored(Exception):
    """A 5xx answer: leave the transaction (rolling its writes back) and release the key."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


Handler = Callable[..., Response]


def idempotent(handler: Handler) -> Handler:
    """Make a DRF view method honour Idempotency-Key (see the module docstring). Put it on the method dispatch
    calls (not on one it delegates to, or the second claim would find the first in flight)."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "")
        caller = caller_of(request)
        if not key or caller is None:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidParameter(HEADER, gettext("At most %(count)d characters.") % {"count": MAX_KEY_LENGTH})
        outcome = claim_key(caller=caller, method=request.method or "POST", path=request.path, key=key,
                            fingerprint=request_fingerprint(data=request.data, query=request.query_params))
        if isinstance(outcome, StoredAnswer):
            return replay(outcome)
        try:
            with transaction.atomic():
                try:
                    response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    # The view's own answer to its exception (4xx in the one error shape) is stored like any
                    # other; an unexpected error re-raises here and becomes a 500 (not stored, see below).
                    response = view.handle_exception(exc)
                if response.status_code >= 500:
                    raise _NotStored(response)
                complete_key(claimed=outcome, response=response)
        except _NotStored as not_stored:
            release_key(claimed=outcome)
            return not_stored.response
        except BaseException:
            try:
                release_key(claimed=outcome)
            except DatabaseError:
                # The database itself failed (the likely cause of the error): the claim stays in flight and a
                # retry takes it over after IDEMPOTENCY_IN_FLIGHT_SECONDS. Report the original error, not this.
                logger.warning("Could not release Idempotency-Key record %s", outcome.record_id, exc_info=True)
            raise
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper
