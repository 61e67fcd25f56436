import pytest

from customers.tests.factories import CreditCardFactory, HoldingFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def test_factories_build_a_consistent_customer_360():
    txn = TransactionFactory()
    card = CreditCardFactory(customer=txn.customer)
    holding = HoldingFactory(customer=txn.customer)

    assert txn.customer_id == txn.account.customer_id
    assert card.credit_limit is not None
    assert holding.customer.accounts.count() == 2
