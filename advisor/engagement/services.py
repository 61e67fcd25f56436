"""Sending messages, and what customers do with them.

`send_message` is the one way a message comes to exist. Inside one transaction, with the customer's row locked
(so two scans or a campaign and a trigger cannot both squeeze under the frequency cap, and consent is read as it is
now), it: returns the existing row for a (campaign, customer, occurrence) already decided; checks marketing
consent and the frequency cap; picks the product (the campaign's, or the customer's best suitable recommendation
of a type, never one the suitability gate refuses); splits A/B/holdout by hash; renders the variant in the
customer's language; and writes the row — delivered, scheduled for the end of quiet hours, held out or suppressed
with a reason code — with `why` saying what matched. Email goes out only after the commit, and only for delivered
messages; a scheduled one is emailed when `deliver_due_messages` delivers it, after checking consent again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from advisor.engagement import rendering
from advisor.engagement.audience import audience_queryset, liquid_balance
from advisor.engagement.experiment import assign_arm, bucket
from advisor.engagement.models import (
    Campaign,
    CampaignVariant,
    Message,
    MessageArm,
    MessageEvent,
    MessageStatus,
)
from advisor.engagement.rules import SuppressionReason, decide
from customers.models import Customer, InteractionEvent
from products.models import Product

logger = logging.getLogger(__name__)

SCHEDULED_OCCURRENCE = "campaign"
# Customers per transaction in batch sends: one commit (one WAL flush) per batch instead of per message. Each
# message still has its own savepoint and customer lock; a failure rolls back at most one batch, which the
# idempotent re-run then sends.
BATCH = 200


class CampaignNotReady(Exception):
    """The campaign cannot send: not active, no variant A, or (for B) no variant B."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different request."""


def bank_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


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
    product: Product | None
    problem: str = ""  # a SuppressionReason when the campaign needs a product and none is suitable
    source: str = ""


def campaign_variants(campaign: Campaign) -> dict[str, CampaignVariant]:
    variants = {v.arm: v for v in campaign.variants.all()}
    if "a" not in variants:
        raise CampaignNotReady("The campaign has no variant A.", code="no_variant")
    if campaign.variant_b_pct and "b" not in variants:
        raise CampaignNotReady("The campaign splits to B but has no variant B.", code="no_variant_b")
    return variants


def choose_product(*, campaign: Campaign, customer: Customer) -> ProductChoice:
    """The campaign's product if the suitability gate allows it; for a product type, the customer's best-ranked
    suitable recommendation of that type (latest set), else the suitable product of that type with the best
    expected return; None (and a reason) when there is nothing suitable."""
    from advisor.models import Recommendation, RecommendationSet
    from advisor.suitability import CustomerFacts, SuitabilityGate, catalogue_rules

    if not campaign.offers_product:
        return ProductChoice(None)
    gate = SuitabilityGate(CustomerFacts.of(customer, today=timezone.localdate()), catalogue_rules())
    if campaign.product_id is not None:
        if gate.allows(campaign.product_id):
            return ProductChoice(campaign.product, source="campaign")
        return ProductChoice(None, SuppressionReason.NOT_SUITABLE)
    # Ids first (cheap), then the one product chosen, without its embedding vectors.
    latest = (RecommendationSet.objects.filter(customer=customer).order_by("-created_at", "-id")
              .values_list("pk", "public_id").first())
    if latest is not None:
        for product_id, rank in (Recommendation.objects.filter(recommendation_set_id=latest[0],
                                                               product__type=campaign.product_type)
                                 .order_by("rank").values_list("product_id", "rank")):
            if gate.allows(product_id):
                return ProductChoice(_product(product_id), source=f"recommendation:{latest[1]}#{rank}")
    catalogue = Product.objects.filter(type=campaign.product_type, is_active=True).order_by(
        "-expected_return_max", "code").values_list("pk", flat=True)
    for product_id in catalogue:
        if gate.allows(product_id):
            return ProductChoice(_product(product_id), source="catalogue")
    return ProductChoice(None, SuppressionReason.NO_SUITABLE_PRODUCT)


def _product(product_id: int) -> Product:
    return Product.objects.defer("embedding", "embedding_ml", "search_document").get(pk=product_id)


def _facts(customer: Customer, *, product: Product | None, event: Event, today: date) -> rendering.MessageFacts:
    balance = Customer.objects.filter(pk=customer.pk).annotate(liquid=liquid_balance()).values_list(
        "liquid", flat=True).get()
    return rendering.MessageFacts(
        full_name=customer.full_name, age=customer.age_on(today), balance=balance,
        product_name_en=product.name_en if product else "", product_name_zh=product.name_zh if product else "",
        rate_min=product.expected_return_min if product else None,
        rate_max=product.expected_return_max if product else None,
        amount=event.amount, maturity_date=event.maturity_date, salary_amount=event.salary_amount,
    )


