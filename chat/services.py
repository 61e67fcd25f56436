"""Writes of the assistant: conversations, messages, confirmed account actions, hand-offs and staff replies.

`send_message` is the one entry point for a customer's message from every surface (portal, API): it locks
the conversation (turns of one conversation never interleave), runs the turn, and stores both messages
masked, in one transaction with any state change.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bank import audit, request_keys
from bank.pii import mask_pii
from chat.models import ChatAction, Conversation, Handoff, Message
from chat.phrases import money, say
from customers.accounts import AccountActionError, freeze_card, transfer_between_own_accounts, unfreeze_card
from customers.models import Account, Customer

if TYPE_CHECKING:
    from chat.dialogue import Reply, Turn

MAX_MESSAGE_LENGTH = 1000


class ChatError(ValueError):
    """Bad input (the API's 400); `code` is machine-readable."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different message."""


def start_conversation(*, customer: Customer, channel: str, language: str = "") -> Conversation:
    """A new conversation for `customer` (the caller has checked who may act for them)."""
    if language not in ("", "en", "zh"):
        raise ChatError("language must be en or zh.", code="invalid_language")
    return Conversation.objects.create(customer=customer, channel=channel,
                                       language=language or ("zh" if customer.preferred_language.startswith("zh")
                                                             else "en"))


@dataclass(frozen=True)
class Exchange:
    conversation: Conversation  # as the turn left it (status, language, state)
    question: Message
    answer: Message
    action: ChatAction | None
    handoff: Handoff | None  # the hand-off this turn opened
    suggestions: list[str]
    replayed: bool = False


def send_message(
    *, conversation: Conversation, text: str, actor: Any, channel: str, idempotency_key: str = ""
) -> Exchange:
    """The customer says `text`; the assistant answers. Both messages are stored masked.

    With an `idempotency_key`, a retry with the same text returns the first exchange and runs nothing again;
    the same key with another text raises IdempotencyConflict. Raises ChatError for an empty or over-long
    message, or a conversation that a person has closed.
    """
    from chat.dialogue import Turn

    text = (text or "").strip()
    if not text:
        raise ChatError("Say something.", code="empty_message")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ChatError(f"A message can be at most {MAX_MESSAGE_LENGTH} characters.", code="message_too_long")
    key = request_keys.stored_key(scope=str(conversation.pk), key=idempotency_key, body=text) \
        if idempotency_key else None
    if key is not None:
        replay = _replay(conversation, key)
        if replay is not None:
            return replay
    try:
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().select_related("customer").get(pk=conversation.pk)
            if conversation.status == Conversation.Status.CLOSED:
                raise ChatError("This conversation is closed; start a new one.", code="conversation_closed")
            question = Message.objects.create(conversation=conversation, role=Message.Role.CUSTOMER,
                                              text=mask_pii(text), idempotency_key=key)
            # With a person on the conversation the assistant still answers what it can; the staff member
            # sees every message in the inbox.
            reply = Turn(conversation=conversation, text=text, actor=actor, channel=channel).run()
            question.intent = reply.intent[:60]
            question.confidence = reply.confidence
            question.slots = reply.slots
            question.sentiment = reply.sentiment
            question.model_version = reply.model_version
            question.save(update_fields=["intent", "confidence", "slots", "sentiment", "model_version"])
            answer = Message.objects.create(
                conversation=conversation, role=Message.Role.ASSISTANT, text=mask_pii(reply.text),
                intent=reply.intent[:60], confidence=reply.confidence, citations=reply.citations,
                answer_mode=reply.answer_mode,
            )
            conversation.save(update_fields=["state", "language", "status", "updated_at"])
    except IntegrityError:
        # A concurrent retry with the same key got there first: answer as it did.
        replay = _replay(conversation, key) if key else None
        if replay is None:
            raise
        return replay
    return Exchange(conversation=conversation, question=question, answer=answer, action=reply.action,
                    handoff=reply.handoff, suggestions=reply.suggestions)


def _replay(conversation: Conversation, key: str) -> Exchange | None:
    question = Message.objects.filter(conversation=conversation,
                                      idempotency_key__startswith=request_keys.same_key(key)).first()
    if question is None:
        return None
    if question.idempotency_key != key:
        raise IdempotencyConflict("This Idempotency-Key was already used with a different message.")
    answer = (Message.objects.filter(conversation=conversation, role=Message.Role.ASSISTANT, pk__gt=question.pk)
              .order_by("pk").first())
    if answer is None:  # the first request is still running: its answer is not there yet
        raise IdempotencyConflict("A request with this Idempotency-Key is still being answered.")
    action = conversation.actions.filter(created_at__gte=question.created_at, created_at__lte=answer.created_at).first()
    return Exchange(conversation=conversation, question=question, answer=answer, action=action, handoff=None,
                    suggestions=[], replayed=True)


# --- confirmed actions ------------------------------------------------------------------------------------

def _account(customer: Customer, public_id: str) -> Account:
    # Only the customer's own accounts: the ids in an action were resolved from their accounts, and are
    # checked again here, at the moment of acting.
    account = Account.objects.filter(customer=customer, public_id=public_id).first()
    if account is None:
        raise AccountActionError("That account is no longer available.", code="account_not_found")
    return account


def confirm_action(*, action: ChatAction, actor: Any, channel: str, language: str, turn: Turn | None = None) -> Reply:
    """Carry out a proposed action once. A second confirmation (a double click, a retried request) finds it
    done and carries out nothing; an expired or cancelled one is refused. The account change, the action's
    status and the audit event commit together."""
    from chat.dialogue import Reply

    with transaction.atomic():
        action = ChatAction.objects.select_for_update().select_related("customer").get(pk=action.pk)
        if action.status == ChatAction.Status.DONE:
            return Reply(action.result.get(f"message_{language}") or say("nothing_to_confirm", language),
                         intent="confirm", answer_mode="action")
        if action.status != ChatAction.Status.PROPOSED:
            return Reply(say("nothing_to_confirm", language), intent="confirm", answer_mode="action")
        now = timezone.now()
        if action.expires_at <= now:
            action.status, action.decided_at = ChatAction.Status.EXPIRED, now
            action.save(update_fields=["status", "decided_at"])
            return Reply(say("expired", language), intent="confirm", answer_mode="action")
        customer = action.customer
        try:
            messages = _carry_out(action, customer=customer, actor=actor, channel=channel, turn=turn)
        except AccountActionError as error:
            action.status, action.decided_at = ChatAction.Status.FAILED, now
            action.result = {"code": error.code, "error": str(error)}
            action.save(update_fields=["status", "decided_at", "result"])
            return Reply(say("action_failed", language, reason=str(error)), intent="confirm", answer_mode="action")
        action.status, action.decided_at = ChatAction.Status.DONE, now
        action.result = {**action.result, **messages}
        action.save(update_fields=["status", "decided_at", "result"])
    if turn is not None:
        turn.state.pop("task", None)
    return Reply(messages[f"message_{language}"], intent="confirm", answer_mode="action")


def _carry_out(
    action: ChatAction, *, customer: Customer, actor: Any, channel: str, turn: Turn | None
) -> dict[str, str]:
    from chat.dialogue import Turn as TurnClass

    def label(account: Account, language: str) -> str:
        if turn is None:
            return str(account)
        saved, turn.language = turn.language, language
        try:
            return TurnClass._label(turn, account)
        finally:
            turn.language = saved

    audit_channel = f"chat:{channel}"
    if action.kind == ChatAction.Kind.APPLY_PRODUCT:
        from chat.applying import submit_from_chat

        return submit_from_chat(action, customer=customer, actor=actor)
    if action.kind in (ChatAction.Kind.FREEZE_CARD, ChatAction.Kind.UNFREEZE_CARD):
        card = _account(customer, action.params["card"])
        freezing = action.kind == ChatAction.Kind.FREEZE_CARD
        (freeze_card if freezing else unfreeze_card)(customer=customer, card=card, actor=actor, channel=audit_channel,
                                                     reason=f"chat action {action.public_id}")
        key = "done_freeze" if freezing else "done_unfreeze"
        return {f"message_{lang}": say(key, lang, card=label(card, lang)) for lang in ("en", "zh")}
    source, target = _account(customer, action.params["source"]), _account(customer, action.params["target"])
    result = transfer_between_own_accounts(
        customer=customer, source=source, target=target, amount=Decimal(action.params["amount"]),
        reference=action.params["reference"], actor=actor, channel=audit_channel,
    )
    return {
        f"message_{lang}": say("done_transfer", lang, amount=money(result.amount, result.currency, lang),
                               source=label(source, lang), target=label(target, lang),
                               source_balance=money(result.source_balance, result.currency, lang))
        for lang in ("en", "zh")
    } | {"reference": result.reference}


def cancel_action(*, action: ChatAction) -> bool:
    """Cancel a proposed action; False when it was no longer waiting (done, expired, already cancelled)."""
    return bool(ChatAction.objects.filter(pk=action.pk, status=ChatAction.Status.PROPOSED).update(
        status=ChatAction.Status.CANCELLED, decided_at=timezone.now()))


# --- hand-off to staff ------------------------------------------------------------------------------------

def hand_off(*, conversation: Conversation, reason: str, intent: str, slots: dict[str, Any], latest: str) -> Handoff:
    """Put the conversation in the staff inbox (or return its open hand-off: one per conversation)."""
    existing = conversation.handoffs.exclude(status=Handoff.Status.RESOLVED).first()
    if existing is not None:
        return existing
    recent = list(conversation.messages.filter(role=Message.Role.CUSTOMER).order_by("-created_at")
                  .values_list("text", flat=True)[:5])[::-1]
    if not recent or recent[-1] != mask_pii(latest):
        recent.append(mask_pii(latest))
    with transaction.atomic():
        handoff = Handoff.objects.create(
            conversation=conversation, customer=conversation.customer, reason=reason, intent=intent[:60],
            slots=slots, summary="\n".join(recent),
        )
        conversation.status = Conversation.Status.HANDED_OFF
        Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.HANDED_OFF)
    return handoff


