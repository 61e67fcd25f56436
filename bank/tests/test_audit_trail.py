"""The audit trail: append-only in the database, read-only in the admin for everyone, and written for PII views,
decisions, interventions and model activations in the transaction of what it records."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from advisor.applications.models import Application
from advisor.applications.services import decide_referred
from bank import audit, registry
from bank.models import AuditEvent
from bank.roles import COMPLIANCE_OFFICER, RELATIONSHIP_MANAGER, RISK_OFFICER, SUPPORT_AGENT
from customers.partners import issue_partner_token
from customers.tests.factories import (
    AccountFactory,
    CreditCardFactory,
    CustomerFactory,
    PartnerConsentFactory,
    TransactionFactory,
    UserFactory,
)
from products.tests.factories import ProductFactory
from risk.services.interventions import MakerCheckerViolation, approve_intervention, propose_intervention

pytestmark = pytest.mark.django_db


def staff(username, *roles, superuser=False):
    user = UserFactory(username=username, is_staff=True, is_superuser=superuser)
    user.groups.add(*Group.objects.filter(name__in=roles))
    return user


def test_the_database_refuses_update_delete_and_truncate_even_for_the_orm():
    event = audit.record(action="card.freeze", channel="admin", subject="account:x", detail={"to": "frozen"})

    for change in (lambda: AuditEvent.objects.filter(pk=event.pk).update(action="nothing"),
                   lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
                   lambda: event.save()):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()

    assert list(AuditEvent.objects.values_list("pk", "action")) == [(event.pk, "card.freeze")]


def test_the_database_refuses_truncate_unless_it_is_the_test_runners_flush():
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"), transaction.atomic():
        connection.cursor().execute("TRUNCATE bank_auditevent")


def test_detail_strings_are_masked_before_they_are_stored():
    event = audit.record(action="card.freeze", channel="chat", detail={"reason": "call me on 13812345678",
                                                                      "nested": ["a@example.com"]})

    assert event.detail == {"reason": "call me on •••• 5678", "nested": ["a•••@example.com"]}


def test_the_admin_lets_compliance_read_and_filter_and_nobody_change(client):
    event = audit.record(action="model.activated", channel="admin", subject="model:risk.credit@v2")
    audit.record(action="card.freeze", channel="chat", subject="account:abc")
    root = staff("root", superuser=True)
    client.force_login(root)
    url = f"/admin/bank/auditevent/{event.pk}/change/"

    assert client.get("/admin/bank/auditevent/add/").status_code == 403
    assert client.post(f"/admin/bank/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    client.post(url, {"action": "edited"})
    assert AuditEvent.objects.get(pk=event.pk).action == "model.activated"

    client.force_login(staff("compliance", COMPLIANCE_OFFICER))
    listing = client.get("/admin/bank/auditevent/?object_type=model&actor_kind=system")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [event]
    assert listing.context["action_form"] is None or not listing.context["cl"].actions

    for role in (RELATIONSHIP_MANAGER, SUPPORT_AGENT, RISK_OFFICER):
        client.force_login(staff(f"user-{role}", role))
        assert client.get("/admin/bank/auditevent/").status_code == 403


def test_opening_the_customer_360_records_who_saw_which_fields(client):
    customer = CustomerFactory(full_name="Wang Fang")
    viewer = staff("compliance", COMPLIANCE_OFFICER)
    client.force_login(viewer)

    assert client.get(f"/admin/customers/customer/{customer.pk}/change/").status_code == 200

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.channel, event.customer_ref) == (
        "customer.viewed", viewer, "admin", customer.external_ref)
    # Personal details are shown masked until asked for (customers/tests/test_admin_pii.py): the event says so.
    assert {"full_name", "national_id_masked", "phone_masked", "email_masked", "address_masked"} <= set(
        event.detail["fields"])
    assert "Wang Fang" not in str(event.detail)


def test_partner_reads_of_profile_accounts_and_transactions_are_recorded_and_own_reads_are_not():
    consent = PartnerConsentFactory()
    customer = consent.customer
    TransactionFactory(account=AccountFactory(customer=customer))
    _token, secret = issue_partner_token(partner=consent.partner, name="app",
                                         scopes=["profile:read", "accounts:read", "transactions:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    base = f"/api/v1/customers/{customer.public_id}/"

    for path in ("", "accounts/", "transactions/"):
        assert client.get(base + path).status_code == 200

    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor_label", "detail__read"))
    assert events == [("customer.api_read", f"partner:{consent.partner.name}", read)
                      for read in ("profile", "accounts", "transactions")]
    own = APIClient()
    own.force_authenticate(customer.user)
    assert own.get(base + "accounts/").status_code == 200
    assert AuditEvent.objects.count() == 3


def test_a_staff_decision_on_an_application_is_audited_with_it():
    customer = CustomerFactory()
    application = Application.objects.create(customer=customer, product=ProductFactory(), source="branch",
                                             state="referred", requested_amount=Decimal("1000.00"))
    rm = staff("rm1", RELATIONSHIP_MANAGER)

    decide_referred(application=application, approve=False, note="Income not verified", by=rm)

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.channel, event.subject, event.customer_ref) == (
        "application.declined", rm, "admin", f"application:{application.public_id}", customer.external_ref)
    assert event.detail["reason_codes"] == ["staff_declined"] and event.detail["from"] == "referred"


def test_interventions_are_audited_and_a_refused_approval_writes_no_event():
    card = CreditCardFactory(credit_limit=Decimal("50000.00"))
    maker = staff("officer1", RISK_OFFICER)
    intervention = propose_intervention(
        customer=card.customer, account=card, kind="lower_credit_limit", reason="repayment_difficulty",
        rationale="Missed payments", params={"new_limit": "20000"}, proposed_by=maker)

    with pytest.raises(MakerCheckerViolation):
        approve_intervention(intervention=intervention, by=maker)
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["intervention.proposed"]

    approve_intervention(intervention=intervention, by=staff("officer2", RISK_OFFICER))
    approved = AuditEvent.objects.get(action="intervention.approved")
    assert (approved.actor_label, approved.customer_ref, approved.detail["previous_state"]) == (
        "officer2", card.customer.external_ref, {"credit_limit": "50000.00"})


def test_model_activation_and_rollback_are_audited(tmp_path, settings):
    settings.MODEL_ARTIFACT_DIR = tmp_path

    def write(folder: Path) -> None:
        (folder / "weights.txt").write_text("w")

    first = registry.register_artifact(name="demo.model", write=write)
    second = registry.register_artifact(name="demo.model", write=write)
    officer = staff("officer1", RISK_OFFICER)
    registry.activate(first)
    registry.activate(second, by=officer, channel="admin")
    registry.rollback("demo.model", by=officer, channel="admin")

    assert list(AuditEvent.objects.order_by("id").values_list(
        "action", "actor_label", "subject", "detail__replaced")) == [
        ("model.activated", "system", "model:demo.model@v1", []),
        ("model.activated", "officer1", "model:demo.model@v2", [1]),
        ("model.activated", "officer1", "model:demo.model@v1", [2]),
    ]
