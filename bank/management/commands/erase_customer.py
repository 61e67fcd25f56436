"""Erase (pseudonymise) a customer's personal data, keeping amounts, dates and the audit trail.

    python manage.py erase_customer C000123 --reason "Erasure request 2026-118, identity verified"

Refused, with nothing written, while a legal hold applies (an open risk case, a pending or active intervention,
money owed on a loan or card). What is kept and what goes: bank/privacy.py.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bank.privacy import ErasureRefused, PersonalDataRemains, erase_customer, find_customer


class Command(BaseCommand):
    help = "Pseudonymise a customer's personal data (external ref or public id); needs --reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer", help="The customer's external reference or public id.")
        parser.add_argument("--reason", required=True, help="Why (recorded in the audit trail).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            customer = find_customer(ref=options["customer"])
        except Exception as error:  # DoesNotExist of a model reached through the app registry
            raise CommandError(f"No customer {options['customer']!r}.") from error
        try:
            result = erase_customer(customer=customer, reason=options["reason"], channel="cli")
        except ErasureRefused as error:
            raise CommandError(f"{error} [{error.code}]") from error
        except PersonalDataRemains as error:
            raise CommandError(str(error)) from error
        changed = ", ".join(f"{label} {count}" for label, count in sorted(result.rows_changed.items())) or "none"
        self.stdout.write(f"Erased {result.customer_ref}: rows changed: {changed}; consents revoked: "
                          f"{result.consents_revoked}; login disabled: {result.login_disabled}.")
