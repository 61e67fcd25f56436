"""Export everything the bank holds about one customer (a data subject access request) as JSON.

    python manage.py export_customer_data C000123 --out c000123.json

The format is described in bank/privacy.py. The export is recorded in the audit trail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bank.privacy import export_customer_data, find_customer


class Command(BaseCommand):
    help = "Export all data held about a customer (external ref or public id) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer", help="The customer's external reference or public id.")
        parser.add_argument("--out", required=True, help="The JSON file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            customer = find_customer(ref=options["customer"])
        except Exception as error:  # DoesNotExist of a model reached through the app registry
            raise CommandError(f"No customer {options['customer']!r}.") from error
        document = export_customer_data(customer=customer, channel="cli")
        out = Path(options["out"])
        # Written to a temporary name and renamed: a reader never sees half an export.
        partial = out.with_name(out.name + ".partial")
        partial.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(partial, out)
        total = sum(len(rows) for rows in document["records"].values())
        self.stdout.write(f"Exported {total} records in {sum(1 for r in document['records'].values() if r)} "
                          f"tables for {customer.external_ref} to {out}.")
