"""Build the demo bank: catalogue, customers with their users, accounts, holdings, interactions, transactions.

Fast and bounded in memory at any size: customers are generated in chunks of CHUNK with numpy (one seeded
generator per chunk, so the same seed gives the same bank) and written with PostgreSQL COPY. Everything runs
in one database transaction: a failure leaves the bank as it was, and the latent-preferences file is moved
into place only after the commit.
"""

from __future__ import annotations

import csv
import os
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from tqdm import tqdm

from customers.demo.activity import build_activity
from customers.demo.catalogue import ProductSpec, catalogue
from customers.demo.credit import apply_credit_behaviour
from customers.demo.ledger import build_ledger
from customers.demo.population import draw_population
from customers.demo.truth import latent_header, latent_preferences_path, latent_rows, product_matrix
from customers.demo.writer import ChunkWriter
from customers.models import Customer
from products.asset_mix import default_asset_mix
from products.models import Product

CHUNK = 5000
# The tables with many rows per customer, whose secondary indexes are rebuilt once after the load.
BULK_TABLES = ["customers_transaction", "customers_productinteraction"]
DEMO_TABLES = [
    "customers_transaction",
    "customers_productinteraction",
    "customers_holding",
    "customers_profilesnapshot",
    "customers_partnerconsent",
    "customers_account",
    "customers_customer",
]
_CATALOGUE_FIELDS = [
    "type",
    "asset_mix",
    "name_en",
    "name_zh",
    "description_en",
    "description_zh",
    "provider",
    "currency",
    "risk_level",
    "expected_return_min",
    "expected_return_max",
    "term_months",
    "min_amount",
    "management_fee_pct",
    "annual_fee",
    "subscription_fee_pct",
    "liquidity",
    "min_age",
    "max_age",
    "min_annual_income",
    "residency",
    "kyc_required",
    "allows_multiple",
    "is_active",
    "launched_on",
    "tags",
]


class DemoBankExists(Exception):
    """Customers are already there and no reset was asked for."""


@dataclass
class SeedReport:
    customers: int = 0
    products: int = 0
    catalogue_only: bool = False
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    copy_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    generate_seconds: float = 0.0
    index_seconds: float = 0.0
    total_seconds: float = 0.0
    latent_path: Path | None = None


def install_catalogue() -> dict[str, int]:
    """Insert or update the demo catalogue by product code; returns {code: id}. Embeddings, search documents
    and ids of existing rows are kept (the products services refresh what changed)."""
    specs = catalogue()
    rows = [
        Product(
            code=s.code,
            is_active=True,
            **{f: _spec_value(s, f) for f in _CATALOGUE_FIELDS if f != "is_active"},
        )
        for s in specs
    ]
    Product.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["code"], update_fields=_CATALOGUE_FIELDS
    )
    return dict(Product.objects.filter(code__in=[s.code for s in specs]).values_list("code", "id"))


def _spec_value(spec: ProductSpec, name: str) -> object:
    if name == "asset_mix":
        return default_asset_mix(type=spec.type, code=spec.code, tags=spec.tags)
    return {"expected_return_min": spec.return_min, "expected_return_max": spec.return_max}.get(
        name, getattr(spec, name, None)
    )


