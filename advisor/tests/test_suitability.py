"""The suitability gate: every rule blocks exactly what it should, with its reason, and nothing else."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from advisor.models import BlockReason
from advisor.suitability import CatalogueRules, CustomerFacts, SuitabilityGate, catalogue_rules, catalogue_stamp
from customers.models import AccountType, Holding, KycStatus
from customers.tests.factories import AccountFactory, CustomerFactory, HoldingFactory
from products.models import ProductType
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 23)


def _gate(customer, products):
    rules = CatalogueRules.from_products(products)
    return SuitabilityGate(CustomerFacts.of(customer, today=TODAY), rules)


def _blocked(customer, products) -> dict[str, list[str]]:
    gate = _gate(customer, products)
    return {p.code: gate.reasons(i) for i, p in enumerate(products) if not gate.allowed()[i]}


@pytest.fixture
def customer():
    # 36 years old, R3, verified, CN resident, 240k a year, 15,000 in a current account.
    customer = CustomerFactory(birth_date=date(1990, 5, 17))
    AccountFactory(customer=customer, type=AccountType.CURRENT, balance=Decimal("15000.00"))
    return customer


def test_a_suitable_product_passes_every_rule(customer):
    product = ProductFactory(risk_level=3, min_amount=Decimal("15000.00"))

    gate = _gate(customer, [product])

    assert gate.allowed().tolist() == [True]
    assert gate.reasons(0) == []


def test_risk_above_tolerance_is_blocked_and_at_tolerance_is_not(customer):
    at, above = ProductFactory(code="AT", risk_level=3), ProductFactory(code="ABOVE", risk_level=4)

    assert _blocked(customer, [at, above]) == {"ABOVE": [BlockReason.RISK_ABOVE_TOLERANCE]}


def test_age_income_kyc_and_residency_rules(customer):
    products = [
        ProductFactory(code="SENIOR", min_age=55),
        ProductFactory(code="YOUTH", max_age=30),
        ProductFactory(code="RICH", min_annual_income=Decimal("240000.01")),
        ProductFactory(code="EXACT-INCOME", min_annual_income=Decimal("240000.00")),
        ProductFactory(code="HK-ONLY", residency=["HK"]),
        ProductFactory(code="CN-OR-HK", residency=["CN", "HK"]),
    ]

    assert _blocked(customer, products) == {
        "SENIOR": [BlockReason.BELOW_MIN_AGE],
        "YOUTH": [BlockReason.ABOVE_MAX_AGE],
        "RICH": [BlockReason.INCOME_BELOW_MINIMUM],
        "HK-ONLY": [BlockReason.RESIDENCY_NOT_ALLOWED],
    }


def test_unverified_identity_blocks_only_products_that_need_kyc():
    customer = CustomerFactory(kyc_status=KycStatus.PENDING)
    AccountFactory(customer=customer, balance=Decimal("100000"))
    needs_kyc = ProductFactory(code="KYC", kyc_required=True)
    open_to_all = ProductFactory(code="OPEN", kyc_required=False)

    assert _blocked(customer, [needs_kyc, open_to_all]) == {"KYC": [BlockReason.KYC_NOT_VERIFIED]}


def test_held_products_are_blocked_only_when_one_is_enough(customer):
    single = ProductFactory(code="ONE-CARD", type=ProductType.CREDIT_CARD, allows_multiple=False, min_amount=0)
    repeatable = ProductFactory(code="DEPOSIT", allows_multiple=True, min_amount=Decimal("100"))
    closed = ProductFactory(code="CLOSED-BEFORE", allows_multiple=False, min_amount=Decimal("100"))
    HoldingFactory(customer=customer, product=single)
    HoldingFactory(customer=customer, product=repeatable)
    HoldingFactory(customer=customer, product=closed, status=Holding.Status.CLOSED)

    assert _blocked(customer, [single, repeatable, closed]) == {"ONE-CARD": [BlockReason.ALREADY_HELD]}


def test_a_card_held_as_an_account_counts_as_held(customer):
    card = ProductFactory(code="CARD", type=ProductType.CREDIT_CARD, allows_multiple=False, min_amount=0)
    AccountFactory(customer=customer, type=AccountType.CREDIT_CARD, credit_limit=Decimal("20000"), product=card)

    assert _blocked(customer, [card]) == {"CARD": [BlockReason.ALREADY_HELD]}


def test_minimum_amount_counts_only_liquid_active_accounts_and_only_for_funded_products(customer):
    # 15,000 current (fixture) + 5,000 savings = 20,000 liquid; the frozen and the investment accounts do not count.
    AccountFactory(customer=customer, type=AccountType.SAVINGS, balance=Decimal("5000.00"))
    AccountFactory(customer=customer, type=AccountType.SAVINGS, balance=Decimal("90000.00"), status="frozen")
    AccountFactory(customer=customer, type=AccountType.INVESTMENT, balance=Decimal("90000.00"))
    products = [
        ProductFactory(code="REACHABLE", min_amount=Decimal("20000.00")),
        ProductFactory(code="OUT-OF-REACH", min_amount=Decimal("20000.01"), type=ProductType.WEALTH, risk_level=2),
        ProductFactory(code="BIG-LOAN", min_amount=Decimal("500000"), type=ProductType.LOAN, risk_level=1),
    ]

    assert _blocked(customer, products) == {"OUT-OF-REACH": [BlockReason.AMOUNT_OUT_OF_REACH]}


def test_every_failed_rule_is_reported_with_the_facts(customer):
    product = ProductFactory(code="BAD", risk_level=5, min_age=60, is_active=False, min_amount=Decimal("1000000"))

    gate = _gate(customer, [product])

    assert gate.reasons(0) == [
        BlockReason.NOT_ON_SALE, BlockReason.RISK_ABOVE_TOLERANCE, BlockReason.BELOW_MIN_AGE,
        BlockReason.AMOUNT_OUT_OF_REACH,
    ]
    assert gate.detail(0) == (
        "the product is withdrawn from sale; product risk R5 > customer tolerance R3; customer age 36 < minimum 60; "
        "minimum amount 1,000,000.00 > liquid assets 15,000.00"
    )


def test_catalogue_rules_are_rebuilt_when_a_product_changes(customer):
    product = ProductFactory(risk_level=3)
    first = catalogue_rules()
    assert catalogue_rules() is first  # cached while nothing changed

    product.risk_level = 5
    product.updated_at = timezone.now()
    product.save()

    rebuilt = catalogue_rules()
    assert rebuilt is not first
    assert rebuilt.risk_level[rebuilt.index[product.pk]] == 5


def test_the_facts_of_many_customers_are_read_in_one_query(customer, django_assert_num_queries):
    card = ProductFactory(code="CARD", type=ProductType.CREDIT_CARD)
    fund = ProductFactory(code="FUND", type=ProductType.FUND)
    other = CustomerFactory()
    AccountFactory(customer=other, type=AccountType.SAVINGS, balance=Decimal("250.50"))
    AccountFactory(customer=other, type=AccountType.SAVINGS, balance=Decimal("0.25"))
    AccountFactory(customer=other, type=AccountType.CREDIT_CARD, credit_limit=Decimal("20000"), product=card)
    HoldingFactory(customer=other, product=fund)

    with django_assert_num_queries(1):
        facts = CustomerFacts.of_many([customer, other], today=TODAY)

    assert facts[customer.pk].liquid_assets == Decimal("15000.00")
    assert facts[customer.pk].held_product_ids == frozenset()
    assert facts[other.pk].liquid_assets == Decimal("250.75")
    assert facts[other.pk].held_product_ids == {card.pk, fund.pk}


def test_the_catalogue_stamp_changes_when_a_product_is_added_saved_or_removed():
    product = ProductFactory()
    added = catalogue_stamp()

    product.min_age = 21
    product.save()
    saved = catalogue_stamp()
    product.delete()

    assert added[0] >= 1 and added[1] is not None
    assert saved[0] == added[0] + 1 and saved[1] >= added[1]
    assert catalogue_stamp()[0] == added[0] + 2
    assert catalogue_rules().stamp == catalogue_stamp()
