"""One turn of the conversation: read the message, decide, act or answer, and keep the state for the next turn.

The order of decisions (each step can end the turn):
1. A request waiting for confirmation: "yes" carries it out (once), "no" cancels it, a correction ("no, from
   savings") re-plans it with the corrected slot; anything else is a digression, answered, with a reminder.
2. "Cancel" / "算了" ends the task in progress.
3. The intent is read (chat.ml.scoring) and the slots extracted (chat.slots). A task waiting for a slot takes
   a message that fills it ("500", "from savings") before any new intent does.
4. Low confidence asks a clarifying question naming the two likeliest intents; twice in a row hands over.
5. Actions on accounts run on the customer's own accounts only (customers.selectors.accounts_of), reads at
   once, changes only after an explicit confirmation (a ChatAction row); product questions go to the
   advisor's suitability-gated recommendations; everything else is answered from the knowledge base
   (chat.answers), grounded and cited.
6. A strongly negative message, an explicit request or repeated failure creates a hand-off to staff.

Nothing the customer types is ever used to look up another customer or their accounts, and no instruction in
the customer's text or a retrieved passage changes what the assistant does: the decisions above are code,
not prompts.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from bank.embeddings import has_cjk
from chat.answers import answer_question
from chat.ml.intents import clarify_below
from chat.ml.scoring import IntentModelUnavailable, classify
from chat.models import ChatAction, Conversation, Handoff, KnowledgeArticle
from chat.phrases import ACTION_LABELS, money, say
from chat.sentiment import sentiment
from chat.slots import Slots, extract_slots
from customers.models import Account, AccountType, Customer
from customers.selectors import accounts_of, transactions_of

FAILURES_BEFORE_HANDOFF = 2
HANDOFF_SENTIMENT = -0.6
ACTION_TTL = timedelta(minutes=10)
MAX_LISTED_TRANSACTIONS = 10

_AFFIRM = re.compile(r"^\s*(?:yes|yeah|yep|yup|sure|ok|okay|confirm(?:ed)?|go ahead|do it|please do|correct|right"
                     r"|y|是|是的|对|对的|好|好的|可以|确认|确定|没问题|行|嗯|要)\s*[.!。！]*\s*$", re.IGNORECASE)
_DENY = re.compile(r"^\s*(?:no|nope|nah|don't|do not|cancel|stop|never ?mind|wait|不|不是|不要|不用|取消|算了|别|等等"
                   r"|错了|不对)(?![a-z])", re.IGNORECASE)
_CANCEL = re.compile(r"^\s*(?:cancel(?: that| it| this)?|never ?mind|forget it|stop|取消|算了|不用了|不转了|不要了)"
                     r"\s*[.!。！]*\s*$", re.IGNORECASE)
_CARD_KINDS = {"card", "credit_card"}


@dataclass
class Reply:
    text: str
    intent: str = ""
    confidence: float | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    citations: list[dict[str, str]] = field(default_factory=list)
    answer_mode: str = "template"
    action: ChatAction | None = None  # a request now waiting for the customer's confirmation
    handoff: Handoff | None = None
    suggestions: list[str] = field(default_factory=list)
    model_version: Any = None
    sentiment: float | None = None


class Turn:
    """One customer message in `conversation`. `run()` returns the Reply and leaves the new state on the
    conversation (the caller saves it, in the same transaction as the messages)."""

    def __init__(self, *, conversation: Conversation, text: str, actor: Any, channel: str) -> None:
        self.conversation = conversation
        self.customer: Customer = conversation.customer
        self.text = text
        self.actor = actor
        self.channel = channel
        self.state: dict[str, Any] = dict(conversation.state or {})
        letters = re.search(r"[A-Za-z\u3400-\u9fff]", text)
        self.language = ("zh" if has_cjk(text) else "en") if letters else conversation.language
        self.today = timezone.localdate()

    # --- the turn ---------------------------------------------------------------------------------------

    def run(self) -> Reply:
        mood = sentiment(self.text)
        reply = self._decide()
        reply.sentiment = mood
        if mood <= HANDOFF_SENTIMENT and reply.handoff is None:
            handoff = self._hand_off(Handoff.Reason.SENTIMENT, reply.intent, reply.slots)
            reply.handoff = handoff
            reply.text = f"{say('handoff_sentiment', self.language)}\n\n{reply.text}"
        self.state["language"] = self.language
        self.conversation.language = self.language
        self.conversation.state = self.state
        return reply

    def _decide(self) -> Reply:
        pending = self._pending_action()
        if pending is not None:
            reply = self._answer_pending(pending)
            if reply is not None:
                return reply
        task = self.state.get("task")
        if task and _CANCEL.match(self.text):
            self.state.pop("task", None)
            return Reply(say("cancelled", self.language), intent=task["intent"])
        if pending is None and (_AFFIRM.match(self.text) or (not task and _CANCEL.match(self.text))):
            # "yes" to nothing (a double click, a confirmation that already ran): say so, and do nothing.
            return Reply(say("nothing_to_confirm", self.language), intent="confirm")
        from chat.applying import propose_application, requested_product

        if pending is None and (phrase := requested_product(self.text)) is not None:
            applying = propose_application(self, phrase, extract_slots(self.text, today=self.today).amount)
            if applying is not None:
                return applying
        try:
            classified = classify(self.text)
        except IntentModelUnavailable:
            return Reply(say("no_model", self.language), answer_mode="unavailable")
        prediction = classified.prediction
        slots = extract_slots(self.text, today=self.today)
        reply = self._route(prediction.intent, prediction.confidence, slots, prediction.alternatives)
        reply.intent = reply.intent or prediction.intent
        reply.confidence = prediction.confidence
        reply.slots = reply.slots or slots.to_json()
        reply.model_version = classified.model_version
        if pending is not None and reply.action is None:
            reply.text += "\n\n" + say("still_pending", self.language, summary=pending.summary(self.language) + " ")
            reply.action = pending
        return reply

    def _route(self, intent: str, confidence: float, slots: Slots, alternatives: list[tuple[str, float]]) -> Reply:
        task = self.state.get("task")
        if task and task.get("awaiting") and self._fills(task, slots) and (
            intent == task["intent"] or confidence < 0.8 or intent not in _HANDLERS
        ):
            return self._continue_task(task, slots)
        if confidence < clarify_below(self.text):
            return self._clarify(intent, alternatives, slots)
        self.state["failures"] = 0
        handler = _HANDLERS.get(intent)
        reply = handler(self, slots) if handler is not None else self._answer_from_knowledge(intent)
        current = self.state.get("task")
        if task and current is task and reply.action is None and task.get("awaiting") and intent not in _TASKS:
            # A digression: answered; the task in progress is still there, so say where we were.
            reply.text += "\n\n" + say("back_to_task", self.language, prompt=self._prompt_for(task))
        return reply

    # --- confirmations ------------------------------------------------------------------------------------

    def _pending_action(self) -> ChatAction | None:
        action = self.conversation.actions.filter(status=ChatAction.Status.PROPOSED).order_by("-created_at").first()
        if action is not None and action.expires_at <= timezone.now():
            ChatAction.objects.filter(pk=action.pk, status=ChatAction.Status.PROPOSED).update(
                status=ChatAction.Status.EXPIRED, decided_at=timezone.now())
            return None
        return action

    def _answer_pending(self, action: ChatAction) -> Reply | None:
        from chat.services import cancel_action, confirm_action

        if _AFFIRM.match(self.text):
            return confirm_action(action=action, actor=self.actor, channel=self.channel, language=self.language,
                                  turn=self)
        slots = extract_slots(self.text, today=self.today)
        corrected = bool(slots.accounts or slots.amount) and (_DENY.match(self.text) or not _AFFIRM.match(self.text))
        if corrected and action.kind == ChatAction.Kind.TRANSFER:
            cancel_action(action=action)
            task = self.state.get("task") or _task_from_action(action)
            return self._continue_task(task, slots, correcting=True)
        if corrected and action.kind in (ChatAction.Kind.FREEZE_CARD, ChatAction.Kind.UNFREEZE_CARD):
            cancel_action(action=action)
            task = self.state.get("task") or _task_from_action(action)
            task.pop("card", None)
            return self._continue_task(task, slots, correcting=True)
        if _DENY.match(self.text):
            cancel_action(action=action)
            self.state.pop("task", None)
            return Reply(say("cancelled", self.language), intent="deny", answer_mode="action")
        return None  # a digression: answered below, with a reminder of what is waiting

    # --- tasks: slots, resolution, proposals -----------------------------------------------------------

    def _fills(self, task: dict[str, Any], slots: Slots) -> bool:
        awaiting = task.get("awaiting")
        if awaiting == "amount":
            return slots.amount is not None
        if awaiting in ("source", "target", "card"):
            return bool(slots.accounts) or self._bare_choice() is not None
        return False

    def _bare_choice(self) -> int | None:
        match = re.fullmatch(r"\s*(?:#|no\.?\s*|第)?([1-9])(?:个|张)?\s*", self.text)
        return int(match.group(1)) if match else None

    def _continue_task(self, task: dict[str, Any], slots: Slots, *, correcting: bool = False) -> Reply:
        self.state["task"] = task
        if task["intent"] == "transfer_own_accounts":
            return self._plan_transfer(task, slots, correcting=correcting)
        return self._plan_card(task, slots)

    def _own_accounts(self) -> list[Account]:
        return list(accounts_of(customer=self.customer).order_by("type", "opened_on", "pk"))

    def _match(self, accounts: list[Account], refs: list[dict[str, Any]]) -> tuple[list[Account], str | None]:
        """The customer's accounts matching the descriptions; with a reference that matches none, its words."""
        found = accounts
        for ref in refs:
            kind, last4 = ref.get("type"), ref.get("last4")
            narrowed = found
            if kind in _CARD_KINDS:
                narrowed = [a for a in narrowed if a.type == AccountType.CREDIT_CARD]
            elif kind:
                narrowed = [a for a in narrowed if a.type == kind]
            if last4:
                narrowed = [a for a in narrowed if a.number.endswith(last4)]
            if not narrowed:
                words = f"•••{last4}" if last4 else kind or ""
                return [], words
            found = narrowed
        return found, None

    def _label(self, account: Account) -> str:
        type_label = {
            "current": ("current account", "活期账户"), "savings": ("savings account", "储蓄账户"),
            "credit_card": ("credit card", "信用卡"), "loan": ("loan", "贷款账户"),
            "investment": ("investment account", "投资账户"),
        }[account.type]
        return f"{type_label[1]}（尾号{account.number[-4:]}）" if self.language == "zh" else \
            f"{type_label[0]} •••{account.number[-4:]}"

    def _options(self, accounts: list[Account]) -> str:
        return "; ".join(f"{i}. {self._label(a)}" for i, a in enumerate(accounts, start=1))

    def _pick(self, candidates: list[Account], refs: list[dict[str, Any]]) -> tuple[Account | None, Reply | None]:
        """One account from `candidates` by the descriptions or a numbered choice; else the question to ask."""
        choice = self._bare_choice()
        if choice is not None and not refs:
            if choice <= len(candidates):
                return candidates[choice - 1], None
            return None, None
        matched, unmatched = self._match(candidates, refs)
        if unmatched is not None:
            return None, Reply(say("no_such_account", self.language, reference=unmatched), answer_mode="template")
        if len(matched) == 1:
            return matched[0], None
        return None, None

    def _plan_card(self, task: dict[str, Any], slots: Slots) -> Reply:
        freezing = task["intent"] == "freeze_card"
        verb = say("verb_freeze" if freezing else "verb_unfreeze", self.language)
        cards = [a for a in self._own_accounts() if a.type == AccountType.CREDIT_CARD]
        if not cards:
            self.state.pop("task", None)
            return Reply(say("no_card", self.language, verb=verb))
        card = next((a for a in cards if str(a.public_id) == task.get("card")), None)
        if card is None:
            card, problem = self._pick(cards, slots.accounts)
            if problem is not None:
                task["awaiting"] = "card"
                problem.text += " " + say("which_card", self.language, options=self._options(cards))
                return problem
        if card is None:
            task["awaiting"] = "card"
            return Reply(say("which_card", self.language, options=self._options(cards)),
                         suggestions=[self._label(c) for c in cards])
        task["card"], task["awaiting"] = str(card.public_id), None
        if freezing and card.status == Account.Status.FROZEN:
            self.state.pop("task", None)
            return Reply(say("already_frozen", self.language, card=self._label(card)))
        if not freezing and card.status != Account.Status.FROZEN:
            self.state.pop("task", None)
            return Reply(say("not_frozen", self.language, card=self._label(card)))
        kind = ChatAction.Kind.FREEZE_CARD if freezing else ChatAction.Kind.UNFREEZE_CARD
        key = "confirm_freeze" if freezing else "confirm_unfreeze"
        summaries = {lang: _with_language(lang, lambda t: say(key, t.language, card=t._label(card)), self)
                     for lang in ("en", "zh")}
        return self._propose(kind, {"card": str(card.public_id)}, summaries)

    def _plan_transfer(self, task: dict[str, Any], slots: Slots, *, correcting: bool = False) -> Reply:
        accounts = [a for a in self._own_accounts()
                    if a.type in (AccountType.CURRENT, AccountType.SAVINGS) and a.status == Account.Status.ACTIVE]
        if len(accounts) < 2:
            self.state.pop("task", None)
            return Reply(say("need_two_accounts", self.language))
        if slots.amount is not None:
            task["amount"] = str(slots.amount)
        by_id = {str(a.public_id): a for a in accounts}
        awaiting = task.get("awaiting")
        for ref in slots.accounts:
            role = ref.get("role") or (awaiting if awaiting in ("source", "target") else None)
            if role is None:
                # "from"/"to" unsaid: a correction or a first mention fills what is missing, source first.
                role = "source" if "source" not in task or (correcting and ref.get("role") is None
                                                            and "target" in task and "source" in task
                                                            and awaiting != "target") else "target"
            matched, unmatched = self._match(accounts, [ref])
            if unmatched is not None:
                task["awaiting"] = role
                return Reply(say("no_such_account", self.language, reference=unmatched) + " " +
                             say("ask_source" if role == "source" else "ask_target", self.language,
                                 options=self._options(accounts)))
            if len(matched) == 1:
                task[role] = str(matched[0].public_id)
                other = "target" if role == "source" else "source"
                if task.get(other) == task[role]:
                    task.pop(other)
        choice = self._bare_choice()
        if choice is not None and awaiting in ("source", "target") and choice <= len(accounts) and not slots.accounts:
            task[awaiting] = str(accounts[choice - 1].public_id)
        # With two accounts, naming one names the other.
        if len(accounts) == 2:
            if "source" in task and "target" not in task:
                task["target"] = next(k for k in by_id if k != task["source"])
            elif "target" in task and "source" not in task:
                task["source"] = next(k for k in by_id if k != task["target"])
        if "amount" not in task:
            task["awaiting"] = "amount"
            return Reply(say("ask_amount", self.language))
        for role, key in (("source", "ask_source"), ("target", "ask_target")):
            if task.get(role) not in by_id:
                task.pop(role, None)
                task["awaiting"] = role
                return Reply(say(key, self.language, options=self._options(accounts)),
                             suggestions=[self._label(a) for a in accounts])
        task["awaiting"] = None
        source, target = by_id[task["source"]], by_id[task["target"]]
        amount = Decimal(task["amount"])
        summaries = {lang: _with_language(lang, lambda t: say(
            "confirm_transfer", t.language, amount=money(amount, source.currency, t.language),
            source=t._label(source), target=t._label(target)), self) for lang in ("en", "zh")}
        return self._propose(ChatAction.Kind.TRANSFER, {
            "source": task["source"], "target": task["target"], "amount": task["amount"],
            "currency": source.currency, "reference": uuid.uuid4().hex,
        }, summaries)

    def _propose(self, kind: str, params: dict[str, Any], summaries: dict[str, str]) -> Reply:
        action = ChatAction.objects.create(
            conversation=self.conversation, customer=self.customer, kind=kind, params=params,
            summary_en=summaries["en"], summary_zh=summaries["zh"], expires_at=timezone.now() + ACTION_TTL,
        )
        self.state.pop("task", None)
        text = f"{action.summary(self.language)} {say('confirm_hint', self.language)}"
        yes, no = ("确认", "取消") if self.language == "zh" else ("Yes", "No")
        return Reply(text, action=action, answer_mode="action", suggestions=[yes, no])

    def _prompt_for(self, task: dict[str, Any]) -> str:
        awaiting = task.get("awaiting")
        if awaiting == "amount":
            return say("ask_amount", self.language)
        accounts = self._own_accounts()
        if awaiting == "card":
            cards = [a for a in accounts if a.type == AccountType.CREDIT_CARD]
            return say("which_card", self.language, options=self._options(cards))
        transferable = [a for a in accounts if a.type in (AccountType.CURRENT, AccountType.SAVINGS)]
        return say("ask_source" if awaiting == "source" else "ask_target", self.language,
                   options=self._options(transferable))

    # --- intents ------------------------------------------------------------------------------------------

    def _clarify(self, intent: str, alternatives: list[tuple[str, float]], slots: Slots) -> Reply:
        failures = int(self.state.get("failures", 0)) + 1
        self.state["failures"] = failures
        if failures >= FAILURES_BEFORE_HANDOFF:
            self.state["failures"] = 0
            handoff = self._hand_off(Handoff.Reason.FAILURES, intent, slots.to_json())
            return Reply(say("handoff_failures", self.language), handoff=handoff, answer_mode="handoff")
        labels = [self._intent_label(i) for i in [intent, *[a for a, _ in alternatives]][:2]]
        labels = [label for label in labels if label]
        if not labels:
            return Reply(say("not_understood", self.language), answer_mode="clarify")
        options = say("clarify_or", self.language).join(f"“{label}”" for label in labels)
        return Reply(say("clarify", self.language, options=options), answer_mode="clarify", suggestions=labels,
                     intent="clarify")

    def _intent_label(self, intent: str) -> str:
        if intent in ACTION_LABELS:
            return ACTION_LABELS[intent][1 if self.language == "zh" else 0]
        article = KnowledgeArticle.objects.filter(intents__contains=[intent], is_published=True).order_by("pk").first()
        if article is None:
            return ""
        return article.title_zh if self.language == "zh" else article.title_en

    def _greeting(self, slots: Slots) -> Reply:
        return Reply(say("greeting", self.language))

    def _goodbye(self, slots: Slots) -> Reply:
        self.state.pop("task", None)
        return Reply(say("goodbye", self.language))

    def _out_of_scope(self, slots: Slots) -> Reply:
        return Reply(say("out_of_scope", self.language), answer_mode="template")

    def _talk_to_human(self, slots: Slots) -> Reply:
        already = self.conversation.status == Conversation.Status.HANDED_OFF
        handoff = self._hand_off(Handoff.Reason.REQUESTED, "talk_to_human", slots.to_json())
        return Reply(say("handoff_already" if already else "handoff_requested", self.language), handoff=handoff,
                     answer_mode="handoff")

    def _balance(self, slots: Slots) -> Reply:
        accounts = self._own_accounts()
        if not accounts:
            return Reply(say("no_accounts", self.language), answer_mode="data")
        if slots.accounts:
            accounts, unmatched = self._match(accounts, slots.accounts)
            if unmatched is not None:
                return Reply(say("no_such_account", self.language, reference=unmatched), answer_mode="data")
        lines = [say("balances", self.language)]
        for account in accounts:
            if account.type == AccountType.CREDIT_CARD and account.credit_limit is not None:
                lines.append(say("card_line", self.language, account=self._label(account),
                                 balance=money(account.balance, account.currency, self.language),
                                 available=money(account.credit_limit - account.balance, account.currency,
                                                 self.language),
                                 limit=money(account.credit_limit, account.currency, self.language)))
            else:
                lines.append(say("balance_line", self.language, account=self._label(account),
                                 balance=money(account.balance, account.currency, self.language)))
        return Reply("\n".join(lines), answer_mode="data", citations=[_ACCOUNTS_CITATION[self.language]])

    def _transactions(self, slots: Slots) -> Reply:
        rows = transactions_of(customer=self.customer)
        accounts = self._own_accounts()
        if slots.accounts:
            matched, unmatched = self._match(accounts, slots.accounts)
            if unmatched is not None:
                return Reply(say("no_such_account", self.language, reference=unmatched), answer_mode="data")
            rows = rows.filter(account__in=matched)
        period = ""
        if slots.since is not None and slots.until is not None:  # extract_slots reads both ends together
            rows = rows.filter(timestamp__date__gte=slots.since, timestamp__date__lte=slots.until)
            period = say("period", self.language, since=slots.since.isoformat(), until=slots.until.isoformat())
        listed = list(rows[:MAX_LISTED_TRANSACTIONS])
        if not listed:
            return Reply(say("transactions_none", self.language, period=period or "").strip(), answer_mode="data")
        lines = [say("transactions", self.language, period=period) if period else
                 say("transactions_latest", self.language)]
        for t in listed:
            what = t.merchant or t.counterparty or t.get_category_display()
            day = timezone.localtime(t.timestamp).date().isoformat()
            lines.append(f"{day} {what}: {money(t.amount, t.currency, self.language)}")
        if slots.since is not None:
            totals = rows.aggregate(money_in=Sum("amount", filter=Q(amount__gt=0)),
                                    money_out=Sum("amount", filter=Q(amount__lt=0)))
            lines.append(say("transactions_total", self.language,
                             money_in=money(totals["money_in"] or Decimal(0), "CNY", self.language),
                             money_out=money(-(totals["money_out"] or Decimal(0)), "CNY", self.language)))
        return Reply("\n".join(lines), answer_mode="data", citations=[_TRANSACTIONS_CITATION[self.language]])

    def _start_card_task(self, intent: str, slots: Slots) -> Reply:
        task: dict[str, Any] = {"intent": intent}
        self.state["task"] = task
        return self._plan_card(task, slots)

    def _freeze(self, slots: Slots) -> Reply:
        return self._start_card_task("freeze_card", slots)

    def _unfreeze(self, slots: Slots) -> Reply:
        return self._start_card_task("unfreeze_card", slots)

    def _transfer(self, slots: Slots) -> Reply:
        task: dict[str, Any] = {"intent": "transfer_own_accounts"}
        self.state["task"] = task
        return self._plan_transfer(task, slots)

    def _product_advice(self, slots: Slots) -> Reply:
        from chat.advice import advise

        return advise(customer=self.customer, text=self.text, language=self.language)

    def _answer_from_knowledge(self, intent: str) -> Reply:
        answer = answer_question(self.text, intent=intent, language=self.language)
        if answer is None:
            return Reply(say("dont_know", self.language), answer_mode="no_answer",
                         suggestions=[ACTION_LABELS["talk_to_human"][1 if self.language == "zh" else 0]])
        return Reply(answer.text, citations=answer.citations, answer_mode=answer.mode)

    # --- hand-off -----------------------------------------------------------------------------------------

    def _hand_off(self, reason: str, intent: str, slots: dict[str, Any]) -> Handoff:
        from chat.services import hand_off

        return hand_off(conversation=self.conversation, reason=reason, intent=intent, slots=slots,
                        latest=self.text)


