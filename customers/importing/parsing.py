"""Reading the bank's CSV exports and turning cells into typed values. Pure: no database.

Every parser takes the stripped cell text and returns a value or raises ValueError whose message is the
reason a person reads after `file:line: column:`. Line numbers are physical lines as an editor shows them
(the header is line 1); a quoted cell that spans lines is reported at the line where its record starts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

Parser = Callable[[str], object]


@dataclass(frozen=True)
class RowError:
    """One problem in an input file. `line` 0 means the file as a whole (it could not be opened)."""

    file: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.column}: {self.reason}" if self.column else f"{where}: {self.reason}"


@dataclass
class ErrorLog:
    """Every error of a run: all are counted, the first `cap` are kept (a million bad rows must not
    exhaust memory before the run gets to say so)."""

    cap: int = 1000
    kept: list[RowError] = field(default_factory=list)
    total: int = 0

    def add(self, error: RowError) -> None:
        self.total += 1
        if len(self.kept) < self.cap:
            self.kept.append(error)

    def __bool__(self) -> bool:
        return self.total > 0


# --- cell parsers -------------------------------------------------------------------------------------


def text(max_length: int) -> Parser:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters ({len(value)})")
        return value

    return parse


_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def code(max_length: int) -> Parser:
    """A product code: letters, digits, '-' and '_' (Product.code is a slug)."""

    def parse(value: str) -> str:
        text(max_length)(value)
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} may contain only letters, digits, '-' and '_'")
        return value

    return parse


_DECIMAL = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?$")


def decimal(*, places: int, max_digits: int, minimum: Decimal | None = None) -> Parser:
    """A decimal string with '.' and at most `places` decimals; no thousands separators, no exponent,
    because a bank's export that writes '1,234.5' or '1e3' is a misconfigured export, not a value."""

    def parse(value: str) -> Decimal:
        match = _DECIMAL.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a decimal number (digits and '.', e.g. 1234.50)")
        whole, fraction = match.group(1), match.group(2) or ""
        if len(fraction) > places:
            raise ValueError(f"{value!r} has more than {places} decimal places")
        if len(whole.lstrip("0")) > max_digits - places:
            raise ValueError(f"{value!r} is too large (at most {max_digits - places} digits before '.')")
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            raise ValueError(f"{value!r} is not a decimal number") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"{value} is below {minimum}")
        return number

    return parse


def money(*, max_digits: int, minimum: Decimal | None = None) -> Parser:
    return decimal(places=2, max_digits=max_digits, minimum=minimum)


def integer(*, minimum: int, maximum: int | None = None) -> Parser:
    def parse(value: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", value):
            raise ValueError(f"{value!r} is not a whole number")
        number = int(value)
        if maximum is not None and not minimum <= number <= maximum:
            raise ValueError(f"{number} is not between {minimum} and {maximum}")
        if number < minimum:
            raise ValueError(f"{number} is below {minimum}")
        return number

    return parse


def choice(allowed: Iterable[str]) -> Parser:
    values = tuple(allowed)

    def parse(value: str) -> str:
        if value not in values:
            raise ValueError(f"unknown value {value!r} (allowed: {', '.join(values)})")
        return value

    return parse


_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean (true/false, 1/0, yes/no)")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date(value: str) -> date:
    # date.fromisoformat also takes '20260105' and week dates on 3.11; only the plain form is documented.
    if not _DATE.match(value):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid calendar date") from None


_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$")


def iso_timestamp(value: str) -> datetime:
    """ISO 8601 with an offset ('2026-10-03T12:30:00+08:00', or 'Z'). A timestamp without one is
    wall-clock time in settings.TIME_ZONE; where a DST change makes it ambiguous, the earlier instant."""
    if not _TIMESTAMP.match(value):
        raise ValueError(f"{value!r} is not a timestamp (YYYY-MM-DDTHH:MM[:SS][+HH:MM])")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date and time") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(f"{value!r} is not an ISO 3166 country code (two capital letters, e.g. CN)")
    return value


def currency(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (three capital letters, e.g. CNY)")
    return value


def email(value: str) -> str:
    text(254)(value)
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"{value!r} is not an e-mail address") from None
    return value


def listing(item: Parser) -> Parser:
    """A ';'-separated list (a comma would clash with the CSV separator in hand-edited files)."""

    def parse(value: str) -> list[object]:
        return [item(part.strip()) for part in value.split(";") if part.strip()]

    return parse


# --- reading files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    line: int
    cells: list[str]


class CsvSource:
    """The records of one CSV file, streamed. UTF-8 with or without a BOM; a line that is not UTF-8 is
    reported (with its line number) and read with replacement characters so later lines are still checked.

    Problems found while reading land in `problems` as (line, reason); `bytes_read` feeds a progress bar.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[tuple[int, str]] = []
        self.bytes_read = 0
        self._physical_line = 0

    def _lines(self, raw: Iterable[bytes]) -> Iterator[str]:
        for number, chunk in enumerate(raw, start=1):
            self._physical_line = number
            self.bytes_read += len(chunk)
            if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            try:
                yield chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.problems.append(
                    (number, f"not valid UTF-8 (byte 0x{chunk[exc.start]:02x} at position {exc.start + 1})")
                )
                yield chunk.decode("utf-8", errors="replace")

    def records(self) -> Iterator[Record]:
        """Yields non-blank records; stops at the first malformed CSV (an unclosed quote cannot be
        resynchronised reliably), recording it in `problems`."""
        with self.path.open("rb") as handle:
            reader = csv.reader(self._lines(handle), strict=True)
            consumed = 0
            while True:
                start = consumed + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    self.problems.append((self._physical_line or start, f"malformed CSV: {exc}"))
                    return
                consumed = reader.line_num
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                yield Record(line=start, cells=[cell.strip() for cell in cells])
