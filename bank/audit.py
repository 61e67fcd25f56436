"""Writing the audit trail: one function, called inside the transaction of the change it records, so an
event exists exactly when its change does."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

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
    """Append an audit event. `actor` is a user, a partner's API principal or None for the system; its label is
    frozen at this moment (a partner is labelled by name: it is not a user row to point at)."""
    user = actor if isinstance(actor, AbstractBaseUser) and actor.is_authenticated else None
    if user is not None:
        label = user.get_username()
    elif getattr(actor, "partner_name", None):
        label = f"partner:{actor.partner_name}"
    else:
        label = "system"
    return AuditEvent.objects.create(
        actor=user, actor_label=label, channel=channel, action=action, subject=subject,
        customer_ref=customer_ref, detail=detail or {},
    )
