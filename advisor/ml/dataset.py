"""The recommender's training data from our own tables, and the same for one customer at request time.

- Interactions: `customers.ProductInteraction`, plus every active `Holding` whose (customer, product) has no
  purchase event, as a purchase on its opening day (holdings older than the interaction log are still things
  the customer bought).
- Customer features: age, declared income, risk tolerance, KYC status, life stage, marketing consent, tenure,
  and the latest `ProfileSnapshot.features` (ordered by `customers.profiles.feature_names()`, with
  `has_profile`) -- except the ones derived from what the customer holds (`HOLDING_DERIVED`): the
  interaction history already says what they hold, and a snapshot taken today would leak a held-out purchase
  into an offline evaluation. Money amounts are signed-log scaled before standardising.
- Product features: type, risk level, returns, term, minimum, fees, liquidity, eligibility limits, and tags
  carried by at least two products (as 0/1 columns `tag_<tag>`).
- Embeddings: `ProfileSnapshot.embedding` (zeros where a customer has none) and `Product.embedding`, when every
  product has one.

Ids are database primary keys as strings; `export_csv` writes the harness's CSV format with the bank's own ids
(external_ref, product code).
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import CharField, DateField, DateTimeField, F, QuerySet, Value
from django.utils import timezone

from advisor.ml.data import (
    DEFAULT_WEIGHTS,
    EVENTS,
    PURCHASE,
    FeatureEncoder,
    InteractionLog,
    RecommenderData,
    encode_table,
    segment_codes,
)
from customers.models import Customer, Holding, ProductInteraction, ProfileSnapshot
from customers.profiles import feature_names
from products.models import Product

HOLDING_DERIVED = frozenset(
    {"accounts", "holdings", "holdings_value", "assets_total", "debt_total", "balance_total", "credit_utilisation",
     "spend_share_insurance", "spend_share_housing"}
)
MONEY = frozenset({"declared_income", "income_monthly", "spend_monthly", "min_amount", "annual_fee", "min_income"})
MIN_TAG_PRODUCTS = 2
SEGMENT_COLUMN = "life_stage"


def profile_feature_names() -> list[str]:
    return [n for n in feature_names() if n not in HOLDING_DERIVED and not n.startswith("holds_")]


def signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


# --- customers -----------------------------------------------------------------------------------------------


@dataclass
class CustomerRows:
    """Raw customer features (before encoding) and profile embeddings, for customers in `pks` order."""

    pks: list[int]
    numeric: dict[str, np.ndarray]
    categorical: dict[str, np.ndarray]
    embeddings: np.ndarray | None


def customer_rows(
    pks: list[int], *, today: date | None = None, embeddings: bool = True, loaded: Iterable[Customer] = ()
) -> CustomerRows:
    """The rows of customers `pks`. `loaded`: some of them already read (a request's customer), whose fields are
    taken as they are instead of being read again."""
    today = today or timezone.localdate()
    fields = ("pk", "birth_date", "declared_annual_income", "risk_tolerance", "kyc_status", "life_stage",
              "consent_marketing", "customer_since")
    by_pk = {customer.pk: tuple(getattr(customer, name) for name in fields) for customer in loaded}
    missing = [pk for pk in pks if pk not in by_pk]
    if missing:
        by_pk.update((row[0], row) for row in Customer.objects.filter(pk__in=missing).values_list(*fields))
    profiles: dict[int, tuple[dict[str, float], Any]] = {}
    # DISTINCT ON: the latest snapshot per customer in one query.
    snapshot_fields = ["customer_id", "features"] + (["embedding"] if embeddings else [])
    for row in (
        ProfileSnapshot.objects.filter(customer_id__in=pks)
        .order_by("customer_id", "-as_of")
        .distinct("customer_id")
        .values_list(*snapshot_fields)
    ):
        profiles[row[0]] = (row[1], row[2] if embeddings else None)
    n = len(pks)
    numeric: dict[str, np.ndarray] = {
        name: np.full(n, np.nan)
        for name in ["age", "declared_income", "risk_tolerance", "consent_marketing", "tenure_years", "has_profile"]
    }
    names = profile_feature_names()
    for name in names:
        numeric[name] = np.full(n, np.nan)
    categorical = {"life_stage": np.full(n, "", dtype=object), "kyc_status": np.full(n, "", dtype=object)}
    vectors = np.zeros((n, 384), np.float32) if embeddings else None
    for i, pk in enumerate(pks):
        row = by_pk.get(pk)
        if row is None:
            continue
        _, birth, income, risk, kyc, stage, consent, since = row
        numeric["age"][i] = (today - birth).days / 365.25
        numeric["declared_income"][i] = float(income)
        numeric["risk_tolerance"][i] = risk
        numeric["consent_marketing"][i] = float(consent)
        numeric["tenure_years"][i] = (today - since).days / 365.25
        categorical["life_stage"][i], categorical["kyc_status"][i] = stage, kyc
        profile = profiles.get(pk)
        numeric["has_profile"][i] = 0.0 if profile is None else 1.0
        if profile is not None:
            features, vector = profile
            for name in names:
                numeric[name][i] = _number(features.get(name))
            if vectors is not None and vector is not None:
                vectors[i] = np.asarray(vector, dtype=np.float32)
    for name in MONEY & numeric.keys():
        numeric[name] = signed_log(numeric[name])
    return CustomerRows(pks=list(pks), numeric=numeric, categorical=categorical, embeddings=vectors)


# --- products ------------------------------------------------------------------------------------------------


@dataclass
class ProductRows:
    pks: list[int]
    codes: list[str]
    numeric: dict[str, np.ndarray]
    categorical: dict[str, np.ndarray]
    embeddings: np.ndarray | None  # None unless every product has one


def product_rows(products: Iterable[Product], *, tags: list[str] | None = None) -> ProductRows:
    """Raw product features; `tags` fixes the tag columns (a trained model's), else tags on >= 2 products."""
    products = list(products)
    if tags is None:
        counts = Counter(t for p in products for t in set(p.tags))
        tags = sorted(t for t, c in counts.items() if c >= MIN_TAG_PRODUCTS)
    numeric: dict[str, list[float]] = {
        name: []
        for name in ["risk_level", "return_min", "return_max", "term_months", "min_amount", "management_fee_pct",
                     "annual_fee", "subscription_fee_pct", "min_age", "max_age", "min_income", "kyc_required",
                     "allows_multiple"]
    }
    numeric.update({f"tag_{t}": [] for t in tags})
    for p in products:
        numeric["risk_level"].append(float(p.risk_level))
        numeric["return_min"].append(_number(p.expected_return_min))
        numeric["return_max"].append(_number(p.expected_return_max))
        numeric["term_months"].append(_number(p.term_months))
        numeric["min_amount"].append(float(p.min_amount))
        numeric["management_fee_pct"].append(float(p.management_fee_pct))
        numeric["annual_fee"].append(float(p.annual_fee))
        numeric["subscription_fee_pct"].append(float(p.subscription_fee_pct))
        numeric["min_age"].append(float(p.min_age))
        numeric["max_age"].append(_number(p.max_age))
        numeric["min_income"].append(float(p.min_annual_income))
        numeric["kyc_required"].append(float(p.kyc_required))
        numeric["allows_multiple"].append(float(p.allows_multiple))
        held = set(p.tags)
        for t in tags:
            numeric[f"tag_{t}"].append(1.0 if t in held else 0.0)
    arrays = {name: np.asarray(values, dtype=np.float64) for name, values in numeric.items()}
    for name in MONEY & arrays.keys():
        arrays[name] = signed_log(arrays[name])
    vectors = None
    if products and all(p.embedding is not None for p in products):
        vectors = np.vstack([np.asarray(p.embedding, dtype=np.float32) for p in products])
    return ProductRows(
        pks=[p.pk for p in products],
        codes=[p.code for p in products],
        numeric=arrays,
        categorical={
            "type": np.array([p.type for p in products], dtype=object),
            "liquidity": np.array([p.liquidity for p in products], dtype=object),
        },
        embeddings=vectors,
    )


def tags_of(encoder: FeatureEncoder) -> list[str]:
    """The tag columns a product encoder was fitted with."""
    return [name[len("tag_") :] for name in encoder.numeric if name.startswith("tag_")]


# --- interactions ---------------------------------------------------------------------------------------


def day_start(day: date) -> float:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone()).timestamp()


def interaction_events(customer_pks: list[int] | None = None) -> tuple[np.ndarray, ...]:
    """(customer pk, product pk, event code, Unix seconds) arrays: logged interactions plus active holdings
    without a purchase event, as purchases on their opening day."""
    interactions = ProductInteraction.objects.all()
    holdings = Holding.objects.filter(status=Holding.Status.ACTIVE)
    if customer_pks is not None:
        interactions = interactions.filter(customer_id__in=customer_pks)
        holdings = holdings.filter(customer_id__in=customer_pks)
    code = {name: i for i, name in enumerate(EVENTS)}
    holding_rows: Iterable[tuple[int, int, date]]  # a list for one customer, streamed for many
    if customer_pks is not None and len(customer_pks) == 1:
        # One customer (a request): both reads in one round trip, without a server-side cursor.
        rows, holding_rows = _one_customer_events(interactions, holdings)
    else:
        rows = list(
            interactions.values_list("customer_id", "product_id", "event", "timestamp").iterator(chunk_size=20_000)
        )
        holding_rows = holdings.values_list("customer_id", "product_id", "opened_on").iterator(chunk_size=20_000)
    customers = [r[0] for r in rows]
    products = [r[1] for r in rows]
    events = [code[r[2]] for r in rows]
    times = [r[3].timestamp() for r in rows]
    bought = {(c, p) for c, p, e in zip(customers, products, events, strict=True) if e == PURCHASE}
    for c, p, opened in holding_rows:
        if (c, p) not in bought:
            bought.add((c, p))
            customers.append(c)
            products.append(p)
            events.append(PURCHASE)
            times.append(day_start(opened))
    return (
        np.asarray(customers, dtype=np.int64),
        np.asarray(products, dtype=np.int64),
        np.asarray(events, dtype=np.int8),
        np.asarray(times, dtype=np.float64),
    )


def _one_customer_events(
    interactions: QuerySet[Any], holdings: QuerySet[Any]
) -> tuple[list[tuple[int, int, str, datetime]], list[tuple[int, int, date]]]:
    """interaction_events' two reads as one UNION ALL: (customer, product, event, timestamp) rows and
    (customer, product, opened_on) rows, each in the order its own query gives."""
    columns = ("events_part", "events_customer", "events_product", "events_event", "events_at", "events_opened")
    no_event = Value(None, CharField())
    no_moment = Value(None, DateTimeField())
    no_day = Value(None, DateField())
    both = interactions.annotate(
        events_part=Value(0), events_customer=F("customer_id"), events_product=F("product_id"),
        events_event=F("event"), events_at=F("timestamp"), events_opened=no_day,
    ).values_list(*columns).union(
        holdings.annotate(
            events_part=Value(1), events_customer=F("customer_id"), events_product=F("product_id"),
            events_event=no_event, events_at=no_moment, events_opened=F("opened_on"),
        ).values_list(*columns),
        all=True,
    )
    rows: list[tuple[int, int, str, datetime]] = []
    holding_rows: list[tuple[int, int, date]] = []
    for part, customer, product, event, moment, opened in both:
        if part == 0:
            rows.append((customer, product, event, moment))
        else:
            holding_rows.append((customer, product, opened))
    return rows, holding_rows


# --- the whole bank ------------------------------------------------------------------------------------------


def load_from_database(*, embeddings: bool = True, today: date | None = None) -> RecommenderData:
    """Every customer and every product (inactive ones too: history on them still says something)."""
    products = list(Product.objects.order_by("pk"))
    customer_pks = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    p_rows = product_rows(products)
    c_rows = customer_rows(customer_pks, today=today, embeddings=embeddings)
    c_index = {pk: i for i, pk in enumerate(customer_pks)}
    p_index = {pk: j for j, pk in enumerate(p_rows.pks)}
    customers, product_pks, events, times = interaction_events()
    weights = np.array([DEFAULT_WEIGHTS[int(e)] for e in events], dtype=np.float32)
    log = InteractionLog(
        customer_ids=[str(pk) for pk in customer_pks],
        product_ids=[str(pk) for pk in p_rows.pks],
        customer=np.array([c_index[c] for c in customers], dtype=np.int32),
        product=np.array([p_index[p] for p in product_pks], dtype=np.int32),
        event=events,
        weight=weights,
        timestamp=times,
        source="database",
    )
    customer_table = encode_table(
        key="customer_id", ids=log.customer_ids, numeric=c_rows.numeric, categorical=c_rows.categorical,
        source="database customers",
    )
    product_table = encode_table(
        key="product_id", ids=log.product_ids, numeric=p_rows.numeric, categorical=p_rows.categorical,
        source="database products",
    )
    segments, names = segment_codes(c_rows.categorical[SEGMENT_COLUMN])
    use_embeddings = embeddings and p_rows.embeddings is not None and c_rows.embeddings is not None
    return RecommenderData(
        log=log,
        customer_features=customer_table.values,
        customer_feature_names=customer_table.names,
        product_features=product_table.values,
        product_feature_names=product_table.names,
        segments=segments,
        segment_names=names,
        segment_column=SEGMENT_COLUMN,
        customer_embeddings=c_rows.embeddings if use_embeddings else None,
        product_embeddings=p_rows.embeddings if use_embeddings else None,
        customer_encoder=customer_table.encoder,
        product_encoder=product_table.encoder,
    )


def export_csv(data: RecommenderData, folder: Path) -> dict[str, Path]:
    """Write interactions.csv, customer_features.csv and product_features.csv in the harness's format, with
    the bank's own ids. Features are written encoded (standardised, one-hot) plus the raw segment column, so
    the harness re-encoding them changes nothing. Embeddings are not exported."""
    folder.mkdir(parents=True, exist_ok=True)
    refs = dict(Customer.objects.values_list("pk", "external_ref"))
    codes = dict(Product.objects.values_list("pk", "code"))
    customer_ids = [refs[int(pk)] for pk in data.log.customer_ids]
    product_ids = [codes[int(pk)] for pk in data.log.product_ids]
    paths = {name: folder / f"{name}.csv" for name in ("interactions", "customer_features", "product_features")}
    log = data.log
    with paths["interactions"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "product_id", "event", "timestamp"])
        stamps = log.timestamp if log.timestamp is not None else np.zeros(len(log.event))
        for c, p, e, t in zip(log.customer, log.product, log.event, stamps, strict=True):
            moment = datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")
            writer.writerow([customer_ids[c], product_ids[p], EVENTS[e], moment])
    segment_names = data.segment_names
    for name, ids, values, columns in (
        ("customer_features", customer_ids, data.customer_features, data.customer_feature_names),
        ("product_features", product_ids, data.product_features, data.product_feature_names),
    ):
        extra = name == "customer_features" and data.segment_column is not None
        with paths[name].open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            key = "customer_id" if name == "customer_features" else "product_id"
            # One-hot columns are written as 0/1 numbers; '=' in a header is fine for CSV.
            writer.writerow([key] + columns + ([data.segment_column] if extra else []))
            for i, ident in enumerate(ids):
                row = [ident] + [f"{v:.6g}" for v in values[i]]
                if extra:
                    code = int(data.segments[i])
                    row.append(segment_names[code] if code >= 0 else "")
                writer.writerow(row)
    return paths
