"""Sending messages, and what customers do with them.

`send_messages` is the one way messages come to exist (`send_message` is a batch of one; a campaign launch and a
trigger scan send batches of BATCH customers). Inside one transaction, with the customers' rows locked (so two
scans or a campaign and a trigger cannot both squeeze under the frequency cap, and consent is read as it is now),
it reads the facts the rules need for the whole batch in a few queries and decides each message in Python
(`sending`): the existing row for a (campaign, customer, occurrence) already decided; marketing consent and the
frequency cap; the product (the campaign's, or the customer's best suitable recommendation of a type, never one the
suitability gate refuses); the A/B/holdout split by hash; the variant rendered in the customer's language; and it
writes the rows in one INSERT — delivered, scheduled for the end of quiet hours, held out or suppressed with a
reason code — with `why` saying what matched. Email goes out only after the commit, and only for delivered
messages; a scheduled one is emailed when `deliver_due_messages` delivers it, after checking consent again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from advisor.engagement import sending
from advisor.engagement.audience import audience_queryset
from advisor.engagement.models import (
    Campaign,
    CampaignVariant,
    Message,
    MessageEvent,
    MessageStatus,
)
from advisor.engagement.rules import SuppressionReason
from advisor.engagement.sending import Event
from customers.models import Customer, InteractionEvent

logger = logging.getLogger(__name__)

SCHEDULED_OCCURRENCE = "campaign"
# Customers per transaction in batch sends. The batch's facts are read in a dozen queries and its messages written
# in one INSERT, so a bigger batch is cheaper per message; but its customers' rows stay locked until the commit (a
# consent change waits for it, well under a second) and a failure rolls back a whole batch, which the idempotent
# re-run then sends.
BATCH = 500


class CampaignNotReady(Exception):
    """The campaign cannot send: not active, no variant A, or (for B) no variant B."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different request."""


def bank_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def campaign_variants(campaign: Campaign) -> dict[str, CampaignVariant]:
    variants = {v.arm: v for v in campaign.variants.all()}
    if "a" not in variants:
        raise CampaignNotReady("The campaign has no variant A.", code="no_variant")
    if campaign.variant_b_pct and "b" not in variants:
        raise CampaignNotReady("The campaign splits to B but has no variant B.", code="no_variant_b")
    return variants


def send_message(*, campaign: Campaign, customer: Customer, event: Event, rule: dict[str, Any],
                 now: datetime | None = None, variants: dict[str, CampaignVariant] | None = None
                 ) -> tuple[Message, bool]:
    """Decide and write the message of `campaign` to `customer` for `event`; returns (message, created).

    A batch of one (`send_messages`): the same reads and the same rules as a campaign launch. Never raises for a
    customer who may not be messaged: that is a suppressed row with its reason. Raises CampaignNotReady when the
    campaign itself cannot send (not active, missing variant)."""
    return send_messages(campaign=campaign, items=[(customer.pk, event)], rule=rule, now=now, variants=variants)[0]


