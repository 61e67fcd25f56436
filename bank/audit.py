"""Writing the audit trail: one function, called inside the transaction of the change it records, so an
event exists exactly when its change does."""

from __future__ import annotations

from typing import Any

from bank.models import AuditEvent


def record(
    *,
    action: str,
    actor: Any = None,
    channel: str,
    subject: str = "",
    customer_ref: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event. `actor` is a user (or None for the system); its label is frozen at this moment."""
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    label = user.get_username() if user is not None else "system"
    return AuditEvent.objects.create(
        actor=user, actor_label=label, channel=channel, action=action, subject=subject,
        customer_ref=customer_ref, detail=detail or {},
    )
