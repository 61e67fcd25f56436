# Card and account numbers encrypted at rest, unique and found through a keyed hash (bank/fields.py).

import django.core.validators
from django.db import migrations

import bank.fields

BATCH = 5_000


def _rewrite(schema_editor, transform):
    # The column holds plain text when this runs (the historical model would try to decrypt it): SQL, by batches.
    connection = schema_editor.connection
    last_id = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, number FROM customers_account WHERE id > %s ORDER BY id LIMIT %s",
                           [last_id, BATCH])
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.executemany("UPDATE customers_account SET number = %s, number_hash = %s WHERE id = %s",
                               [transform(row) for row in rows])
        last_id = rows[-1][0]


def encrypt_existing(apps, schema_editor):
    from bank import crypto

    _rewrite(schema_editor, lambda row: [crypto.encrypt(row[1]), crypto.blind_index("account_number", row[1]),
                                         row[0]])


def decrypt_existing(apps, schema_editor):
    from bank import crypto

    _rewrite(schema_editor, lambda row: [crypto.decrypt(row[1]) if row[1] else row[1], "", row[0]])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0009_encrypt_pii"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="account",
            options={"ordering": ["customer_id", "type", "opened_on", "pk"]},
        ),
        # Neither unique nor indexed yet: every existing row starts with the same empty hash (and an index made
        # now would clash with the one the unique constraint brings below).
        migrations.AddField(
            model_name="account",
            name="number_hash",
            field=bank.fields.BlindIndexField(
                "number", blank=True, db_index=False, editable=False, kind="account_number", max_length=64
            ),
        ),
        migrations.AlterField(
            model_name="account",
            name="number",
            field=bank.fields.EncryptedCharField(hash_field="number_hash", max_length=34),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing, elidable=False),
        migrations.AlterField(
            model_name="account",
            name="number_hash",
            field=bank.fields.BlindIndexField(
                "number", blank=True, db_index=False, editable=False, kind="account_number", max_length=64,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="email",
            field=bank.fields.EncryptedCharField(
                blank=True, hash_field="email_hash", max_length=254,
                validators=[django.core.validators.EmailValidator()],
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="national_id",
            field=bank.fields.EncryptedCharField(blank=True, hash_field="national_id_hash", max_length=32),
        ),
        migrations.AlterField(
            model_name="customer",
            name="phone",
            field=bank.fields.EncryptedCharField(blank=True, hash_field="phone_hash", max_length=32),
        ),
    ]