def send_message(*, campaign: Campaign, customer: Customer, event: Event, rule: dict[str, Any],
                 now: datetime | None = None, variants: dict[str, CampaignVariant] | None = None
                 ) -> tuple[Message, bool]:
    """Decide and write the message of `campaign` to `customer` for `event`; returns (message, created).

    Never raises for a customer who may not be messaged: that is a suppressed row with its reason. Raises
    CampaignNotReady when the campaign itself cannot send (not active, missing variant). Batch callers pass the
    campaign's `variants` (read once) and wrap many calls in one transaction (see `in_batches`)."""
    now = now or timezone.now()
    if campaign.status != Campaign.Status.ACTIVE:
        raise CampaignNotReady("The campaign is not active.", code="campaign_not_active")
    variants = variants or campaign_variants(campaign)
    tz = bank_tz()
    try:
        with transaction.atomic():
            # The lock serialises every send to this customer: the cap count and the consent read below are the
            # truth at commit time, whatever else is sending concurrently.
            locked = Customer.objects.select_for_update().get(pk=customer.pk)
            existing = Message.objects.filter(campaign=campaign, customer=locked, occurrence=event.occurrence).first()
            if existing is not None:
                return existing, False
            message = _decide_and_build(campaign=campaign, customer=locked, event=event, rule=rule, now=now, tz=tz,
                                        variants=variants)
            message.save()
            if message.status == MessageStatus.DELIVERED:
                _email_on_commit(message)
    except IntegrityError:
        # Only the unique (campaign, customer, occurrence) can fail here; the customer lock makes it unlikely,
        # but a second database session without the lock (a hand-made row) would land here: answer with it.
        existing = Message.objects.filter(campaign=campaign, customer=customer, occurrence=event.occurrence).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def _decide_and_build(*, campaign: Campaign, customer: Customer, event: Event, rule: dict[str, Any], now: datetime,
                      tz: ZoneInfo, variants: dict[str, CampaignVariant]) -> Message:
    marketing = campaign.is_marketing
    cap, days = settings.MESSAGE_FREQUENCY_CAP, settings.MESSAGE_FREQUENCY_DAYS
    recent = 0
    if marketing:
        recent = Message.objects.filter(
            customer=customer, marketing=True, status__in=[MessageStatus.DELIVERED, MessageStatus.SCHEDULED],
            deliver_at__gte=now - timedelta(days=days),
        ).count()
    arm = assign_arm(campaign_id=campaign.pk, customer_id=customer.pk, holdout_pct=campaign.holdout_pct,
                     b_pct=campaign.variant_b_pct)
    decision = decide(marketing=marketing, consented=customer.consent_marketing, recent_marketing=recent, cap=cap,
                      arm=arm, now=now, quiet_start=settings.MESSAGE_QUIET_START,
                      quiet_end=settings.MESSAGE_QUIET_END, tz=tz)
    choice = ProductChoice(None)
    if decision.status != "suppressed":
        # Only for customers who may be contacted: the gate costs queries. The holdout gets the product it would
        # have been offered, so its conversions are measured on the same product.
        choice = choose_product(campaign=campaign, customer=customer)
        if choice.problem:
            decision = type(decision)("suppressed", choice.problem)
    why = {
        "campaign": campaign.code, "kind": campaign.kind, "purpose": campaign.purpose,
        "trigger": campaign.trigger or None, "rule": rule, "event": event.detail,
        "arm": arm, "bucket": bucket(campaign.pk, customer.pk),
        "checks": {"consent_marketing": customer.consent_marketing, "marketing": marketing,
                   "recent_marketing": recent, "cap": cap, "cap_days": days},
        "product": ({"code": choice.product.code, "source": choice.source, "suitability": "passed"}
                    if choice.product else None),
    }
    message = Message(
        campaign=campaign, customer=customer, occurrence=event.occurrence, arm=arm, status=decision.status,
        suppression_reason=decision.reason, why=why, marketing=marketing, language=customer.preferred_language,
        product=choice.product, deliver_at=decision.deliver_at,
        delivered_at=now if decision.status == MessageStatus.DELIVERED else None,
    )
    if decision.status in (MessageStatus.DELIVERED, MessageStatus.SCHEDULED, MessageStatus.HELD_OUT):
        # The holdout's text is rendered too (never shown): staff can see what it would have received.
        variant = variants["b" if arm == MessageArm.B else "a"]
        values = rendering.values_for(_facts(customer, product=choice.product, event=event, today=now.astimezone(
            tz).date()), customer.preferred_language)
        zh = rendering.is_chinese(customer.preferred_language)
        message.subject = rendering.render(variant.subject_zh if zh else variant.subject_en, values)
        message.body = rendering.render(variant.body_zh if zh else variant.body_en, values)
    return message


