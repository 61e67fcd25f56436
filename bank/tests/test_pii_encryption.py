"""Customers' national ID, phone, e-mail and address are encrypted at rest, found through keyed hashes, and
re-encrypted by `rotate_pii_keys` when a key changes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bank import crypto
from bank.models import AuditEvent
from customers.models import Account, Customer
from customers.selectors import personal_data_match
from customers.tests.factories import AccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db

OLD_KEY = "X2u6k0VpM2cVqOa8C6TzL1m5Qe3sP0bYgRk7HwJd9Fo="
NEW_KEY = "qv7sG3jJ0M9m3kZp1tV8Yc2bN5eR4uW6xL0aQ7dF1hE="
PLAIN = {"national_id": "11010519900517001X", "phone": "+86 138 0013 8000", "email": "Wang.Li@Example.com",
         "address": "Room 3, No. 12 Nanjing Road, Shanghai"}


@pytest.fixture
def keys(settings):
    """Set the keys for one test; the cached keys follow the settings and are reset afterwards."""

    def use(encryption: list[str], hash_key: str = "hash-key-one") -> None:
        settings.PII_ENCRYPTION_KEYS, settings.PII_HASH_KEY = encryption, hash_key
        crypto.reset_keys()

    yield use
    crypto.reset_keys()


def _stored(customer: Customer) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id, phone, email, address, national_id_hash, phone_hash, email_hash "
                       "FROM customers_customer WHERE id = %s", [customer.pk])
        names = ["national_id", "phone", "email", "address", "national_id_hash", "phone_hash", "email_hash"]
        return dict(zip(names, cursor.fetchone(), strict=True))


def test_the_database_holds_ciphertext_and_the_model_reads_plain_values():
    customer = CustomerFactory(**PLAIN)
    stored = _stored(customer)
    for name, value in PLAIN.items():
        assert value not in stored[name] and stored[name].startswith("v1.")
        assert "Nanjing" not in stored[name] and "8000" not in stored[name]
    fresh = Customer.objects.get(pk=customer.pk)
    assert {name: getattr(fresh, name) for name in PLAIN} == PLAIN


def test_equal_values_encrypt_differently_but_hash_alike():
    first, second = CustomerFactory(phone="+8613800138000"), CustomerFactory(phone="+8613800138000")
    a, b = _stored(first), _stored(second)
    assert a["phone"] != b["phone"]  # random IV: ciphertexts never reveal who shares a number
    assert a["phone_hash"] == b["phone_hash"] and len(a["phone_hash"]) == 64


def test_blank_stays_blank_and_has_no_hash():
    customer = CustomerFactory(national_id="", phone="", email="", address="")
    stored = _stored(customer)
    assert set(stored.values()) == {""}
    assert Customer.objects.filter(pk=customer.pk, email="").exists()


@pytest.mark.parametrize("term", [
    "+86 138 0013 8000", "13800138000", "0086-138-0013-8000",  # one phone, written three ways
    "wang.li@example.com", " WANG.LI@EXAMPLE.COM ",  # e-mail, any case
    "11010519900517001x",  # national ID, lower-case check letter
])
def test_exact_search_finds_the_customer_through_the_keyed_hash(term):
    wanted = CustomerFactory(**PLAIN)
    CustomerFactory()
    assert list(Customer.objects.filter(personal_data_match(term))) == [wanted]


def test_search_for_nothing_or_a_near_miss_finds_nobody():
    CustomerFactory(**PLAIN)
    for term in ["", "   ", "13800138001", "wang.li@example.org", "Nanjing Road"]:
        assert not Customer.objects.filter(personal_data_match(term)).exists()


def test_equality_on_an_encrypted_field_compares_keyed_hashes():
    wanted = CustomerFactory(**PLAIN)
    CustomerFactory()
    assert list(Customer.objects.filter(email="WANG.LI@example.com")) == [wanted]
    assert list(Customer.objects.filter(phone__in=["13800138000", "+8613900000000"])) == [wanted]
    assert list(Customer.objects.exclude(national_id=PLAIN["national_id"])) != [wanted]
    assert not Customer.objects.filter(phone__in=[]).exists()


def test_other_comparisons_are_refused_not_silently_empty():
    CustomerFactory(**PLAIN)
    with pytest.raises(FieldError, match="icontains"):
        list(Customer.objects.filter(address__icontains="Nanjing"))
    with pytest.raises(FieldError, match="startswith"):
        list(Customer.objects.filter(phone__startswith="+86"))
    with pytest.raises(FieldError, match="no keyed hash"):
        list(Customer.objects.filter(address=PLAIN["address"]))


def test_card_and_account_numbers_are_encrypted_unique_and_found_by_value():
    from django.db import IntegrityError, transaction

    card = AccountFactory(number="6258 6000 0000 4321")
    with connection.cursor() as cursor:
        cursor.execute("SELECT number, number_hash FROM customers_account WHERE id = %s", [card.pk])
        token, digest = cursor.fetchone()
    assert token.startswith("v1.") and "4321" not in token and len(digest) == 64
    assert Account.objects.get(number="6258600000004321") == card  # spaces do not matter
    assert list(Account.objects.filter(number__in=["6258600000004321", "0"])) == [card]
    assert Account.objects.filter(customer__phone=card.customer.phone).get() == card  # across a join
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountFactory(number="6258-6000-0000-4321")
    duplicate = AccountFactory.build(number="6258600000004321", customer=card.customer)
    with pytest.raises(Exception, match="already exists"):
        duplicate.full_clean()


def test_bulk_create_and_update_encrypt_and_hash():
    created = Customer.objects.bulk_create([
        CustomerFactory.build(phone="+8613911112222", email="a@example.com", user=None),
        CustomerFactory.build(phone="+8613933334444", email="b@example.com", user=None),
    ])
    assert all(_stored(c)["phone"].startswith("v1.") for c in created)
    assert Customer.objects.get(personal_data_match("13933334444")).email == "b@example.com"
    Customer.objects.filter(pk=created[0].pk).update(address="No. 1 Bund")
    assert _stored(created[0])["address"].startswith("v1.")
    assert Customer.objects.get(pk=created[0].pk).address == "No. 1 Bund"


def test_a_changed_value_gets_a_new_hash():
    customer = CustomerFactory(**PLAIN)
    customer.phone = "+8613700001111"
    customer.save()
    assert not Customer.objects.filter(personal_data_match("13800138000")).exists()
    assert Customer.objects.get(personal_data_match("13700001111")) == customer


def test_rotation_re_encrypts_every_row_and_recomputes_the_hashes(keys):
    keys([OLD_KEY], "hash-key-one")
    people = [CustomerFactory(**{**PLAIN, "phone": f"+86139{i:08d}"}) for i in range(5)]
    CustomerFactory(national_id="", phone="", email="", address="")
    card = AccountFactory(customer=people[1], number="6258600000004321")

    keys([NEW_KEY, OLD_KEY], "hash-key-two")
    # Until rotation: old rows still read (the old key decrypts) but are counted as stale, and the new hash key
    # does not find them yet.
    assert Customer.objects.get(pk=people[0].pk).email == PLAIN["email"]
    out = _call("rotate_pii_keys", "--check")
    assert "customers.Customer: 5 row(s)" in out and "customers.Account: 1 row(s)" in out
    assert not Account.objects.filter(number="6258600000004321").exists()
    assert not Customer.objects.filter(personal_data_match("13900000003")).exists()

    _call("rotate_pii_keys", "--batch", "2")
    assert "customers.Customer: 0 row(s)" in _call("rotate_pii_keys", "--check")
    assert Customer.objects.get(personal_data_match("13900000003")) == people[3]
    assert Account.objects.get(number="6258600000004321") == card
    assert AuditEvent.objects.filter(action="pii.keys_rotated").count() == 1

    # The old key can now be dropped: everything reads with the new one alone ...
    keys([NEW_KEY], "hash-key-two")
    assert sorted(c.phone for c in Customer.objects.exclude(phone="")) == [f"+86139{i:08d}" for i in range(5)]
    # ... and nothing reads with the old one alone: the rows really were rewritten.
    keys([OLD_KEY], "hash-key-two")
    with pytest.raises(crypto.UndecryptableValue):
        Customer.objects.get(pk=people[0].pk)


def test_a_malformed_key_stops_with_a_message_naming_the_variable(keys):
    keys(["not-a-key"])
    with pytest.raises(Exception, match="PII_ENCRYPTION_KEYS"):
        crypto.encrypt("x")


def _call(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_new_key_prints_a_usable_key(keys):
    key = _call("rotate_pii_keys", "--new-key").strip()
    keys([key])
    assert crypto.decrypt(crypto.encrypt("secret")) == "secret"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_encrypts_rows_written_in_clear_and_reverses():
    executor = MigrationExecutor(connection)
    executor.migrate([("customers", "0008_segments")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO customers_customer (public_id, external_ref, full_name, birth_date, gender, national_id,"
                " phone, email, address, city, residency, occupation, life_stage, declared_annual_income, kyc_status,"
                " risk_tolerance, consent_marketing, consent_profiling, preferred_language, customer_since,"
                " created_at, updated_at) VALUES (gen_random_uuid(), 'MIG-1', 'Wang Li', '1990-05-17', 'F', %s, %s,"
                " %s, %s, '', 'CN', '', '', 0, 'pending', 1, false, false, 'en', '2020-01-01', now(), now())",
                [PLAIN["national_id"], PLAIN["phone"], PLAIN["email"], PLAIN["address"]],
            )
            for number in ("6258600000004321", "6217000000000001"):
                cursor.execute(
                    "INSERT INTO customers_account (public_id, customer_id, number, type, currency, balance, status,"
                    " opened_on) SELECT gen_random_uuid(), id, %s, 'current', 'CNY', 0, 'active', '2020-01-01'"
                    " FROM customers_customer WHERE external_ref = 'MIG-1'", [number],
                )
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("customers"))
        customer = Customer.objects.get(external_ref="MIG-1")
        assert {name: getattr(customer, name) for name in PLAIN} == PLAIN
        assert _stored(customer)["national_id"].startswith("v1.")
        assert Customer.objects.get(personal_data_match("13800138000")) == customer
        assert customer.accounts.get(number="6258600000004321").number == "6258600000004321"
        assert customer.accounts.filter(number__in=["6217000000000001"]).count() == 1
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, "customers_account")
        unique_columns = [c["columns"] for c in constraints.values() if c["unique"] and not c["primary_key"]]
        assert sorted(unique_columns) == [["number_hash"], ["public_id"]]  # the ciphertext is no longer unique

        executor = MigrationExecutor(connection)
        executor.migrate([("customers", "0008_segments")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT phone, email FROM customers_customer WHERE external_ref = 'MIG-1'")
            assert cursor.fetchone() == (PLAIN["phone"], PLAIN["email"])
            cursor.execute("SELECT number FROM customers_account ORDER BY number")
            assert cursor.fetchall() == [("6217000000000001",), ("6258600000004321",)]
            cursor.execute("DELETE FROM customers_account")
            cursor.execute("DELETE FROM customers_customer WHERE external_ref = 'MIG-1'")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_production_settings_refuse_to_start_without_keys():
    env = {key: value for key, value in os.environ.items() if not key.startswith("PII_")}
    env.update(DJANGO_SECRET_KEY="k7#Qz9!vR2@mW4$pX8^nB6&cL1*hT5(yD3)fG0_jS+eA-uV=oK",
               DJANGO_ALLOWED_HOSTS="bank.example", DJANGO_SECURE="1")
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert result.returncode != 0
    assert "PII_ENCRYPTION_KEYS" in result.stderr


def test_an_altered_ciphertext_is_refused_not_misread():
    customer = CustomerFactory(**PLAIN)
    token = _stored(customer)["phone"]
    flipped = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET phone = %s WHERE id = %s", [flipped, customer.pk])
    with pytest.raises(crypto.UndecryptableValue, match="altered"):
        Customer.objects.get(pk=customer.pk)
