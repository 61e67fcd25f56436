"""The messages API and the portal inbox: who may read and act, idempotent POSTs, clicks feeding the recommender,
and another customer's message id answered 404 with nothing changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from advisor.engagement.models import Message, MessageEvent
from advisor.tests.test_engagement_services import customer, make_campaign, send
from customers.models import ProductInteraction
from customers.partners import issue_partner_token
from customers.tests.factories import PartnerConsentFactory, UserFactory
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered():
    product = ProductFactory(min_amount=Decimal("0"))
    owner = customer()
    message, _ = send(make_campaign(product=product), owner)
    assert message.status == "delivered"
    return message


def _as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _partner(person, *scopes: str) -> APIClient:
    consent = PartnerConsentFactory(customer=person)
    _, secret = issue_partner_token(partner=consent.partner, name="t", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _url(name: str, message: Message, customer=None) -> str:
    kwargs = {"public_id": (customer or message.customer).public_id}
    if name != "api-customer-messages":
        kwargs["message_id"] = message.public_id
    return reverse(name, kwargs=kwargs)


def _state(message: Message) -> tuple:
    message.refresh_from_db()
    return (message.opened_at, message.clicked_at, MessageEvent.objects.count(), ProductInteraction.objects.count())


def test_the_customer_lists_reads_opens_and_clicks_their_messages(delivered):
    client = _as(delivered.customer.user)
    inbox = client.get(_url("api-customer-messages", delivered)).json()
    assert inbox["unread"] == 1 and [m["id"] for m in inbox["results"]] == [str(delivered.public_id)]
    assert inbox["results"][0]["body"] == delivered.body and inbox["results"][0]["unread"] is True
    detail = client.get(_url("api-customer-message", delivered))
    assert detail.status_code == 200 and detail.json()["opened_at"] is None  # a GET changes nothing

    opened = client.post(_url("api-customer-message-open", delivered), HTTP_IDEMPOTENCY_KEY="open-1")
    assert opened.status_code == 201 and opened.json()["replayed"] is False
    replay = client.post(_url("api-customer-message-open", delivered), HTTP_IDEMPOTENCY_KEY="open-1")
    assert replay.status_code == 201 and replay.json()["replayed"] is True  # the stored first answer, replayed
    assert MessageEvent.objects.filter(kind="open").count() == 1
    reused = client.post(_url("api-customer-message-click", delivered), HTTP_IDEMPOTENCY_KEY="open-1")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"

    clicked = client.post(_url("api-customer-message-click", delivered), HTTP_IDEMPOTENCY_KEY="click-1")
    assert clicked.status_code == 201
    assert clicked.json()["target"] == reverse("portal:product_detail", args=[delivered.product.code])
    events = list(ProductInteraction.objects.filter(customer=delivered.customer).order_by("id").values_list(
        "event", "product_id"))
    assert events == [("impression", delivered.product_id), ("click", delivered.product_id)]
    assert client.get(_url("api-customer-messages", delivered)).json()["unread"] == 0


def test_another_customers_message_id_is_a_404_and_changes_nothing(delivered):
    intruder = customer()
    client = _as(intruder.user)
    before = _state(delivered)
    for name in ("api-customer-message", "api-customer-message-open", "api-customer-message-click"):
        # Under the intruder's own customer id, and under the owner's id.
        mine = client.generic("POST" if name != "api-customer-message" else "GET",
                              _url(name, delivered, customer=intruder))
        theirs = client.generic("POST" if name != "api-customer-message" else "GET", _url(name, delivered))
        assert (mine.status_code, theirs.status_code) == (404, 404), name
        assert mine.json()["error"]["code"] == "not_found"
    assert _state(delivered) == before
    assert client.get(_url("api-customer-messages", delivered, customer=intruder)).json() == {"unread": 0,
                                                                                             "results": []}


def test_messages_not_delivered_are_not_in_the_inbox_or_reachable():
    owner = customer(consent_marketing=False)
    suppressed, _ = send(make_campaign(), owner)
    client = _as(owner.user)
    assert client.get(_url("api-customer-messages", suppressed)).json()["results"] == []
    assert client.post(_url("api-customer-message-open", suppressed)).status_code == 404
    assert _state(suppressed)[:2] == (None, None)


def test_partners_need_the_messages_scopes_and_staff_cannot_act_as_the_customer(delivered):
    reader = _partner(delivered.customer, "messages:read")
    assert reader.get(_url("api-customer-messages", delivered)).status_code == 200
    denied = reader.post(_url("api-customer-message-open", delivered))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_scope"
    writer = _partner(delivered.customer, "messages:read", "messages:write")
    assert writer.post(_url("api-customer-message-open", delivered)).status_code == 201
    staff = UserFactory(username="boss", is_staff=True, is_superuser=True)
    before = _state(delivered)
    assert _as(staff).post(_url("api-customer-message-click", delivered)).status_code == 403
    assert _state(delivered) == before


def test_the_portal_inbox_marks_opened_and_the_link_records_a_click(client, delivered):
    client.force_login(delivered.customer.user)
    page = client.get(reverse("portal:inbox"))
    assert page.status_code == 200 and delivered.subject in page.content.decode()
    assert "Messages <span class=\"tag\"" in page.content.decode()  # the unread badge in the navigation
    detail = client.get(reverse("portal:inbox_message", args=[delivered.public_id]))
    assert detail.status_code == 200 and delivered.body in detail.content.decode()
    delivered.refresh_from_db()
    assert delivered.opened_at is not None and delivered.clicked_at is None
    go = client.get(reverse("portal:inbox_link", args=[delivered.public_id]))
    assert go.status_code == 302 and go["Location"] == reverse("portal:product_detail",
                                                              args=[delivered.product.code])
    delivered.refresh_from_db()
    assert delivered.clicked_at is not None
    assert ProductInteraction.objects.filter(customer=delivered.customer, event="click").count() == 1


def test_the_portal_answers_404_for_another_customers_message(client, delivered):
    intruder = customer()
    client.force_login(intruder.user)
    before = _state(delivered)
    assert client.get(reverse("portal:inbox_message", args=[delivered.public_id])).status_code == 404
    assert client.get(reverse("portal:inbox_link", args=[delivered.public_id])).status_code == 404
    assert client.get(reverse("portal:inbox_message", args=["not-a-uuid"])).status_code == 404
    assert _state(delivered) == before


def test_the_campaign_admin_shows_the_audience_preview_and_the_report(client, delivered):
    staff = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(staff)
    campaign = delivered.campaign
    change = client.get(reverse("admin:advisor_campaign_change", args=[campaign.pk]))
    assert change.status_code == 200 and "customers match" in change.content.decode()
    report = client.get(reverse("admin:advisor_campaign_report", args=[campaign.pk]))
    assert report.status_code == 200 and "Uplift over the holdout" not in report.content.decode()  # no holdout
    assert client.get(reverse("admin:advisor_message_changelist")).status_code == 200
