from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone

from customers.demo import demo_customer_refs
from customers.demo.generator import seed_demo_bank
from customers.demo.truth import load_latent_preferences
from customers.models import Account, Customer, Holding, ProductInteraction, Transaction
from customers.tests.factories import CustomerFactory
from products.models import Product, ProductType

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 15)


@pytest.fixture
def demo_bank(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return seed_demo_bank(customers=50, seed=11, months=2, as_of=AS_OF)


def _digest() -> str:
    # Account numbers by their keyed hash: the ciphertext differs on every write (a random nonce).
    with connection.cursor() as cur:
        cur.execute("""
            SELECT md5(string_agg(line, '|' ORDER BY line)) FROM (
              SELECT c.external_ref || c.full_name || c.birth_date || c.declared_annual_income
                     || c.risk_tolerance || c.public_id AS line FROM customers_customer c
              UNION ALL SELECT a.number_hash || a.type || a.balance || coalesce(a.credit_limit::text, '')
                     FROM customers_account a
              UNION ALL SELECT c.external_ref || p.code || h.amount || h.opened_on
                     FROM customers_holding h JOIN customers_customer c ON c.id = h.customer_id
                     JOIN products_product p ON p.id = h.product_id
              UNION ALL SELECT c.external_ref || p.code || i.event || i.timestamp
                     FROM customers_productinteraction i JOIN customers_customer c ON c.id = i.customer_id
                     JOIN products_product p ON p.id = i.product_id
              UNION ALL SELECT a.number_hash || t.amount || t.timestamp || t.merchant || t.category
                     FROM customers_transaction t JOIN customers_account a ON a.id = t.account_id
            ) lines""")
        return cur.fetchone()[0]


def test_seed_builds_the_catalogue_in_both_languages(demo_bank):
    products = list(Product.objects.all())

    assert len(products) == demo_bank.products == 128
    assert {p.type for p in products} == set(ProductType.values)
    assert all(p.name_en and p.name_zh and p.description_en and p.description_zh for p in products)
    assert all(1 <= p.risk_level <= 5 for p in products)
    assert not Product.objects.filter(type=ProductType.CREDIT_CARD, allows_multiple=True).exists()
    assert not Product.objects.filter(code__startswith="LN-MORTGAGE", allows_multiple=True).exists()
    assert Product.objects.get(code="DEP-12M").term_months == 12


def test_seed_creates_customers_with_users_and_accounts(demo_bank):
    customers = Customer.objects.select_related("user")

    assert customers.count() == 50
    assert demo_bank.rows["customers_customer"] == 50
    assert all(c.user.username == c.external_ref.lower() for c in customers)
    assert all(not c.user.has_usable_password() for c in customers)
    assert Account.objects.filter(type="current").count() == 50
    assert Account.objects.values("customer").distinct().count() == 50
    assert not Account.objects.filter(type="credit_card", credit_limit__isnull=True).exists()
    assert Transaction.objects.count() == demo_bank.rows["customers_transaction"] > 50 * 2 * 15


def test_amounts_have_two_places_and_transactions_post_to_the_customers_own_accounts(demo_bank):
    assert not Transaction.objects.exclude(customer_id=F("account__customer_id")).exists()
    amounts = list(Transaction.objects.values_list("amount", flat=True)[:500])
    assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts)
    assert not Transaction.objects.filter(amount=0).exists()
    assert Transaction.objects.filter(category="salary", amount__gt=0).exists()
    first, last = (
        Transaction.objects.order_by(f).values_list("timestamp", flat=True).first()
        for f in ("timestamp", "-timestamp")
    )
    assert first.tzinfo is not None
    assert date(2026, 4, 15) <= timezone.localdate(first) and timezone.localdate(last) < AS_OF


