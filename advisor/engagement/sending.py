"""Deciding the messages of a batch of customers: the per-customer facts the send rules need, read for the whole
batch in a few queries, and the one decision each (customer, event) gets, in Python.

There is one implementation: `services.send_message` (one customer) is a batch of one, so the rules cannot drift
between a single send and a campaign launch. `decide_batch` must run inside the caller's transaction, after it has
locked the batch's customers (see `services.send_messages`): every read here is then the truth at commit time.

A customer can appear more than once in a batch (two maturing deposits): the items are decided in order, and a
message decided earlier in the batch counts toward the frequency cap of the later ones, exactly as if they had been
sent one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count

from advisor.engagement import rendering
from advisor.engagement.experiment import assign_arm, bucket
from advisor.engagement.models import Campaign, CampaignVariant, Message, MessageArm, MessageStatus
from advisor.engagement.rules import Decision, SuppressionReason, decide
from customers.models import Customer
from products.models import Product

if TYPE_CHECKING:
    from advisor.suitability import CatalogueRules, CustomerFacts, SuitabilityGate

COUNTED = (MessageStatus.DELIVERED, MessageStatus.SCHEDULED)  # what the frequency cap counts


@dataclass(frozen=True)
class Event:
    """What a trigger found (or, for a scheduled campaign, the audience rule that matched)."""

    occurrence: str
    detail: dict[str, Any]
    amount: Decimal | None = None
    maturity_date: date | None = None
    salary_amount: Decimal | None = None


@dataclass(frozen=True)
class ProductChoice:
    product_id: int | None
    problem: str = ""  # a SuppressionReason when the campaign needs a product and none is suitable
    source: str = ""


@dataclass
class BatchFacts:
    """What the rules need about the batch's customers, read once. Keys are customer ids."""

    customers: dict[int, Customer]
    existing: dict[tuple[int, str], Message]  # (customer id, occurrence) already decided
    recent: dict[int, int]  # marketing messages counted by the frequency cap
    suitability: dict[int, CustomerFacts] = field(default_factory=dict)  # CustomerFacts of those who may be contacted
    latest_set: dict[int, tuple[int, str]] = field(default_factory=dict)  # (set id, public id)
    recommended: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # set id -> [(product id, rank)]
    catalogue: list[int] = field(default_factory=list)  # the type's products, best expected return first
    rules: CatalogueRules | None = None
    products: dict[int, Product] = field(default_factory=dict)


def choose_product(*, campaign: Campaign, gate: SuitabilityGate, latest_set: tuple[int, str] | None,
                   recommended: Sequence[tuple[int, int]], catalogue: Sequence[int]) -> ProductChoice:
    """The campaign's product if the suitability gate allows it; for a product type, the customer's best-ranked
    suitable recommendation of that type (`recommended`, from the latest set), else the suitable product of that
    type with the best expected return (`catalogue`, in that order); no product (and a reason) when there is nothing
    suitable. Pure: the caller reads the facts."""
    if not campaign.offers_product:
        return ProductChoice(None)
    if campaign.product_id is not None:
        if gate.allows(campaign.product_id):
            return ProductChoice(campaign.product_id, source="campaign")
        return ProductChoice(None, SuppressionReason.NOT_SUITABLE)
    if latest_set is not None:
        for product_id, rank in recommended:
            if gate.allows(product_id):
                return ProductChoice(product_id, source=f"recommendation:{latest_set[1]}#{rank}")
    for product_id in catalogue:
        if gate.allows(product_id):
            return ProductChoice(product_id, source="catalogue")
    return ProductChoice(None, SuppressionReason.NO_SUITABLE_PRODUCT)


