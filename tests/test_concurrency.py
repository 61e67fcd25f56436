"""Concurrency against a real PostgreSQL: work that must happen once happens once however many retries race.

These tests commit (threads need their own connections and committed rows). A transactional test ends by
emptying every table, rows that data migrations installed included (the default monitoring rules, the credit
policy), so they live in this folder, which runs last, and ask for `serialized_rollback` (the database's initial
contents are put back before each of them). The test database is created afresh for every run (no
--reuse-db), so a run never starts from the emptied tables the previous one left.
"""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from customers.accounts import transfer_between_own_accounts
from customers.models import Transaction
from customers.tests.factories import AccountFactory, CustomerFactory


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_retries_of_one_transfer_move_money_once():
    customer = CustomerFactory()
    current = AccountFactory(customer=customer, balance=Decimal("1000.00"))
    savings = AccountFactory(customer=customer, type="savings", balance=Decimal("0.00"))

    def attempt(_: int) -> bool:
        try:
            return transfer_between_own_accounts(customer=customer, source=current, target=savings,
                                                 amount=Decimal("100.00"), reference="same", actor=None,
                                                 channel="test").created
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(attempt, range(16)))

    assert created.count(True) == 1
    current.refresh_from_db()
    savings.refresh_from_db()
    assert (current.balance, savings.balance) == (Decimal("900.00"), Decimal("100.00"))
    assert Transaction.objects.filter(customer=customer).count() == 2
