"""Customers give and withdraw consents from the portal; every change is audited, a bad request changes nothing."""

import pytest
from django.urls import reverse

from bank.models import AuditEvent
from customers.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _customer(**fields):
    user = UserFactory()
    return CustomerFactory(user=user, **fields), user


def test_withdrawing_marketing_consent_saves_it_and_audits_it(client):
    customer, user = _customer(consent_marketing=True, consent_profiling=True)
    client.force_login(user)

    response = client.post(reverse("portal:change_consent"), {"consent": "marketing", "granted": "no"})

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard") + "#consents"
    customer.refresh_from_db()
    assert (customer.consent_marketing, customer.consent_profiling) == (False, True)
    event = AuditEvent.objects.get()
    assert (event.action, event.channel, event.actor_id, event.customer_ref, event.detail) == (
        "consent.withdrawn", "portal", user.pk, customer.external_ref, {"consent": "marketing"})
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "No offers" in page and "Send me offers" in page


def test_giving_consent_again_is_audited_and_repeating_it_changes_nothing(client):
    customer, user = _customer(consent_marketing=False)
    client.force_login(user)

    client.post(reverse("portal:change_consent"), {"consent": "marketing", "granted": "yes"})
    client.post(reverse("portal:change_consent"), {"consent": "marketing", "granted": "yes"})

    customer.refresh_from_db()
    assert customer.consent_marketing is True
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["consent.granted"]


@pytest.mark.parametrize("body", [{"consent": "partners", "granted": "no"}, {"consent": "marketing", "granted": "x"},
                                  {}])
def test_an_unknown_consent_or_value_is_a_400_and_changes_nothing(client, body):
    customer, user = _customer(consent_marketing=True)
    client.force_login(user)

    assert client.post(reverse("portal:change_consent"), body).status_code == 400

    customer.refresh_from_db()
    assert customer.consent_marketing is True
    assert not AuditEvent.objects.exists()


def test_anonymous_and_get_requests_change_nothing(client):
    customer, user = _customer(consent_marketing=True)

    anonymous = client.post(reverse("portal:change_consent"), {"consent": "marketing", "granted": "no"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(user)
    assert client.get(reverse("portal:change_consent"), {"consent": "marketing", "granted": "no"}).status_code == 405

    customer.refresh_from_db()
    assert customer.consent_marketing is True
    assert not AuditEvent.objects.exists()


def test_a_customer_changes_only_their_own_consent(client):
    mine, user = _customer(consent_marketing=True)
    other, _ = _customer(consent_marketing=True)
    client.force_login(user)

    client.post(reverse("portal:change_consent"), {"consent": "marketing", "granted": "no"})

    other.refresh_from_db()
    assert other.consent_marketing is True