def load_facts(*, campaign: Campaign, customers: dict[int, Customer], keys: Sequence[tuple[int, str]],
               now: datetime, today: date) -> BatchFacts:
    """The facts of the (locked) `customers` for deciding the messages `keys` = (customer id, occurrence).

    The expensive facts (balances, holdings, recommendations) are read only for customers some message of the
    batch may reach: with marketing consent (for a marketing campaign) and under the cap at the start of the batch.
    A fact read for a customer who ends up suppressed later in the batch is harmless; the reverse cannot happen, as
    consent does not change under the lock and the cap count only grows within a batch."""
    from advisor.models import Recommendation, RecommendationSet
    from advisor.suitability import CustomerFacts, catalogue_rules

    ids = list(customers)
    existing = {(m.customer_id, m.occurrence): m for m in Message.objects.filter(
        campaign=campaign, customer_id__in=ids, occurrence__in={occurrence for _, occurrence in keys})}
    recent: dict[int, int] = {}
    marketing = campaign.is_marketing
    if marketing:
        recent = dict(Message.objects.filter(
            customer_id__in=ids, marketing=True, status__in=COUNTED,
            deliver_at__gte=now - timedelta(days=settings.MESSAGE_FREQUENCY_DAYS),
        ).order_by().values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n"))
    facts = BatchFacts(customers=customers, existing=existing, recent=recent)
    reachable = [c for c in customers.values() if not marketing or (
        c.consent_marketing and recent.get(c.pk, 0) < settings.MESSAGE_FREQUENCY_CAP)]
    if not reachable:
        return facts
    facts.suitability = CustomerFacts.of_many(reachable, today=today)
    if not campaign.offers_product:
        return facts
    facts.rules = catalogue_rules()
    if campaign.product_id is None:
        facts.latest_set = {customer_id: (pk, str(public_id)) for customer_id, pk, public_id in (
            RecommendationSet.objects.filter(customer_id__in=[c.pk for c in reachable])
            .order_by("customer_id", "-created_at", "-id").distinct("customer_id")
            .values_list("customer_id", "pk", "public_id"))}
        for set_id, product_id, rank in (Recommendation.objects.filter(
                recommendation_set_id__in=[pk for pk, _ in facts.latest_set.values()],
                product__type=campaign.product_type)
                .order_by("recommendation_set_id", "rank").values_list("recommendation_set_id", "product_id", "rank")):
            facts.recommended.setdefault(set_id, []).append((product_id, rank))
        facts.catalogue = list(Product.objects.filter(type=campaign.product_type, is_active=True).order_by(
            "-expected_return_max", "code").values_list("pk", flat=True))
    return facts


def decide_batch(*, campaign: Campaign, items: Sequence[tuple[int, Event]], customers: dict[int, Customer],
                 rule: dict[str, Any], now: datetime, tz: ZoneInfo, variants: dict[str, CampaignVariant]
                 ) -> list[tuple[Message, bool]]:
    """(message, created) for each item in order: the row already decided, or a new, unsaved Message."""
    from advisor.suitability import SuitabilityGate

    today = now.astimezone(tz).date()
    facts = load_facts(campaign=campaign, customers=customers, keys=[(pk, e.occurrence) for pk, e in items],
                       now=now, today=today)
    gates: dict[int, SuitabilityGate] = {}
    decided: list[tuple[Message, bool, ProductChoice]] = []
    for customer_id, event in items:
        key = (customer_id, event.occurrence)
        if key in facts.existing:
            decided.append((facts.existing[key], False, ProductChoice(None)))
            continue
        customer = customers[customer_id]

        def gate(customer: Customer = customer) -> SuitabilityGate:
            if customer.pk not in gates:
                if facts.rules is None:
                    raise RuntimeError("load_facts reads the catalogue rules for every campaign that offers a product")
                gates[customer.pk] = SuitabilityGate(facts.suitability[customer.pk], facts.rules)
            return gates[customer.pk]

        message, choice = _decide_one(campaign=campaign, customer=customer, event=event, rule=rule, now=now,
                                      tz=tz, facts=facts, gate=gate)
        facts.existing[key] = message
        if message.marketing and message.status in COUNTED:
            facts.recent[customer_id] = facts.recent.get(customer_id, 0) + 1
        decided.append((message, True, choice))
    # The chosen products in one query (without their embedding vectors), then the texts.
    wanted = {c.product_id for _, created, c in decided if created and c.product_id is not None}
    if campaign.product_id is not None:
        # A campaign with a product_id has its product (a nullable foreign key is typed Optional).
        facts.products = {campaign.product_id: cast(Product, campaign.product)} if wanted else {}
    elif wanted:
        facts.products = Product.objects.defer("embedding", "embedding_ml", "search_document").in_bulk(wanted)
    out: list[tuple[Message, bool]] = []
    for (message, created, choice), (_, event) in zip(decided, items, strict=True):
        if created:
            _finish(message, choice=choice, event=event, facts=facts, today=today, variants=variants)
        out.append((message, created))
    return out


def _decide_one(*, campaign: Campaign, customer: Customer, event: Event, rule: dict[str, Any], now: datetime,
                tz: ZoneInfo, facts: BatchFacts, gate: Callable[[], SuitabilityGate]) -> tuple[Message, ProductChoice]:
    marketing = campaign.is_marketing
    cap, days = settings.MESSAGE_FREQUENCY_CAP, settings.MESSAGE_FREQUENCY_DAYS
    recent = facts.recent.get(customer.pk, 0) if marketing else 0
    arm = assign_arm(campaign_id=campaign.pk, customer_id=customer.pk, holdout_pct=campaign.holdout_pct,
                     b_pct=campaign.variant_b_pct)
    decision = decide(marketing=marketing, consented=customer.consent_marketing, recent_marketing=recent, cap=cap,
                      arm=arm, now=now, quiet_start=settings.MESSAGE_QUIET_START,
                      quiet_end=settings.MESSAGE_QUIET_END, tz=tz)
    choice = ProductChoice(None)
    if decision.status != "suppressed" and campaign.offers_product:
        # Only for customers who may be contacted. The holdout gets the product it would have been offered, so
        # its conversions are measured on the same product.
        set_ = facts.latest_set.get(customer.pk)
        choice = choose_product(campaign=campaign, gate=gate(), latest_set=set_,
                                recommended=facts.recommended.get(set_[0], []) if set_ else [],
                                catalogue=facts.catalogue)
        if choice.problem:
            decision = Decision("suppressed", choice.problem)
    why = {
        "campaign": campaign.code, "kind": campaign.kind, "purpose": campaign.purpose,
        "trigger": campaign.trigger or None, "rule": rule, "event": event.detail,
        "arm": arm, "bucket": bucket(campaign.pk, customer.pk),
        "checks": {"consent_marketing": customer.consent_marketing, "marketing": marketing,
                   "recent_marketing": recent, "cap": cap, "cap_days": days},
        "product": None,
    }
    message = Message(
        campaign=campaign, customer=customer, occurrence=event.occurrence, arm=arm, status=decision.status,
        suppression_reason=decision.reason, why=why, marketing=marketing, language=customer.preferred_language,
        product_id=choice.product_id, deliver_at=decision.deliver_at,
        delivered_at=now if decision.status == MessageStatus.DELIVERED else None,
    )
    return message, choice


def _finish(message: Message, *, choice: ProductChoice, event: Event, facts: BatchFacts, today: date,
            variants: dict[str, CampaignVariant]) -> None:
    """The product's details in `why`, and the text (also for the holdout: staff can see what it would have
    received, though it is never shown)."""
    product = facts.products[choice.product_id] if choice.product_id is not None else None
    if product is not None:
        message.product = product
        message.why["product"] = {"code": product.code, "source": choice.source, "suitability": "passed"}
    if message.status not in (MessageStatus.DELIVERED, MessageStatus.SCHEDULED, MessageStatus.HELD_OUT):
        return
    customer = message.customer
    variant = variants["b" if message.arm == MessageArm.B else "a"]
    values = rendering.values_for(rendering.MessageFacts(
        full_name=customer.full_name, age=customer.age_on(today),
        balance=facts.suitability[customer.pk].liquid_assets,
        product_name_en=product.name_en if product else "", product_name_zh=product.name_zh if product else "",
        rate_min=product.expected_return_min if product else None,
        rate_max=product.expected_return_max if product else None,
        amount=event.amount, maturity_date=event.maturity_date, salary_amount=event.salary_amount,
    ), customer.preferred_language)
    zh = rendering.is_chinese(customer.preferred_language)
    message.subject = rendering.render(variant.subject_zh if zh else variant.subject_en, values)
    message.body = rendering.render(variant.body_zh if zh else variant.body_en, values)
