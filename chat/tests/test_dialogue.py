"""Conversations end to end with the real models: reading intents, multi-turn slots, confirmations,
corrections, cancellation, digressions, grounded answers, product advice and hand-offs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from advisor.models import RecommendationSet
from bank.models import AuditEvent
from chat.ml.intents import CLARIFY_BELOW, IntentPrediction
from chat.ml.scoring import Classified
from chat.models import ChatAction, Conversation, Handoff, Message
from chat.services import IdempotencyConflict, reply_as_agent
from customers.models import Account, Transaction

pytestmark = [pytest.mark.django_db, pytest.mark.model]


def balances():
    # Numbers are encrypted: no prefix lookup in SQL, so the prefix is checked on the decrypted values.
    return {a.number[-4:]: (a.balance, a.status) for a in Account.objects.all() if a.number.startswith("62220000000")}


def test_balance_lists_the_customers_own_accounts_only(say):
    exchange = say("What's my balance?")

    reply = exchange.answer.text
    assert exchange.answer.intent == "check_balance"
    assert "current account •••1111: ¥10,000.00" in reply
    assert "savings account •••2222: ¥50,000.00" in reply
    assert "credit card •••3333: ¥1,200.00 owed, ¥18,800.00 of ¥20,000.00 available" in reply
    assert "4444" not in reply and "777,777" not in reply
    assert exchange.answer.citations[0]["type"] == "accounts"


def test_chinese_is_understood_and_answered_in_chinese(say):
    exchange = say("我的账户里还有多少钱？")

    assert exchange.answer.intent == "check_balance"
    assert "活期账户（尾号1111）：¥10,000.00" in exchange.answer.text
    assert Conversation.objects.get(pk=exchange.answer.conversation_id).language == "zh"


def test_a_transfer_asks_for_the_amount_then_confirms_then_moves_money_once(say, assistant_bank):
    before = balances()

    asked = say("I'd like to move some money into my savings account")
    proposed = say("500")
    done = say("yes")
    again = say("yes")

    assert asked.answer.text == "How much would you like to move?"
    assert proposed.action is not None
    assert proposed.answer.text.startswith("Move ¥500.00 from current account •••1111 to savings account •••2222?")
    assert done.answer.text == ("Done: ¥500.00 moved from current account •••1111 to savings account •••2222. "
                                "current account •••1111 now holds ¥9,500.00.")
    after = balances()
    assert after["1111"][0] == before["1111"][0] - Decimal("500.00")
    assert after["2222"][0] == before["2222"][0] + Decimal("500.00")
    assert again.answer.text == "There is nothing waiting for your confirmation."
    assert balances() == after
    moved = Transaction.objects.filter(customer=assistant_bank.customer, category="transfer")
    assert sorted(moved.values_list("amount", flat=True)) == [Decimal("-500.00"), Decimal("500.00")]
    event = AuditEvent.objects.get(action="transfer.own_accounts")
    assert (event.actor, event.channel, event.customer_ref) == (assistant_bank.customer.user, "chat:portal",
                                                                "CHAT0001")
    assert ChatAction.objects.get(pk=proposed.action.pk).status == ChatAction.Status.DONE


def test_nothing_moves_before_the_confirmation(say):
    before, events = balances(), AuditEvent.objects.count()  # the set-up's model activations are audited too

    proposed = say("transfer 300 from current to savings")

    assert proposed.action.status == ChatAction.Status.PROPOSED
    assert balances() == before
    assert AuditEvent.objects.count() == events


def test_a_correction_replans_the_transfer(say):
    say("transfer 300 from current to savings")

    corrected = say("no, from savings")

    assert corrected.answer.text.startswith("Move ¥300.00 from savings account •••2222 to current account •••1111?")
    statuses = list(ChatAction.objects.order_by("created_at").values_list("status", flat=True))
    assert statuses == [ChatAction.Status.CANCELLED, ChatAction.Status.PROPOSED]


def test_cancel_leaves_everything_as_it_was(say):
    before = balances()
    proposed = say("move 200 to savings")

    cancelled = say("cancel")

    assert cancelled.answer.text == "Cancelled: nothing was changed."
    assert ChatAction.objects.get(pk=proposed.action.pk).status == ChatAction.Status.CANCELLED
    assert balances() == before
    assert say("yes").answer.text == "There is nothing waiting for your confirmation."


def test_a_digression_is_answered_and_the_task_resumes(say):
    say("I want to move money to my savings account")

    aside = say("How long does it take for a new card to arrive?")
    resumed = say("250")

    assert "5–7 working days" in aside.answer.text
    assert aside.answer.citations[0]["id"] == "card-delivery"
    assert aside.answer.text.endswith("Back to your request: How much would you like to move?")
    assert resumed.answer.text.startswith("Move ¥250.00 from current account •••1111 to savings account •••2222?")


def test_freeze_and_unfreeze_a_card_each_after_a_confirmation(say):
    proposed = say("Please freeze my credit card")
    assert proposed.answer.text.startswith("Freeze credit card •••3333?")
    assert balances()["3333"][1] == Account.Status.ACTIVE

    say("yes")
    assert balances()["3333"][1] == Account.Status.FROZEN
    say("unfreeze my card")
    unfrozen = say("yes")

    assert unfrozen.answer.text == "Done: credit card •••3333 is active again."
    assert balances()["3333"][1] == Account.Status.ACTIVE
    assert list(AuditEvent.objects.filter(action__startswith="card.").order_by("id")
                .values_list("action", flat=True)) == ["card.freeze", "card.unfreeze"]


def test_an_expired_request_is_not_carried_out(say):
    proposed = say("freeze my credit card")
    ChatAction.objects.filter(pk=proposed.action.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    late = say("yes")

    assert late.answer.text == "There is nothing waiting for your confirmation."
    assert ChatAction.objects.get(pk=proposed.action.pk).status == ChatAction.Status.EXPIRED
    assert balances()["3333"][1] == Account.Status.ACTIVE


def test_another_customers_account_is_never_found_or_shown(say):
    balance = say("What's the balance of the account ending 4444?")
    transfer = say("transfer 100 from the account ending 4444 to my savings")

    assert balance.answer.text == "I couldn't find •••4444 among your accounts."
    assert "I couldn't find •••4444 among your accounts." in transfer.answer.text
    assert not ChatAction.objects.exists()
    assert "777" not in balance.answer.text + transfer.answer.text


def test_knowledge_answers_are_grounded_and_cited(say):
    exchange = say("My PIN is blocked after three wrong tries, how do I unblock it?")

    assert exchange.answer.answer_mode == "extractive"
    assert exchange.answer.citations[0]["id"] == "pin-blocked"
    assert exchange.answer.citations[0]["url"] == "/help/pin-blocked/"
    assert "3" in exchange.answer.text or "unblock" in exchange.answer.text.lower()


def test_product_questions_get_suitable_recommendations_from_the_advisor(say, assistant_bank):
    exchange = say("Can you recommend a low risk product for about a year?")

    assert exchange.answer.intent == "product_advice"
    assert exchange.answer.answer_mode == "advisor"
    recommended = RecommendationSet.objects.get(customer=assistant_bank.customer, channel="chat")
    risks = [item.product.risk_level for item in recommended.items.select_related("product")]
    assert risks and max(risks) <= assistant_bank.customer.risk_tolerance
    assert [c["id"] for c in exchange.answer.citations] == [item.product.code for item in recommended.items.all()]
    assert "within your risk level R3" in exchange.answer.text


def test_low_confidence_asks_instead_of_guessing_and_twice_hands_over(say, monkeypatch):
    unsure = Classified(IntentPrediction("card_arrival", CLARIFY_BELOW["latin"] - 0.1,
                                         [("card_delivery_estimate", 0.2)]), model_version=None)
    monkeypatch.setattr("chat.dialogue.classify", lambda text: unsure)

    first = say("the thing with the card")
    second = say("the card thing")

    assert first.answer.answer_mode == "clarify"
    assert first.answer.text.startswith("I'm not sure I understood. Did you mean “")
    assert second.handoff is not None and second.handoff.reason == Handoff.Reason.FAILURES
    assert Conversation.objects.get(pk=second.answer.conversation_id).status == Conversation.Status.HANDED_OFF


def test_an_upset_customer_is_handed_to_a_person_who_can_reply(say, assistant_bank, django_user_model):
    exchange = say("This is the worst bank ever, totally useless, I am furious!")

    handoff = Handoff.objects.get()
    assert exchange.answer.text.startswith("I'm sorry this has been frustrating.")
    assert (handoff.reason, handoff.status, handoff.customer) == (Handoff.Reason.SENTIMENT, Handoff.Status.OPEN,
                                                                 assistant_bank.customer)
    assert "worst bank ever" in handoff.summary

    agent = django_user_model.objects.create_user("agent-chat", is_staff=True)
    reply_as_agent(handoff=handoff, agent=agent, text="Sorry about that. I'm looking at your account now.")

    handoff.refresh_from_db()
    assert (handoff.status, handoff.assigned_to) == (Handoff.Status.ASSIGNED, agent)
    last = Message.objects.filter(conversation=handoff.conversation).order_by("-id").first()
    assert (last.role, last.author, last.text) == ("agent", agent, "Sorry about that. I'm looking at your account now.")


def test_asking_for_a_person_opens_one_hand_off(say):
    first = say("I want to talk to a real person")
    second = say("let me speak to a human agent please")

    assert first.handoff.reason == Handoff.Reason.REQUESTED
    assert Handoff.objects.count() == 1
    assert second.answer.text == "A colleague already has our conversation and will reply here."


def test_an_idempotent_retry_answers_once(say):
    first = say("What's my balance?", idempotency_key="k-1")
    again = say("What's my balance?", idempotency_key="k-1")

    assert (again.answer.pk, again.replayed) == (first.answer.pk, True)
    assert Message.objects.filter(role="customer").count() == 1
    with pytest.raises(IdempotencyConflict):
        say("freeze my card", idempotency_key="k-1")
    assert Message.objects.count() == 2


def test_greeting_and_out_of_scope(say):
    assert say("hello there").answer.text.startswith("Hello! I can tell you your balances")
    off_topic = say("What's the weather like in Paris tomorrow?")
    assert off_topic.answer.intent == "out_of_scope"
    assert off_topic.answer.text.startswith("I can only help with your banking here")


def test_a_named_product_gets_its_live_facts_and_whether_it_suits_the_customer(assistant_bank):
    from chat.advice import advise
    from products.models import Product

    deposit = Product.objects.get(code="DEP-12M")
    english = advise(customer=assistant_bank.customer, text=f"What is the rate of the {deposit.name_en}?",
                     language="en")
    chinese = advise(customer=assistant_bank.customer, text=f"{deposit.name_zh}的利率是多少", language="zh")
    a_need = advise(customer=assistant_bank.customer, text="我想要一年期、低风险的理财", language="zh")

    assert english.answer_mode == "data" and english.citations[0]["id"] == "DEP-12M"
    assert f"minimum ¥{deposit.min_amount:,.2f}, risk R{deposit.risk_level}." in english.text
    assert english.text.endswith("It is within your risk level and eligibility.")
    assert chinese.citations[0]["id"] == "DEP-12M" and "起购金额" in chinese.text
    # Asking for a kind of product is a need, not a name: the gated recommendations answer it.
    assert a_need.answer_mode == "advisor"
    risks = Product.objects.filter(code__in=[c["id"] for c in a_need.citations]).values_list("risk_level", flat=True)
    assert risks and max(risks) <= 2
