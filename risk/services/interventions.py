"""Interventions with maker-checker: propose (a risk officer or a rule), approve and apply (a second, different
person), reject, reverse. Each step is one transaction that also writes the audit trail (InterventionEvent) and,
when the customer's account changes, the notice they read on the portal."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from bank import audit
from customers.models import Account, AccountType, Channel, Customer, SpendingCategory
from risk.models import CustomerNotice, Intervention, InterventionEvent
from risk.reasons import intervention_notice, lifted_notice

APPROVE_PERMISSION = "risk.approve_intervention"


class InterventionError(ValueError):
    """The intervention cannot be proposed or moved as asked (bad parameters, wrong state)."""


class MakerCheckerViolation(PermissionError):
    """The checker is the maker, or may not approve at all."""


def _label(user: Any, rule: str = "") -> str:
    return user.get_username() if user is not None else f"rule:{rule}"


def _audit(intervention: Intervention, action: str, *, by: Any, rule: str = "", **detail: Any) -> None:
    """The bank-wide trail gets every step too (InterventionEvent is risk's own, richer history)."""
    audit.record(action=f"intervention.{action}", actor=by, label=_label(by, rule), channel="admin" if by else "worker",
                 subject=f"intervention:{intervention.pk}",
                 customer_ref=Customer.objects.values_list("external_ref", flat=True).get(pk=intervention.customer_id),
                 detail={"kind": intervention.kind, "reason": intervention.reason, "params": intervention.params,
                         "account": str(intervention.account.public_id) if intervention.account is not None else "",
                         **detail})


def validate_params(*, kind: str, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
    """The parameters, normalised; raises InterventionError naming what is wrong."""
    if kind == Intervention.Kind.LOWER_CREDIT_LIMIT:
        if account is None or account.type != AccountType.CREDIT_CARD:
            raise InterventionError("A credit limit can only be lowered on a credit card account.")
        current_limit = account.credit_limit
        if current_limit is None:
            # A saved card always has one (the account_card_has_credit_limit constraint); an unsaved one may not.
            raise InterventionError("This credit card has no credit limit to lower.")
        try:
            new_limit = Decimal(str(params.get("new_limit", ""))).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise InterventionError("new_limit must be an amount, e.g. 20000.") from None
        if new_limit < 0 or new_limit >= current_limit:
            raise InterventionError(f"new_limit must be from 0 to below the current limit {current_limit}.")
        return {"new_limit": str(new_limit)}
    if kind == Intervention.Kind.RESTRICT:
        categories = list(dict.fromkeys(params.get("categories") or []))
        channels = list(dict.fromkeys(params.get("channels") or []))
        bad = [c for c in categories if c not in SpendingCategory.values] + [
            c for c in channels if c not in Channel.values]
        if bad:
            raise InterventionError(f"Unknown category or channel: {bad[0]}.")
        if not categories and not channels:
            raise InterventionError("Name at least one category or channel to restrict.")
        return {"categories": categories, "channels": channels}
    if kind == Intervention.Kind.STEP_UP:
        try:
            amount = Decimal(str(params.get("amount_over", "0"))).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise InterventionError("amount_over must be an amount (0 for every payment).") from None
        if amount < 0:
            raise InterventionError("amount_over cannot be negative.")
        return {"amount_over": str(amount)}
    raise InterventionError(f"Unknown kind {kind!r}.")


def propose_intervention(
    *, customer: Customer, kind: str, reason: str, rationale: str, params: dict[str, Any],
    account: Account | None = None, evidence: dict[str, Any] | None = None, proposed_by: Any = None,
    rule_code: str = "", case: Any = None,
) -> Intervention:
    """Record a proposal (nothing changes for the customer yet). Raises InterventionError."""
    if account is not None and account.customer_id != customer.pk:
        raise InterventionError("That account belongs to another customer.")
    if reason not in Intervention.Reason.values:
        raise InterventionError(f"Unknown reason {reason!r}.")
    if not rationale.strip():
        raise InterventionError("Say why (the rationale is part of the audit trail).")
    if proposed_by is None and not rule_code:
        raise InterventionError("An intervention is proposed by a person or by a rule.")
    clean = validate_params(kind=kind, params=params, account=account)
    with transaction.atomic():
        intervention = Intervention.objects.create(
            customer=customer, account=account, kind=kind, params=clean, reason=reason, rationale=rationale.strip(),
            evidence=evidence or {}, proposed_by=proposed_by, proposed_by_rule="" if proposed_by else rule_code,
            case=case,
        )
        InterventionEvent.objects.create(
            intervention=intervention, action=InterventionEvent.Action.PROPOSED, actor=proposed_by,
            actor_label=_label(proposed_by, rule_code), note=rationale.strip(), evidence=evidence or {},
        )
        _audit(intervention, "proposed", by=proposed_by, rule=rule_code)
    return intervention


def _locked(intervention: Intervention, *expected: str) -> Intervention:
    locked = Intervention.objects.select_for_update().get(pk=intervention.pk)
    if locked.status not in expected:
        raise InterventionError(f"This intervention is {locked.get_status_display().lower()}.")
    return locked


def _check(locked: Intervention, by: Any) -> None:
    if by is None or not by.is_authenticated:
        raise MakerCheckerViolation("A checker must be a signed-in person.")
    if locked.proposed_by_id is not None and locked.proposed_by_id == by.pk:
        raise MakerCheckerViolation("The person who proposed an intervention cannot approve or reject it.")
    if not by.has_perm(APPROVE_PERMISSION):
        raise MakerCheckerViolation("You may not approve or reject interventions.")


def approve_intervention(*, intervention: Intervention, by: Any, note: str = "") -> Intervention:
    """Approve and apply in one transaction: the account change (a lower limit), the status, the audit event and
    the customer's notice all happen or none does. Raises MakerCheckerViolation (the maker, or no permission)
    and InterventionError (not pending, or the account changed so the proposal no longer makes sense)."""
    with transaction.atomic():
        locked = _locked(intervention, Intervention.Status.PROPOSED)
        _check(locked, by)
        previous: dict[str, Any] = {}
        account = None
        if locked.account_id is not None:
            account = Account.objects.select_for_update().get(pk=locked.account_id)
            if locked.kind == Intervention.Kind.LOWER_CREDIT_LIMIT:
                new_limit = Decimal(locked.params["new_limit"])
                if account.credit_limit is None or new_limit >= account.credit_limit:
                    raise InterventionError("The card's limit is already at or below the proposed one.")
                previous = {"credit_limit": str(account.credit_limit)}
                account.credit_limit = new_limit
                account.save(update_fields=["credit_limit"])
        now = timezone.now()
        locked.status = Intervention.Status.ACTIVE
        locked.approved_by = by
        locked.decided_at = locked.applied_at = now
        locked.previous_state = previous
        locked.save(update_fields=["status", "approved_by", "decided_at", "applied_at", "previous_state", "updated_at"])
        InterventionEvent.objects.create(
            intervention=locked, action=InterventionEvent.Action.APPROVED, actor=by, actor_label=_label(by),
            note=note, evidence={"previous_state": previous, "params": locked.params},
        )
        _audit(locked, "approved", by=by, previous_state=previous)
        CustomerNotice.objects.create(
            customer_id=locked.customer_id, intervention=locked,
            **intervention_notice(kind=locked.kind, reason=locked.reason, params=locked.params,
                                  account=account),
        )
    return locked


def reject_intervention(*, intervention: Intervention, by: Any, note: str = "") -> Intervention:
    with transaction.atomic():
        locked = _locked(intervention, Intervention.Status.PROPOSED)
        _check(locked, by)
        locked.status = Intervention.Status.REJECTED
        locked.approved_by = None
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        InterventionEvent.objects.create(intervention=locked, action=InterventionEvent.Action.REJECTED, actor=by,
                                         actor_label=_label(by), note=note)
        _audit(locked, "rejected", by=by)
    return locked


def reverse_intervention(*, intervention: Intervention, by: Any, note: str) -> Intervention:
    """Undo an applied intervention (it only ever gives the customer back what they had, so one authorised person
    suffices). A lowered limit returns to what it was. Raises InterventionError."""
    if not note.strip():
        raise InterventionError("Say why it is reversed (the note is part of the audit trail).")
    with transaction.atomic():
        locked = _locked(intervention, Intervention.Status.ACTIVE)
        restored: dict[str, Any] = {}
        account = None
        if locked.account_id is not None:
            account = Account.objects.select_for_update().get(pk=locked.account_id)
            if locked.kind == Intervention.Kind.LOWER_CREDIT_LIMIT and "credit_limit" in locked.previous_state:
                restored = {"credit_limit": locked.previous_state["credit_limit"], "was": str(account.credit_limit)}
                account.credit_limit = Decimal(locked.previous_state["credit_limit"])
                account.save(update_fields=["credit_limit"])
        locked.status = Intervention.Status.REVERSED
        locked.reversed_by = by
        locked.reversed_at = timezone.now()
        locked.save(update_fields=["status", "reversed_by", "reversed_at", "updated_at"])
        InterventionEvent.objects.create(intervention=locked, action=InterventionEvent.Action.REVERSED, actor=by,
                                         actor_label=_label(by), note=note.strip(), evidence={"restored": restored})
        _audit(locked, "reversed", by=by, restored=restored)
        CustomerNotice.objects.create(customer_id=locked.customer_id, intervention=locked,
                                      **lifted_notice(kind=locked.kind, account=account))
    return locked
