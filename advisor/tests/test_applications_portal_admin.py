"""The portal's apply form, list and status page (in English and Chinese), and the back office: the staff queue
with its SLA timer, deciding with a required note by role, and the funnel."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from advisor.applications import services
from advisor.applications.models import Application
from advisor.applications.selectors import funnel
from advisor.tests.applications_factories import applicant, card_product, credit_score, loan_product, profile
from bank.roles import RISK_OFFICER, SUPPORT_AGENT
from customers.models import Customer
from customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sync(settings):
    settings.APPLICATION_DECIDE_SYNC = True
    settings.CHAT_LLM_BACKEND = "none"


def staff(username, role):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_the_customer_applies_from_the_product_page_and_follows_the_status(client):
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.02)
    card = card_product()
    client.force_login(customer.user)

    page = client.get(f"/products/{card.code}/")
    assert f'href="/apply/{card.code}/"' in page.content.decode()
    form = client.get(f"/apply/{card.code}/")
    assert form.status_code == 200
    response = client.post(f"/apply/{card.code}/", {"reason": "I travel a lot and want no foreign-exchange fees",
                                                    "amount": "20000"})

    app = Application.objects.get(customer=customer)
    assert response.status_code == 302 and response["Location"] == f"/applications/{app.public_id}/"
    detail = client.get(response["Location"]).content.decode()
    assert "Approved." in detail and "CNY 20,000.00" in detail
    assert "We understood: no foreign-exchange fees, made for travel" in detail
    assert "Classic Credit Card charges a currency-conversion fee" in detail
    assert "Accept the offer and open it" in detail
    listing = client.get("/applications/").content.decode()
    assert f"/applications/{app.public_id}/" in listing

    client.post(f"/applications/{app.public_id}/activate/")
    app.refresh_from_db()
    assert app.state == "activated" and app.account.credit_limit == Decimal("20000.00")


def test_the_status_page_in_chinese(client):
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.40, points=455)
    app = services.submit_application(customer=customer, product=card_product(), source="product_page",
                                      actor_label="customer").application
    client.force_login(customer.user)

    page = client.get(f"/applications/{app.public_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "您的预估违约概率为40.0 %（信用评分455分）" in page


def test_a_loan_form_requires_the_amount_and_writes_nothing_without_it(client):
    customer = applicant()
    loan = loan_product()
    client.force_login(customer.user)

    response = client.post(f"/apply/{loan.code}/", {"reason": ""})

    assert response.status_code == 200 and Application.objects.count() == 0


def test_another_customers_application_page_is_a_404_and_its_actions_change_nothing(client):
    owner = applicant()
    app = services.submit_application(customer=owner, product=card_product(), source="product_page",
                                      actor_label="customer").application
    state = Application.objects.get(pk=app.pk).state
    client.force_login(applicant().user)

    assert client.get(f"/applications/{app.public_id}/").status_code == 404
    assert client.post(f"/applications/{app.public_id}/withdraw/").status_code == 404
    assert client.get("/applications/not-a-uuid/").status_code == 404
    assert Application.objects.get(pk=app.pk).state == state


def referred_loan():
    customer = applicant(income="120000")
    profile(customer, income_monthly="10000", spend_monthly="4000")
    credit_score(customer, pd=0.12)
    return services.submit_application(customer=customer, product=loan_product(), source="api",
                                       actor_label="customer", requested_amount=Decimal("30000")).application


def test_the_staff_queue_shows_referred_applications_with_the_sla_timer(client):
    app = referred_loan()
    assert app.state == "referred"
    Application.objects.filter(pk=app.pk).update(sla_due_at=timezone.now() - timedelta(hours=3))
    client.force_login(staff("support.wu", SUPPORT_AGENT))

    page = client.get("/admin/advisor/application/").content.decode()

    assert "overdue by 3.0 h" in page
    change = client.get(f"/admin/advisor/application/{app.pk}/change/").content.decode()
    assert "credit_pd_review_band" in change
    assert "Decide this referred application" not in change  # support reads, does not decide
    denied = client.post(f"/admin/advisor/application/{app.pk}/decide/approve/", {"note": "fine"})
    assert denied.status_code == 403
    assert Application.objects.get(pk=app.pk).state == "referred"


def test_a_risk_officer_declines_with_a_note_and_the_customer_reads_it(client):
    app = referred_loan()
    officer = staff("risk.zhao", RISK_OFFICER)
    client.force_login(officer)

    assert "Decide this referred application" in client.get(
        f"/admin/advisor/application/{app.pk}/change/").content.decode()
    client.post(f"/admin/advisor/application/{app.pk}/decide/decline/", {"note": ""})
    assert Application.objects.get(pk=app.pk).state == "referred"  # the note is required
    client.post(f"/admin/advisor/application/{app.pk}/decide/decline/",
                {"note": "Income could not be verified from payslips."})

    app.refresh_from_db()
    assert (app.state, app.decided_by, app.decision_note) == ("declined", officer,
                                                             "Income could not be verified from payslips.")
    customer_page = client.get(f"/applications/{app.public_id}/")  # staff has no portal customer: redirected
    assert customer_page.status_code == 302
    client.force_login(Customer.objects.get(pk=app.customer_id).user)
    assert "Income could not be verified from payslips." in client.get(
        f"/applications/{app.public_id}/").content.decode()


def test_the_funnel_counts_stages_by_type_and_times_steps(client, admin_user):
    referred_loan()
    customer = applicant()
    profile(customer)
    credit_score(customer, pd=0.02)
    approved = services.submit_application(customer=customer, product=card_product(), source="api",
                                           actor_label="customer").application
    services.activate_application(application=approved, actor_label="customer")

    result = funnel(customers=Customer.objects.all(), days=30)

    assert result.counts["all"] == {"applied": 2, "decided": 2, "approved": 1, "activated": 1, "declined": 0,
                                    "referred": 1, "withdrawn": 0, "expired": 0}
    assert result.counts["loan"]["referred"] == 1 and result.counts["credit_card"]["activated"] == 1
    assert [(s.name, s.count) for s in result.steps] == [("decision", 2), ("staff review", 0), ("take-up", 1)]
    client.force_login(admin_user)
    page = client.get("/admin/advisor/application/funnel/").content.decode()
    assert "<svg" in page and "Activated" in page and "50%" in page


def test_the_demo_step_makes_applications_across_outcomes_once():
    from advisor.applications.demo import run_demo_applications

    card_product(code="CC-TRAVEL", tags=["card", "travel", "no-fx-fee"])
    card_product(code="CC-CLASSIC")
    card_product(code="CC-GOLD")
    loan_product(code="LN-PERSONAL-E")
    # In REASONS order: travel card approved, classic declined, gold approved (and taken up), loan referred, and
    # the platinum card is not in this catalogue.
    for pd in (0.02, 0.40, 0.03, 0.12, 0.02):
        customer = applicant()
        profile(customer)
        credit_score(customer, pd=pd)

    summary = run_demo_applications(customers=5)

    states = sorted(Application.objects.values_list("state", flat=True))
    assert states == ["activated", "approved", "declined", "referred"]
    assert summary == "1 activated, 1 approved, 1 declined, 1 referred"
    assert run_demo_applications(customers=5) == "4 applications already there"
