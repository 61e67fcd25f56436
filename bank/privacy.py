"""Data subject rights: export everything the bank holds about one customer, and erase (pseudonymise) it.

Both walk the same map of what belongs to a customer: every model that points at Customer, and every model that
points at one of those, found from the model graph rather than listed by hand -- so a table added by a later
feature is exported and scrubbed without anyone remembering to add it here. (This is the one place the house rule
against reflective helpers is set aside, for exactly that reason.) The apps above `bank` are reached through the
app registry, never imported, so `bank` still depends on nothing above it.

Export format (`bank.customer-export`, version 1), one JSON object:
    format, version, generated_at (ISO 8601), customer {field: value},
    login {username, email, first_name, last_name, date_joined, last_login, is_active} or null,
    records {"app_label.model": [{"id": pk, field: value, ...}, ...]}  -- foreign keys as ids, money as strings,
        times as ISO 8601; embedding vectors are left out (derived numbers, not information about the person),
    audit_events [{at, actor, channel, action, subject, detail}]      -- what was done with the data.

Erasure keeps what the bank must keep and what aggregates need -- amounts, dates, product ids, account numbers
(ledger identifiers), the city, the birth YEAR (the date becomes 1 January of it) -- and removes the person:
name, national id, phone, e-mail, address, occupation, the login's names and e-mail, free texts the customer or
staff wrote about them (chat messages, application reasons and notes, case and intervention notes), and every
other occurrence of those strings in the customer's rows. The login is deactivated, unlinked and gets an unusable
password (which also ends its sessions: Django checks the password hash on every request); partner consents are
revoked, marketing and profiling consents withdrawn. The audit trail is untouched: it refers to the customer by
their bank reference, never their name, so it stays true. Everything happens in one transaction, with its audit
event, and is then checked: if any of the old strings is still found in any text column of any table, the whole
erasure is rolled back and the places are reported.

Legal holds (erasure refused, nothing written): an open or investigating risk case; a proposed or active risk
intervention; money owed on an open loan or credit card account. Records the bank must keep for anti-money-
laundering purposes stay (transactions), pseudonymised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from bank import audit
from bank.models import AuditEvent

EXPORT_FORMAT = "bank.customer-export"
EXPORT_VERSION = 1
ERASED = "[erased]"

# Free texts written by or about the customer: removed outright on erasure (they may name the person in ways no
# string match finds). Other text fields are kept with the customer's own strings replaced.
FREE_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "chat.message": ("text",),
    "chat.handoff": ("summary",),
    "advisor.application": ("reason_text", "decision_note"),
    "advisor.applicationevent": ("note",),
    "advisor.recommendationset": ("query",),
    "risk.casenote": ("text",),
    "risk.intervention": ("rationale",),
    "risk.interventionevent": ("note",),
}
# The table that must never be rewritten (and cannot be: see migration bank 0004).
SKIPPED_TABLES = {AuditEvent._meta.db_table}


class ErasureRefused(Exception):
    """A legal hold applies; nothing was written. `code` is machine-readable."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class PersonalDataRemains(Exception):
    """After erasure an old personal string was still found; the erasure was rolled back."""


@dataclass
class ErasureResult:
    customer_ref: str
    rows_changed: dict[str, int] = field(default_factory=dict)
    consents_revoked: int = 0
    login_disabled: bool = False


def _customer_model() -> type[models.Model]:
    return apps.get_model("customers", "Customer")


def find_customer(*, ref: str) -> Any:
    """The customer with this external reference or public id. Raises Customer.DoesNotExist."""
    customer_model = _customer_model()
    try:
        return customer_model._default_manager.get(public_id=UUID(ref))
    except ValueError:
        return customer_model._default_manager.get(external_ref=ref)


def customer_data_models() -> list[tuple[type[models.Model], str]]:
    """Every model holding rows about a customer, with the lookup from it to the customer (`customer`,
    `conversation__customer`, …), nearest first. Each model appears once, by its shortest path."""
    customer_model = _customer_model()
    found: list[tuple[type[models.Model], str]] = []
    seen: set[type[models.Model]] = {customer_model}
    frontier: list[tuple[type[models.Model], str]] = [(customer_model, "")]
    while frontier:
        parent, path = frontier.pop(0)
        for relation in parent._meta.related_objects:
            if not (relation.one_to_many or relation.one_to_one) or relation.related_model in seen:
                continue
            # A resolved model class, never the lazy "self" the stubs allow: the app registry is ready here.
            child = cast(type[models.Model], relation.related_model)
            seen.add(child)
            lookup = relation.field.name + (f"__{path}" if path else "")
            found.append((child, lookup))
            frontier.append((child, lookup))
    return found


