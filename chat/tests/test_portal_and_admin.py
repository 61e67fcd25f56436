"""The portal chat page (it works without JavaScript), the help centre, and the hand-off inbox in the admin."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from bank.roles import COMPLIANCE_OFFICER, SUPPORT_AGENT
from chat.models import ChatAction, Conversation, Handoff, Message
from chat.services import send_message, start_conversation
from customers.models import Account
from customers.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.model]
CHAT = "/chat/"


@pytest.fixture
def customer_client(client, assistant_bank):
    client.force_login(assistant_bank.customer.user)
    return client


def test_the_chat_page_sends_and_shows_messages_without_javascript(customer_client):
    first = customer_client.get(CHAT)
    sent = customer_client.post(CHAT, {"text": "What's my balance?", "nonce": "n-1"})
    page = customer_client.get(CHAT)

    assert first.status_code == 200 and 'src="/static/chat/chat.js"' in first.content.decode()
    assert sent.status_code == 302 and sent["Location"] == CHAT
    html = page.content.decode()
    assert "What&#x27;s my balance?" in html and "savings account •••2222: ¥50,000.00" in html
    # Posting the same form twice (a double click, a resubmitted page) sends it once.
    customer_client.post(CHAT, {"text": "What's my balance?", "nonce": "n-1"})
    assert Message.objects.filter(role="customer").count() == 1


def test_a_pending_action_is_confirmed_with_the_button(customer_client):
    customer_client.post(CHAT, {"text": "freeze my credit card", "nonce": "a"})
    page = customer_client.get(CHAT).content.decode()
    assert "Waiting for your confirmation:" in page and 'value="confirm"' in page

    customer_client.post(CHAT, {"decision": "confirm"})

    assert Account.objects.get(number="6222000000003333").status == Account.Status.FROZEN
    assert ChatAction.objects.get().status == ChatAction.Status.DONE
    assert "Waiting for your confirmation:" not in customer_client.get(CHAT).content.decode()


def test_a_handed_off_page_carries_what_its_script_polls_for_a_colleagues_reply(customer_client, assistant_bank):
    # chat.js (checked in headless Chromium) asks the transcript for replies it has not drawn yet while the
    # conversation is handed off: the page names the transcript's URL and every message's id.
    customer_client.post(CHAT, {"text": "I want to talk to a real person", "nonce": "h-1"})
    conversation = Conversation.objects.get(customer=assistant_bank.customer)
    page = customer_client.get(CHAT).content.decode()

    assert conversation.status == Conversation.Status.HANDED_OFF
    assert f'data-session-api="/api/v1/chat/sessions/{conversation.public_id}/"' in page
    assert 'data-staff-label="Bank staff"' in page and 'class="alert warn handoff-notice"' in page
    ids = list(conversation.messages.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 2 and all(f'data-id="{pk}"' in page for pk in ids)
    transcript = customer_client.get(f"/api/v1/chat/sessions/{conversation.public_id}/").json()
    assert transcript["status"] == "handed_off" and [m["id"] for m in transcript["messages"]] == ids


def test_the_chat_page_is_for_logged_in_customers(client):
    anonymous = client.get(CHAT)
    client.force_login(UserFactory(username="staff-chat", is_staff=True))
    staff = client.get(CHAT)

    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert staff.status_code == 302 and staff["Location"] == reverse("admin:index")
    assert not Conversation.objects.exists()


def test_the_help_centre_lists_searches_and_shows_articles(client, assistant_bank):
    listing = client.get("/help/")
    found = client.get("/help/", {"q": "my card was swallowed by the ATM"})
    article = client.get("/help/card-delivery/")
    chinese = client.get("/help/card-delivery/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert listing.status_code == 200
    assert "When will my card arrive? Delivery times and tracking" in listing.content.decode()
    assert found.context["hits"][0].article.slug == "card-swallowed"
    assert article.status_code == 200 and "5–7 working days" in article.content.decode()
    assert "5–7个工作日" in chinese.content.decode()
    assert client.get("/help/no-such-article/").status_code == 404


def _staff(role, username):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_a_support_agent_replies_from_the_inbox_and_compliance_cannot(client, assistant_bank):
    conversation = start_conversation(customer=assistant_bank.customer, channel="portal")
    send_message(conversation=conversation, text="I want to talk to a person", actor=assistant_bank.customer.user,
                 channel="portal")
    handoff = Handoff.objects.get()
    url = reverse("admin:chat_handoff_change", args=[handoff.pk])

    client.force_login(_staff(COMPLIANCE_OFFICER, "compliance-inbox"))
    assert client.get(url).status_code == 200  # compliance reads the inbox…
    denied = client.post(url, {"reply": "hello", "resolve": "on"})
    assert denied.status_code == 403  # …but answers nobody
    assert not Message.objects.filter(role="agent").exists()

    agent = _staff(SUPPORT_AGENT, "support-inbox")
    client.force_login(agent)
    inbox = client.get(reverse("admin:chat_handoff_changelist"))
    replied = client.post(url, {"reply": "Hello, this is Li from the bank. How can I help?"})

    assert inbox.status_code == 200 and "Customer asked for a person" in inbox.content.decode()
    assert replied.status_code == 302
    message = Message.objects.get(role="agent")
    assert (message.author, message.conversation_id) == (agent, conversation.pk)
    handoff.refresh_from_db()
    assert (handoff.status, handoff.assigned_to) == (Handoff.Status.ASSIGNED, agent)

    client.post(url, {"resolve": "on"})
    handoff.refresh_from_db()
    conversation.refresh_from_db()
    assert handoff.status == Handoff.Status.RESOLVED and conversation.status == Conversation.Status.OPEN