def send_messages(*, campaign: Campaign, items: Sequence[tuple[int, Event]], rule: dict[str, Any],
                  now: datetime | None = None, variants: dict[str, CampaignVariant] | None = None
                  ) -> list[tuple[Message, bool]]:
    """Decide and write the messages of `campaign` for `items` = (customer id, event), in one transaction;
    returns (message, created) for each item, in order: the row already decided for that (customer, occurrence),
    else the new row — delivered, scheduled for the end of quiet hours, held out, or suppressed with its reason.

    Raises CampaignNotReady when the campaign cannot send; Customer.DoesNotExist for an unknown customer."""
    now = now or timezone.now()
    if campaign.status != Campaign.Status.ACTIVE:
        raise CampaignNotReady("The campaign is not active.", code="campaign_not_active")
    variants = variants or campaign_variants(campaign)
    ids = sorted({customer_id for customer_id, _ in items})
    try:
        with transaction.atomic():
            # The frequency cap is a read-then-write (count the customer's recent messages, then add one), so two
            # sends at once — two campaign launches, a launch and a trigger scan — could each count 2 of 3 and both
            # write. Every send therefore locks its customers' rows first, and holds the locks until it commits:
            # whoever comes second waits, then (each statement reading afresh under READ COMMITTED) counts the
            # first one's messages and sees consent as it is now. Rows are locked in ascending id order (the lock
            # follows the ORDER BY), as `deliver_due_messages` locks them, so two batches cannot deadlock.
            customers = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
            if len(customers) < len(ids):
                raise Customer.DoesNotExist(f"No customer {sorted(set(ids) - set(customers))}.")
            results = sending.decide_batch(campaign=campaign, items=items, customers=customers, rule=rule, now=now,
                                           tz=bank_tz(), variants=variants)
            new = [message for message, created in results if created]
            Message.objects.bulk_create(new)
            _email_on_commit([m for m in new if m.status == MessageStatus.DELIVERED])
    except IntegrityError:
        # Only the unique (campaign, customer, occurrence) can fail here; the customer locks make it unlikely, but
        # a second database session without the lock (a hand-made row) would land here. A batch falls back to one
        # customer at a time; a single send answers with the row that is there.
        if len(items) > 1:
            return [send_messages(campaign=campaign, items=[item], rule=rule, now=now, variants=variants)[0]
                    for item in items]
        customer_id, event = items[0]
        existing = Message.objects.filter(campaign=campaign, customer_id=customer_id,
                                          occurrence=event.occurrence).first()
        if existing is None:
            raise
        return [(existing, False)]
    return results


def _email_on_commit(messages: Sequence[Message]) -> None:
    """After the commit, email the delivered `messages` whose campaign emails and whose customer has an address."""
    ids = [m.pk for m in messages if m.campaign.send_email and m.customer.email]
    if ids:
        transaction.on_commit(lambda: email_messages(message_ids=ids))


def email_message(*, message_id: int) -> bool:
    """Email a delivered message to the customer; see `email_messages`."""
    return email_messages(message_ids=[message_id]) == 1


def email_messages(*, message_ids: Sequence[int]) -> int:
    """Email delivered messages to their customers (each once: emailed_at is claimed under a row lock, the
    condition re-read once the lock is ours, and committed before sending, so a retry never sends twice). A failure
    to send is logged and releases that message's claim for the next delivery run. Returns how many were sent."""
    with transaction.atomic():
        claimed = list(Message.objects.select_for_update(of=("self",))
                       .filter(pk__in=message_ids, status=MessageStatus.DELIVERED, emailed_at__isnull=True)
                       .select_related("customer").order_by("pk"))
        Message.objects.filter(pk__in=[m.pk for m in claimed]).update(emailed_at=timezone.now())
    sent = 0
    for message in claimed:
        if not message.customer.email:
            Message.objects.filter(pk=message.pk).update(emailed_at=None)
            continue
        mail = EmailMultiAlternatives(subject=message.subject, body=message.body, to=[message.customer.email])
        try:
            mail.send()
        except Exception:  # noqa: BLE001 — any transport error: log, release the claim, keep the inbox copy
            logger.exception("could not email message %s", message.pk)
            Message.objects.filter(pk=message.pk).update(emailed_at=None)
            continue
        sent += 1
    return sent


@dataclass(frozen=True)
class LaunchResult:
    audience: int
    created: int
    by_status: dict[str, int]


def launch_campaign(*, campaign: Campaign, now: datetime | None = None,
                    advance: Callable[[int], None] | None = None) -> LaunchResult:
    """Send a scheduled campaign to its audience (in batches of BATCH customers, each read, decided and written in
    one transaction: see `send_messages`). Safe to rerun:
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
        chunk = todo[start:start + BATCH]
        for message, was_created in send_messages(campaign=campaign, items=[(pk, event) for pk in chunk],
                                                  rule=rule, now=now, variants=variants):
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
        _email_on_commit([message])
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
            product = message.product
            if product is not None:
                # The recommender learns from these like from its own lists: an impression when the message is
                # first seen, a click on every click (as the portal's own feedback buttons record them).
                if first_open:
                    record_feedback(customer=message.customer, product=product,
                                    event=InteractionEvent.IMPRESSION, channel=channel)
                if kind == MessageEvent.Kind.CLICK:
                    record_feedback(customer=message.customer, product=product,
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

    if message.product is not None:
        return reverse("portal:product_detail", args=[message.product.code])
    return reverse("portal:recommendations")
