"""Product questions in the chat go to the advisor, never to free text.

"Which savings product suits me for a year?" → the advisor's recommendations (suitability-gated, with the
constraints read from the question shown back and the reasons of each product). "What's the rate on the
12-month deposit?" names a product → its live facts from the catalogue, and whether the gate allows it for
this customer (with the reasons when it does not).
"""

from __future__ import annotations

import re
from decimal import Decimal

from advisor.models import BlockReason, Channel
from advisor.services import NoActiveRecommender, recommend_products
from advisor.suitability import CustomerFacts, SuitabilityGate, catalogue_rules
from bank.embeddings import cjk_bigrams
from chat.dialogue import Reply
from chat.phrases import money, say
from customers.models import Customer
from products.models import Product
from products.needs import Needs
from products.search import SearchError, search_products

LISTED = 3
# A product is "named" when the question holds its code or this share of its name's words (Chinese: bigrams).
NAMED_PRODUCT_SHARE = 0.75
_NAME_FILLER = frozenset({"the", "a", "an", "of", "and", "for", "with", "plus"})


def product_citation(product: Product, language: str) -> dict[str, str]:
    return {"type": "product", "id": product.code, "title": product.name_zh if language == "zh" else product.name_en,
            "url": f"/products/{product.code}/"}


def product_facts(product: Product, language: str) -> str:
    low, high = product.expected_return_min, product.expected_return_max
    if low is None and high is None:
        returns = say("return_none", language)
    elif low is None or high is None or low == high:
        returns = say("return_single", language, value=_pct(low if high is None else high))
    else:
        returns = say("return_range", language, low=_pct(low), high=_pct(high))
    term = say("term_months", language, months=product.term_months) if product.term_months else say("term_open",
                                                                                                      language)
    return say("product_facts", language, name=product.name_zh if language == "zh" else product.name_en,
               returns=returns, term=term, minimum=money(product.min_amount, "CNY", language),
               risk=product.risk_level)


def _pct(value: Decimal | None) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value is not None else "?"


def _named_product(text: str, language: str) -> Product | None:
    """The product the customer names, if they name one: its code, or most of its name in their words.

    Search finds the candidate; the name check decides. Similar meaning is not naming: "a one-year low-risk
    wealth product" is a need (for the recommendations, gated), not the one-year wealth product search ranks
    first, which may well be above the customer's risk level.
    """
    try:
        hits = search_products(query=text[:200], limit=3)
    except SearchError:
        return None
    lowered = text.lower()
    for hit in hits:
        product = hit.product
        if product.code.lower() in lowered:
            return product
        if language == "zh":
            name = set(cjk_bigrams(product.name_zh))
            said = set(cjk_bigrams(text))
        else:
            name = {w for w in re.findall(r"[a-z0-9]+", product.name_en.lower()) if w not in _NAME_FILLER}
            said = set(re.findall(r"[a-z0-9]+", lowered))
        if name and len(name & said) / len(name) >= NAMED_PRODUCT_SHARE:
            return product
    return None


def advise(*, customer: Customer, text: str, language: str) -> Reply:
    named = _named_product(text, language)
    if named is not None:
        gate = SuitabilityGate(CustomerFacts.of(customer), catalogue_rules())
        index = gate.rules.index.get(named.pk)
        lines = [product_facts(named, language)]
        if index is not None and gate.allows(named.pk):
            lines.append(say("product_suitable", language))
        elif index is not None:
            labels = [str(BlockReason(code).label) for code in gate.reasons(index)]
            lines.append(say("product_unsuitable", language, reasons="; ".join(labels).lower()))
        return Reply("\n".join(lines), intent="product_advice", answer_mode="data",
                     citations=[product_citation(named, language)])
    try:
        recommended = recommend_products(customer=customer, k=LISTED, channel=Channel.CHAT, query=text[:500])
    except NoActiveRecommender:
        return Reply(say("products_none", language), intent="product_advice", answer_mode="unavailable")
    items = list(recommended.items.select_related("product").order_by("rank"))
    if not items:
        return Reply(say("products_none", language), intent="product_advice", answer_mode="advisor")
    lines = []
    if recommended.needs:
        understood = Needs.from_json(recommended.needs).describe(language)  # type: ignore[arg-type]
        if understood:
            lines.append(say("products_understood", language, needs="; ".join(understood)))
    lines.append(say("products_intro", language, risk=customer.risk_tolerance))
    for n, item in enumerate(items, start=1):
        reasons = item.reasons_zh if language == "zh" else item.reasons_en
        lines.append(f"{n}. {product_facts(item.product, language)}")
        if reasons:
            lines.append(f"   {reasons[0]}")
    return Reply("\n".join(lines), intent="product_advice", answer_mode="advisor",
                 citations=[product_citation(item.product, language) for item in items])