def _rows(customer: Any) -> Iterator[tuple[type[models.Model], models.QuerySet[Any]]]:
    for model, lookup in customer_data_models():
        yield model, model._default_manager.filter(**{lookup: customer}).order_by("pk")


def _is_vector(model_field: models.Field[Any, Any]) -> bool:
    return model_field.get_internal_type() == "VectorField" or type(model_field).__name__ == "VectorField"


def _plain(instance: models.Model) -> dict[str, Any]:
    out: dict[str, Any] = {"id": instance.pk}
    for model_field in instance._meta.concrete_fields:
        if model_field.primary_key or _is_vector(model_field):
            continue
        out[model_field.attname] = model_field.value_from_object(instance)
    return out


def export_customer_data(*, customer: Any, by: Any = None, channel: str = "cli") -> dict[str, Any]:
    """Everything the bank holds about `customer` as a JSON-ready dict (format in the module docstring). The
    export itself is audited."""
    with transaction.atomic():
        records = {model._meta.label_lower: [_plain(row) for row in rows] for model, rows in _rows(customer)}
        refs = [customer.external_ref, str(customer.public_id)]
        events = [
            {"at": e.at, "actor": e.actor_label, "channel": e.channel, "action": e.action, "subject": e.subject,
             "detail": e.detail}
            for e in AuditEvent.objects.filter(customer_ref__in=refs).order_by("at", "id")
        ]
        user = customer.user
        login = None if user is None else {
            "username": user.get_username(), "email": user.email, "first_name": user.first_name,
            "last_name": user.last_name, "date_joined": user.date_joined, "last_login": user.last_login,
            "is_active": user.is_active,
        }
        document = {
            "format": EXPORT_FORMAT, "version": EXPORT_VERSION, "generated_at": timezone.now(),
            "customer": _plain(customer), "login": login, "records": records, "audit_events": events,
        }
        audit.record(action="customer.exported", actor=by, channel=channel, subject=f"customer:{customer.public_id}",
                     customer_ref=customer.external_ref,
                     detail={"records": {label: len(rows) for label, rows in records.items() if rows}})
    # Round-trip through JSON so the caller gets exactly what a file would hold (no Decimal, date or UUID objects).
    return json.loads(json.dumps(document, cls=DjangoJSONEncoder))


def legal_holds(*, customer: Any) -> list[tuple[str, str]]:
    """(code, explanation) for each reason the customer's data may not be erased now; empty when none."""
    holds: list[tuple[str, str]] = []
    case_model = apps.get_model("risk", "Case")
    if case_model.objects.filter(customer=customer).exclude(status="closed").exists():
        holds.append(("open_risk_case", "A risk case about this customer is still open."))
    intervention_model = apps.get_model("risk", "Intervention")
    if intervention_model.objects.filter(customer=customer, status__in=["proposed", "active"]).exists():
        holds.append(("active_intervention", "A risk intervention on this customer is pending or in force."))
    account_model = apps.get_model("customers", "Account")
    if account_model.objects.filter(customer=customer, type__in=["loan", "credit_card"], balance__gt=Decimal("0"))\
            .exclude(status="closed").exists():
        holds.append(("money_owed", "The customer owes money on a loan or credit card."))
    return holds


def _personal_strings(customer: Any) -> list[str]:
    values = [customer.full_name, customer.national_id, customer.phone, customer.email, customer.address]
    if customer.user is not None:
        values += [customer.user.email, f"{customer.user.first_name} {customer.user.last_name}".strip()]
    # Shorter strings would match innocent text ("Li" in "Liquidity").
    return sorted({v.strip() for v in values if v and len(v.strip()) >= 4}, key=len, reverse=True)


def _scrub(value: Any, strings: list[str]) -> Any:
    if isinstance(value, str):
        for old in strings:
            value = re.sub(re.escape(old), ERASED, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, strings) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, strings) for item in value]
    return value


def _text_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField) and not f.choices
            and not f.primary_key]


