"""Applying for a product from the chat: "I want to apply for the World Traveller card" proposes the application
(a ChatAction waiting for "yes"), and the confirmation submits it through the advisor's application service, the
same path as the portal and the API, so every check and reason applies.

Recognised before the intent model: "apply" is not one of Banking77's intents. Only a request that names an
on-sale product is taken here; anything else ("how do I apply for a credit card?") goes on to the intent model as
before.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from chat.models import ChatAction
from chat.phrases import money, say
from products.models import Product, ProductType

if TYPE_CHECKING:
    from chat.dialogue import Reply, Turn

_APPLY = re.compile(
    r"(?:^|\b)(?:apply|sign up|register)(?: online)? (?:for|to) (?:a |an |the |your )?(?P<en>[^,.!?;]+)"
    r"|(?:申请|办理)(?:一张|一个|一笔|一份)?(?P<zh>[^，。！？；,.!?;]+)",
    re.IGNORECASE,
)
_FILLER = re.compile(r"\b(?:please|now|today|because .*|as .*|since .*|with .*|of \d.*|for \d.*)$", re.IGNORECASE)
_WORDS = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]+", re.IGNORECASE)
_STOP = {"card", "credit", "loan", "account", "the", "a", "an", "my", "for", "and", "信用卡", "贷款"}
# Types whose application needs an amount (a loan's principal, what goes into a deposit or fund).
_NEEDS_AMOUNT = (ProductType.LOAN, ProductType.DEPOSIT, ProductType.WEALTH, ProductType.FUND, ProductType.BOND,
                 ProductType.INSURANCE)


def requested_product(text: str) -> str | None:
    """The product phrase of an application request ("apply for the travel card" -> "travel card"), or None."""
    match = _APPLY.search(text.strip())
    if match is None:
        return None
    phrase = (match.group("en") or match.group("zh") or "").strip()
    phrase = _FILLER.sub("", phrase).strip()
    return phrase or None


_LEAD_IN = re.compile(r"(?:\b(?:i(?:'d| would)?|we(?:'d| would)?) (?:like|want|wish|need) to|\bcan i|\bcould i|\bplease"
                      r"|我想|我要|帮我|请)\s*$", re.IGNORECASE)


def application_reason(text: str) -> str:
    """What the customer said besides naming the product: their reason ("I want to apply for the World Traveller
    card, I travel a lot" -> "I travel a lot"). The product's own name is not a reason: read as one, "World
    Traveller" would become a need the customer never stated."""
    text = text.strip()
    match = _APPLY.search(text)
    if match is None:
        return text
    group = "en" if match.group("en") else "zh"
    phrase = _FILLER.sub("", match.group(group)).rstrip()
    before = _LEAD_IN.sub("", text[:match.start()].rstrip()).strip(" ,.;:!?，。；：！？")
    after = text[match.start(group) + len(phrase):].strip(" ,.;:!?，。；：！？")
    return " ".join(part for part in (before, after) if part)


def find_product(phrase: str) -> Product | None:
    """The on-sale product the phrase names: its code, its whole name, or else the one whose name shares the
    most distinctive words with the phrase (a tie or no shared word is no answer: ask rather than guess)."""
    on_sale = Product.objects.filter(is_active=True)
    exact = on_sale.filter(Q(code__iexact=phrase) | Q(name_en__iexact=phrase) | Q(name_zh=phrase)).first()
    if exact is not None:
        return exact
    contained = list(on_sale.filter(Q(name_en__icontains=phrase) | Q(name_zh__contains=phrase))[:2])
    if len(contained) == 1:
        return contained[0]
    wanted = {w.lower() for w in _WORDS.findall(phrase)} - _STOP
    if not wanted:
        return None
    scored = []
    for product in on_sale.only("id", "code", "name_en", "name_zh", "type"):
        words = {w.lower() for w in _WORDS.findall(f"{product.name_en} {product.name_zh}")} - _STOP
        overlap = len(wanted & words) + sum(1 for w in wanted if len(w) > 1 and w in product.name_zh)
        if overlap:
            scored.append((overlap, product))
    scored.sort(key=lambda item: -item[0])
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]


def propose_application(turn: Turn, phrase: str, amount: Decimal | None) -> Reply | None:
    """Propose applying for the product `phrase` names; None when it names none (the turn then goes on to the
    intent model: "how do I apply for a credit card?" is a question, "办理转账" a transfer)."""
    from chat.dialogue import Reply

    product = find_product(phrase)
    if product is None:
        return None
    name = {"en": product.name_en, "zh": product.name_zh}
    if product.type in _NEEDS_AMOUNT and amount is None:
        return Reply(say("apply_ask_amount", turn.language, product=name[turn.language]), intent="apply_product",
                     answer_mode="action")
    summaries = {
        lang: say("confirm_apply", lang, product=name[lang]) + (
            say("confirm_apply_amount", lang, amount=money(amount, product.currency, lang)) if amount else "")
        for lang in ("en", "zh")
    }
    reply = turn._propose(ChatAction.Kind.APPLY_PRODUCT, {
        "product": product.code, "amount": str(amount) if amount is not None else None,
        "reason": application_reason(turn.text)[:500], "language": turn.language}, summaries)
    reply.intent = "apply_product"
    return reply


def submit_from_chat(action: ChatAction, *, customer: Any, actor: Any) -> dict[str, str]:
    """Carry out a confirmed APPLY_PRODUCT action; raises AccountActionError (what the chat reports) on refusal."""
    from advisor.applications import services
    from advisor.applications.models import ApplicationSource
    from customers.accounts import AccountActionError

    product = Product.objects.filter(code=action.params["product"]).first()
    if product is None:
        raise AccountActionError("That product is not available.", code="product_not_found")
    amount = action.params.get("amount")
    try:
        result = services.submit_application(
            customer=customer, product=product, source=ApplicationSource.CHAT, actor_label="customer",
            actor_user=actor, reason_text=action.params.get("reason", ""),
            requested_amount=Decimal(amount) if amount else None, language=action.params.get("language", "en"),
            idempotency_key=f"chat-action:{action.public_id}", caller=f"customer:{customer.pk}",
        )
    except services.ApplicationError as error:
        raise AccountActionError(str(error), code=error.code) from None
    app = result.application
    link = f"/applications/{app.public_id}/"
    return {f"message_{lang}": say("done_apply", lang, product=product.name_zh if lang == "zh" else product.name_en,
                                   link=link) for lang in ("en", "zh")} | {"application": str(app.public_id)}
