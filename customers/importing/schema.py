"""The column format of each import file, and the row checks that need no database. Pure.

docs/import-format.md is the human version of this module; keep the two in step.

An empty cell in an optional column means "no value": NULL for a nullable field, the model's default
otherwise. A column missing from the header is not touched when an existing row is updated (and takes
the model default when a row is created), so a bank can send a partial export to correct one field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.utils import timezone

from customers.importing import parsing as p
from customers.models import (
    Account,
    AccountType,
    Channel,
    Holding,
    InteractionEvent,
    KycStatus,
    LifeStage,
    SpendingCategory,
)
from products.models import Liquidity, ProductType

ZERO = Decimal("0")


@dataclass(frozen=True)
class Column:
    name: str
    parse: p.Parser
    required: bool = False
    # The model field written; None for references (resolved against the database by the loader).
    field: str | None = None
    # Used when the cell is empty: a value, or a callable for values that must be fresh (dates, lists).
    default: Any = None
    is_reference: bool = False

    def empty_value(self) -> object:
        return self.default() if callable(self.default) else self.default


def _col(name: str, parse: p.Parser, *, required: bool = False, default: Any = None) -> Column:
    return Column(name=name, parse=parse, required=required, field=name, default=default)


def _ref(name: str, parse: p.Parser, *, required: bool = True) -> Column:
    return Column(name=name, parse=parse, required=required, field=None, is_reference=True)


RowCheck = Callable[[dict[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class FileSpec:
    kind: str
    columns: tuple[Column, ...]
    # Columns whose values identify a row within the file (a duplicate is an error). A row whose key
    # cells are all empty has no key (transactions and interactions without an id are appended).
    key: tuple[str, ...]
    check: RowCheck = field(default=lambda values: [])

    @property
    def filename(self) -> str:
        return f"{self.kind}.csv"

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}


def _check_product(values: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    low, high = values.get("expected_return_min"), values.get("expected_return_max")
    if low is not None and high is not None and low > high:
        problems.append(("expected_return_max", f"{high} is below expected_return_min {low}"))
    min_age, max_age = values.get("min_age"), values.get("max_age")
    if min_age is not None and max_age is not None and max_age < min_age:
        problems.append(("max_age", f"{max_age} is below min_age {min_age}"))
    return problems


def _check_account(values: dict[str, Any]) -> list[tuple[str, str]]:
    # Mirrors the two check constraints on Account, so the bank reads which row is wrong instead of a
    # constraint name from the database.
    is_card = values.get("type") == AccountType.CREDIT_CARD
    limit = values.get("credit_limit")
    if is_card and limit is None:
        return [("credit_limit", "required for a credit_card account")]
    if not is_card and limit is not None:
        return [
            ("credit_limit", f"only credit_card accounts have a credit limit (type is {values.get('type')})")
        ]
    return []


def _check_holding(values: dict[str, Any]) -> list[tuple[str, str]]:
    opened, matures = values.get("opened_on"), values.get("maturity_date")
    if opened is not None and matures is not None and matures < opened:
        return [("maturity_date", f"{matures} is before opened_on {opened}")]
    return []


PRODUCTS = FileSpec(
    kind="products",
    key=("code",),
    check=_check_product,
    columns=(
        _col("code", p.code(40), required=True),
        _col("type", p.choice(ProductType.values), required=True),
        _col("name_en", p.text(200), required=True),
        _col("name_zh", p.text(200), required=True),
        _col("description_en", p.text(10_000), required=True),
        _col("description_zh", p.text(10_000), required=True),
        _col("risk_level", p.integer(minimum=1, maximum=5), required=True),
        _col("provider", p.text(120), default="Bank"),
        _col("currency", p.currency, default="CNY"),
        _col("expected_return_min", p.decimal(places=3, max_digits=6)),
        _col("expected_return_max", p.decimal(places=3, max_digits=6)),
        _col("term_months", p.integer(minimum=1)),
        _col("min_amount", p.money(max_digits=14, minimum=ZERO), default=ZERO),
        _col("management_fee_pct", p.decimal(places=3, max_digits=5, minimum=ZERO), default=ZERO),
        _col("annual_fee", p.money(max_digits=10, minimum=ZERO), default=ZERO),
        _col("subscription_fee_pct", p.decimal(places=3, max_digits=5, minimum=ZERO), default=ZERO),
        _col("liquidity", p.choice(Liquidity.values), default=Liquidity.DAILY),
        _col("min_age", p.integer(minimum=0, maximum=150), default=18),
        _col("max_age", p.integer(minimum=0, maximum=150)),
        _col("min_annual_income", p.money(max_digits=14, minimum=ZERO), default=ZERO),
        _col("residency", p.listing(p.country), default=list),
        _col("kyc_required", p.boolean, default=True),
        _col("allows_multiple", p.boolean, default=False),
        _col("is_active", p.boolean, default=True),
        _col("launched_on", p.iso_date),
        _col("tags", p.listing(p.text(40)), default=list),
    ),
)

CUSTOMERS = FileSpec(
    kind="customers",
    key=("external_ref",),
    columns=(
        _col("external_ref", p.text(64), required=True),
        _col("full_name", p.text(200), required=True),
        _col("birth_date", p.iso_date, required=True),
        _col("gender", p.choice(["F", "M", "X"]), default=""),
        _col("national_id", p.text(32), default=""),
        _col("phone", p.text(32), default=""),
        _col("email", p.email, default=""),
        _col("address", p.text(300), default=""),
        _col("city", p.text(80), default=""),
        _col("residency", p.country, default="CN"),
        _col("occupation", p.text(80), default=""),
        _col("life_stage", p.choice(LifeStage.values), default=""),
        _col("declared_annual_income", p.money(max_digits=14, minimum=ZERO), default=ZERO),
        _col("kyc_status", p.choice(KycStatus.values), default=KycStatus.PENDING),
        _col("kyc_verified_at", p.iso_timestamp),
        _col("risk_tolerance", p.integer(minimum=1, maximum=5), default=1),
        _col("risk_assessed_at", p.iso_timestamp),
        _col("consent_marketing", p.boolean, default=False),
        _col("consent_profiling", p.boolean, default=False),
        _col("preferred_language", p.choice(["en", "zh-hans"]), default="zh-hans"),
        _col("customer_since", p.iso_date, default=timezone.localdate),
    ),
)

ACCOUNTS = FileSpec(
    kind="accounts",
    key=("number",),
    check=_check_account,
    columns=(
        _col("number", p.text(34), required=True),
        _ref("customer_ref", p.text(64)),
        _col("type", p.choice(AccountType.values), required=True),
        _col("currency", p.currency, default="CNY"),
        _col("balance", p.money(max_digits=16), default=ZERO),
        _col("credit_limit", p.money(max_digits=14, minimum=ZERO)),
        _col("interest_rate", p.decimal(places=3, max_digits=6)),
        _col("status", p.choice(Account.Status.values), default=Account.Status.ACTIVE),
        _col("opened_on", p.iso_date, default=timezone.localdate),
        _ref("product_code", p.code(40), required=False),
    ),
)

TRANSACTIONS = FileSpec(
    kind="transactions",
    key=("transaction_id",),
    columns=(
        Column(name="transaction_id", parse=p.text(64), field="external_ref"),
        _ref("account_number", p.text(34)),
        _col("amount", p.money(max_digits=14), required=True),
        # Empty or absent: the account's currency (filled in by the loader, which knows the account).
        _col("currency", p.currency),
        _col("timestamp", p.iso_timestamp, required=True),
        _col("category", p.choice(SpendingCategory.values), required=True),
        _col("channel", p.choice(Channel.values), required=True),
        _col("merchant", p.text(120), default=""),
        _col("counterparty", p.text(120), default=""),
        _col("description", p.text(200), default=""),
    ),
)

HOLDINGS = FileSpec(
    kind="holdings",
    key=("customer_ref", "product_code", "account_number", "opened_on"),
    check=_check_holding,
    columns=(
        _ref("customer_ref", p.text(64)),
        _ref("product_code", p.code(40)),
        _ref("account_number", p.text(34), required=False),
        _col("amount", p.money(max_digits=16, minimum=ZERO), default=ZERO),
        _col("opened_on", p.iso_date, required=True),
        _col("maturity_date", p.iso_date),
        _col("status", p.choice(Holding.Status.values), default=Holding.Status.ACTIVE),
    ),
)

# Stored as ProductInteraction.idempotency_key with this prefix, so an imported id can never collide with
# a key a client sent through the API.
INTERACTION_KEY_PREFIX = "import:"

INTERACTIONS = FileSpec(
    kind="interactions",
    key=("interaction_id",),
    columns=(
        Column(
            name="interaction_id", parse=p.text(80 - len(INTERACTION_KEY_PREFIX)), field="idempotency_key"
        ),
        _ref("customer_ref", p.text(64)),
        _ref("product_code", p.code(40)),
        _col("event", p.choice(InteractionEvent.values), required=True),
        _col("timestamp", p.iso_timestamp, required=True),
        _col("channel", p.choice(Channel.values), default=Channel.APP),
    ),
)

# Dependency order: a file may refer to rows of the files before it (in the database or in this run).
SPECS: dict[str, FileSpec] = {
    spec.kind: spec for spec in (PRODUCTS, CUSTOMERS, ACCOUNTS, TRANSACTIONS, HOLDINGS, INTERACTIONS)
}
FILE_KINDS: tuple[str, ...] = tuple(SPECS)


@dataclass(frozen=True)
class Header:
    positions: dict[str, int]  # column name -> index in the record
    width: int

    @property
    def present(self) -> frozenset[str]:
        return frozenset(self.positions)


def parse_header(spec: FileSpec, cells: list[str]) -> tuple[Header | None, list[tuple[str, str]]]:
    """The header's column positions, and its problems. None when rows cannot be read (a required column
    is missing or a name repeats); unknown columns are errors too (a misspelt optional column would
    otherwise be dropped silently), but the rows are still checked."""
    known = {column.name for column in spec.columns}
    positions: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    fatal = False
    for index, raw in enumerate(cells):
        name = raw.strip().lower()
        if not name:
            problems.append((f"column {index + 1}", "empty column name"))
        elif name in positions:
            problems.append((name, "column appears twice in the header"))
            fatal = True
        elif name not in known:
            problems.append((name, f"unknown column (expected: {', '.join(c.name for c in spec.columns)})"))
        else:
            positions[name] = index
    for column in spec.columns:
        if column.required and column.name not in positions:
            problems.append((column.name, "missing required column"))
            fatal = True
    return (None if fatal else Header(positions=positions, width=len(cells))), problems


def parse_row(
    spec: FileSpec, header: Header, cells: list[str]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The typed values of the columns the header has (by column name), and the row's problems."""
    if len(cells) != header.width:
        return {}, [("", f"expected {header.width} fields, found {len(cells)}")]
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in spec.columns:
        index = header.positions.get(column.name)
        if index is None:
            continue
        cell = cells[index]
        if not cell:
            if column.required:
                problems.append((column.name, "required value is empty"))
            else:
                values[column.name] = None if column.is_reference else column.empty_value()
            continue
        try:
            values[column.name] = column.parse(cell)
        except ValueError as exc:
            problems.append((column.name, str(exc)))
    if not problems:
        problems.extend(spec.check(values))
    return values, problems


def row_key(spec: FileSpec, values: dict[str, Any]) -> tuple[Any, ...] | None:
    key = tuple(values.get(name) for name in spec.key)
    return None if all(part is None for part in key) else key
