"""Reads: a customer's inbox (only their own delivered messages), and a campaign's results per arm.

Conversion is a purchase of the promoted product (or of any product of the promoted type): a holding opened, or
a purchase recorded as an interaction, within the campaign's conversion window after the message. Clicks are
reported beside it (CTR) but are not conversions: the holdout never sees the message, so it cannot click, and
counting clicks would manufacture uplift out of nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from advisor.engagement.experiment import ARM_A, ARM_B, HOLDOUT, ArmResult, Uplift, uplift
from advisor.engagement.models import Campaign, Message, MessageStatus
from advisor.engagement.services import bank_tz
from customers.models import Customer, Holding, InteractionEvent, ProductInteraction
from products.models import Product


def inbox_of(*, customer: Customer) -> QuerySet[Message]:
    """The customer's delivered messages, newest first. Scheduled, held-out and suppressed rows are not theirs
    to see (they never received them)."""
    return (Message.objects.filter(customer=customer, status=MessageStatus.DELIVERED)
            .select_related("product", "campaign").order_by("-delivered_at", "-id"))


def unread_count(*, customer: Customer) -> int:
    return Message.objects.filter(customer=customer, status=MessageStatus.DELIVERED, opened_at__isnull=True).count()


def message_of(*, customer: Customer, public_id: UUID | str) -> Message:
    """One of the customer's delivered messages. Raises Message.DoesNotExist for a bad id, another customer's
    message or one not delivered: the caller answers 404 in every case."""
    try:
        UUID(str(public_id))
    except ValueError:
        raise Message.DoesNotExist(public_id) from None
    return inbox_of(customer=customer).get(public_id=public_id)


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    arms: list[ArmResult]
    uplifts: list[Uplift]
    suppressed: dict[str, int]
    scheduled: int
    measurable: bool  # False when the campaign promotes nothing (no conversion to measure)


def _converted(messages: list[Message], campaign: Campaign) -> set[int]:
    """Ids of the messages followed by a purchase of their product (or type) within the window."""
    if not messages or not campaign.offers_product:
        return set()
    window = timedelta(days=campaign.conversion_days)
    tz = bank_tz()
    customers = {m.customer_id for m in messages}
    start = min(m.created_at for m in messages)
    product_types = dict(Product.objects.filter(
        id__in={m.product_id for m in messages if m.product_id}).values_list("id", "type"))
    by_type = bool(campaign.product_type)
    bought: dict[int, list[tuple[datetime | date, int, str]]] = defaultdict(list)
    for customer_id, opened_on, product_id, product_type in Holding.objects.filter(
            customer_id__in=customers, opened_on__gte=start.astimezone(tz).date()).values_list(
            "customer_id", "opened_on", "product_id", "product__type"):
        bought[customer_id].append((opened_on, product_id, product_type))
    for customer_id, at, product_id, product_type in ProductInteraction.objects.filter(
            customer_id__in=customers, event=InteractionEvent.PURCHASE, timestamp__gte=start).values_list(
            "customer_id", "timestamp", "product_id", "product__type"):
        bought[customer_id].append((at, product_id, product_type))
    converted = set()
    for m in messages:
        if m.product_id is None:
            continue
        sent = m.created_at
        for when, product_id, product_type in bought.get(m.customer_id, ()):
            same = (product_type == (campaign.product_type or product_types.get(m.product_id))) if by_type else (
                product_id == m.product_id)
            if not same:
                continue
            if isinstance(when, datetime):
                inside = sent <= when <= sent + window
            else:
                day = sent.astimezone(tz).date()
                inside = day <= when <= day + window
            if inside:
                converted.add(m.pk)
                break
    return converted


def campaign_report(*, campaign: Campaign) -> CampaignReport:
    """Customers, conversions, opens and clicks per arm (delivered and held-out messages only), and each treated
    arm's uplift over the holdout."""
    rows = list(Message.objects.filter(campaign=campaign, status__in=[MessageStatus.DELIVERED,
                                                                      MessageStatus.HELD_OUT])
                .only("id", "customer_id", "product_id", "arm", "created_at", "opened_at", "clicked_at"))
    converted = _converted(rows, campaign)
    arms = []
    for arm in (ARM_A, ARM_B, HOLDOUT):
        mine = [m for m in rows if m.arm == arm]
        if not mine and arm == ARM_B:
            continue
        arms.append(ArmResult(arm=arm, customers=len(mine), conversions=sum(m.pk in converted for m in mine),
                              clicks=sum(m.clicked_at is not None for m in mine),
                              opens=sum(m.opened_at is not None for m in mine)))
    control = next(a for a in arms if a.arm == HOLDOUT)
    uplifts = [u for a in arms if a.arm != HOLDOUT if (u := uplift(a, control)) is not None]
    suppressed: dict[str, int] = defaultdict(int)
    for reason in Message.objects.filter(campaign=campaign, status=MessageStatus.SUPPRESSED).values_list(
            "suppression_reason", flat=True):
        suppressed[reason] += 1
    scheduled = Message.objects.filter(campaign=campaign, status=MessageStatus.SCHEDULED).count()
    return CampaignReport(campaign=campaign, arms=arms, uplifts=uplifts, suppressed=dict(suppressed),
                          scheduled=scheduled, measurable=campaign.offers_product)


@dataclass(frozen=True)
class DaySeries:
    days: list[date]
    delivered: list[int]
    opened: list[int]
    clicked: list[int]


def daily_activity(*, campaign: Campaign, days: int = 30, today: date | None = None) -> DaySeries:
    """Messages delivered per day, and how many of each day's messages were opened and clicked (by send day)."""
    tz = bank_tz()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    series = [first + timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(series)}
    delivered, opened, clicked = [0] * days, [0] * days, [0] * days
    for at, was_opened, was_clicked in Message.objects.filter(
            campaign=campaign, status=MessageStatus.DELIVERED, delivered_at__date__gte=first - timedelta(days=1)
    ).values_list("delivered_at", "opened_at", "clicked_at"):
        if at is None:  # never: the delivered_at__date filter leaves out rows without one
            continue
        i = index.get(at.astimezone(tz).date())
        if i is None:
            continue
        delivered[i] += 1
        opened[i] += was_opened is not None
        clicked[i] += was_clicked is not None
    return DaySeries(series, delivered, opened, clicked)
