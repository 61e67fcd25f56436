"""Account actions on a customer's own request: ownership, rules, atomicity, idempotency under concurrency."""

from decimal import Decimal

import pytest

from bank.models import AuditEvent
from customers.accounts import AccountActionError, freeze_card, transfer_between_own_accounts, unfreeze_card
from customers.models import Transaction
from customers.tests.factories import AccountFactory, CreditCardFactory, CustomerFactory


@pytest.fixture
def accounts(db):
    customer = CustomerFactory()
    current = AccountFactory(customer=customer, balance=Decimal("1000.00"))
    savings = AccountFactory(customer=customer, type="savings", balance=Decimal("200.00"))
    card = CreditCardFactory(customer=customer)
    return customer, current, savings, card


def test_a_transfer_moves_exactly_the_amount_and_audits_it(accounts):
    customer, current, savings, _ = accounts

    result = transfer_between_own_accounts(customer=customer, source=current, target=savings,
                                           amount=Decimal("250.50"), reference="r1", actor=customer.user,
                                           channel="test")

    assert (result.created, result.source_balance, result.target_balance) == (True, Decimal("749.50"),
                                                                              Decimal("450.50"))
    assert sorted(Transaction.objects.values_list("amount", flat=True)) == [Decimal("-250.50"), Decimal("250.50")]
    event = AuditEvent.objects.get()
    assert (event.action, event.detail["amount"], event.actor) == ("transfer.own_accounts", "250.50", customer.user)


@pytest.mark.parametrize(("amount", "code"), [
    (Decimal("0"), "invalid_amount"), (Decimal("-5"), "invalid_amount"), (Decimal("1.005"), "invalid_amount"),
    (Decimal("1000.01"), "insufficient_funds"), (Decimal("200000.01"), "over_limit"),
])
def test_bad_amounts_are_refused_and_nothing_is_written(accounts, amount, code):
    customer, current, savings, _ = accounts

    with pytest.raises(AccountActionError) as refused:
        transfer_between_own_accounts(customer=customer, source=current, target=savings, amount=amount,
                                      reference="r", actor=None, channel="test")

    assert refused.value.code == code
    assert not Transaction.objects.exists() and not AuditEvent.objects.exists()
    current.refresh_from_db()
    assert current.balance == Decimal("1000.00")


def test_someone_elses_account_or_a_card_cannot_be_used(accounts):
    customer, current, savings, card = accounts
    stranger = AccountFactory(balance=Decimal("5000.00"))

    with pytest.raises(AccountActionError) as theirs:
        transfer_between_own_accounts(customer=customer, source=stranger, target=savings, amount=Decimal("1"),
                                      reference="r", actor=None, channel="test")
    with pytest.raises(AccountActionError) as not_transferable:
        transfer_between_own_accounts(customer=customer, source=current, target=card, amount=Decimal("1"),
                                      reference="r", actor=None, channel="test")
    with pytest.raises(AccountActionError) as freeze_theirs:
        freeze_card(customer=customer, card=CreditCardFactory(), actor=None, channel="test")

    assert (theirs.value.code, not_transferable.value.code, freeze_theirs.value.code) == (
        "account_not_found", "not_transferable", "account_not_found")
    stranger.refresh_from_db()
    assert stranger.balance == Decimal("5000.00") and not AuditEvent.objects.exists()


def test_freezing_twice_changes_nothing_the_second_time(accounts):
    customer, _, _, card = accounts

    assert freeze_card(customer=customer, card=card, actor=None, channel="test") is True
    assert freeze_card(customer=customer, card=card, actor=None, channel="test") is False
    assert unfreeze_card(customer=customer, card=card, actor=None, channel="test") is True

    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == ["card.freeze",
                                                                                       "card.unfreeze"]


def test_the_audit_trail_cannot_be_edited_or_deleted(accounts):
    customer, _, _, card = accounts
    freeze_card(customer=customer, card=card, actor=None, channel="test")
    event = AuditEvent.objects.get()

    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing happened")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get().action == "card.freeze"
