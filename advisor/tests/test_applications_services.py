"""Applications end to end through the services: each outcome with the reasons the customer reads, the state
trail, staff decisions, activation, and a decision that fails mid-way leaving nothing half-done."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from advisor.applications import checks, services
from advisor.applications.models import Application, ApplicationEvent
from advisor.tests.applications_factories import (
    applicant,
    card_product,
    credit_score,
    existing_loan,
    loan_product,
    profile,
    travel_card,
)
from bank.roles import RELATIONSHIP_MANAGER, SUPPORT_AGENT
from customers.models import Account, AccountType, Holding, KycStatus, ProductInteraction, Transaction
from customers.tests.factories import UserFactory
from risk.models import CreditScore

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sync(settings):
    settings.APPLICATION_DECIDE_SYNC = True
    settings.CHAT_LLM_BACKEND = "none"


def submit(customer, product, **kwargs):
    return services.submit_application(customer=customer, product=product, source="product_page",
                                       actor_label="customer", actor_user=customer.user, **kwargs).application


def trail(app):
    return list(ApplicationEvent.objects.filter(application=app).order_by("at", "id")
                .values_list("from_state", "to_state", "actor_label"))


def test_a_card_for_a_good_customer_is_approved_with_the_limit_decided_and_every_step_recorded():
    customer = applicant(income="240000")
    profile(customer, income_monthly="20000", spend_monthly="6000")
    credit_score(customer, pd=0.031, points=702)
    card = card_product()

    app = submit(customer, card, requested_amount=Decimal("50000"),
                 reason_text="I travel a lot and want no foreign-exchange fees")

    assert app.state == "approved"
    # 30 % of 240,000 = 72,000 offered; 50,000 asked for, so 50,000.
    assert app.approved_amount == Decimal("50000.00")
    assert trail(app) == [("", "submitted", "customer"), ("submitted", "checking", "system"),
                          ("checking", "approved", "system")]
    by_check = {c["check"]: c for c in app.checks}
    assert by_check["credit"]["code"] == "credit_pd_within_policy"
    assert by_check["credit"]["en"] == ("Your estimated probability of default, 3.1 % (credit score 702 points), is "
                                        "below our automatic-approval level of 6.0 %.")
    # 5,000 a month on a fully drawn 50,000 limit at the 10 % minimum, 20,000 income.
    assert by_check["affordability"]["facts"]["dsr_pct"] == "25"
    assert app.needs == ["no_fx_fees", "travel"] and app.needs_source == "embeddings"
    # The customer's stated need is not met by this card: a note naming why, not a refusal.
    unmet = [c for c in app.checks if c["code"] == "need_unmet_no_fx_fees"][0]
    assert unmet["status"] == "note"
    assert unmet["en"] == ("You asked for no foreign-exchange fees, but Classic Credit Card charges a "
                           "currency-conversion fee on spending in other currencies.")
    assert app.reason_codes == ["need_unmet_no_fx_fees", "need_unmet_travel"]
    assert app.offer_expires_at is not None and app.decided_at is not None
    assert ProductInteraction.objects.filter(customer=customer, product=card, event="click").count() == 1


def test_a_card_is_declined_citing_the_pd_above_the_policy_cut_off_with_the_figures():
    customer = applicant()
    profile(customer)
    score = credit_score(customer, pd=0.312, points=488, reasons_en=["Several late payments in the last year"],
                         reasons_zh=["近一年多次逾期还款"])

    app = submit(customer, card_product())

    assert app.state == "declined"
    assert app.reason_codes == ["credit_pd_above_cutoff"]
    assert app.credit_score_id == score.pk and app.approved_amount is None
    failed = [c for c in app.checks if c["status"] == "fail"]
    assert [c["code"] for c in failed] == ["credit_pd_above_cutoff"]
    assert failed[0]["en"] == (
        "Your estimated probability of default is 31.2 % (credit score 488 points), at or above our credit "
        "policy's cut-off of 25.0 % for cards and loans. What lowered it most: Several late payments in the last "
        "year.")
    assert failed[0]["zh"] == ("您的预估违约概率为31.2 %（信用评分488分），"
                               "达到或超过本行信贷政策对信用卡及贷款设定的25.0 %上限。"
                               "主要影响因素：近一年多次逾期还款。")
    assert trail(app)[-1] == ("checking", "declined", "system")


def test_a_loan_in_the_review_band_is_referred_with_an_sla_and_staff_approve_it(settings):
    customer = applicant(income="120000")
    profile(customer, income_monthly="10000", spend_monthly="4000")
    credit_score(customer, pd=0.12, points=590)
    loan = loan_product()

    app = submit(customer, loan, requested_amount=Decimal("30000"))

    assert app.state == "referred"
    assert app.reason_codes == ["credit_pd_review_band"]
    referred_at = app.events.get(to_state="referred").at
    assert app.sla_due_at == referred_at + timedelta(hours=settings.APPLICATION_SLA_HOURS["loan"])
    assert app.decided_at is None

    support = UserFactory(username="support", is_staff=True)
    support.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    with pytest.raises(services.ApplicationError) as denied:
        services.decide_referred(application=app, approve=True, note="ok", by=support)
    assert denied.value.code == "permission_denied"
    rm = UserFactory(username="rm.li", is_staff=True)
    rm.groups.add(Group.objects.get(name=RELATIONSHIP_MANAGER))
    with pytest.raises(services.ApplicationError) as no_note:
        services.decide_referred(application=app, approve=True, note="  ", by=rm)
    assert no_note.value.code == "note_required"
    app.refresh_from_db()
    assert app.state == "referred"

    app = services.decide_referred(application=app, approve=True, note="Stable salary for 6 years.", by=rm)

    assert app.state == "approved" and app.decided_by == rm and app.approved_amount == Decimal("30000.00")
    assert trail(app)[-1] == ("referred", "approved", "rm.li")
    assert app.events.last().note == "Stable salary for 6 years."


def test_a_loan_that_would_take_too_much_income_is_declined_on_affordability():
    customer = applicant(income="60000")
    profile(customer, income_monthly="5000", spend_monthly="2000")
    credit_score(customer, pd=0.02)
    existing_loan(customer, balance="60000")

    app = submit(customer, loan_product(), requested_amount=Decimal("30000"))

    assert app.state == "declined"
    assert app.reason_codes == ["dsr_above_limit"]
    check = [c for c in app.checks if c["check"] == "affordability"][0]
    # 30,000 over 12 months at 8.5 %: 2,616.59; the existing 60,000 over 60 months at 5 %: 1,132.27.
    assert check["facts"]["new_payment"] == "2616.59"
    assert check["facts"]["existing_payments"] == "1132.27"
    assert check["en"] == ("Repayments would take 75 % of your monthly income (CNY 2,616.59 new and CNY 1,132.27 "
                           "existing a month, against CNY 5,000.00 of monthly income), above our limit of 55 %.")


def test_unverified_identity_and_income_below_minimum_are_each_cited():
    customer = applicant(income="30000", kyc_status=KycStatus.PENDING)
    credit_score(customer, pd=0.02)

    app = submit(customer, card_product())

    assert app.state == "declined"
    assert app.reason_codes == ["kyc_not_verified", "income_below_minimum"]
    income = [c for c in app.checks if c["code"] == "income_below_minimum"][0]
    assert income["en"] == ("This product needs a declared income of at least CNY 36,000.00 a year; yours is "
                            "CNY 30,000.00.")


def test_a_decision_that_fails_mid_way_leaves_the_application_submitted_with_nothing_written(monkeypatch):
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.02)
    loan = loan_product()
    scores_before = CreditScore.objects.count()

    def broken(**kwargs):
        raise RuntimeError("affordability service down")

    monkeypatch.setattr(checks, "check_affordability", broken)
    second = services.submit_application(customer=customer, product=loan, source="api", actor_label="partner:X",
                                         requested_amount=Decimal("5000")).application

    second.refresh_from_db()
    assert second.state == "submitted"
    assert second.checks == [] and second.reason_codes == [] and second.needs == []
    # The "checking" event was written before the failure, and rolled back with everything else.
    assert trail(second) == [("", "submitted", "partner:X")]
    assert second.decision_attempts == 1
    assert second.last_error == "RuntimeError: affordability service down"
    assert CreditScore.objects.count() == scores_before

    monkeypatch.undo()
    decided = services.decide_application(application_id=second.pk)
    assert decided.state == "approved" and decided.last_error == "" and decided.decision_attempts == 2


def test_the_decision_is_not_run_twice():
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.02)
    app = submit(customer, card_product())
    events = ApplicationEvent.objects.filter(application=app).count()

    again = services.decide_application(application_id=app.pk)

    assert again.state == "approved"
    assert ApplicationEvent.objects.filter(application=app).count() == events


def test_activating_a_card_opens_an_account_with_the_decided_limit_and_records_a_purchase():
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.02)
    card = travel_card()
    app = submit(customer, card, requested_amount=Decimal("20000"))

    app = services.activate_application(application=app, actor_label="customer", actor_user=customer.user)

    assert app.state == "activated"
    account = Account.objects.get(pk=app.account_id)
    assert (account.type, account.credit_limit, account.balance, account.product_id) == (
        AccountType.CREDIT_CARD, Decimal("20000.00"), Decimal("0.00"), card.pk)
    assert Holding.objects.get(pk=app.holding_id).amount == Decimal("20000.00")
    assert ProductInteraction.objects.filter(customer=customer, product=card, event="purchase").count() == 1
    with pytest.raises(services.IllegalTransition) as twice:
        services.activate_application(application=app, actor_label="customer")
    assert twice.value.code == "illegal_transition"


def test_activating_a_loan_pays_it_out_to_the_current_account():
    customer = applicant(balance="1000")
    profile(customer)
    credit_score(customer, pd=0.02)
    app = submit(customer, loan_product(), requested_amount=Decimal("8000"))
    assert app.state == "approved"

    services.activate_application(application=app, actor_label="customer")

    current = Account.objects.get(customer=customer, type=AccountType.CURRENT)
    assert current.balance == Decimal("9000.00")
    payout = Transaction.objects.get(account=current)
    assert payout.amount == Decimal("8000.00") and payout.description == "Loan payout LN-PERSONAL-T"
    assert Account.objects.get(customer=customer, type=AccountType.LOAN).balance == Decimal("8000.00")


def test_illegal_moves_and_duplicates_are_refused_and_change_nothing():
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.31)
    card = card_product()
    declined = submit(customer, card)
    assert declined.state == "declined"
    with pytest.raises(services.IllegalTransition):
        services.withdraw_application(application=declined, actor_label="customer")
    with pytest.raises(services.IllegalTransition):
        services.activate_application(application=declined, actor_label="customer")
    declined.refresh_from_db()
    assert declined.state == "declined" and declined.events.count() == 3

    loan = loan_product()
    with pytest.raises(services.ApplicationError) as missing:
        services.submit_application(customer=customer, product=loan, source="api", actor_label="customer")
    assert missing.value.code == "amount_required"
    with pytest.raises(services.ApplicationError) as small:
        services.submit_application(customer=customer, product=loan, source="api", actor_label="customer",
                                    requested_amount=Decimal("10"))
    assert small.value.code == "amount_below_minimum"
    assert Application.objects.filter(product=loan).count() == 0


def test_an_open_application_blocks_a_second_and_withdrawing_frees_it(settings):
    settings.APPLICATION_DECIDE_SYNC = False
    customer = applicant()
    card = card_product()
    first = submit(customer, card)
    assert first.state == "submitted"
    with pytest.raises(services.IllegalTransition) as open_one:
        submit(customer, card)
    assert open_one.value.code == "application_in_progress"

    services.withdraw_application(application=first, actor_label="customer")

    assert submit(customer, card).state == "submitted"
    assert Application.objects.filter(customer=customer).count() == 2


def test_offers_not_taken_up_expire():
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.02)
    app = submit(customer, card_product())

    assert services.expire_offers(now=timezone.now() + timedelta(days=29)) == 0
    assert services.expire_offers(now=timezone.now() + timedelta(days=31)) == 1

    app.refresh_from_db()
    assert app.state == "expired" and trail(app)[-1] == ("approved", "expired", "system")


def test_the_same_idempotency_key_replays_and_another_body_conflicts():
    customer = applicant()
    card = card_product()
    kwargs = dict(customer=customer, product=card, source="api", actor_label="partner:P", caller="partner:1",
                  idempotency_key="k-1")

    first = services.submit_application(**kwargs)
    again = services.submit_application(**kwargs)

    assert first.created and not again.created and again.application.pk == first.application.pk
    with pytest.raises(services.IdempotencyConflict):
        services.submit_application(**{**kwargs, "reason_text": "different"})
    assert Application.objects.count() == 1