def personal_data_locations(*, strings: list[str]) -> list[str]:
    """`table.column` for every text, varchar and json column of every table (the audit trail included) in which
    one of `strings` occurs, case-insensitively. A full scan: for the erasure's self-check and the tests."""
    if not strings:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND data_type IN ('text', 'character varying', 'jsonb', 'json') ORDER BY table_name, column_name"
        )
        columns = cursor.fetchall()
        patterns = ["%" + s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for s in strings]
        found = []
        for table, column in columns:
            cursor.execute(
                # Table and column names come from the database's own catalogue; the patterns are bound.
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s) LIMIT 1',  # nosec B608  # noqa: S608
                [patterns],
            )
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


def erase_customer(*, customer: Any, reason: str, by: Any = None, channel: str = "cli") -> ErasureResult:
    """Pseudonymise `customer` (what is kept and what goes: module docstring). Raises ErasureRefused when a legal
    hold applies or no reason is given, and PersonalDataRemains when the self-check finds an old string anywhere
    afterwards; in both cases nothing is written."""
    reason = (reason or "").strip()
    if not reason:
        raise ErasureRefused("Say why the data is erased (the reason is part of the audit trail).",
                             code="reason_required")
    customer_model = _customer_model()
    with transaction.atomic():
        customer = (
            customer_model._default_manager.select_for_update(of=("self",)).select_related("user").get(pk=customer.pk)
        )
        if customer.full_name.startswith("[erased"):
            raise ErasureRefused("This customer's data has already been erased.", code="already_erased")
        holds = legal_holds(customer=customer)
        if holds:
            raise ErasureRefused("Not erased: " + " ".join(text for _code, text in holds),
                                 code=",".join(code for code, _text in holds))
        strings = _personal_strings(customer)
        result = ErasureResult(customer_ref=customer.external_ref)
        for model, rows in _rows(customer):
            label = model._meta.label_lower
            cleared = FREE_TEXT_FIELDS.get(label, ())
            fields = _text_fields(model)
            changed_rows = 0
            for row in rows.only("pk", *[f.name for f in fields]) if fields else []:
                changes = {}
                for model_field in fields:
                    old = getattr(row, model_field.attname)
                    new = (ERASED if old else old) if model_field.name in cleared else _scrub(old, strings)
                    if new != old:
                        changes[model_field.attname] = new
                if changes:
                    model._default_manager.filter(pk=row.pk).update(**changes)
                    changed_rows += 1
            if changed_rows:
                result.rows_changed[label] = changed_rows
        result.consents_revoked = apps.get_model("customers", "PartnerConsent").objects.filter(
            customer=customer, revoked_at__isnull=True).update(revoked_at=timezone.now())
        _scrub_admin_log(customer, strings)
        user = customer.user
        if user is not None:
            user.username = f"erased-{customer.public_id.hex[:12]}"
            user.first_name = user.last_name = user.email = ""
            user.is_active = False
            user.set_unusable_password()
            user.save()
            result.login_disabled = True
        born = customer.birth_date
        customer_model._default_manager.filter(pk=customer.pk).update(
            full_name=f"[erased {customer.public_id.hex[:8]}]", national_id="", phone="", email="", address="",
            national_id_hash="", phone_hash="", email_hash="",
            occupation="", birth_date=date(born.year, 1, 1), user=None, consent_marketing=False,
            consent_profiling=False,
        )
        audit.record(action="customer.erased", actor=by, channel=channel, subject=f"customer:{customer.public_id}",
                     customer_ref=customer.external_ref,
                     detail={"reason": reason, "rows_changed": result.rows_changed,
                             "consents_revoked": result.consents_revoked, "login_disabled": result.login_disabled})
        remaining = personal_data_locations(strings=strings)
        if remaining:
            raise PersonalDataRemains("Erasure rolled back: personal data still found in " + ", ".join(remaining))
    return result


def _scrub_admin_log(customer: Any, strings: list[str]) -> None:
    """The admin's own history names objects by their str() (a customer's is their name)."""
    log_model = apps.get_model("admin", "LogEntry")
    condition = models.Q()
    for old in strings:
        condition |= models.Q(object_repr__icontains=old) | models.Q(change_message__icontains=old)
    if not strings:
        return
    for entry in log_model.objects.filter(condition):
        log_model.objects.filter(pk=entry.pk).update(object_repr=_scrub(entry.object_repr, strings),
                                                      change_message=_scrub(entry.change_message, strings))