def _with_language(language: str, render: Any, turn: Turn) -> str:
    saved = turn.language
    turn.language = language
    try:
        return str(render(turn))
    finally:
        turn.language = saved


def _task_from_action(action: ChatAction) -> dict[str, Any]:
    if action.kind == ChatAction.Kind.TRANSFER:
        return {"intent": "transfer_own_accounts", **{k: action.params[k] for k in ("source", "target", "amount")}}
    intent = "freeze_card" if action.kind == ChatAction.Kind.FREEZE_CARD else "unfreeze_card"
    return {"intent": intent, "card": action.params.get("card")}


_ACCOUNTS_CITATION = {
    "en": {"type": "accounts", "id": "accounts", "title": "Your accounts", "url": "/"},
    "zh": {"type": "accounts", "id": "accounts", "title": "您的账户", "url": "/"},
}
_TRANSACTIONS_CITATION = {
    "en": {"type": "transactions", "id": "transactions", "title": "Your transactions", "url": "/transactions/"},
    "zh": {"type": "transactions", "id": "transactions", "title": "您的交易", "url": "/transactions/"},
}
_TASKS = {"freeze_card", "unfreeze_card", "transfer_own_accounts"}
_HANDLERS = {
    "greeting": Turn._greeting,
    "goodbye": Turn._goodbye,
    "out_of_scope": Turn._out_of_scope,
    "talk_to_human": Turn._talk_to_human,
    "check_balance": Turn._balance,
    "recent_transactions": Turn._transactions,
    "freeze_card": Turn._freeze,
    "unfreeze_card": Turn._unfreeze,
    "transfer_own_accounts": Turn._transfer,
    "product_advice": Turn._product_advice,
}