def seed_demo_bank(
    *,
    customers: int,
    seed: int,
    months: int = 6,
    as_of: date | None = None,
    reset: bool = False,
    progress: bool = False,
) -> SeedReport:
    """Generate the demo bank. Deterministic for a given (customers, seed, months, as_of).

    Raises DemoBankExists when customers exist and `reset` is False, unless the catalogue is incomplete, in
    which case only the catalogue is installed (report.catalogue_only).
    """
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be at least 1")
    started = time.monotonic()
    as_of = as_of or timezone.localdate()
    report = SeedReport(customers=customers)
    specs = catalogue()
    # Its own scratch name: two seeders at once (a test run beside a benchmark) must not rename each other's file.
    final_latent = latent_preferences_path()
    tmp_latent = final_latent.with_name(f".{final_latent.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    with transaction.atomic():
        if reset:
            _reset()
        elif Customer.objects.exists():
            present = set(
                Product.objects.filter(code__in=[s.code for s in specs]).values_list("code", flat=True)
            )
            if len(present) == len(specs):
                raise DemoBankExists("the demo bank already has customers; use --reset to rebuild it")
            report.products = len(install_catalogue())
            report.catalogue_only = True
            report.total_seconds = time.monotonic() - started
            return report
        product_ids = install_catalogue()
        report.products = len(product_ids)
        matrix = product_matrix(specs)
        product_id = np.array([product_ids[s.code] for s in specs])
        window_start = _months_before(as_of, months)
        tmp_latent.parent.mkdir(parents=True, exist_ok=True)
        connection.ensure_connection()
        pg = connection.connection
        with pg.cursor() as cur, tmp_latent.open("w", newline="", encoding="utf-8") as latent_file:
            # Times are written as local wall-clock text; Postgres converts them with this zone (and its DST).
            cur.execute(f"SET LOCAL TIME ZONE '{settings.TIME_ZONE}'")
            skipped_triggers = _skip_foreign_key_triggers()
            deferred_indexes = _drop_secondary_indexes(cur, BULK_TABLES)
            latent_writer = csv.writer(latent_file)
            latent_writer.writerow(latent_header())
            bar = tqdm(total=customers, unit="customer", disable=not progress, smoothing=0.1)
            for chunk, start in enumerate(range(0, customers, CHUNK)):
                n = min(CHUNK, customers - start)
                t0 = time.monotonic()
                rng = np.random.default_rng([seed, chunk])
                pop = draw_population(rng, start=start, n=n, as_of=as_of)
                accounts, holdings, interactions, book = build_activity(
                    rng, pop, specs, matrix, as_of=as_of, window_start=window_start
                )
                ledger = build_ledger(rng, pop, accounts, book, window_start=window_start, as_of=as_of)
                # Credit behaviour (stress, warning signs, defaults) draws from its own generator, so the rest
                # of the bank is what it was without it.
                ledger = apply_credit_behaviour(
                    np.random.default_rng([seed, chunk, 2]), pop, book, ledger, window_start=window_start, as_of=as_of
                )
                latent_writer.writerows(latent_rows(pop.latent))
                report.generate_seconds += time.monotonic() - t0
                writer = ChunkWriter(cur, report, np.random.default_rng([seed, chunk, 1]), window_start)
                writer.write(pop, accounts, holdings, interactions, ledger, product_id)
                bar.update(n)
            bar.close()
            t0 = time.monotonic()
            for definition in deferred_indexes:
                cur.execute(definition)
            report.index_seconds = time.monotonic() - t0
            # The settings above end with the transaction; put them back for code that runs later inside an
            # outer transaction (a test, `manage.py demo`).
            if skipped_triggers:
                cur.execute("SET LOCAL session_replication_role = DEFAULT")
            cur.execute(f"SET LOCAL TIME ZONE '{connection.timezone_name}'")
    os.replace(tmp_latent, final_latent)
    report.latent_path = final_latent
    report.total_seconds = time.monotonic() - started
    return report


def _skip_foreign_key_triggers() -> bool:
    """Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: every COPYed row queues two trigger events
    that all run at commit, which at 1M customers (~160M transactions) would exhaust memory and take longer
    than the load. The generator builds every reference from ids it has just reserved (and the tests check
    them), so where the role may (a superuser, as on the embedded server) the triggers are skipped for this
    transaction; elsewhere the checks run row by row instead of piling up."""
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
        return True
    except DatabaseError:
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return False


def _drop_secondary_indexes(cur: psycopg.Cursor[Any], tables: list[str]) -> list[str]:
    """Drop the non-unique indexes of `tables` and return the statements that recreate them exactly.

    Maintaining four B-tree indexes row by row is most of the cost of loading transactions (measured: ~33k
    rows/s with them, several times that without); one sorted build per index at the end is far cheaper.
    The definitions come from the catalogue itself, so the migrations' index names and options are kept.
    The lock this takes (ACCESS EXCLUSIVE until commit) is the one TRUNCATE takes anyway.
    """
    cur.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique AND NOT i.indisprimary",
        [tables],
    )
    found = cur.fetchall()
    for name, _ in found:
        cur.execute(f"DROP INDEX {name}")
    return [definition for _, definition in found]


def _months_before(day: date, months: int) -> date:
    month = day.month - 1 - months
    year = day.year + month // 12
    return date(year, month % 12 + 1, min(day.day, 28))


def _reset() -> None:
    with connection.cursor() as cur:
        # Demo customers' logins go with them; staff users are never touched.
        cur.execute(
            "CREATE TEMP TABLE _demo_users AS SELECT user_id AS id FROM customers_customer"
            " c JOIN auth_user u ON u.id = c.user_id WHERE NOT u.is_staff AND NOT u.is_superuser"
        )
        cur.execute(f"TRUNCATE {', '.join(DEMO_TABLES)} RESTART IDENTITY CASCADE")
        for table in ("auth_user_groups", "auth_user_user_permissions", "django_admin_log"):
            cur.execute(f"DELETE FROM {table} WHERE user_id IN (SELECT id FROM _demo_users)")  # nosec B608  # table from the literal tuple above
        cur.execute("DELETE FROM auth_user WHERE id IN (SELECT id FROM _demo_users)")
        # Dropped now rather than at commit: a caller's outer transaction may reset twice.
        cur.execute("DROP TABLE _demo_users")
