"""The chat API: who may chat for whom, the reply's shape, confirmations by id, idempotency, bad input."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from bank.roles import SUPPORT_AGENT
from chat.models import ChatAction, Conversation, Message
from customers.models import Account, PartnerConsent, PartnerScope
from customers.partners import issue_partner_token
from customers.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.model]
SESSIONS = "/api/v1/chat/sessions/"


def messages_url(session_id: str) -> str:
    return f"{SESSIONS}{session_id}/messages/"


@pytest.fixture
def customer_api(assistant_bank):
    client = APIClient()
    client.force_authenticate(assistant_bank.customer.user)
    return client


@pytest.fixture
def session_id(customer_api):
    return customer_api.post(SESSIONS, {"language": "en"}, format="json").json()["id"]


def test_a_customer_starts_a_session_and_gets_answers_with_their_shape(customer_api, session_id, assistant_bank):
    response = customer_api.post(messages_url(session_id), {"text": "How do I change my PIN?"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message_id", "reply", "intent", "confidence", "answer_mode", "citations",
                         "pending_confirmation", "handoff", "suggestions", "conversation_status", "replayed"}
    assert body["intent"] == "change_pin" and 0 < body["confidence"] <= 1
    assert body["citations"][0]["type"] == "article" and body["citations"][0]["url"].startswith("/help/")
    transcript = customer_api.get(f"{SESSIONS}{session_id}/").json()
    assert [m["role"] for m in transcript["messages"]] == ["customer", "assistant"]
    assert transcript["customer"] == str(assistant_bank.customer.public_id)


def test_an_action_is_confirmed_by_its_id_and_only_once(customer_api, session_id):
    proposed = customer_api.post(messages_url(session_id), {"text": "freeze my credit card"}, format="json").json()
    pending = proposed["pending_confirmation"]
    assert pending["kind"] == "freeze_card" and pending["summary"].startswith("Freeze credit card •••3333?")
    assert Account.objects.get(number="6222000000003333").status == "active"

    done = customer_api.post(messages_url(session_id), {"confirm": pending["id"]}, format="json")
    again = customer_api.post(messages_url(session_id), {"confirm": pending["id"]}, format="json")

    assert done.status_code == 200 and done.json()["reply"] == "Done: credit card •••3333 is frozen. Ask me to " \
                                                               "unfreeze it any time."
    assert done.json()["pending_confirmation"] is None
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_parameter"
    assert Account.objects.get(number="6222000000003333").status == "frozen"


def test_idempotency_key_replays_and_refuses_a_different_body(customer_api, session_id):
    headers = {"HTTP_IDEMPOTENCY_KEY": "abc-123"}
    first = customer_api.post(messages_url(session_id), {"text": "What's my balance?"}, format="json", **headers)
    replay = customer_api.post(messages_url(session_id), {"text": "What's my balance?"}, format="json", **headers)
    other = customer_api.post(messages_url(session_id), {"text": "freeze my card"}, format="json", **headers)

    assert replay.json()["message_id"] == first.json()["message_id"] and replay.json()["replayed"] is True
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert Message.objects.count() == 2 and not ChatAction.objects.exists()


def test_the_open_hand_off_is_shown_on_every_reply_until_it_is_resolved(customer_api, session_id, assistant_bank):
    from chat.models import Handoff
    from chat.services import resolve_handoff

    asked = customer_api.post(messages_url(session_id), {"text": "I want to talk to a real person"},
                              format="json").json()
    later = customer_api.post(messages_url(session_id), {"text": "What is my balance?"}, format="json").json()
    resolve_handoff(handoff=Handoff.objects.get(conversation__public_id=session_id), agent=None)
    after = customer_api.post(messages_url(session_id), {"text": "What is my balance?"}, format="json").json()

    assert (asked["handoff"]["reason"], asked["handoff"]["status"], asked["conversation_status"]) == \
        ("requested", "open", "handed_off")
    assert later["handoff"] == asked["handoff"] and later["conversation_status"] == "handed_off"
    assert after["handoff"] is None and after["conversation_status"] == "open"


# A turn's round trips, counted: the rate limit, the session and its lock, the two messages, the pending action,
# the model check, the conversation's state, plus (knowledge) the four retrieval queries or (balance) the accounts.
# The test's own savepoint pair is in the count.
@pytest.mark.parametrize(("text", "queries"), [("How do I change my PIN?", 16), ("What is my balance?", 12)])
def test_a_turn_reads_nothing_twice(customer_api, session_id, text, queries, django_assert_max_num_queries):
    customer_api.post(messages_url(session_id), {"text": "hello"}, format="json")  # the models loaded

    with django_assert_max_num_queries(queries):
        response = customer_api.post(messages_url(session_id), {"text": text}, format="json")

    assert response.status_code == 200 and response.json()["answer_mode"] in ("extractive", "data")


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 1001},
                                  {"text": "hi", "confirm": "00000000-0000-0000-0000-000000000000"},
                                  {"confirm": "not-a-uuid"}])
def test_bad_messages_get_a_400_and_write_nothing(customer_api, session_id, body):
    response = customer_api.post(messages_url(session_id), body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_parameter", "validation_error")
    assert not Message.objects.exists()


def test_another_customers_session_is_a_404_and_nothing_is_written(assistant_bank, session_id):
    stranger = APIClient()
    stranger.force_authenticate(assistant_bank.other.user)

    read = stranger.get(f"{SESSIONS}{session_id}/")
    write = stranger.post(messages_url(session_id), {"text": "yes"}, format="json")
    made_up = stranger.get(f"{SESSIONS}not-a-session/")

    assert (read.status_code, write.status_code, made_up.status_code) == (404, 404, 404)
    assert not Message.objects.exists()


def test_staff_do_not_chat_as_customers(assistant_bank):
    agent = UserFactory(username="support-api", is_staff=True)
    agent.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    client = APIClient()
    client.force_authenticate(agent)

    response = client.post(SESSIONS, {"customer": str(assistant_bank.customer.public_id)}, format="json")

    assert response.status_code == 403
    assert not Conversation.objects.exists()


def test_partners_need_the_scope_and_the_customers_consent(assistant_bank):
    customer = assistant_bank.customer
    partner_token, secret = issue_partner_token(partner=_partner(), name="t", scopes=[PartnerScope.CHAT_WRITE])
    _, unscoped = issue_partner_token(partner=partner_token.partner, name="u", scopes=[PartnerScope.PROFILE_READ])
    client = APIClient()
    body = {"customer": str(customer.public_id)}

    no_consent = client.post(SESSIONS, body, format="json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    PartnerConsent.objects.create(partner=partner_token.partner, customer=customer)
    no_scope = client.post(SESSIONS, body, format="json", HTTP_AUTHORIZATION=f"Bearer {unscoped}")
    assert (no_consent.status_code, no_scope.status_code) == (404, 403)
    assert not Conversation.objects.exists()

    started = client.post(SESSIONS, body, format="json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert started.status_code == 201
    reply = client.post(messages_url(started.json()["id"]), {"text": "hello"}, format="json",
                        HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert reply.status_code == 200
    # The customer's own portal conversations stay private from the partner.
    portal = Conversation.objects.create(customer=customer, channel="portal")
    peek = client.get(f"{SESSIONS}{portal.public_id}/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert peek.status_code == 404


def _partner():
    from customers.models import Partner

    return Partner.objects.create(name="Fintech app")
