"""Re-encrypt every encrypted field under the first key of PII_ENCRYPTION_KEYS and recompute the keyed hashes with
PII_HASH_KEY. See README, "PII key rotation":

    manage.py rotate_pii_keys --new-key        # print a fresh key
    PII_ENCRYPTION_KEYS=<new>,<old> manage.py rotate_pii_keys --check   # how many rows are still under old keys
    PII_ENCRYPTION_KEYS=<new>,<old> manage.py rotate_pii_keys           # rewrite them (resumable, batch by batch)

The fields are found, not listed: every `bank.fields.EncryptedCharField` and `BlindIndexField` of every model (today
the customer's ID, phone, e-mail and address, and account numbers). Each batch is one transaction that locks its
rows, so the platform keeps running while it works and an interrupted run is simply started again.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, models, transaction
from tqdm import tqdm

from bank import audit, crypto
from bank.fields import BlindIndexField, EncryptedCharField


def encrypted_models() -> list[tuple[type[models.Model], list[EncryptedCharField], list[BlindIndexField]]]:
    """(model, its encrypted fields, its keyed-hash fields) for every model holding encrypted fields."""
    found = []
    for model in apps.get_models():
        encrypted = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]
        if encrypted:
            hashed = [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]
            found.append((model, encrypted, hashed))
    return found


class Command(BaseCommand):
    help = "Re-encrypt personal data under the newest key and recompute the keyed hashes."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--new-key", action="store_true", help="Print a new key and stop.")
        parser.add_argument("--check", action="store_true",
                            help="Only count rows not yet under the first key (changes nothing).")
        parser.add_argument("--batch", type=int, default=1_000)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["new_key"]:
            self.stdout.write(crypto.new_key())
            return
        crypto.reset_keys()
        counts = {}
        for model, encrypted, hashed in encrypted_models():
            label = model._meta.label
            if options["check"]:
                counts[label] = self._count_stale(model, encrypted)
                self.stdout.write(f"{label}: {counts[label]} row(s) have personal data under an older key.")
            else:
                counts[label] = self._rotate(model, encrypted, hashed, options["batch"])
                self.stdout.write(self.style.SUCCESS(
                    f"{label}: {counts[label]} row(s) re-encrypted under the first key, keyed hashes recomputed."
                ))
        if not options["check"]:
            audit.record(action="pii.keys_rotated", channel="system", detail={"rows": counts})

    def _count_stale(self, model: type[models.Model], encrypted: list[EncryptedCharField]) -> int:
        # The stored tokens, not the decrypted values: the question is which key encrypted them.
        table = connection.ops.quote_name(model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(field.column) for field in encrypted)
        stale = 0
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {table}")  # nosec B608  # names from the model's own metadata
            while rows := cursor.fetchmany(5_000):
                stale += sum(
                    any(token and not crypto.encrypted_with_primary(token) for token in row) for row in rows
                )
        return stale

    def _rotate(
        self, model: type[models.Model], encrypted: list[EncryptedCharField], hashed: list[BlindIndexField], batch: int
    ) -> int:
        ids = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        fields = [field.name for field in (*encrypted, *hashed)]
        with tqdm(total=len(ids), desc=model._meta.label, unit="row", disable=None) as bar:
            for start in range(0, len(ids), batch):
                with transaction.atomic():
                    rows = list(model._default_manager.select_for_update().filter(pk__in=ids[start:start + batch])
                                .only("pk", *fields))
                    for row in rows:
                        # Saving re-encrypts (a fresh token under the first key); bulk_update does not call
                        # pre_save, so the hashes are set here.
                        for field in hashed:
                            setattr(row, field.name, crypto.blind_index(field.kind, getattr(row, field.source)))
                    model._default_manager.bulk_update(rows, fields)
                bar.update(len(rows))
        return len(ids)