def test_purchases_are_holdings_bought_after_a_click_and_an_impression(demo_bank):
    purchases = list(ProductInteraction.objects.filter(event="purchase"))
    holdings = {
        (h.customer_id, h.product_id, h.opened_on)
        for h in Holding.objects.filter(opened_on__gte=date(2026, 4, 15))
    }

    assert purchases
    assert timezone.localdate(ProductInteraction.objects.order_by("-timestamp").first().timestamp) < AS_OF
    assert {(p.customer_id, p.product_id, timezone.localdate(p.timestamp)) for p in purchases} == holdings
    for purchase in purchases:
        earlier = set(
            ProductInteraction.objects.filter(
                customer_id=purchase.customer_id,
                product_id=purchase.product_id,
                timestamp__lt=purchase.timestamp,
            ).values_list("event", flat=True)
        )
        assert {"impression", "click"} <= earlier


def test_holdings_respect_eligibility_and_mostly_suitability(demo_bank):
    holdings = list(Holding.objects.select_related("customer", "product"))
    above = [h for h in holdings if h.product.risk_level > h.customer.risk_tolerance]
    latent = load_latent_preferences(demo_bank.latent_path)
    legacy = {ref for ref, flag in zip(latent.external_refs, latent.legacy_unsuitable, strict=True) if flag}

    assert len(holdings) >= 50
    assert all(h.customer.external_ref in legacy for h in above)
    assert all(h.customer.age_on(AS_OF) >= h.product.min_age for h in holdings)
    assert all(h.customer.declared_annual_income >= h.product.min_annual_income for h in holdings)
    assert all(not h.product.residency or h.customer.residency in h.product.residency for h in holdings)
    card_holdings = Counter(h.customer_id for h in holdings if h.product.type == ProductType.CREDIT_CARD)
    assert Account.objects.filter(type="credit_card").count() == sum(card_holdings.values())


def test_latent_preferences_are_written_for_every_customer(demo_bank):
    latent = load_latent_preferences(demo_bank.latent_path)

    assert len(latent) == 50
    assert set(latent.external_refs) == set(Customer.objects.values_list("external_ref", flat=True))
    assert latent.type_affinity.shape == (50, 7)
    assert latent.type_affinity.sum(axis=1) == pytest.approx([1.0] * 50, abs=1e-3)


def test_the_showcase_customer_is_a_young_professional_with_a_travel_card(demo_bank):
    showcase = Customer.objects.get(external_ref=demo_customer_refs()["showcase"])

    assert showcase.life_stage == "young_professional"
    assert showcase.kyc_status == "verified"
    assert set(Holding.objects.filter(customer=showcase).values_list("product__code", flat=True)) >= {
        "CC-TRAVEL",
        "DEP-12M",
        "FND-IDX-SPX",
    }


def test_the_same_seed_builds_the_same_bank(demo_bank):
    first = _digest()

    seed_demo_bank(customers=50, seed=11, months=2, as_of=AS_OF, reset=True)
    assert _digest() == first
    seed_demo_bank(customers=50, seed=12, months=2, as_of=AS_OF, reset=True)
    assert _digest() != first


def test_seed_refuses_without_reset_and_changes_nothing(demo_bank):
    before = (Customer.objects.count(), Transaction.objects.count(), get_user_model().objects.count())

    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", customers=5, seed=1, quiet=True)

    assert (Customer.objects.count(), Transaction.objects.count(), get_user_model().objects.count()) == before


def test_reset_keeps_staff_users(demo_bank):
    staff = get_user_model().objects.create(username="rm", is_staff=True)

    call_command("seed_demo", customers=3, seed=1, months=1, reset=True, quiet=True)

    assert Customer.objects.count() == 3
    assert get_user_model().objects.filter(pk=staff.pk).exists()
    assert get_user_model().objects.count() == 4


def test_existing_customers_without_a_catalogue_get_only_the_catalogue(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    CustomerFactory()

    report = seed_demo_bank(customers=5, seed=1, months=1, as_of=AS_OF)

    assert report.catalogue_only
    assert Product.objects.count() == 128
    assert Customer.objects.count() == 1
