"""The applications API: submitting with Idempotency-Key (Stripe semantics), reading, acting, and who may do what
(another customer's application is a 404, a partner without the scope or the consent gets nothing and writes
nothing)."""

import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from advisor.applications.models import Application, ApplicationEvent
from advisor.tests.applications_factories import applicant, card_product, credit_score, loan_product, profile
from customers.models import ProductInteraction
from customers.partners import issue_partner_token
from customers.tests.factories import PartnerConsentFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sync(settings):
    settings.APPLICATION_DECIDE_SYNC = True
    settings.CHAT_LLM_BACKEND = "none"


def url(customer, *rest):
    return "/api/v1/customers/" + "/".join([str(customer.public_id), "applications", *rest]) + "/"


def as_customer(customer):
    client = APIClient()
    client.force_authenticate(customer.user)
    return client


def as_partner(partner, scopes=("applications:read", "applications:write")):
    _, secret = issue_partner_token(partner=partner, name="t", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def written():
    return Application.objects.count(), ApplicationEvent.objects.count(), ProductInteraction.objects.count()


def test_a_customer_applies_and_reads_the_outcome_with_its_reasons():
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.40, points=455)
    card_product()

    response = as_customer(customer).post(url(customer), {"product": "CC-CLASSIC-T", "reason": "cash back"},
                                          format="json")

    assert response.status_code == 201
    data = response.json()
    assert data["state"] == "declined" and data["replayed"] is False
    assert data["reason_codes"] == ["credit_pd_above_cutoff"]
    assert data["reasons"] == [
        "Your estimated probability of default is 40.0 % (credit score 455 points), at or above our credit policy's "
        "cut-off of 25.0 % for cards and loans."]
    assert data["needs"] == [{"label": "cashback", "text": "cash back"}]
    assert [e["to_state"] for e in data["events"]] == ["submitted", "checking", "declined"]
    assert [e["actor"] for e in data["events"]] == ["customer", "system", "system"]

    listed = as_customer(customer).get(url(customer))
    assert [a["id"] for a in listed.json()] == [data["id"]]
    detail = as_customer(customer).get(url(customer, data["id"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert detail.status_code == 200
    assert detail.json()["reasons"] == [
        "您的预估违约概率为40.0 %（信用评分455分），达到或超过本行信贷政策对信用卡及贷款设定的25.0 %上限。"]


def test_idempotency_key_replays_the_first_answer_and_rejects_another_body():
    customer = applicant()
    partner = PartnerFactory()
    PartnerConsentFactory(customer=customer, partner=partner)
    card_product()
    client = as_partner(partner)

    first = client.post(url(customer), {"product": "CC-CLASSIC-T"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    before = written()
    again = client.post(url(customer), {"product": "CC-CLASSIC-T"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    other = client.post(url(customer), {"product": "CC-CLASSIC-T", "reason": "x"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="abc")

    assert first.status_code == 201 and again.status_code == 201  # the stored first answer, replayed
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert written() == before
    assert first.json()["events"][0]["actor"] == f"partner:{partner.name}"


def test_bad_input_is_a_400_with_a_code_and_writes_nothing():
    customer = applicant()
    loan_product()
    client = as_customer(customer)
    before = written()

    unknown = client.post(url(customer), {"product": "NOPE"}, format="json")
    no_amount = client.post(url(customer), {"product": "LN-PERSONAL-T"}, format="json")
    negative = client.post(url(customer), {"product": "LN-PERSONAL-T", "amount": "-5"}, format="json")

    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "invalid_parameter"
    assert no_amount.status_code == 400 and no_amount.json()["error"]["code"] == "amount_required"
    assert negative.status_code == 400
    assert written() == before


def test_withdrawing_and_activating_follow_the_state_machine():
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.02)
    card_product()
    client = as_customer(customer)
    app_id = client.post(url(customer), {"product": "CC-CLASSIC-T", "amount": "10000"}, format="json").json()["id"]

    activated = client.post(url(customer, app_id, "activate"))
    again = client.post(url(customer, app_id, "withdraw"))

    assert activated.status_code == 200 and activated.json()["state"] == "activated"
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"


def test_another_customers_application_is_a_404_and_changes_nothing():
    owner = applicant()
    other = applicant()
    card_product()
    app_id = as_customer(owner).post(url(owner), {"product": "CC-CLASSIC-T"}, format="json").json()["id"]
    intruder = as_customer(other)
    before = written()

    # Through the intruder's own customer id, and through the owner's.
    assert intruder.get(url(other, app_id)).status_code == 404
    assert intruder.get(url(owner, app_id)).status_code == 404
    assert intruder.post(url(other, app_id, "withdraw")).status_code == 404
    assert intruder.post(url(owner, app_id, "withdraw")).status_code == 404
    assert intruder.get(url(owner)).status_code == 404
    assert intruder.get(url(other, str(uuid.uuid4()))).status_code == 404
    assert written() == before
    assert Application.objects.get(public_id=app_id).events.count() == 3  # submitted, checking, referred


def test_a_partner_needs_the_scope_and_the_consent():
    customer = applicant()
    card_product()
    partner = PartnerFactory()
    before = written()

    read_only = as_partner(partner, scopes=("applications:read",))
    no_scope = read_only.post(url(customer), {"product": "CC-CLASSIC-T"}, format="json")
    no_consent = as_partner(partner).post(url(customer), {"product": "CC-CLASSIC-T"}, format="json")

    assert no_scope.status_code == 403 and no_scope.json()["error"]["code"] == "insufficient_scope"
    assert no_consent.status_code == 404
    assert written() == before
    PartnerConsentFactory(customer=customer, partner=partner)
    assert read_only.get(url(customer)).status_code == 200
    assert as_partner(partner, scopes=("profile:read",)).get(url(customer)).status_code == 403


def test_staff_read_but_do_not_apply_through_the_api(admin_user):
    customer = applicant()
    card_product()
    client = APIClient()
    client.force_authenticate(admin_user)

    response = client.post(url(customer), {"product": "CC-CLASSIC-T", "amount": str(Decimal("1000"))},
                           format="json")

    assert response.status_code == 403
    assert client.get(url(customer)).status_code == 200
    assert Application.objects.count() == 0
