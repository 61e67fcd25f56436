"""The batch run's read: the next chunk of consenting customers, with everything scoring and the gate need.

    chunk = read_chunk(after=None, limit=4096, today=today, embeddings=False)   # then after=chunk.pks[-1]

The same values the online path's readers give (`customer_rows`, `interaction_events`, `CustomerFacts.of_many`),
read for a whole chunk at once and straight into numpy:

- the chunk is chosen by keyset (`id > after ORDER BY id LIMIT n`), and every other table is read by the chunk's
  id range (`customer_id > after AND customer_id <= last`) -- one index range scan each, no list of ids shipped
  or compiled; rows of the non-consenting customers inside the range are dropped in numpy;
- the other tables' rows come back packed: a query returns its rows' columns in their binary send forms,
  concatenated by `string_agg` into one bytea, which `np.frombuffer` reads as a record array -- no Python object
  per row (a binary COPY would do the same but sends a message per row, which psycopg reads in Python); the
  customers themselves (a few thousand rows, with text columns) are an ordinary fetch;
- conversions happen where they are exact on both sides: numeric -> float8 in SQL and Decimal -> float in Python
  both round the exact decimal correctly; a timestamp is whole microseconds, divided by 10^6 in float64 as
  `datetime.timestamp()` does; a holding's opening day goes through `dataset.day_start`, once per distinct day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.db import connection

from advisor.ml.data import EVENTS, PURCHASE
from advisor.ml.dataset import MONEY, CustomerRows, day_start, profile_feature_names, signed_log
from advisor.suitability import LIQUID_ACCOUNTS, CustomerFacts
from customers.models import Account, Holding, KycStatus, ProfileSnapshot

_PG_EPOCH = date(2000, 1, 1)  # the binary forms of dates count days, of timestamps microseconds, from here
_PG_EPOCH_UNIX_SECONDS = 946_684_800
_BEFORE_ANY_ID = -(2**63)  # bigint's lowest: `after=None` reads from the first customer
# One field of a NumPy structured dtype: (name, format) or (name, format, shape).
DtypeField = tuple[str, Any] | tuple[str, Any, tuple[int, ...]]

# The chunk: consenting customers by keyset. Dates as days since 1970 (integers; no date objects to build).
_CUSTOMER_COLUMNS = ("id", "birth", "income", "risk", "consent", "since", "kyc", "stage", "residency")
_CUSTOMERS_SQL = """
SELECT id, birth_date - DATE '1970-01-01', declared_annual_income::float8, risk_tolerance, consent_marketing,
       customer_since - DATE '1970-01-01', kyc_status, life_stage, residency
FROM customers_customer
WHERE consent_profiling AND id > %(after)s
ORDER BY id
LIMIT %(limit)s
"""
# The rest by the chunk's id range, each as (row count, the rows packed): every row is its columns' binary send
# forms (big-endian, fixed width) concatenated, and the rows one bytea -- one value to fetch however many rows,
# which numpy reads as a record array. (A binary COPY would send a message per row, and psycopg reads each in
# Python: measured, 3 µs a row, more than the rest of the read.) Every column is NOT NULL or made so: string_agg
# skips NULL rows, and `packed_rows` checks the count.
_INTERACTIONS_SQL = """
SELECT count(*), string_agg(
    int8send(customer_id) || int8send(product_id)
    || int2send(coalesce(array_position(%(events)s::text[], event::text) - 1, -1)::int2)
    || timestamptz_send("timestamp"), ''::bytea)
