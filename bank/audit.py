"""Writing the audit trail: one function, called inside the transaction of the change it records, so an
event exists exactly when its change does.

The trail is append-only (the database refuses UPDATE, DELETE and TRUNCATE: migrations bank 0004 and 0005), so
it must never hold what an erasure would have to remove: events name customers by their reference, not their
name, and free-text strings in `detail` are masked (card numbers, IDs, phones, e-mails) before they are stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User

from bank.models import AuditEvent
from bank.pii import mask_pii


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def actor_label(actor: Any) -> str:
    """How an actor is named in the trail: a user's username, `partner:<name>` for a partner's API principal,
    `system` for nobody."""
    if isinstance(actor, AbstractBaseUser) and actor.is_authenticated:
        return actor.get_username()
    if getattr(actor, "partner_name", None):
        return f"partner:{actor.partner_name}"
    return "system"


def record(
    *,
    action: str,
    actor: Any = None,
    channel: str,
    subject: str = "",
    customer_ref: str = "",
    detail: dict[str, Any] | None = None,
    label: str = "",
) -> AuditEvent:
    """Append an audit event. `actor` is a user, a partner's API principal or None for the system; its label is
    frozen at this moment (a partner is labelled by name: it is not a user row to point at). `label` overrides
    the label where the caller knows better (a rule's code, a partner named by an earlier step)."""
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=user, actor_label=(label or actor_label(actor))[:150], channel=channel, action=action,
        subject=subject[:120], customer_ref=customer_ref, detail=_masked(detail or {}),
    )


def record_many(*, action: str, channel: str, events: list[tuple[str, str, dict[str, Any]]],
                actor: Any = None) -> int:
    """Append one event per (subject, customer_ref, detail) in a single INSERT: a batch decision (a credit
    scoring run) is as traceable per customer as a single one. Returns how many were written."""
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    label = actor_label(actor)
    rows = AuditEvent.objects.bulk_create([
        AuditEvent(actor=user, actor_label=label, channel=channel, action=action, subject=subject[:120],
                   customer_ref=customer_ref, detail=_masked(detail))
        for subject, customer_ref, detail in events
    ])
    return len(rows)
