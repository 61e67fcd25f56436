"""The demo bank end to end, as `manage.py demo` builds it: seed, embed, profile, logins; then the portal,
the admin and the API used the way a new user would."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from bank.demo_logins import DEMO_PASSWORD, ensure_demo_logins
from customers.models import Customer, PartnerConsent, ProfileSnapshot
from products.models import Product

pytestmark = [pytest.mark.django_db, pytest.mark.model]


@pytest.fixture
def demo_bank():
    call_command("seed_demo", customers=40, seed=3, months=2, quiet=True)
    call_command("embed_products")
    call_command("compute_profiles")
    return ensure_demo_logins(book_size=10, consenting_customers=20)


def test_every_consenting_customer_has_a_profile_and_every_product_is_embedded(demo_bank):
    profiled = set(
        ProfileSnapshot.objects.filter(embedding__isnull=False).values_list("customer_id", flat=True)
    )
    consenting = set(Customer.objects.filter(consent_profiling=True).values_list("id", flat=True))
    assert consenting and profiled == consenting  # profiling is consent-gated: nobody else is profiled
    assert not Product.objects.filter(embedding__isnull=True).exists()
    assert not Product.objects.filter(embedding_ml__isnull=True).exists()
    assert not Product.objects.filter(search_document__isnull=True).exists()


def test_customer_logs_in_and_sees_their_dashboard(demo_bank):
    client = Client()
    assert client.login(username=demo_bank.customer_username, password=DEMO_PASSWORD)
    page = client.get("/")
    assert page.status_code == 200
    assert demo_bank.customer_name in page.content.decode()


def test_each_staff_role_reaches_the_back_office(demo_bank):
    for username in demo_bank.staff:
        client = Client()
        assert client.login(username=username, password=DEMO_PASSWORD), username
        assert client.get("/admin/").status_code == 200, username
        assert client.get("/admin/customers/customer/").status_code == 200, username


def test_partner_token_reads_products_and_consented_profiles_only(demo_bank):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {demo_bank.partner_token}"}
    client = Client()
    found = client.get("/api/v1/products/", {"q": "credit card for travelling abroad without foreign exchange fees"},
                       **auth)
    assert found.status_code == 200
    top = found.json()["results"][0]
    assert top["type"] == "credit_card"

    consenting = Customer.objects.filter(partner_consents__isnull=False).first()
    other = Customer.objects.exclude(id__in=PartnerConsent.objects.values("customer_id")).first()
    assert client.get(f"/api/v1/customers/{consenting.public_id}/", **auth).status_code == 200
    denied = client.get(f"/api/v1/customers/{other.public_id}/", **auth)
    assert denied.status_code == 404
    assert other.full_name not in denied.content.decode()


def test_demo_logins_are_idempotent_and_rotate_the_partner_token(demo_bank):
    again = ensure_demo_logins(book_size=10, consenting_customers=20)
    client = Client()
    old = client.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Bearer {demo_bank.partner_token}")
    new = client.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Bearer {again.partner_token}")
    assert (old.status_code, new.status_code) == (401, 200)