FROM customers_productinteraction WHERE customer_id > %(after)s AND customer_id <= %(last)s
"""
_HOLDINGS_SQL = """
SELECT count(*), string_agg(int8send(customer_id) || int8send(product_id) || date_send(opened_on), ''::bytea)
FROM customers_holding WHERE status = %(active)s AND customer_id > %(after)s AND customer_id <= %(last)s
"""
_LIQUID_SQL = """
SELECT count(*), string_agg(int8send(customer_id) || float8send(total), ''::bytea)
FROM (
  SELECT customer_id, sum(balance)::float8 AS total FROM customers_account
  WHERE type = ANY(%(liquid)s::text[]) AND status = %(active)s AND customer_id > %(after)s AND customer_id <= %(last)s
  GROUP BY customer_id
) liquid
"""
_PRODUCT_ACCOUNTS_SQL = """
SELECT count(*), string_agg(int8send(customer_id) || int8send(product_id), ''::bytea)
FROM customers_account
WHERE product_id IS NOT NULL AND status <> %(closed)s AND customer_id > %(after)s AND customer_id <= %(last)s
"""
# The latest snapshot of each customer (DISTINCT ON): its features in the order of %(names)s (NaN where absent or
# null) and, when %(embeddings)s, its embedding (zeros where it has none; a constant CASE, folded by the planner).
_PROFILES_SQL = """
SELECT count(*), string_agg(int8send(customer_id) || packed_features || packed_embedding, ''::bytea)
FROM (
  SELECT DISTINCT ON (customer_id) customer_id,
         coalesce((SELECT string_agg(float8send(coalesce((features ->> name)::float8, 'NaN')), ''::bytea
                                     ORDER BY position)
                   FROM unnest(%(names)s::text[]) WITH ORDINALITY AS wanted (name, position)),
                  ''::bytea) AS packed_features,
         CASE WHEN %(embeddings)s
              THEN vector_send(coalesce(embedding, array_fill(0::real, ARRAY[%(dimensions)s])::vector))
              ELSE ''::bytea END AS packed_embedding
  FROM customers_profilesnapshot WHERE customer_id > %(after)s AND customer_id <= %(last)s
  ORDER BY customer_id, as_of DESC
) latest
"""


@dataclass
class ChunkFacts:
    """`CustomerFacts` of a chunk's customers as columns, row i for the chunk's i-th customer."""

    age: np.ndarray  # int64 whole years
    annual_income: np.ndarray  # float64
    kyc_verified: np.ndarray  # bool
    residency: np.ndarray  # str (object)
    risk_tolerance: np.ndarray  # int64
    liquid_assets: np.ndarray  # float64
    held_rows: np.ndarray  # int64: (held_rows[j], held_products[j]) is a product row j's customer holds
    held_products: np.ndarray  # int64 Product pks

    @classmethod
    def of(cls, facts: list[CustomerFacts]) -> ChunkFacts:
        """The columns of facts read one customer at a time (`CustomerFacts.of_many`)."""
        pairs = [(i, pk) for i, f in enumerate(facts) for pk in sorted(f.held_product_ids)]
        return cls(
            age=np.array([f.age for f in facts], dtype=np.int64),
            annual_income=np.array([float(f.annual_income) for f in facts], dtype=np.float64),
            kyc_verified=np.array([f.kyc_verified for f in facts], dtype=bool),
            residency=np.array([f.residency for f in facts], dtype=object),
            risk_tolerance=np.array([f.risk_tolerance for f in facts], dtype=np.int64),
            liquid_assets=np.array([float(f.liquid_assets) for f in facts], dtype=np.float64),
            held_rows=np.array([i for i, _ in pairs], dtype=np.int64),
            held_products=np.array([pk for _, pk in pairs], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.age)


@dataclass
class ChunkRows:
    """One chunk as read: customers in pk order, their raw features, their events, their gate facts."""

    pks: np.ndarray  # int64, ascending
    rows: CustomerRows
    events: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # as `dataset.interaction_events` gives them
    facts: ChunkFacts


def read_chunk(*, after: int | None, limit: int, today: date, embeddings: bool) -> ChunkRows | None:
    """The first `limit` customers who consented to profiling with a pk above `after` (None: from the first),
    as of `today`; None when there are none. `embeddings`: read their profile embeddings too."""
    lowest = _BEFORE_ANY_ID if after is None else int(after)
    with connection.cursor() as cursor:
        cursor.execute(_CUSTOMERS_SQL, {"after": lowest, "limit": int(limit)})
        people = cursor.fetchall()
        if not people:
            return None
        customer = dict(zip(_CUSTOMER_COLUMNS, zip(*people, strict=True), strict=True))
        pks = np.array(customer["id"], dtype=np.int64)
        params: dict[str, Any] = {
            "after": lowest, "last": int(pks[-1]), "events": list(EVENTS), "active": Holding.Status.ACTIVE.value,
            "liquid": [str(kind) for kind in LIQUID_ACCOUNTS], "closed": Account.Status.CLOSED.value,
        }
        interactions = packed_rows(cursor, _INTERACTIONS_SQL, params,
                                   [("customer", ">i8"), ("product", ">i8"), ("event", ">i2"), ("at", ">i8")])
        holdings = packed_rows(cursor, _HOLDINGS_SQL, params,
                               [("customer", ">i8"), ("product", ">i8"), ("opened", ">i4")])
        liquid = packed_rows(cursor, _LIQUID_SQL, params, [("customer", ">i8"), ("total", ">f8")])
        accounts = packed_rows(cursor, _PRODUCT_ACCOUNTS_SQL, params, [("customer", ">i8"), ("product", ">i8")])
        profiles = _read_profiles(cursor, params, embeddings=embeddings)
    birth_days = np.array(customer["birth"], dtype=np.int64)
    held_rows, held_products = _held(pks, holdings, accounts)
    kyc = np.array(customer["kyc"], dtype=object)
    facts = ChunkFacts(
        age=_whole_years(birth_days, today),
        annual_income=np.array(customer["income"], dtype=np.float64),
        kyc_verified=kyc == KycStatus.VERIFIED.value,
        residency=np.array(customer["residency"], dtype=object),
        risk_tolerance=np.array(customer["risk"], dtype=np.int64),
        liquid_assets=_per_customer(pks, liquid["customer"], liquid["total"], fill=0.0),
        held_rows=held_rows, held_products=held_products,
    )
    today_days = (today - date(1970, 1, 1)).days
    numeric: dict[str, np.ndarray] = {
        "age": (today_days - birth_days) / 365.25,
        "declared_income": facts.annual_income.copy(),
        "risk_tolerance": np.array(customer["risk"], dtype=np.float64),
        "consent_marketing": np.array(customer["consent"], dtype=np.float64),
        "tenure_years": (today_days - np.array(customer["since"], dtype=np.int64)) / 365.25,
    }
    numeric_profile, vectors = _profile_columns(pks, profiles, embeddings=embeddings)
    numeric.update(numeric_profile)
    for name in MONEY & numeric.keys():
        numeric[name] = signed_log(numeric[name])
    rows = CustomerRows(
        pks=[int(pk) for pk in pks], numeric=numeric,
        categorical={"life_stage": np.array(customer["stage"], dtype=object), "kyc_status": kyc},
        embeddings=vectors,
    )
    return ChunkRows(pks=pks, rows=rows, events=_events(pks, interactions, holdings), facts=facts)


def packed_rows(cursor: Any, sql: str, params: dict[str, Any], columns: list[DtypeField]) -> np.ndarray:
    """The rows of a query that returns (row count, the rows' columns packed in their binary send forms), as a
    record array of `columns` (big-endian dtypes, as PostgreSQL sends them).

    Raises ValueError when the bytes are not the count's rows of that width (a column of another type)."""
    dtype = np.dtype(columns)
    cursor.execute(sql, params)
    count, data = cursor.fetchone()
    data = data or b""  # string_agg of no rows is NULL
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"{count} packed rows of {dtype.itemsize} bytes expected, got {len(data)} bytes")
    return np.frombuffer(data, dtype=dtype)


