"""Writing an import run to the database: one transaction for every file, all or nothing.

Rows are streamed: each file is read once, each row parsed and checked (customers.importing.schema), and
good rows are written in batches inside the run's transaction, so a file of millions of transactions never
sits in memory. Good rows keep being written after a bad one is found, because a later file's references
are resolved against the database: stopping early would turn one bad customer into a cascade of false
"unknown customer" errors. When the run ends with any error, the transaction is rolled back and nothing at
all is kept.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from django.db import DatabaseError, connection, transaction
from tqdm import tqdm

from customers.importing.parsing import CsvSource, ErrorLog, RowError
from customers.importing.schema import (
    FILE_KINDS,
    INTERACTION_KEY_PREFIX,
    SPECS,
    FileSpec,
    Header,
    parse_header,
    parse_row,
    row_key,
)
from customers.models import Account, Customer, Holding, ProductInteraction, Transaction
from products.models import Product
from products.services import refresh_search_documents

BATCH_SIZE = 5000


class ImportFailed(Exception):
    """The run was rolled back. `errors` holds the first problems found (file and line order within a
    file), `total` counts all of them."""

    def __init__(self, errors: list[RowError], *, total: int) -> None:
        self.errors = errors
        self.total = total
        super().__init__(f"{total} error(s); nothing was imported")


@dataclass
class FileReport:
    kind: str
    path: Path
    rows: int = 0
    created: int = 0
    updated: int = 0
    seconds: float = 0.0


@dataclass
class ImportReport:
    dry_run: bool
    files: list[FileReport] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, Any]


@dataclass
class _FileContext:
    """What a writer needs besides the rows: where to report problems and which columns the file has."""

    file: str
    present: frozenset[str]
    errors: ErrorLog

    def reject(self, row: Row, column: str, reason: str) -> None:
        self.errors.add(RowError(self.file, row.line, column, reason))


def import_bank_data(
    *, paths: dict[str, Path], dry_run: bool, progress: bool = False, batch_size: int = BATCH_SIZE
) -> ImportReport:
    """Import the given files (keys: products, customers, accounts, transactions, holdings, interactions)
    in dependency order, inside one transaction.

    Guarantees: either every row of every file is written, or nothing is (the error case, and every dry
    run). Re-importing the same files changes nothing but `updated_at` stamps, except that transactions
    and interactions without an id are appended again. Raises ImportFailed listing the problems; ValueError
    for an unknown file kind.
    """
    unknown = set(paths) - set(FILE_KINDS)
    if unknown:
        raise ValueError(f"unknown import file kind(s): {', '.join(sorted(unknown))}")
    errors = ErrorLog()
    report = ImportReport(dry_run=dry_run)
    with transaction.atomic():
        for kind in FILE_KINDS:
            if kind in paths:
                report.files.append(
                    _import_file(
                        SPECS[kind],
                        Path(paths[kind]),
                        errors=errors,
                        progress=progress,
                        batch_size=batch_size,
                    )
                )
        if errors:
            # Raising inside atomic() rolls the whole run back.
            raise ImportFailed(errors.kept, total=errors.total)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _import_file(
    spec: FileSpec, path: Path, *, errors: ErrorLog, progress: bool, batch_size: int
) -> FileReport:
    started = time.monotonic()
    report = FileReport(kind=spec.kind, path=path)
    name = path.name
    first_error = len(errors.kept)
    try:
        size = path.stat().st_size
    except OSError as exc:
        errors.add(RowError(name, 0, "", f"cannot open: {exc.strerror or exc}"))
        return report
    source = CsvSource(path)
    records = source.records()
    bar = tqdm(total=size, unit="B", unit_scale=True, desc=name, disable=not progress, leave=True)
    header: Header | None = None
    seen: dict[tuple[Any, ...], int] = {}
    batch: list[Row] = []
    context: _FileContext | None = None

    def drain_reading_problems() -> None:
        for line, reason in source.problems:
            errors.add(RowError(name, line, "", reason))
        source.problems.clear()

    def flush() -> None:
        if batch and context is not None:
            created, updated = _write_batch(spec, batch, context)
            report.created += created
            report.updated += updated
            batch.clear()
        bar.update(source.bytes_read - bar.n)

    first = next(records, None)
    drain_reading_problems()
    if first is None:
        errors.add(RowError(name, 1, "", "the file is empty (a header line is required)"))
    else:
        header, problems = parse_header(spec, first.cells)
        for column, reason in problems:
            errors.add(RowError(name, first.line, column, reason))
    if header is not None:
        context = _FileContext(file=name, present=header.present, errors=errors)
        for record in records:
            drain_reading_problems()
            report.rows += 1
            values, problems = parse_row(spec, header, record.cells)
            if problems:
                for column, reason in problems:
                    errors.add(RowError(name, record.line, column, reason))
                continue
            key = row_key(spec, values)
            if key is not None:
                if key in seen:
                    shown = "/".join(str(part) for part in key if part is not None)
                    errors.add(
                        RowError(
                            name,
                            record.line,
                            spec.key[0] if len(spec.key) == 1 else "",
                            f"duplicate key {shown!r} (first on line {seen[key]})",
                        )
                    )
                    continue
                seen[key] = record.line
            batch.append(Row(line=record.line, values=values))
            if len(batch) >= batch_size:
                flush()
        flush()
        drain_reading_problems()
    bar.close()
    # Reference errors of a batch are found after the parse errors of its later lines: restore line order.
    errors.kept[first_error:] = sorted(errors.kept[first_error:], key=lambda error: error.line)
    report.seconds = time.monotonic() - started
    return report


def _write_batch(spec: FileSpec, rows: list[Row], context: _FileContext) -> tuple[int, int]:
    """Resolve references and write one batch in a savepoint. A database error (a constraint this
    module does not mirror) fails the batch's lines, not the whole run, so the other errors still get
    reported."""
    try:
        with transaction.atomic():
            return _WRITERS[spec.kind](rows, context)
    except (DatabaseError, psycopg.Error) as exc:  # COPY errors come from psycopg unwrapped
        message = str(exc).strip().splitlines()[0]
        context.errors.add(
            RowError(
                context.file,
                rows[0].line,
                "",
                f"the database rejected the rows on lines {rows[0].line}-{rows[-1].line}: {message}",
            )
        )
        return 0, 0


# --- reference resolution -----------------------------------------------------------------------------


def _lookup(model: Any, field_name: str, keys: Iterable[Any], *columns: str) -> dict[Any, Any]:
    wanted = {key for key in keys if key is not None}
    if not wanted:
        return {}
    found = model.objects.filter(**{f"{field_name}__in": wanted}).values_list(field_name, *columns)
    if len(columns) == 1:
        return {row[0]: row[1] for row in found}
    return {row[0]: row[1:] for row in found}


def _model_fields(spec: FileSpec, values: dict[str, Any]) -> dict[str, Any]:
    return {field: value for name, value in values.items() if (field := spec.column(name).field)}


def _update_fields(spec: FileSpec, present: frozenset[str], *extra: str) -> list[str]:
    key_fields = spec_key_fields(spec)
    fields = [column.field for column in spec.columns if column.name in present and column.field]
    return [field for field in fields if field and field not in key_fields] + list(extra)


def spec_key_fields(spec: FileSpec) -> set[str]:
    return {field for name in spec.key if (field := spec.column(name).field)}


# --- writers: one per file kind; each returns (created, updated) -------------------------------------


def _write_products(rows: list[Row], context: _FileContext) -> tuple[int, int]:
    spec = SPECS["products"]
    codes = [row.values["code"] for row in rows]
    existing = set(Product.objects.filter(code__in=codes).values_list("code", flat=True))
    Product.objects.bulk_create(
        [Product(**_model_fields(spec, row.values)) for row in rows],
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=_update_fields(spec, context.present, "updated_at"),
    )
    # The full-text document is derived from the names and descriptions just written; embeddings are
    # left to `embed_products` (model inference does not belong inside a write transaction).
    refresh_search_documents(product_ids=Product.objects.filter(code__in=codes).values_list("pk", flat=True))
    return len(rows) - len(existing), len(existing)


def _write_customers(rows: list[Row], context: _FileContext) -> tuple[int, int]:
    spec = SPECS["customers"]
    refs = [row.values["external_ref"] for row in rows]
    existing = set(Customer.objects.filter(external_ref__in=refs).values_list("external_ref", flat=True))
    # `user` is never set: the bank links login users to customers later, and an update keeps the link.
    Customer.objects.bulk_create(
        [Customer(**_model_fields(spec, row.values)) for row in rows],
        update_conflicts=True,
        unique_fields=["external_ref"],
        # The keyed hashes are recomputed (pre_save) from the values written, so they change with them.
        update_fields=_update_fields(
            spec, context.present, "updated_at",
            *(f"{name}_hash" for name in ("national_id", "phone", "email") if name in context.present),
        ),
    )
    return len(rows) - len(existing), len(existing)


def _resolve(
    rows: list[Row], context: _FileContext, column: str, found: dict[Any, Any], what: str
) -> list[Row]:
    """Rows whose `column` reference was found (or is empty); the others are rejected."""
    good = []
    for row in rows:
        ref = row.values.get(column)
        if ref is not None and ref not in found:
            context.reject(row, column, f"unknown {what} {ref!r}")
        else:
            good.append(row)
    return good


def _write_accounts(rows: list[Row], context: _FileContext) -> tuple[int, int]:
    spec = SPECS["accounts"]
    customers = _lookup(Customer, "external_ref", (r.values["customer_ref"] for r in rows), "id")
    products = _lookup(Product, "code", (r.values.get("product_code") for r in rows), "id")
    owners = _lookup(Account, "number", (r.values["number"] for r in rows), "customer__external_ref")
    rows = _resolve(rows, context, "customer_ref", customers, "customer")
    rows = _resolve(rows, context, "product_code", products, "product")
    accounts = []
    for row in rows:
        owner = owners.get(row.values["number"])
        if owner is not None and owner != row.values["customer_ref"]:
            # Moving an account to another customer would orphan its transactions' customer column.
            context.reject(
                row, "customer_ref", f"account {row.values['number']!r} belongs to customer {owner!r}"
            )
            continue
        account = Account(
            customer_id=customers[row.values["customer_ref"]], **_model_fields(spec, row.values)
        )
        if "product_code" in context.present:
            account.product_id = products.get(row.values["product_code"])
        accounts.append(account)
    extra = ["customer"] + (["product"] if "product_code" in context.present else [])
    Account.objects.bulk_create(
        accounts,
        update_conflicts=True,
        unique_fields=["number_hash"],  # numbers are encrypted: their keyed hash is what is unique
        update_fields=_update_fields(spec, context.present, *extra),
    )
    updated = sum(1 for account in accounts if account.number in owners)
    return len(accounts) - updated, updated


# Transactions can be millions of rows: they go through COPY into a session-local staging table and one
# INSERT ... SELECT per batch, instead of Django building an INSERT with a parameter per cell.
_STAGE = "import_transaction_stage"
_TRANSACTION_COLUMNS = (
    "account_id",
    "customer_id",
    "amount",
    "currency",
    "timestamp",
    "merchant",
    "category",
    "channel",
    "counterparty",
    "description",
    "external_ref",
)


def _write_transactions(rows: list[Row], context: _FileContext) -> tuple[int, int]:
    spec = SPECS["transactions"]
    accounts = _lookup(
        Account, "number", (r.values["account_number"] for r in rows), "id", "customer_id", "currency"
    )
    rows = _resolve(rows, context, "account_number", accounts, "account")
    if not rows:
        return 0, 0
    table = Transaction._meta.db_table
    columns = ", ".join(_TRANSACTION_COLUMNS)
    # Absent columns keep their stored value on update; account and customer always follow the account.
    updated = ["account_id", "customer_id"] + [
        field for field in _update_fields(spec, context.present) if field in _TRANSACTION_COLUMNS
    ]
    assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in dict.fromkeys(updated))
    with connection.cursor() as cursor:
        # ON COMMIT DROP: the table lives only as long as the import's transaction (and its rollback).
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DROP AS "  # nosec B608  # table, stage and column names from the loader's own constants; values go via COPY
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {_STAGE}")
        with cursor.cursor.copy(f"COPY {_STAGE} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = row.values
                account_id, customer_id, account_currency = accounts[values["account_number"]]
                copy.write_row(
                    (
                        account_id,
                        customer_id,
                        values["amount"],
                        values.get("currency") or account_currency,
                        values["timestamp"],
                        values.get("merchant") or "",
                        values["category"],
                        values["channel"],
                        values.get("counterparty") or "",
                        values.get("description") or "",
                        values.get("transaction_id"),
                    )
                )
        # xmax = 0 marks a freshly inserted row; an updated one carries the updating transaction's id.
        cursor.execute(
            f"""
            WITH written AS (
                INSERT INTO {table} ({columns}) SELECT {columns} FROM {_STAGE}
                ON CONFLICT (external_ref) DO UPDATE SET {assignments}
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
            """  # nosec B608  # table, stage and column names from the loader's own constants; values go via COPY
        )
        created, updated_rows = cursor.fetchone()
    return created, updated_rows


def _write_holdings(rows: list[Row], context: _FileContext) -> tuple[int, int]:
    # Holdings have no identifier of their own: (customer, product, account, opened_on) is the key. Where
    # the database already has two holdings with one key there is no telling which the row means.
    spec = SPECS["holdings"]
    customers = _lookup(Customer, "external_ref", (r.values["customer_ref"] for r in rows), "id")
    products = _lookup(Product, "code", (r.values["product_code"] for r in rows), "id")
    accounts = _lookup(
        Account, "number", (r.values.get("account_number") for r in rows), "id", "customer__external_ref"
    )
    rows = _resolve(rows, context, "customer_ref", customers, "customer")
    rows = _resolve(rows, context, "product_code", products, "product")
    rows = _resolve(rows, context, "account_number", accounts, "account")
    existing: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for pk, *key in Holding.objects.filter(
        customer_id__in={customers[r.values["customer_ref"]] for r in rows},
        product_id__in={products[r.values["product_code"]] for r in rows},
    ).values_list("pk", "customer_id", "product_id", "account_id", "opened_on"):
        existing[tuple(key)].append(pk)
    to_create, to_update = [], []
    for row in rows:
        number = row.values.get("account_number")
        account_id = None
        if number is not None:
            account_id, owner = accounts[number]
            if owner != row.values["customer_ref"]:
                context.reject(row, "account_number", f"account {number!r} belongs to customer {owner!r}")
                continue
        customer_id, product_id = customers[row.values["customer_ref"]], products[row.values["product_code"]]
        matches = existing.get((customer_id, product_id, account_id, row.values["opened_on"]), [])
        if len(matches) > 1:
            context.reject(
                row,
                "",
                f"matches {len(matches)} holdings already in the database "
                "(same customer, product, account and opened_on); cannot tell which to update",
            )
            continue
        holding = Holding(
            customer_id=customer_id,
            product_id=product_id,
            account_id=account_id,
            **_model_fields(spec, row.values),
        )
        if matches:
            holding.pk = matches[0]
            to_update.append(holding)
        else:
            to_create.append(holding)
    Holding.objects.bulk_create(to_create)
    fields = [f for f in _update_fields(spec, context.present) if f != "opened_on"]
    if to_update and fields:
        Holding.objects.bulk_update(to_update, fields)
    return len(to_create), len(to_update)


def _write_interactions(rows: list[Row], context: _FileContext) -> tuple[int, int]:
    spec = SPECS["interactions"]
    customers = _lookup(Customer, "external_ref", (r.values["customer_ref"] for r in rows), "id")
    products = _lookup(Product, "code", (r.values["product_code"] for r in rows), "id")
    rows = _resolve(rows, context, "customer_ref", customers, "customer")
    rows = _resolve(rows, context, "product_code", products, "product")
    keys = [
        INTERACTION_KEY_PREFIX + row.values["interaction_id"]
        for row in rows
        if row.values.get("interaction_id")
    ]
    existing = (
        set(
            ProductInteraction.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
        if keys
        else set()
    )
    interactions = []
    for row in rows:
        fields = _model_fields(spec, row.values)
        if fields.get("idempotency_key"):
            fields["idempotency_key"] = INTERACTION_KEY_PREFIX + fields["idempotency_key"]
        interactions.append(
            ProductInteraction(
                customer_id=customers[row.values["customer_ref"]],
                product_id=products[row.values["product_code"]],
                **fields,
            )
        )
    if keys:
        ProductInteraction.objects.bulk_create(
            interactions,
            update_conflicts=True,
            unique_fields=["idempotency_key"],
            update_fields=_update_fields(spec, context.present, "customer", "product"),
        )
    else:
        ProductInteraction.objects.bulk_create(interactions)
    return len(interactions) - len(existing), len(existing)


_WRITERS: dict[str, Callable[[list[Row], _FileContext], tuple[int, int]]] = {
    "products": _write_products,
    "customers": _write_customers,
    "accounts": _write_accounts,
    "transactions": _write_transactions,
    "holdings": _write_holdings,
    "interactions": _write_interactions,
}
