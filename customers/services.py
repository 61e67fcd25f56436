"""Writes of customer data derived by the platform: profile snapshots."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from bank import audit
from bank.embeddings import text_embedder
from customers.models import Account, Customer, Holding, ProfileSnapshot, Transaction
from customers.profiles import (
    BOOKING_CURRENCY,
    DEFAULT_WINDOW_DAYS,
    MONTH,
    AccountRecord,
    HoldingRecord,
    MonthlyFlow,
    build_profile,
    months_in,
    window_end,
)

_UPDATED_FIELDS = [
    "computed_at",
    "window_days",
    "income_estimate_monthly",
    "spend_monthly",
    "spend_mix",
    "transactions_per_month",
    "balance_total",
    "balance_trend",
    "product_types_held",
    "features",
    "summary_en",
    "summary_zh",
    "embedding",
    "embedding_model",
]


def compute_profiles(
    *,
    customer_ids: Iterable[int] | None = None,
    as_of: date | None = None,
    batch_size: int = 500,
    progress: bool = False,
) -> int:
    """Compute (or recompute) the profile snapshot of `as_of` (default: today in the bank's time zone)
    for the given customers (default: all), and embed each summary. Returns the number of snapshots written.

    Only customers who consented to profiling are profiled; others are skipped (and not counted).
    Rerunning for the same day replaces that day's snapshot (upsert on customer + as_of), so the task is
    safe to retry; each batch is written in one transaction, so a failure leaves whole batches only.
    """
    as_of = as_of or timezone.localdate()
    window_days = DEFAULT_WINDOW_DAYS
    end = window_end(as_of=as_of, tz=timezone.get_default_timezone())
    customers = Customer.objects.filter(consent_profiling=True)
    if customer_ids is not None:
        customers = customers.filter(pk__in=list(customer_ids))
    ids = list(customers.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0

    embedder = text_embedder()
    version = embedder.model_version()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(ids), desc="Customer profiles", unit="customer")
    written = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        flows = _monthly_flows(customer_ids=batch, end=end, window_days=window_days)
        accounts = _accounts(customer_ids=batch)
        holdings = _holdings(customer_ids=batch)
        profiles = {
            pk: build_profile(
                flows=flows.get(pk, []),
                accounts=accounts.get(pk, []),
                holdings=holdings.get(pk, []),
                window_days=window_days,
            )
            for pk in batch
        }
        # Summaries are templated, so customers often share one: embed each distinct text once.
        texts = list(dict.fromkeys(p.summary_en for p in profiles.values()))
        vectors = dict(zip(texts, embedder.embed_documents(texts), strict=True))
        rows = [
            ProfileSnapshot(
                customer_id=pk,
                as_of=as_of,
                window_days=window_days,
                income_estimate_monthly=p.income_estimate_monthly,
                spend_monthly=p.spend_monthly,
                spend_mix=p.spend_mix,
                transactions_per_month=p.transactions_per_month,
                balance_total=p.balance_total,
                balance_trend=p.balance_trend,
                product_types_held=p.product_types_held,
                features=p.features,
                summary_en=p.summary_en,
                summary_zh=p.summary_zh,
                embedding=vectors[p.summary_en],
                embedding_model=version,
            )
            for pk, p in profiles.items()
        ]
        with transaction.atomic():
            ProfileSnapshot.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["customer", "as_of"],
                update_fields=_UPDATED_FIELDS,
            )
        written += len(rows)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return written


def _monthly_flows(
    *, customer_ids: list[int], end: datetime, window_days: int
) -> dict[int, list[MonthlyFlow]]:
    """The batch's transactions grouped in SQL by customer, 30-day month and category.

    ~150 transactions a customer become a few dozen rows, and Postgres sums Decimals faster than Python
    builds them. The grouping is exactly `customers.profiles.aggregate_flows` (a test checks it).
    """
    months = months_in(window_days)
    start = end - timedelta(days=window_days)
    table = Transaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT customer_id,
                   LEAST(floor(extract(epoch FROM (%(end)s - timestamp)) / %(month)s)::int, %(last)s)
                       AS month,
                   category,
                   coalesce(sum(amount) FILTER (WHERE amount > 0 AND currency = %(cur)s), 0),
                   coalesce(-sum(amount) FILTER (WHERE amount < 0 AND currency = %(cur)s), 0),
                   count(*)
            FROM {table}
            WHERE customer_id = ANY(%(ids)s) AND timestamp >= %(start)s AND timestamp < %(end)s
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3
            """,  # nosec B608  # table name from the model; values are bound parameters
            {
                "ids": customer_ids,
                "start": start,
                "end": end,
                "month": MONTH.total_seconds(),
                "last": months - 1,
                "cur": BOOKING_CURRENCY,
            },
        )
        flows: dict[int, list[MonthlyFlow]] = defaultdict(list)
        for customer_id, month, category, money_in, money_out, count in cursor.fetchall():
            flows[customer_id].append(
                MonthlyFlow(
                    month=month,
                    category=category,
                    money_in=Decimal(money_in),
                    money_out=Decimal(money_out),
                    count=count,
                )
            )
    return flows


def _accounts(*, customer_ids: list[int]) -> dict[int, list[AccountRecord]]:
    accounts: dict[int, list[AccountRecord]] = defaultdict(list)
    rows = Account.objects.filter(customer_id__in=customer_ids).exclude(status=Account.Status.CLOSED)
    for customer_id, type_, balance, limit, currency, status in rows.values_list(
        "customer_id", "type", "balance", "credit_limit", "currency", "status"
    ).order_by():
        accounts[customer_id].append(
            AccountRecord(type=type_, balance=balance, credit_limit=limit, currency=currency, status=status)
        )
    return accounts


def _holdings(*, customer_ids: list[int]) -> dict[int, list[HoldingRecord]]:
    holdings: dict[int, list[HoldingRecord]] = defaultdict(list)
    rows = Holding.objects.filter(customer_id__in=customer_ids, status=Holding.Status.ACTIVE)
    for customer_id, product_type, amount in rows.values_list(
        "customer_id", "product__type", "amount"
    ).order_by():
        holdings[customer_id].append(HoldingRecord(product_type=product_type, amount=amount))
    return holdings


CONSENTS = ("marketing", "profiling")


def set_consent(*, customer: Customer, consent: str, granted: bool, actor: object, channel: str) -> bool:
    """Give or withdraw the customer's consent to marketing or to profiling, audited. Returns whether it changed.

    Withdrawing marketing consent stops every promotional message not yet delivered: delivery checks consent again
    (advisor.engagement), so nothing here needs to reach into the messages.
    """
    if consent not in CONSENTS:
        raise ValueError(f"unknown consent {consent!r}; known: {', '.join(CONSENTS)}")
    field = f"consent_{consent}"
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if getattr(locked, field) == granted:
            return False
        setattr(locked, field, granted)
        locked.save(update_fields=[field, "updated_at"])
        audit.record(action=f"consent.{'granted' if granted else 'withdrawn'}", actor=actor, channel=channel,
                     subject=f"customer:{locked.external_ref}", customer_ref=locked.external_ref,
                     detail={"consent": consent})
    setattr(customer, field, granted)
    return True
