"""The catalogue's back office: a staff edit makes the product searchable by its new text."""

from unittest import mock

import pytest
from django.urls import reverse

from customers.tests.factories import UserFactory
from products.models import Product
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _form(product: Product, **changes) -> dict:
    data = {
        "code": product.code, "type": product.type, "provider": product.provider,
        "currency": product.currency, "is_active": "on", "tags": "",
        "name_en": product.name_en, "name_zh": product.name_zh,
        "description_en": product.description_en, "description_zh": product.description_zh,
        "risk_level": product.risk_level, "expected_return_min": product.expected_return_min,
        "expected_return_max": product.expected_return_max, "term_months": product.term_months,
        "min_amount": product.min_amount, "liquidity": product.liquidity,
        "management_fee_pct": "0", "annual_fee": "0", "subscription_fee_pct": "0",
        "min_age": 18, "max_age": "", "min_annual_income": "0", "residency": "",
        "kyc_required": "on", "allows_multiple": "on",
    }
    data.update(changes)
    return data


def test_an_edit_in_the_admin_queues_the_product_for_re_embedding(client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    product = ProductFactory()
    url = reverse("admin:products_product_change", args=[product.pk])

    with mock.patch("django_q.tasks.async_task") as async_task:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, _form(product, description_en="Now with no foreign-exchange fee."))

    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.description_en == "Now with no foreign-exchange fee."
    async_task.assert_called_once()
    args, kwargs = async_task.call_args
    assert args == ("products.tasks.embed_products_task", [product.pk])
    assert kwargs["cluster"] == "ml"


def test_an_invalid_edit_queues_nothing_and_changes_nothing(client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    product = ProductFactory()
    url = reverse("admin:products_product_change", args=[product.pk])

    with mock.patch("django_q.tasks.async_task") as async_task:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, _form(product, risk_level=9, description_en="changed"))

    assert response.status_code == 200
    async_task.assert_not_called()
    product.refresh_from_db()
    assert product.description_en == "A fixed-term deposit with a guaranteed rate."
