from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from customers.models import Account
from customers.tests.factories import CreditCardFactory
from risk.models import CustomerNotice, Intervention, InterventionEvent
from risk.services.interventions import (
    InterventionError,
    MakerCheckerViolation,
    approve_intervention,
    propose_intervention,
    reject_intervention,
    reverse_intervention,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def card():
    return CreditCardFactory(number="6258600000004321", credit_limit=Decimal("50000.00"))


def lower_limit(card, by, new_limit="20000"):
    return propose_intervention(
        customer=card.customer, account=card, kind="lower_credit_limit", reason="repayment_difficulty",
        rationale="Three missed payments", params={"new_limit": new_limit}, proposed_by=by,
        evidence={"alerts": ["a1"]})


def test_a_proposal_changes_nothing_for_the_customer(card, risk_officer):
    intervention = lower_limit(card, risk_officer)

    card.refresh_from_db()
    assert card.credit_limit == Decimal("50000.00")
    assert intervention.status == "proposed" and intervention.params == {"new_limit": "20000.00"}
    assert list(intervention.events.values_list("action", "actor_label", "note")) == [
        ("proposed", "officer1", "Three missed payments")]
    assert not CustomerNotice.objects.exists()


def test_the_maker_cannot_approve_their_own_intervention_and_nothing_changes(card, risk_officer):
    intervention = lower_limit(card, risk_officer)

    with pytest.raises(MakerCheckerViolation, match="cannot approve or reject"):
        approve_intervention(intervention=intervention, by=risk_officer)

    card.refresh_from_db()
    intervention.refresh_from_db()
    assert card.credit_limit == Decimal("50000.00")
    assert intervention.status == "proposed" and intervention.approved_by is None
    assert list(intervention.events.values_list("action", flat=True)) == ["proposed"]
    assert not CustomerNotice.objects.exists()


def test_the_database_refuses_a_checker_who_is_the_maker(card, risk_officer):
    intervention = lower_limit(card, risk_officer)

    with pytest.raises(IntegrityError), transaction.atomic():
        Intervention.objects.filter(pk=intervention.pk).update(approved_by=risk_officer)


def test_a_second_officer_approves_and_it_is_applied_with_a_notice_and_a_trail(card, risk_officer, second_officer):
    intervention = lower_limit(card, risk_officer)

    approve_intervention(intervention=intervention, by=second_officer, note="agreed")

    card.refresh_from_db()
    intervention.refresh_from_db()
    assert card.credit_limit == Decimal("20000.00")
    assert intervention.status == "active" and intervention.approved_by == second_officer
    assert intervention.previous_state == {"credit_limit": "50000.00"}
    assert list(intervention.events.values_list("action", "actor_label")) == [
        ("proposed", "officer1"), ("approved", "officer2")]
    notice = CustomerNotice.objects.get(customer=card.customer)
    assert notice.title_en == "Your credit limit has been lowered" and notice.title_zh == "您的信用额度已下调"
    assert notice.body_en.startswith(
        "We have lowered the credit limit of your credit card ending 4321 to ¥20,000 because recent repayments "
        "suggest you may be finding them difficult.")
    assert notice.body_zh.startswith(
        "由于近期的还款情况显示您可能遇到了还款困难，我们已将您尾号4321的信用卡的信用额度下调至¥20,000。")


def test_a_user_without_the_checker_permission_cannot_approve(card, risk_officer):
    from customers.tests.factories import UserFactory

    clerk = UserFactory(username="clerk", is_staff=True)
    intervention = lower_limit(card, risk_officer)

    with pytest.raises(MakerCheckerViolation, match="may not approve"):
        approve_intervention(intervention=intervention, by=clerk)
    card.refresh_from_db()
    assert card.credit_limit == Decimal("50000.00")


def test_reversal_restores_the_limit_and_tells_the_customer(card, risk_officer, second_officer):
    intervention = approve_intervention(intervention=lower_limit(card, risk_officer), by=second_officer)

    reverse_intervention(intervention=intervention, by=risk_officer, note="customer repaid in full")

    card.refresh_from_db()
    intervention.refresh_from_db()
    assert card.credit_limit == Decimal("50000.00")
    assert intervention.status == "reversed" and intervention.reversed_by == risk_officer
    assert list(intervention.events.values_list("action", flat=True)) == ["proposed", "approved", "reversed"]
    assert intervention.events.last().evidence == {"restored": {"credit_limit": "50000.00", "was": "20000.00"}}
    lifted = CustomerNotice.objects.filter(customer=card.customer).order_by("id").last()
    assert lifted.title_en == "A restriction on your account has been lifted"


def test_rejection_leaves_the_account_alone(card, risk_officer, second_officer):
    rejected = reject_intervention(intervention=lower_limit(card, risk_officer), by=second_officer, note="no")

    card.refresh_from_db()
    assert rejected.status == "rejected" and card.credit_limit == Decimal("50000.00")
    with pytest.raises(InterventionError, match="rejected"):
        approve_intervention(intervention=rejected, by=second_officer)


@pytest.mark.parametrize(("params", "message"), [
    ({"new_limit": "60000"}, "below the current limit"),
    ({"new_limit": "lots"}, "must be an amount"),
    ({}, "must be an amount"),
])
def test_bad_proposals_are_refused_and_nothing_is_written(card, risk_officer, params, message):
    with pytest.raises(InterventionError, match=message):
        propose_intervention(customer=card.customer, account=card, kind="lower_credit_limit",
                             reason="repayment_difficulty", rationale="x", params=params, proposed_by=risk_officer)
    assert not Intervention.objects.exists() and not InterventionEvent.objects.exists()


def test_in_the_admin_the_maker_cannot_approve_and_the_checker_can(card, risk_officer, second_officer):
    intervention = lower_limit(card, risk_officer)
    url = f"/admin/risk/intervention/{intervention.pk}/decide/approve/"
    maker, checker = Client(), Client()
    maker.force_login(risk_officer)
    checker.force_login(second_officer)

    page = maker.get(f"/admin/risk/intervention/{intervention.pk}/change/")
    denied = maker.post(url, {"note": "me"}, follow=True)

    assert "a different person must approve or reject it" in page.content.decode()
    assert "cannot approve or reject" in denied.content.decode()
    assert Account.objects.get(pk=card.pk).credit_limit == Decimal("50000.00")
    assert Intervention.objects.get(pk=intervention.pk).status == "proposed"

    checker.post(url, {"note": "ok"})

    assert Account.objects.get(pk=card.pk).credit_limit == Decimal("20000.00")
    assert InterventionEvent.objects.filter(intervention=intervention, action="approved").get().note == "ok"


def test_an_officer_proposes_in_the_admin_with_validated_parameters(card, risk_officer):
    client = Client()
    client.force_login(risk_officer)
    form = {"customer": card.customer.pk, "account": card.pk, "kind": "restrict", "reason": "suspected_fraud",
            "rationale": "skimming reported", "params": '{"categories": ["cash"], "channels": ["atm"]}'}

    bad = client.post("/admin/risk/intervention/add/", {**form, "params": '{"categories": ["casino"]}'})
    good = client.post("/admin/risk/intervention/add/", form)

    assert bad.status_code == 200 and "Unknown category or channel: casino." in bad.content.decode()
    assert good.status_code == 302
    created = Intervention.objects.get()
    assert (created.proposed_by, created.status, created.params) == (
        risk_officer, "proposed", {"categories": ["cash"], "channels": ["atm"]})


def test_the_customer_reads_the_notice_in_their_language(card, risk_officer, second_officer):
    approve_intervention(intervention=lower_limit(card, risk_officer), by=second_officer)
    client = Client()
    client.force_login(card.customer.user)

    english = client.get("/notices/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans"})
    chinese = client.get("/notices/").content.decode()

    assert "Your credit limit has been lowered" in english and "¥20,000" in english
    assert "您的信用额度已下调" in chinese
    assert CustomerNotice.objects.get().read_at is not None
