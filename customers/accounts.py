"""Writes to a customer's accounts on their own request: freeze and unfreeze a card, move money between two
of their own accounts. Every change is atomic, checked against the customer who asked, audited in the same
transaction, and safe to repeat (a retried request changes nothing twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bank import audit
from customers.models import Account, AccountType, Channel, Customer, SpendingCategory, Transaction

TRANSFERABLE = (AccountType.CURRENT, AccountType.SAVINGS)
CARD_TYPES = (AccountType.CREDIT_CARD,)
# A self-service transfer above this goes through a branch or the app's strong authentication, not a chat.
SELF_SERVICE_TRANSFER_LIMIT = Decimal("200000.00")


class AccountActionError(ValueError):
    """The action is not allowed; `code` is machine-readable, the message is for the customer."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def _own(customer: Customer, account: Account, *, for_update: bool = False) -> Account:
    rows = Account.objects.filter(pk=account.pk, customer=customer)
    if for_update:
        rows = rows.select_for_update()
    found = rows.first()
    if found is None:
        # Another customer's account is answered like a missing one.
        raise AccountActionError("No such account.", code="account_not_found")
    return found


def _set_card_status(*, customer: Customer, card: Account, to: str, actor: Any, channel: str, reason: str) -> bool:
    with transaction.atomic():
        card = _own(customer, card, for_update=True)
        if card.type not in CARD_TYPES:
            raise AccountActionError("That account is not a card.", code="not_a_card")
        if card.status == Account.Status.CLOSED:
            raise AccountActionError("That card is closed.", code="card_closed")
        if card.status == to:
            return False
        before = card.status
        Account.objects.filter(pk=card.pk).update(status=to)
        audit.record(
            action="card.freeze" if to == Account.Status.FROZEN else "card.unfreeze", actor=actor, channel=channel,
            subject=f"account:{card.public_id}", customer_ref=customer.external_ref,
            detail={"from": before, "to": to, "reason": reason, "card": card.masked_number},
        )
    return True


def freeze_card(*, customer: Customer, card: Account, actor: Any, channel: str, reason: str = "") -> bool:
    """Freeze the customer's card: no new payments until unfrozen. Returns False if it was already frozen.
    Raises AccountActionError for another customer's account, a non-card account or a closed card."""
    return _set_card_status(customer=customer, card=card, to=Account.Status.FROZEN, actor=actor, channel=channel,
                            reason=reason)


def unfreeze_card(*, customer: Customer, card: Account, actor: Any, channel: str, reason: str = "") -> bool:
    """Unfreeze the customer's card. Returns False if it was not frozen. Raises AccountActionError."""
    return _set_card_status(customer=customer, card=card, to=Account.Status.ACTIVE, actor=actor, channel=channel,
                            reason=reason)


@dataclass(frozen=True)
class TransferResult:
    reference: str
    amount: Decimal
    currency: str
    source_balance: Decimal
    target_balance: Decimal
    created: bool  # False when `reference` had already been carried out: nothing moved twice


def transfer_between_own_accounts(
    *,
    customer: Customer,
    source: Account,
    target: Account,
    amount: Decimal,
    reference: str,
    actor: Any,
    channel: str,
) -> TransferResult:
    """Move `amount` from `source` to `target`, both the customer's own active current or savings accounts in
    one currency. Atomic: both balances and both transaction rows, or nothing. `reference` makes it
    idempotent: a second call with the same reference moves nothing and returns the first result.

    Raises AccountActionError: account_not_found, same_account, not_transferable, account_inactive,
    currency_mismatch, invalid_amount, over_limit, insufficient_funds.
    """
    if amount != amount.quantize(Decimal("0.01")) or amount <= 0:
        raise AccountActionError("The amount must be positive, in yuan and fen.", code="invalid_amount")
    if amount > SELF_SERVICE_TRANSFER_LIMIT:
        raise AccountActionError(
            f"Transfers above {SELF_SERVICE_TRANSFER_LIMIT:,.2f} need the app's strong authentication.",
            code="over_limit",
        )
    debit_ref, credit_ref = f"own:{reference}:debit", f"own:{reference}:credit"
    with transaction.atomic():
        # Lock both rows in id order, so two opposite transfers cannot deadlock. A concurrent retry of the same
        # reference waits here and then finds the first one's rows: it moves nothing.
        locked = {a.pk: a for a in Account.objects.select_for_update().filter(
            pk__in=[source.pk, target.pk], customer=customer).order_by("pk")}
        done = _done(customer, debit_ref, credit_ref, reference)
        if done is not None:
            return done
        if source.pk not in locked or target.pk not in locked:
            raise AccountActionError("No such account.", code="account_not_found")
        if source.pk == target.pk:
            raise AccountActionError("The two accounts must differ.", code="same_account")
        source, target = locked[source.pk], locked[target.pk]
        for account in (source, target):
            if account.type not in TRANSFERABLE:
                raise AccountActionError(f"Money can only move between current and savings accounts, not "
                                         f"{account.get_type_display().lower()}.", code="not_transferable")
            if account.status != Account.Status.ACTIVE:
                raise AccountActionError(f"{account} is {account.get_status_display().lower()}.",
                                         code="account_inactive")
        if source.currency != target.currency:
            raise AccountActionError("Both accounts must be in the same currency.", code="currency_mismatch")
        if source.balance < amount:
            raise AccountActionError(f"{source} holds {source.balance:,.2f} {source.currency}.",
                                     code="insufficient_funds")
        now = timezone.now()
        Account.objects.filter(pk=source.pk).update(balance=F("balance") - amount)
        Account.objects.filter(pk=target.pk).update(balance=F("balance") + amount)
        common = {"customer": customer, "currency": source.currency, "timestamp": now,
                  "category": SpendingCategory.TRANSFER, "channel": Channel.APP}
        Transaction.objects.bulk_create([
            Transaction(account=source, amount=-amount, external_ref=debit_ref, counterparty=f"Own {target}",
                        description=f"To own {target}", **common),
            Transaction(account=target, amount=amount, external_ref=credit_ref, counterparty=f"Own {source}",
                        description=f"From own {source}", **common),
        ])
        audit.record(
            action="transfer.own_accounts", actor=actor, channel=channel, subject=f"account:{source.public_id}",
            customer_ref=customer.external_ref,
            detail={"reference": reference, "amount": str(amount), "currency": source.currency,
                    "from": source.masked_number, "to": target.masked_number},
        )
        source.refresh_from_db(fields=["balance"])
        target.refresh_from_db(fields=["balance"])
    return TransferResult(reference=reference, amount=amount, currency=source.currency,
                          source_balance=source.balance, target_balance=target.balance, created=True)


def _done(customer: Customer, debit_ref: str, credit_ref: str, reference: str) -> TransferResult | None:
    rows = {t.external_ref: t for t in Transaction.objects.filter(external_ref__in=[debit_ref, credit_ref],
                                                                  customer=customer).select_related("account")}
    if debit_ref not in rows:
        return None
    debit, credit = rows[debit_ref], rows[credit_ref]
    return TransferResult(reference=reference, amount=-debit.amount, currency=debit.currency,
                          source_balance=debit.account.balance, target_balance=credit.account.balance, created=False)
