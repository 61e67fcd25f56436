"""Importing a bank's CSV exports (products, customers, accounts, transactions, holdings, interactions).

`schema` and `parsing` are pure (column formats, cell parsers, CSV reading); `loader` writes a whole run in
one transaction. The format is documented in docs/import-format.md.
"""

from customers.importing.loader import FileReport, ImportFailed, ImportReport, import_bank_data
from customers.importing.parsing import RowError
from customers.importing.schema import FILE_KINDS

__all__ = ["FILE_KINDS", "FileReport", "ImportFailed", "ImportReport", "RowError", "import_bank_data"]
