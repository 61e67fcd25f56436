"""Data subject rights: the export holds everything, the erasure leaves no personal string anywhere while
amounts, counts and the audit trail stay as they were, and legal holds refuse it with nothing written."""

import json
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum

from advisor.applications.models import Application
from bank import audit
from bank.models import AuditEvent
from bank.privacy import personal_data_locations
from chat.models import Conversation, Message
from customers.models import Customer, PartnerConsent, Transaction
from customers.tests.factories import (
    AccountFactory,
    CustomerFactory,
    PartnerConsentFactory,
    TransactionFactory,
    UserFactory,
)
from products.tests.factories import ProductFactory
from risk.models import Case

pytestmark = pytest.mark.django_db

NAME, NATIONAL_ID, PHONE, EMAIL = "Zhao Xiaoming", "110105199005170042", "+8613900001111", "zxm@example.org"


@pytest.fixture
def customer():
    person = CustomerFactory(full_name=NAME, national_id=NATIONAL_ID, phone=PHONE, email=EMAIL,
                             address="12 Nanjing Road", birth_date="1990-05-17")
    account = AccountFactory(customer=person)
    TransactionFactory(account=account, amount=Decimal("-50.00"), counterparty=f"Refund to {NAME}")
    TransactionFactory(account=account, amount=Decimal("3000.00"), description=f"Salary {NAME.upper()}")
    PartnerConsentFactory(customer=person)
    conversation = Conversation.objects.create(customer=person, state={"slots": {"name": NAME}})
    Message.objects.create(conversation=conversation, role="customer", text=f"I am {NAME}, mail {EMAIL}")
    Application.objects.create(customer=person, product=ProductFactory(), source="branch", state="declined",
                               reason_text=f"{NAME} wants a deposit", decision_note="call 13900001111")
    LogEntry.objects.create(user=UserFactory(username="clerk", is_staff=True),
                            content_type=ContentType.objects.get_for_model(Customer), object_id=str(person.pk),
                            object_repr=NAME, action_flag=CHANGE, change_message="[]")
    audit.record(action="customer.viewed", channel="admin", subject=f"customer:{person.public_id}",
                 customer_ref=person.external_ref, detail={"fields": ["full_name"]})
    return person


def test_export_holds_every_kind_of_record_and_is_audited(customer, tmp_path):
    out = tmp_path / "export.json"

    call_command("export_customer_data", customer.external_ref, "--out", str(out))

    document = json.loads(out.read_text(encoding="utf-8"))
    assert (document["format"], document["version"]) == ("bank.customer-export", 1)
    assert document["customer"]["full_name"] == NAME and document["customer"]["national_id"] == NATIONAL_ID
    counts = {label: len(rows) for label, rows in document["records"].items() if rows}
    assert counts == {"customers.account": 1, "customers.transaction": 2, "customers.partnerconsent": 1,
                      "advisor.application": 1, "chat.conversation": 1, "chat.message": 1}
    assert sorted(row["amount"] for row in document["records"]["customers.transaction"]) == ["-50.00", "3000.00"]
    assert [e["action"] for e in document["audit_events"]] == ["customer.viewed"]
    exported = AuditEvent.objects.get(action="customer.exported")
    assert exported.customer_ref == customer.external_ref and exported.detail["records"] == counts


def test_erasure_leaves_no_personal_string_and_keeps_aggregates_and_the_trail(customer):
    money = Transaction.objects.filter(customer=customer).aggregate(n=Count("id"), total=Sum("amount"))
    trail = list(AuditEvent.objects.values_list("id", "action", "subject", "customer_ref", "detail"))
    user = customer.user
    assert personal_data_locations(strings=[NAME, NATIONAL_ID, PHONE, EMAIL]) != []

    call_command("erase_customer", str(customer.public_id), "--reason", "Erasure request 118")

    assert personal_data_locations(strings=[NAME, NATIONAL_ID, PHONE, EMAIL, "13900001111"]) == []
    assert Transaction.objects.filter(customer=customer).aggregate(n=Count("id"), total=Sum("amount")) == money
    customer.refresh_from_db()
    user.refresh_from_db()
    assert customer.full_name == f"[erased {customer.public_id.hex[:8]}]" and customer.user is None
    assert str(customer.birth_date) == "1990-01-01"
    assert (user.is_active, user.has_usable_password(), user.email) == (False, False, "")
    assert not PartnerConsent.objects.filter(customer=customer, revoked_at__isnull=True).exists()
    assert Message.objects.get(conversation__customer=customer).text == "[erased]"
    assert list(AuditEvent.objects.exclude(action="customer.erased")
                .values_list("id", "action", "subject", "customer_ref", "detail")) == trail
    erased = AuditEvent.objects.get(action="customer.erased")
    assert erased.customer_ref == customer.external_ref and erased.detail["reason"] == "Erasure request 118"


def test_an_open_risk_case_is_a_legal_hold_and_nothing_is_written(customer):
    Case.objects.create(customer=customer, title="Unusual transfers")

    with pytest.raises(CommandError, match=r"A risk case about this customer is still open\. \[open_risk_case\]"):
        call_command("erase_customer", customer.external_ref, "--reason", "Request 7")

    customer.refresh_from_db()
    assert customer.full_name == NAME and customer.user is not None
    assert not AuditEvent.objects.filter(action="customer.erased").exists()


def test_a_name_in_the_immutable_trail_makes_erasure_roll_back_and_say_where(customer):
    audit.record(action="note", channel="admin", customer_ref=customer.external_ref, detail={"who": NAME})

    with pytest.raises(CommandError, match=r"rolled back: personal data still found in bank_auditevent\.detail"):
        call_command("erase_customer", customer.external_ref, "--reason", "Request 8")

    customer.refresh_from_db()
    assert customer.full_name == NAME
    assert Message.objects.get(conversation__customer=customer).text.startswith("I am")