def reply_as_agent(*, handoff: Handoff, agent: Any, text: str) -> Message:
    """A staff member answers in the customer's conversation; the hand-off becomes theirs."""
    text = (text or "").strip()
    if not text:
        raise ChatError("The reply is empty.", code="empty_message")
    with transaction.atomic():
        handoff = Handoff.objects.select_for_update().get(pk=handoff.pk)
        message = Message.objects.create(conversation_id=handoff.conversation_id, role=Message.Role.AGENT,
                                         text=mask_pii(text), author=agent)
        if handoff.status == Handoff.Status.OPEN or handoff.assigned_to_id is None:
            handoff.status, handoff.assigned_to = Handoff.Status.ASSIGNED, agent
            handoff.save(update_fields=["status", "assigned_to"])
        Conversation.objects.filter(pk=handoff.conversation_id).update(updated_at=timezone.now())
        audit.record(action="chat.agent_reply", actor=agent, channel="admin",
                     subject=f"conversation:{handoff.conversation.public_id}",
                     customer_ref=handoff.customer.external_ref, detail={"handoff": handoff.pk})
    return message


def resolve_handoff(*, handoff: Handoff, agent: Any) -> None:
    """Close the hand-off; the assistant takes the conversation back."""
    with transaction.atomic():
        updated = Handoff.objects.filter(pk=handoff.pk).exclude(status=Handoff.Status.RESOLVED).update(
            status=Handoff.Status.RESOLVED, resolved_at=timezone.now())
        if updated:
            Conversation.objects.filter(pk=handoff.conversation_id).update(status=Conversation.Status.OPEN)
            state = Conversation.objects.get(pk=handoff.conversation_id).state
            state.pop("task", None)
            state["failures"] = 0
            Conversation.objects.filter(pk=handoff.conversation_id).update(state=state)
            audit.record(action="chat.handoff_resolved", actor=agent, channel="admin",
                         subject=f"conversation:{handoff.conversation.public_id}",
                         customer_ref=handoff.customer.external_ref, detail={"handoff": handoff.pk})