def _read_profiles(cursor: Any, params: dict[str, Any], *, embeddings: bool) -> np.ndarray:
    names = profile_feature_names()
    dimensions = ProfileSnapshot._meta.get_field("embedding").dimensions
    columns: list[DtypeField] = [("customer", ">i8"), ("features", ">f8", (len(names),))]
    if embeddings:  # a vector is sent as its dimension count (int16), an unused int16, then float4 values
        columns.append(("embedding", [("dim", ">i2"), ("unused", ">i2"), ("values", ">f4", (dimensions,))]))
    params = {**params, "names": names, "embeddings": embeddings, "dimensions": dimensions}
    return packed_rows(cursor, _PROFILES_SQL, params, columns)


def _profile_columns(pks: np.ndarray, profiles: np.ndarray, *, embeddings: bool
                     ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """`has_profile` and each profile feature (NaN without a snapshot) and the embeddings (zeros without one),
    by row of `pks`."""
    n, names = len(pks), profile_feature_names()
    found, at = _rows_of(pks, profiles["customer"])
    numeric = {"has_profile": np.zeros(n)}
    numeric["has_profile"][at] = 1.0
    values = profiles["features"][found]
    for i, name in enumerate(names):
        numeric[name] = np.full(n, np.nan)
        numeric[name][at] = values[:, i]
    vectors = None
    if embeddings:
        stored = profiles["embedding"]["values"][found]
        vectors = np.zeros((n, stored.shape[1]), np.float32)
        vectors[at] = stored
    return numeric, vectors


def _events(
    pks: np.ndarray, interactions: np.ndarray, holdings: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`dataset.interaction_events(pks)`: the logged interactions, then each (customer, product) held actively
    without a purchase event as a purchase on the holding's opening day (the latest such holding's)."""
    keep, _ = _rows_of(pks, interactions["customer"])
    customers = interactions["customer"][keep].astype(np.int64)
    products = interactions["product"][keep].astype(np.int64)
    events = interactions["event"][keep].astype(np.int8)
    if (events < 0).any():
        raise ValueError(f"an interaction event is none of {EVENTS}")
    times = (interactions["at"][keep].astype(np.int64) + _PG_EPOCH_UNIX_SECONDS * 1_000_000) / 1e6
    h_keep, _ = _rows_of(pks, holdings["customer"])
    h_customers = holdings["customer"][h_keep].astype(np.int64)
    h_products = holdings["product"][h_keep].astype(np.int64)
    opened = holdings["opened"][h_keep].astype(np.int64)
    bought = events == PURCHASE
    # (customer, product) pairs as one integer: products numbered densely, so the key cannot overflow.
    _, dense = np.unique(np.concatenate([products[bought], h_products]), return_inverse=True)
    width = int(dense.max(initial=-1)) + 1
    purchased = customers[bought] * width + dense[: int(bought.sum())]
    key = h_customers * width + dense[int(bought.sum()) :]
    # The latest holding of each pair, as the online reader takes the first in its (customer, -opened_on) order.
    order = np.lexsort((-opened, key))
    _, first = np.unique(key[order], return_index=True)
    chosen = order[first]
    chosen = chosen[~np.isin(key[chosen], purchased)]
    days, inverse = np.unique(opened[chosen], return_inverse=True)
    starts = np.array([day_start(_PG_EPOCH + timedelta(days=int(d))) for d in days], dtype=np.float64)
    return (
        np.concatenate([customers, h_customers[chosen]]),
        np.concatenate([products, h_products[chosen]]),
        np.concatenate([events, np.full(len(chosen), PURCHASE, dtype=np.int8)]),
        np.concatenate([times, starts[inverse]]),
    )


def _held(pks: np.ndarray, holdings: np.ndarray, accounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, product pk) of each product held: active holdings and products held as an open account."""
    customers = np.concatenate([holdings["customer"], accounts["customer"]]).astype(np.int64)
    products = np.concatenate([holdings["product"], accounts["product"]]).astype(np.int64)
    found, at = _rows_of(pks, customers)
    return at, products[found]


def _rows_of(pks: np.ndarray, customers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of `customers` that are in the chunk, their rows in `pks`)."""
    customers = np.asarray(customers, dtype=np.int64)
    at = np.minimum(np.searchsorted(pks, customers), len(pks) - 1)
    found = pks[at] == customers
    return found, at[found]


def _per_customer(pks: np.ndarray, customers: np.ndarray, values: np.ndarray, *, fill: float) -> np.ndarray:
    out = np.full(len(pks), fill, dtype=np.float64)
    found, at = _rows_of(pks, customers)
    out[at] = values[found]
    return out


def _whole_years(birth_days: np.ndarray, today: date) -> np.ndarray:
    """`Customer.age_on(today)` for birth dates given as days since 1970: whole years, a year less before the
    birthday."""
    birth = birth_days.astype("datetime64[D]")
    year = birth.astype("datetime64[Y]")
    month = birth.astype("datetime64[M]")
    b_year = year.astype(np.int64) + 1970
    b_month = (month - year.astype("datetime64[M]")).astype(np.int64) + 1
    b_day = (birth - month.astype("datetime64[D]")).astype(np.int64) + 1
    before_birthday = (today.month < b_month) | ((today.month == b_month) & (today.day < b_day))
    return today.year - b_year - before_birthday.astype(np.int64)
