import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Transaction
from customers.partners import issue_partner_token
from customers.tests.factories import AccountFactory, CustomerFactory, PartnerConsentFactory, PartnerFactory
from risk.models import Alert, IngestionRecord, Intervention
from risk.services.interventions import approve_intervention, propose_intervention
from risk.tests.factories import AlertFactory, history

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/risk/transactions/"
ALERTS = "/api/v1/risk/alerts/"
# The histories are grocery payments at noon: new ones at noon today are ordinary in time.
NOON = timezone.localtime().replace(hour=12, minute=30, second=0, microsecond=0)


@pytest.fixture
def partner():
    return PartnerFactory(name="Card processor")


def client_for(partner, scopes=("transactions:write", "risk:read")):
    _, secret = issue_partner_token(partner=partner, name="t", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def consenting(partner):
    account = history()
    PartnerConsentFactory(customer=account.customer, partner=partner)
    return account


def body(own, **changes):
    data = {"customer": str(own.customer.public_id), "account": str(own.public_id), "amount": "-104.50",
            "category": "groceries", "channel": "pos", "counterparty": "FreshMart Ltd", "timestamp": NOON.isoformat()}
    return {**data, **changes}


def counts():
    return Transaction.objects.count(), Alert.objects.count(), IngestionRecord.objects.count()


def test_an_ordinary_transaction_is_accepted_and_posted(partner, consenting):
    before = Transaction.objects.count()

    response = client_for(partner).post(INGEST, body(consenting), format="json")

    assert response.status_code == 201
    data = response.json()
    assert data["decision"] == "accept" and data["reasons"] == [] and data["alert"] is None
    assert data["replayed"] is False and data["step_up_required"] is False
    posted = Transaction.objects.get(pk=data["transaction"])
    assert posted.amount == Decimal("-104.50") and posted.customer_id == consenting.customer_id
    assert Transaction.objects.count() == before + 1


def test_a_suspicious_transaction_is_posted_for_review_with_an_alert(partner, consenting):
    response = client_for(partner).post(INGEST, body(consenting, amount="-9800.00"), format="json")

    assert response.status_code == 201
    data = response.json()
    assert data["decision"] == "review" and data["severity"] == "medium"
    assert [r["code"] for r in data["reasons"]] == ["amount-far-above-history"]
    alert = Alert.objects.get(public_id=data["alert"])
    assert alert.transaction_id == data["transaction"] and alert.decision == "review"
    assert alert.rule_codes == ["amount-far-above-history"]


def test_the_same_idempotency_key_and_body_replays_the_first_answer_and_writes_nothing(partner, consenting):
    client = client_for(partner)
    first = client.post(INGEST, body(consenting, amount="-9800.00"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    before = counts()

    again = client.post(INGEST, body(consenting, amount="-9800.00"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert again.status_code == 201
    assert {**again.json(), "replayed": False} == first.json() and again.json()["replayed"] is True
    assert counts() == before


def test_the_same_idempotency_key_with_another_body_is_a_422_and_writes_nothing(partner, consenting):
    client = client_for(partner)
    client.post(INGEST, body(consenting), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    before = counts()

    response = client.post(INGEST, body(consenting, amount="-5.00"), format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert counts() == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": "abc"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"category": "gambling"}, "category"),
    ({"channel": "fax"}, "channel"),
    ({"customer": "not-a-uuid"}, "customer"),
])
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(partner, consenting, changes, field):
    before = counts()

    response = client_for(partner).post(INGEST, body(consenting, **changes), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter" and list(error["details"]) == [field]
    assert counts() == before


def test_an_account_of_another_customer_is_a_400_and_nothing_is_written(partner, consenting):
    stranger = AccountFactory()
    before = counts()

    response = client_for(partner).post(INGEST, body(consenting, account=str(stranger.public_id)), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"account": ["Not an open account of this customer."]}
    assert counts() == before


def test_a_customer_who_did_not_consent_is_a_404_like_a_made_up_one(partner, consenting):
    other = AccountFactory()
    before = counts()

    responses = [
        client_for(partner).post(INGEST, body(other), format="json"),
        client_for(partner).post(INGEST, body(consenting, customer=str(uuid.uuid4())), format="json"),
    ]

    assert [r.status_code for r in responses] == [404, 404]
    assert responses[0].json() == responses[1].json()
    assert counts() == before


def test_without_the_transactions_write_scope_ingestion_is_a_403(partner, consenting):
    before = counts()

    response = client_for(partner, scopes=("risk:read",)).post(INGEST, body(consenting), format="json")

    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"
    assert counts() == before


def test_structuring_is_blocked_and_nothing_is_posted(partner, consenting):
    client = client_for(partner)
    for _ in range(2):
        assert client.post(INGEST, body(consenting, amount="-48000.00", category="cash", channel="atm",
                                        counterparty=""), format="json").json()["decision"] == "review"
    before = Transaction.objects.count()

    response = client.post(INGEST, body(consenting, amount="-48000.00", category="cash", channel="atm",
                                        counterparty=""), format="json")

    assert response.status_code == 200
    data = response.json()
    assert data["decision"] == "block" and data["transaction"] is None and data["severity"] == "critical"
    assert "cash-structuring" in [r["code"] for r in data["reasons"]]
    assert Transaction.objects.count() == before
    alert = Alert.objects.get(public_id=data["alert"])
    assert alert.transaction_id is None and alert.attempted["amount"] == "-48000.00"
    # A critical alert makes a rule propose a restriction; a person must still approve it.
    proposal = Intervention.objects.get(customer=consenting.customer)
    assert (proposal.kind, proposal.status, proposal.proposed_by_rule) == (
        "restrict", "proposed", "critical-alert-restriction")
    assert proposal.params == {"categories": ["cash"], "channels": ["atm"]}


def test_an_active_restriction_blocks_the_restricted_kind_only(partner, consenting, risk_officer, second_officer):
    proposal = propose_intervention(
        customer=consenting.customer, kind="restrict", reason="suspected_fraud", rationale="card skimmed",
        params={"categories": ["cash"]}, proposed_by=risk_officer)
    approve_intervention(intervention=proposal, by=second_officer)
    client = client_for(partner)

    cash = client.post(INGEST, body(consenting, amount="-200.00", category="cash", channel="atm"), format="json")
    groceries = client.post(INGEST, body(consenting), format="json")

    assert cash.json()["decision"] == "block" and cash.json()["reasons"][0]["code"] == "intervention-restriction"
    assert groceries.json()["decision"] == "accept"


def test_step_up_verification_turns_a_large_payment_into_review(partner, consenting, risk_officer, second_officer):
    proposal = propose_intervention(
        customer=consenting.customer, kind="step_up", reason="unusual_activity", rationale="new device",
        params={"amount_over": "500"}, proposed_by=risk_officer)
    approve_intervention(intervention=proposal, by=second_officer)

    small = client_for(partner).post(INGEST, body(consenting), format="json").json()
    large = client_for(partner).post(INGEST, body(consenting, amount="-600.00"), format="json").json()

    assert (small["decision"], small["step_up_required"]) == ("accept", False)
    assert (large["decision"], large["step_up_required"], large["reasons"]) == ("review", True, [])


def test_a_partner_sees_alerts_of_its_own_consenting_customers_only(partner, consenting):
    mine = AlertFactory(customer=consenting.customer)
    AlertFactory(customer=CustomerFactory())

    response = client_for(partner).get(ALERTS)

    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [str(mine.public_id)]
    assert response.json()["results"][0]["reasons"] == [
        {"code": "amount-far-above-history", "en": "amount-far-above-history fired",
         "zh": "amount-far-above-history 触发"}]


def test_alerts_are_not_for_customers_themselves(consenting):
    client = APIClient()
    client.force_authenticate(consenting.customer.user)

    assert client.get(ALERTS).status_code == 403


def test_the_risk_of_a_customer_who_did_not_consent_is_a_404(partner, consenting):
    other = CustomerFactory()

    response = client_for(partner).get(f"/api/v1/customers/{other.public_id}/risk/")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_reading_risk_needs_the_risk_read_scope(partner, consenting):
    response = client_for(partner, scopes=("transactions:write",)).get(
        f"/api/v1/customers/{consenting.customer.public_id}/risk/")

    assert response.status_code == 403


def test_risk_without_a_credit_model_has_a_grade_and_no_score(partner, consenting):
    AlertFactory(customer=consenting.customer, severity=3)

    response = client_for(partner).get(f"/api/v1/customers/{consenting.customer.public_id}/risk/")

    assert response.status_code == 200
    data = response.json()
    assert data["credit"] is None and data["interventions"] == []
    assert data["grade"]["grade"] == "A" and data["grade"]["points"] == 10
    assert data["grade"]["reasons"] == {"en": ["1 monitoring alert(s) in 90 days"], "zh": ["90天内1条监控预警"]}


def test_a_retry_without_a_timestamp_is_the_same_request(partner, consenting):
    client = client_for(partner)
    data = {k: v for k, v in body(consenting).items() if k != "timestamp"}
    first = client.post(INGEST, data, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    before = counts()

    again = client.post(INGEST, data, format="json", HTTP_IDEMPOTENCY_KEY="k-3")

    assert again.status_code == first.status_code == 201
    assert again.json()["transaction"] == first.json()["transaction"] and again.json()["replayed"] is True
    assert counts() == before
