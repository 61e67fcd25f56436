"""Applying from the chat: the request names a product, the assistant proposes the application and waits for
"yes"; the confirmation submits it through the advisor's service once; "no" submits nothing."""


import pytest

from advisor.applications.models import Application
from advisor.tests.applications_factories import (
    applicant,
    card_product,
    credit_score,
    loan_product,
    profile,
    travel_card,
)
from chat.applying import find_product, requested_product
from chat.models import ChatAction
from chat.services import send_message, start_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sync(settings):
    settings.APPLICATION_DECIDE_SYNC = True
    settings.CHAT_LLM_BACKEND = "none"


def say(conversation, text):
    return send_message(conversation=conversation, text=text, actor=conversation.customer.user, channel="portal")


@pytest.mark.parametrize(("text", "phrase"), [
    ("I want to apply for the World Traveller Credit Card", "World Traveller Credit Card"),
    ("Can I apply for a travel card please", "travel card"),
    ("我想申请环球旅行信用卡", "环球旅行信用卡"),
    ("What is my balance?", None),
    ("卡丢了怎么办？", None),
])
def test_an_application_request_is_recognised(text, phrase):
    assert requested_product(text) == phrase


def test_the_product_is_found_by_name_or_distinctive_words_and_never_guessed():
    travel = travel_card()
    card_product()

    assert find_product("World Traveller Credit Card") == travel
    assert find_product("traveller card") == travel
    assert find_product("环球旅行信用卡") == travel
    assert find_product("credit card") is None  # both cards: ask, don't guess
    assert find_product("转账") is None


def test_a_question_about_applying_goes_on_to_the_intent_model(monkeypatch):
    from chat import dialogue

    customer = applicant()
    card_product()
    travel_card()  # two cards: "a credit card" names neither
    conversation = start_conversation(customer=customer, channel="portal", language="en")
    asked = []

    def classify(text):
        asked.append(text)
        raise dialogue.IntentModelUnavailable("no model in this test")

    monkeypatch.setattr(dialogue, "classify", classify)
    reply = say(conversation, "How do I apply for a credit card?")

    assert asked == ["How do I apply for a credit card?"] and reply.action is None
    assert ChatAction.objects.count() == 0


def test_apply_in_chat_proposes_then_submits_on_yes():
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.02)
    travel = travel_card()
    conversation = start_conversation(customer=customer, channel="portal", language="en")

    proposal = say(conversation, "I want to apply for the World Traveller Credit Card, I travel a lot")

    assert proposal.answer.text == ("Apply for World Traveller Credit Card? Reply yes to confirm or no to cancel.")
    assert proposal.action.kind == ChatAction.Kind.APPLY_PRODUCT
    assert Application.objects.count() == 0

    done = say(conversation, "yes")
    app = Application.objects.get(customer=customer)
    assert (app.product, app.source, app.state) == (travel, "chat", "approved")
    assert app.needs == ["travel"]
    assert done.answer.text == (f"Your application for World Traveller Credit Card is submitted. We are checking it "
                                f"now; follow it at /applications/{app.public_id}/.")
    say(conversation, "yes")  # a double confirmation submits nothing more
    assert Application.objects.count() == 1


def test_no_cancels_and_a_loan_needs_an_amount():
    customer = applicant()
    loan_product()
    conversation = start_conversation(customer=customer, channel="portal", language="en")

    ask = say(conversation, "I'd like to apply for the Instant e-Loan")
    assert ask.action is None and ask.answer.text.startswith("How much would you like for Instant e-Loan?")

    proposal = say(conversation, "apply for Instant e-Loan 20000")
    assert proposal.action.params["amount"] == "20000.00"
    assert say(conversation, "no").answer.text == "Cancelled: nothing was changed."
    assert Application.objects.count() == 0
    assert ChatAction.objects.get(pk=proposal.action.pk).status == ChatAction.Status.CANCELLED


def test_a_refused_submission_is_reported_and_nothing_is_written():
    customer = applicant()
    card = card_product()
    Application.objects.create(customer=customer, product=card, source="api")  # one in progress already
    conversation = start_conversation(customer=customer, channel="portal", language="en")

    say(conversation, "apply for Classic Credit Card")
    failed = say(conversation, "yes")

    assert failed.answer.text == ("I couldn't do that: You already have an application for this product in "
                                  "progress.")
    assert Application.objects.count() == 1


@pytest.mark.parametrize(("text", "reason"), [
    ("I want to apply for the World Traveller Credit Card, I travel a lot", "I travel a lot"),
    ("apply for the travel card because I travel a lot", "because I travel a lot"),
    ("我想申请环球旅行信用卡，我经常出国", "我经常出国"),
    ("I want to apply for the World Traveller Credit Card", ""),
])
def test_the_reason_is_what_the_customer_said_besides_naming_the_product(text, reason):
    from chat.applying import application_reason

    assert application_reason(text) == reason