def _email_on_commit(message: Message) -> None:
    campaign = message.campaign
    if campaign.send_email and message.customer.email:
        message_id = message.pk
        transaction.on_commit(lambda: email_message(message_id=message_id))


def email_message(*, message_id: int) -> bool:
    """Email a delivered message to the customer (once: emailed_at is claimed with a conditional UPDATE, so a
    retry never sends twice). A failure to send is logged and releases the claim for the next delivery run."""
    claimed = Message.objects.filter(pk=message_id, status=MessageStatus.DELIVERED, emailed_at__isnull=True).update(
        emailed_at=timezone.now())
    if not claimed:
        return False
    message = Message.objects.select_related("customer").get(pk=message_id)
    if not message.customer.email:
        Message.objects.filter(pk=message_id).update(emailed_at=None)
        return False
    mail = EmailMultiAlternatives(subject=message.subject, body=message.body, to=[message.customer.email])
    try:
        mail.send()
    except Exception:  # noqa: BLE001 — any transport error: log, release the claim, keep the inbox copy
        logger.exception("could not email message %s", message_id)
        Message.objects.filter(pk=message_id).update(emailed_at=None)
        return False
    return True


@dataclass(frozen=True)
class LaunchResult:
    audience: int
    created: int
    by_status: dict[str, int]


def launch_campaign(*, campaign: Campaign, now: datetime | None = None,
                    advance: Callable[[int], None] | None = None) -> LaunchResult:
    """Send a scheduled campaign to its audience (in batches of BATCH customers per transaction). Safe to rerun:
    customers already decided keep their row and are skipped; a rerun reaches only those who joined since."""
    now = now or timezone.now()
    if campaign.kind != Campaign.Kind.SCHEDULED:
        raise CampaignNotReady("Only scheduled campaigns are launched; triggers send as events happen.",
                               code="not_scheduled")
    if campaign.send_at is not None and campaign.send_at > now:
        raise CampaignNotReady("The campaign is scheduled for later.", code="not_due")
    variants = campaign_variants(campaign)
    audience = list(audience_queryset(campaign.audience, today=now.astimezone(bank_tz()).date())
                    .values_list("id", flat=True))
    decided = set(Message.objects.filter(campaign=campaign, occurrence=SCHEDULED_OCCURRENCE)
                  .values_list("customer_id", flat=True))
    event = Event(occurrence=SCHEDULED_OCCURRENCE, detail={"audience": "matched"})
    rule = {"audience": campaign.audience}
    counts: dict[str, int] = {}
    created = 0
    todo = [pk for pk in audience if pk not in decided]
    if advance is not None and len(todo) < len(audience):
        advance(len(audience) - len(todo))
    for start in range(0, len(todo), BATCH):
        with transaction.atomic():
            for customer in Customer.objects.filter(id__in=todo[start:start + BATCH]).order_by("id"):
                message, was_created = send_message(campaign=campaign, customer=customer, event=event, rule=rule,
                                                    now=now, variants=variants)
                created += was_created
                counts[message.status] = counts.get(message.status, 0) + 1
        if advance is not None:
            advance(len(todo[start:start + BATCH]))
    if decided:
        counts["already_decided"] = len(decided & set(audience))
    total = len(audience)
    Campaign.objects.filter(pk=campaign.pk, launched_at__isnull=True).update(launched_at=now)
    return LaunchResult(audience=total, created=created, by_status=counts)


def due_campaigns(*, now: datetime) -> list[Campaign]:
    return list(Campaign.objects.filter(kind=Campaign.Kind.SCHEDULED, status=Campaign.Status.ACTIVE,
                                        launched_at__isnull=True)
                .exclude(send_at__gt=now).order_by("id"))


def deliver_due_messages(*, now: datetime | None = None) -> dict[str, int]:
    """Deliver the messages that waited out quiet hours, checking again what may have changed since they were
    scheduled: a customer who withdrew marketing consent, or a campaign paused meanwhile, gets nothing (the row
    becomes suppressed with the reason)."""
    now = now or timezone.now()
    due = list(Message.objects.filter(status=MessageStatus.SCHEDULED, deliver_at__lte=now)
               .order_by("deliver_at", "id").values_list("customer_id", "id")[:5000])
    # Customers are locked in ascending id order, as batch sends lock them: two batches cannot deadlock.
    ids = [message_id for _, message_id in sorted(due)]
    counts = {"delivered": 0, "suppressed": 0}
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            for message_id in ids[start:start + BATCH]:
                _deliver_one(message_id, now=now, counts=counts)
    return counts


