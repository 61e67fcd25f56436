"""COPY of one generated chunk: chunk-local rows become database rows with reserved ids.

Rows are printed as COPY text (tab-separated, \\N for NULL); the generator's strings never contain tabs,
newlines or backslashes, so no escaping is needed. Amounts are printed from whole cents.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from bank.crypto import blind_index, encrypt

if TYPE_CHECKING:
    import psycopg

    from customers.demo.activity import Accounts, Holdings, Interactions
    from customers.demo.generator import SeedReport
    from customers.demo.ledger import Ledger
    from customers.demo.population import Population


class ChunkWriter:
    """Turns one chunk's chunk-local rows into COPY text with database ids."""

    def __init__(
        self, cur: psycopg.Cursor[Any], report: SeedReport, rng: np.random.Generator, window_start: date
    ) -> None:
        self.cur = cur
        self.report = report
        self.rng = rng
        self.epoch = np.datetime64(window_start, "s")
        self.window_start = window_start

    def write(
        self,
        pop: Population,
        accounts: Accounts,
        holdings: Holdings,
        interactions: Interactions,
        ledger: Ledger,
        product_id: np.ndarray,
    ) -> None:
        n = len(pop)
        user_ids = self._reserve("auth_user", n)
        customer_ids = self._reserve("customers_customer", n)
        account_ids = self._reserve("customers_account", len(accounts.customer))
        uuids = self._uuids(n + len(accounts.customer))
        alphabet = np.frombuffer(
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8
        )
        secrets = alphabet[self.rng.integers(0, len(alphabet), size=(n, 40))]
        refs = pop.external_refs

        self._copy(
            "auth_user",
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
            [
                (
                    str(user_ids[i]),
                    "!" + secrets[i].tobytes().decode(),
                    "f",
                    refs[i].lower(),
                    "",
                    "",
                    "",  # the address lives (encrypted) on the customer; the login needs no clear copy
                    "f",
                    "t",
                    f"{pop.customer_since[i]} 09:00:00",
                )
                for i in range(n)
            ],
        )
        latent = pop.latent
        self._copy(
            "customers_customer",
            [
                "id",
                "public_id",
                "external_ref",
                "user_id",
                "full_name",
                "birth_date",
                "gender",
                "national_id",
                "phone",
                "email",
                "address",
                "national_id_hash",
                "phone_hash",
                "email_hash",
                "city",
                "residency",
                "occupation",
                "life_stage",
                "declared_annual_income",
                "kyc_status",
                "kyc_verified_at",
                "risk_tolerance",
                "risk_assessed_at",
                "consent_marketing",
                "consent_profiling",
                "preferred_language",
                "customer_since",
                "created_at",
                "updated_at",
            ],
            [
                (
                    str(customer_ids[i]),
                    uuids[i],
                    refs[i],
                    str(user_ids[i]),
                    pop.full_name[i],
                    str(pop.birth_date[i]),
                    str(pop.gender[i]),
                    encrypt(pop.national_id[i]),
                    encrypt(pop.phone[i]),
                    encrypt(pop.email[i]),
                    encrypt(pop.address[i]),
                    blind_index("national_id", pop.national_id[i]),
                    blind_index("phone", pop.phone[i]),
                    blind_index("email", pop.email[i]),
                    str(pop.city[i]),
                    str(pop.residency[i]),
                    pop.occupation[i],
                    str(latent.life_stage[i]),
                    f"{pop.income[i]:.2f}",
                    str(pop.kyc[i]),
                    f"{_kyc_verified_on(pop.customer_since[i], pop.kyc[i], self.window_start)} 10:00:00"
                    if pop.kyc[i] != "pending"
                    else "\\N",
                    str(int(pop.risk_tolerance[i])),
                    f"{pop.customer_since[i] + timedelta(days=1)} 10:30:00",
                    _b(pop.consent_marketing[i]),
                    _b(pop.consent_profiling[i]),
                    str(pop.language[i]),
                    str(pop.customer_since[i]),
                    f"{pop.customer_since[i]} 09:00:00",
                    f"{pop.customer_since[i]} 09:00:00",
                )
                for i in range(n)
            ],
        )
        prefix = {
            "current": "62170",
            "savings": "62171",
            "credit_card": "62586",
            "loan": "88010",
            "investment": "95010",
        }
        # Numbers come from the customer number and the account's place among theirs, not from database ids,
        # so that the same seed gives the same numbers whatever the sequences say.
        ordinal: list[int] = []
        seen: Counter[int] = Counter()
        for owner in accounts.customer:
            ordinal.append(seen[owner])
            seen[owner] += 1
        numbers = [
            _luhn(f"{prefix[accounts.type[a]]}{pop.index[accounts.customer[a]] + 1:09d}{ordinal[a]:02d}")
            for a in range(len(accounts.customer))
        ]
        self._copy(
            "customers_account",
            [
                "id",
                "public_id",
                "customer_id",
                "number",
                "number_hash",
                "type",
                "currency",
                "balance",
                "credit_limit",
                "interest_rate",
                "status",
                "opened_on",
                "product_id",
            ],
            [
                (
                    str(account_ids[a]),
                    uuids[n + a],
                    str(customer_ids[accounts.customer[a]]),
                    encrypt(numbers[a]),
                    blind_index("account_number", numbers[a]),
                    accounts.type[a],
                    accounts.currency[a],
                    f"{accounts.balance[a]:.2f}",
                    _num(accounts.credit_limit[a]),
                    _num(accounts.interest_rate[a], 3),
                    "active",
                    str(accounts.opened_on[a]),
                    str(product_id[accounts.product[a]]) if accounts.product[a] is not None else "\\N",
                )
                for a in range(len(accounts.customer))
            ],
        )
        self._copy(
            "customers_holding",
            ["customer_id", "product_id", "account_id", "amount", "opened_on", "maturity_date", "status"],
            [
                (
                    str(customer_ids[holdings.customer[h]]),
                    str(product_id[holdings.product[h]]),
                    str(account_ids[holdings.account[h]]) if holdings.account[h] is not None else "\\N",
                    f"{holdings.amount[h]:.2f}",
                    str(holdings.opened_on[h]),
                    str(holdings.maturity[h]) if holdings.maturity[h] else "\\N",
                    "active" if holdings.active[h] else "closed",
                )
                for h in range(len(holdings.customer))
            ],
        )
        stamps = self._stamps(np.array(interactions.seconds, dtype=np.int64))
        self._copy(
            "customers_productinteraction",
            ["customer_id", "product_id", "event", "timestamp", "channel"],
            [
                (str(customer_ids[c]), str(product_id[p]), e, s, ch)
                for c, p, e, s, ch in zip(
                    interactions.customer,
                    interactions.product,
                    interactions.event,
                    stamps,
                    interactions.channel,
                    strict=True,
                )
            ],
        )
        stamps = self._stamps(ledger.day.astype(np.int64) * 86400 + ledger.second)
        amounts = [_cents(v) for v in ledger.cents.tolist()]
        self._copy(
            "customers_transaction",
            [
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
            ],
            zip(
                account_ids[ledger.account.astype(np.int64)].astype(str).tolist(),
                customer_ids[ledger.customer.astype(np.int64)].astype(str).tolist(),
                amounts,
                ["CNY"] * len(amounts),
                stamps,
                ledger.merchant.tolist(),
                ledger.category.tolist(),
                ledger.channel.tolist(),
                ledger.counterparty.tolist(),
                ledger.description.tolist(),
                strict=True,
            ),
        )

    def _reserve(self, table: str, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        # nextval per row: safe beside concurrent inserts (no table lock) and cheap at chunk sizes.
        self.cur.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [n]  # nosec B608  # table name from our own model list; the count is a bound parameter
        )
        return np.array([row[0] for row in self.cur.fetchall()], dtype=np.int64)

    def _uuids(self, n: int) -> list[str]:
        raw = self.rng.bytes(16 * n)
        return [str(uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4)) for i in range(n)]

    def _stamps(self, seconds: np.ndarray) -> list[str]:
        return np.datetime_as_string(self.epoch + seconds.astype("timedelta64[s]"), unit="s").tolist()

    def _copy(self, table: str, columns: list[str], rows: Iterable[Sequence[str]]) -> None:
        t0 = time.monotonic()
        text = "".join("\t".join(row) + "\n" for row in rows)
        count = text.count("\n")
        if count:
            with self.cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(text)
        self.report.rows[table] += count
        self.report.copy_seconds[table] += time.monotonic() - t0


# Banks re-verify a customer's identity periodically; a verified customer's last check is their latest review on
# this cycle (from the day after they joined), so "verified" means verified recently. An "expired" customer was last
# verified when they joined. Deterministic: no draw from the generator's random stream.
KYC_REVIEW_DAYS = 730


def _kyc_verified_on(since: Any, status: str, window_start: date) -> date:
    first = date.fromisoformat(str(since)[:10]) + timedelta(days=1)
    if status != "verified" or first >= window_start:
        return first
    return first + timedelta(days=(window_start - first).days // KYC_REVIEW_DAYS * KYC_REVIEW_DAYS)


def _b(value: bool) -> str:
    return "t" if value else "f"


def _num(value: float | None, places: int = 2) -> str:
    return "\\N" if value is None else f"{value:.{places}f}"


def _cents(value: int) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"


def _luhn(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return body + str((10 - total % 10) % 10)
