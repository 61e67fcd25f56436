"""Life-event and calendar triggers: find who the event happened to, and hand them to `send_messages` in batches.

Every event has an occurrence key (birthday:2026, salary:<transaction id>, maturity:<holding id>:<date>,
idle:<year-month>), and Message is unique per (campaign, customer, occurrence): however often the scan runs,
one event gives at most one message. Each trigger's audience is also narrowed by the campaign's audience spec.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from advisor.engagement.audience import audience_queryset, liquid_balance
from advisor.engagement.models import Campaign, TriggerCursor, TriggerKind
from advisor.engagement.sending import Event
from advisor.engagement.services import BATCH, CampaignNotReady, bank_tz, campaign_variants, send_messages
from customers.models import AccountType, Customer, Holding, SpendingCategory, Transaction
from products.models import ProductType

DEFAULTS: dict[str, dict[str, Any]] = {
    TriggerKind.BIRTHDAY: {},
    TriggerKind.SALARY: {"lookback_days": 3},
    TriggerKind.DEPOSIT_MATURING: {"days": 14},
    TriggerKind.IDLE_BALANCE: {"threshold": "100000", "days": 30, "max_outflow": "2000"},
}


def params_of(campaign: Campaign) -> dict[str, Any]:
    return {**DEFAULTS.get(campaign.trigger, {}), **(campaign.trigger_params or {})}


def birthday_matches(born: date, today: date) -> bool:
    """Whether `today` is the birthday of someone born on `born`; 29 February is celebrated on 28 February in
    years without one."""
    if (born.month, born.day) == (today.month, today.day):
        return True
    return (born.month, born.day) == (2, 29) and (today.month, today.day) == (2, 28) and not calendar.isleap(
        today.year)


def birthdays(customers: QuerySet[Customer], *, today: date) -> Iterator[tuple[Customer, Event]]:
    days = Q(birth_date__month=today.month, birth_date__day=today.day)
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days |= Q(birth_date__month=2, birth_date__day=29)
    for customer in customers.filter(days).iterator(chunk_size=500):
        age = customer.age_on(today) if birthday_matches(customer.birth_date, today) else None
        yield customer, Event(occurrence=f"birthday:{today.year}",
                              detail={"event": "birthday", "date": today.isoformat(), "age": age})


def salaries(customers: QuerySet[Customer], *, campaign: Campaign, now: datetime, params: dict[str, Any]
             ) -> Iterator[tuple[Customer, Event]]:
    """Salary credits posted since the last scan (and within `lookback_days`, so the first scan of a bank with
    history does not congratulate everyone on last year's pay). The customer's latest credit is the event.

    The cursor is the highest transaction id at scan start; a row inserted with a lower id that commits after the
    scan is missed (ids are allocated at insert, not at commit) — salary files are posted in batches, well before
    the hourly scan, so this costs nothing in practice."""
    cursor, _ = TriggerCursor.objects.get_or_create(campaign=campaign)
    high = Transaction.objects.aggregate(top=Max("id"))["top"] or 0
    credits = (Transaction.objects.filter(
        id__gt=cursor.last_id, id__lte=high, category=SpendingCategory.SALARY, amount__gt=0,
        timestamp__gte=now - timedelta(days=int(params["lookback_days"])), customer__in=customers)
        .order_by("customer_id", "-timestamp", "-id").distinct("customer_id").select_related("customer"))
    for credit in credits.iterator(chunk_size=500):
        yield credit.customer, Event(
            occurrence=f"salary:{credit.pk}", salary_amount=credit.amount,
            detail={"event": "salary", "transaction": credit.pk, "amount": str(credit.amount),
                    "posted_at": credit.timestamp.isoformat()})
    TriggerCursor.objects.filter(pk=cursor.pk).update(last_id=max(cursor.last_id, high), scanned_at=now)


def maturing_deposits(customers: QuerySet[Customer], *, today: date, params: dict[str, Any]
                      ) -> Iterator[tuple[Customer, Event]]:
    until = today + timedelta(days=int(params["days"]))
    holdings = (Holding.objects.filter(status=Holding.Status.ACTIVE, product__type=ProductType.DEPOSIT,
                                       maturity_date__gte=today, maturity_date__lte=until, customer__in=customers)
                .select_related("customer", "product").order_by("maturity_date", "id"))
    for holding in holdings.iterator(chunk_size=500):
        maturity = holding.maturity_date
        if maturity is None:  # the query only finds holdings that mature between today and `until`
            raise RuntimeError(f"maturing deposit {holding.pk} has no maturity date")
        yield holding.customer, Event(
            occurrence=f"maturity:{holding.pk}:{maturity.isoformat()}", amount=holding.amount,
            maturity_date=maturity,
            detail={"event": "deposit_maturing", "holding": holding.pk, "product": holding.product.code,
                    "amount": str(holding.amount), "maturity_date": maturity.isoformat(),
                    "window_days": int(params["days"])})


def idle_balances(customers: QuerySet[Customer], *, now: datetime, today: date, params: dict[str, Any]
                  ) -> Iterator[tuple[Customer, Event]]:
    """Current and savings balance at or above `threshold` with at most `max_outflow` paid out of those accounts
    in the last `days` days: money that could be earning more. At most once a month per customer."""
    threshold, max_outflow = Decimal(str(params["threshold"])), Decimal(str(params["max_outflow"]))
    days = int(params["days"])
    out = (Transaction.objects.filter(customer=OuterRef("pk"), amount__lt=0, timestamp__gte=now - timedelta(days=days),
                                      account__type__in=[AccountType.CURRENT, AccountType.SAVINGS])
           .order_by().values("customer").annotate(total=Sum("amount")).values("total"))
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)
    rows = (customers.annotate(liquid=liquid_balance(),
                               outflow=-Coalesce(Subquery(out, output_field=money), Value(Decimal("0")),
                                                 output_field=money))
            .filter(liquid__gte=threshold, outflow__lte=max_outflow))
    for customer in rows.iterator(chunk_size=500):
        yield customer, Event(
            occurrence=f"idle:{today:%Y-%m}",
            detail={"event": "idle_balance", "balance": str(customer.liquid), "outflow": str(customer.outflow),
                    "threshold": str(threshold), "max_outflow": str(max_outflow), "days": days})


def events_for(campaign: Campaign, *, now: datetime) -> Iterator[tuple[Customer, Event]]:
    today = now.astimezone(bank_tz()).date()
    customers = audience_queryset(campaign.audience, today=today)
    params = params_of(campaign)
    if campaign.trigger == TriggerKind.BIRTHDAY:
        return birthdays(customers, today=today)
    if campaign.trigger == TriggerKind.SALARY:
        return salaries(customers, campaign=campaign, now=now, params=params)
    if campaign.trigger == TriggerKind.DEPOSIT_MATURING:
        return maturing_deposits(customers, today=today, params=params)
    if campaign.trigger == TriggerKind.IDLE_BALANCE:
        return idle_balances(customers, now=now, today=today, params=params)
    raise ValueError(f"Unknown trigger {campaign.trigger!r}.")


def scan_trigger(*, campaign: Campaign, now: datetime | None = None) -> dict[str, int]:
    """Send `campaign` to everyone its event happened to since the last scan. Safe to rerun at any time."""
    now = now or timezone.now()
    counts: dict[str, int] = {"events": 0, "new": 0}
    rule = {"trigger": campaign.trigger, "params": params_of(campaign), "audience": campaign.audience}
    variants = campaign_variants(campaign)
    batch: list[tuple[Customer, Event]] = []

    def flush() -> None:
        # One transaction per batch: its customers' facts read together, its messages written in one INSERT.
        items = [(customer.pk, event) for customer, event in sorted(batch, key=lambda pair: pair[0].pk)]
        for message, created in send_messages(campaign=campaign, items=items, rule=rule, now=now,
                                              variants=variants):
            counts["events"] += 1
            counts["new"] += created
            if created:
                counts[message.status] = counts.get(message.status, 0) + 1
        batch.clear()

    for pair in events_for(campaign, now=now):
        batch.append(pair)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return counts


def scan_triggers(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Scan every active trigger campaign that has not ended; a campaign that cannot send is skipped and named."""
    now = now or timezone.now()
    results: dict[str, dict[str, int]] = {}
    campaigns = (Campaign.objects.filter(kind=Campaign.Kind.TRIGGER, status=Campaign.Status.ACTIVE)
                 .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now)).select_related("product").order_by("id"))
    for campaign in campaigns:
        try:
            results[campaign.code] = scan_trigger(campaign=campaign, now=now)
        except CampaignNotReady as error:
            results[campaign.code] = {"skipped": 1, "error": error.code}  # type: ignore[dict-item]
    return results