def _deliver_one(message_id: int, *, now: datetime, counts: dict[str, int]) -> None:
    with transaction.atomic():
        message = (Message.objects.select_for_update().select_related("campaign")
                   .filter(pk=message_id, status=MessageStatus.SCHEDULED).first())
        if message is None:  # delivered by a concurrent run
            return
        customer = Customer.objects.select_for_update().get(pk=message.customer_id)
        reason = ""
        if message.marketing and not customer.consent_marketing:
            reason = SuppressionReason.NO_MARKETING_CONSENT
        elif message.campaign.status != Campaign.Status.ACTIVE:
            reason = SuppressionReason.CAMPAIGN_STOPPED
        if reason:
            message.status, message.suppression_reason = MessageStatus.SUPPRESSED, reason
            message.why = {**message.why, "at_delivery": {"suppressed": reason, "checked_at": now.isoformat()}}
            message.save(update_fields=["status", "suppression_reason", "why"])
            counts["suppressed"] += 1
            return
        message.status, message.delivered_at = MessageStatus.DELIVERED, now
        message.save(update_fields=["status", "delivered_at"])
        message.customer = customer
        _email_on_commit(message)
        counts["delivered"] += 1


# --- What customers do with messages -----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionResult:
    message: Message
    created: bool  # False for a replayed Idempotency-Key
    target: str = ""


def _stored_key(*, customer_id: int, key: str, body: dict[str, Any]) -> str:
    # "<hash of customer+key>:<hash of body>", as advisor.services does for feedback: a replay can tell
    # "the same request again" from "the key reused for something else".
    key_hash = hashlib.sha256(f"msg:{customer_id}:{key}".encode()).hexdigest()[:48]
    body_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
    return f"{key_hash}:{body_hash}"


def _replay(stored_key: str) -> MessageEvent | None:
    key_hash, _, _ = stored_key.partition(":")
    earlier = MessageEvent.objects.filter(idempotency_key__startswith=f"{key_hash}:").first()
    if earlier is None:
        return None
    if earlier.idempotency_key != stored_key:
        raise IdempotencyConflict("This Idempotency-Key was already used with a different request.")
    return earlier


def mark_opened(*, message: Message, channel: str, idempotency_key: str = "") -> ActionResult:
    """Record that the customer opened `message` (a delivered message of theirs). The first open sets
    opened_at and records an impression of its product for the recommender; later opens are events only."""
    return _act(message=message, kind=MessageEvent.Kind.OPEN, channel=channel, idempotency_key=idempotency_key)


def record_click(*, message: Message, channel: str, idempotency_key: str = "") -> ActionResult:
    """Record a click on the message's link: a MessageEvent, clicked_at (and opened_at) the first time, and a
    click on the product in the recommender's feedback (ProductInteraction). Returns where the link goes."""
    return _act(message=message, kind=MessageEvent.Kind.CLICK, channel=channel, idempotency_key=idempotency_key)


def _act(*, message: Message, kind: str, channel: str, idempotency_key: str) -> ActionResult:
    from advisor.services import record_feedback

    if message.status != MessageStatus.DELIVERED:
        raise ValueError("Only a delivered message can be opened or clicked.")
    stored = (_stored_key(customer_id=message.customer_id, key=idempotency_key,
                          body={"message": str(message.public_id), "kind": kind}) if idempotency_key else None)
    if stored is not None:
        earlier = _replay(stored)
        if earlier is not None:
            message.refresh_from_db()
            return ActionResult(message=message, created=False, target=link_target(message))
    now = timezone.now()
    try:
        with transaction.atomic():
            MessageEvent.objects.create(message=message, kind=kind, at=now, channel=channel, idempotency_key=stored)
            first_open = Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
            if kind == MessageEvent.Kind.CLICK:
                Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
            if message.product_id is not None:
                # The recommender learns from these like from its own lists: an impression when the message is
                # first seen, a click on every click (as the portal's own feedback buttons record them).
                if first_open:
                    record_feedback(customer=message.customer, product=message.product,
                                    event=InteractionEvent.IMPRESSION, channel=channel)
                if kind == MessageEvent.Kind.CLICK:
                    record_feedback(customer=message.customer, product=message.product,
                                    event=InteractionEvent.CLICK, channel=channel)
    except IntegrityError:
        earlier = _replay(stored) if stored else None
        if earlier is None:
            raise
        message.refresh_from_db()
        return ActionResult(message=message, created=False, target=link_target(message))
    message.refresh_from_db()
    return ActionResult(message=message, created=True, target=link_target(message))


def link_target(message: Message) -> str:
    """Where the message's link goes: its product's page, else the customer's recommendations."""
    from django.urls import reverse

    if message.product_id is not None:
        return reverse("portal:product_detail", args=[message.product.code])
    return reverse("portal:recommendations")
