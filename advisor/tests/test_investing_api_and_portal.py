"""The investment advisor's API and portal pages: who may do what, bad input refused with nothing written, and
the pages a customer clicks through."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from advisor.investing import questionnaire, services
from advisor.investing.asset_classes import ASSET_CLASSES
from advisor.investing.models import GoalPlan, InvestmentAdvice, RiskAssessment
from advisor.tests.test_investing_services import answers
from bank.roles import RELATIONSHIP_MANAGER
from customers.demo.generator import install_catalogue
from customers.models import Holding
from customers.partners import issue_partner_token
from customers.tests.factories import AccountFactory, CustomerFactory, PartnerConsentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    install_catalogue()
    person = CustomerFactory(risk_tolerance=1)
    AccountFactory(customer=person, balance=Decimal("800000"))
    return person


def _as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _partner(customer, *scopes: str, consent: bool = True) -> APIClient:
    consent_row = PartnerConsentFactory(customer=customer)
    if not consent:
        consent_row.delete()
    _, secret = issue_partner_token(partner=consent_row.partner, name="t", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _url(name: str, customer) -> str:
    return reverse(name, kwargs={"public_id": customer.public_id})


def test_the_questionnaire_is_served_in_the_requested_language(customer):
    client = _as_user(customer.user)
    zh = client.get(reverse("api-risk-questionnaire"), HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    en = client.get(reverse("api-risk-questionnaire"), HTTP_ACCEPT_LANGUAGE="en").json()
    assert zh["version"] == questionnaire.VERSION and len(zh["questions"]) == len(questionnaire.QUESTIONS)
    assert zh["questions"][0]["text"] == questionnaire.QUESTIONS[0].text_zh
    assert en["questions"][0]["text"] == questionnaire.QUESTIONS[0].text_en


def test_customer_assesses_gets_an_allocation_a_goal_and_a_rebalance_through_the_api(customer):
    client = _as_user(customer.user)
    assessed = client.post(_url("api-customer-risk-profile", customer), {"answers": answers(boldest=True)},
                           format="json")
    assert assessed.status_code == 201 and assessed.json()["risk_level"] == 5
    advice = client.post(_url("api-customer-allocation", customer), {"amount": "250000"}, format="json")
    assert advice.status_code == 201, advice.json()
    body = advice.json()
    assert body["kind"] == "allocation" and body["risk_level"] == 5 and body["report"].startswith("1. Your risk")
    assert sum(Decimal(p["amount"]) for p in body["products"]) == Decimal("250000.00")
    goal = client.post(_url("api-customer-goal-projection", customer), {
        "name": "School fees", "target_amount": "300000", "target_date": "2036-09-01",
        "current_savings": "50000", "monthly_contribution": "1000"}, format="json")
    assert goal.status_code == 201 and 0 <= goal.json()["probability"] <= 1
    assert goal.json()["advice"] == body["id"] and len(goal.json()["projection"]["percentiles"]) >= 10
    Holding.objects.create(customer=customer, product=InvestmentAdvice.objects.get().products and
                           _product("FND-MMF-01"), amount=Decimal("250000"), opened_on="2026-01-05")
    rebalance = client.post(_url("api-customer-rebalancing", customer), format="json")
    assert rebalance.status_code == 201 and rebalance.json()["kind"] == "rebalance"
    assert rebalance.json()["trades"] and rebalance.json()["summary"]["turnover"] <= 0.25 + 1e-9
    listed = client.get(_url("api-customer-advice", customer)).json()
    assert [a["kind"] for a in listed] == ["rebalance", "allocation"]


def _product(code: str):
    from products.models import Product

    return Product.objects.get(code=code)


def test_bad_answers_are_a_400_naming_each_question_and_write_nothing(customer):
    partial = answers(boldest=True)
    del partial["horizon"]
    partial["objective"] = "riches"
    response = _as_user(customer.user).post(_url("api-customer-risk-profile", customer), {"answers": partial},
                                            format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["answers"]) == {"horizon", "objective"}
    customer.refresh_from_db()
    assert customer.risk_tolerance == 1 and not RiskAssessment.objects.exists()


@pytest.mark.parametrize("payload", [{"amount": "10"}, {"amount": "abc"}, {"amount": "5000", "method": "astrology"}])
def test_bad_allocation_requests_are_a_400_and_write_nothing(customer, payload):
    services.assess_risk(customer=customer, answers=answers(boldest=False), channel="api")
    response = _as_user(customer.user).post(_url("api-customer-allocation", customer), payload, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_parameter"
    assert not InvestmentAdvice.objects.exists()


def test_advice_without_a_risk_profile_is_a_409_with_a_code(customer):
    client = _as_user(customer.user)
    assert client.get(_url("api-customer-risk-profile", customer)).json()["error"]["code"] == "risk_profile_missing"
    response = client.post(_url("api-customer-allocation", customer), {"amount": "50000"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "risk_profile_missing"
    response = client.post(_url("api-customer-rebalancing", customer), format="json")
    assert response.status_code == 409
    assert not InvestmentAdvice.objects.exists()


def test_partners_need_the_scope_and_consent_and_staff_cannot_act_for_the_customer(customer):
    body = {"answers": answers(boldest=False)}
    no_scope = _partner(customer, "investments:read")
    assert no_scope.post(_url("api-customer-risk-profile", customer), body, format="json").status_code == 403
    no_consent = _partner(customer, "investments:write", consent=False)
    assert no_consent.post(_url("api-customer-risk-profile", customer), body, format="json").status_code == 404
    rm = UserFactory(is_staff=True)
    rm.groups.add(Group.objects.get(name=RELATIONSHIP_MANAGER))
    customer.relationship_manager = rm
    customer.save(update_fields=["relationship_manager"])
    assert _as_user(rm).post(_url("api-customer-risk-profile", customer), body, format="json").status_code == 403
    assert not RiskAssessment.objects.exists()

    allowed = _partner(customer, "investments:write", "investments:read")
    assert allowed.post(_url("api-customer-risk-profile", customer), body, format="json").status_code == 201
    assert allowed.get(_url("api-customer-risk-profile", customer)).json()["risk_level"] == 1
    assert _as_user(rm).get(_url("api-customer-risk-profile", customer)).status_code == 200
    stranger = CustomerFactory()
    assert _as_user(stranger.user).get(_url("api-customer-risk-profile", customer)).status_code == 404


def test_the_portal_walks_a_customer_from_questionnaire_to_report_and_goal(client, customer):
    client.force_login(customer.user)
    page = client.get(reverse("portal:invest"))
    assert page.status_code == 200 and "Take the questionnaire" in page.content.decode()
    form = client.get(reverse("portal:invest_questionnaire"))
    assert all(q.key in form.content.decode() for q in questionnaire.QUESTIONS)
    incomplete = client.post(reverse("portal:invest_questionnaire"), {"horizon": "over_10y"})
    assert incomplete.status_code == 400 and not RiskAssessment.objects.exists()
    done = client.post(reverse("portal:invest_questionnaire"), answers(boldest=True))
    assert done.status_code == 302 and RiskAssessment.objects.get().level == 5
    advised = client.post(reverse("portal:invest_allocation"), {"amount": "300000", "method": "mean_variance"})
    advice = InvestmentAdvice.objects.get()
    assert advised.status_code == 302 and advised["Location"] == reverse("portal:invest_report",
                                                                          args=[advice.public_id])
    report = client.get(advised["Location"]).content.decode()
    assert "Suitability report" in report and "<svg" in report and advice.products[0]["code"] in report
    planned = client.post(reverse("portal:invest_goals"), {
        "name": "Retire early", "target_amount": "2000000", "target_date": "2046-01-01", "current_savings": "100000",
        "monthly_contribution": "3000"})
    assert planned.status_code == 302
    page = client.get(planned["Location"]).content.decode()
    assert "Retire early" in page and "<polygon" in page and GoalPlan.objects.count() == 1
    past = client.post(reverse("portal:invest_goals"), {"name": "x", "target_amount": "100",
                                                        "target_date": "2020-01-01", "current_savings": "0",
                                                        "monthly_contribution": "0"})
    assert past.status_code == 400 and GoalPlan.objects.count() == 1


def test_a_customer_cannot_open_another_customers_report(client, customer):
    services.assess_risk(customer=customer, answers=answers(boldest=True), channel="api")
    advice = services.advise_allocation(customer=customer, amount=Decimal("100000"), channel="api")
    other = CustomerFactory()
    client.force_login(other.user)
    assert client.get(reverse("portal:invest_report", args=[advice.public_id])).status_code == 404
    assert client.get(reverse("portal:invest_report", args=["not-a-uuid"])).status_code == 404


def test_the_periodic_review_runs_as_a_job_of_parts_and_is_safe_to_rerun(
        customer, settings, monkeypatch, django_capture_on_commit_callbacks):
    from django.utils.module_loading import import_string

    from advisor.investing.models import PortfolioAlert, PortfolioValuation
    from advisor.tasks import review_portfolios_task
    from bank.models import Job

    settings.NIGHTLY_PART_SIZE = 2
    Holding.objects.create(customer=customer, product=_product("FND-IDX-CSI300"), amount=Decimal("90000"),
                           opened_on="2026-01-05")
    Holding.objects.create(customer=customer, product=_product("FND-MMF-01"), amount=Decimal("10000"),
                           opened_on="2026-01-05")
    assessed = CustomerFactory()
    services.assess_risk(customer=assessed, answers=answers(boldest=False), channel="portal")
    depositor = CustomerFactory()
    Holding.objects.create(customer=depositor, product=_product("DEP-12M"), amount=Decimal("50000"),
                           opened_on="2026-01-05")
    insured = CustomerFactory()  # cover is not an investment: nothing to review
    Holding.objects.create(customer=insured, product=_product("INS-CI-WHOLE"), amount=Decimal("3000"),
                           opened_on="2026-01-05")
    CustomerFactory()  # neither investments nor a risk profile

    def run_review() -> Job:
        queued = []
        monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: queued.append((func, kw)))
        with django_capture_on_commit_callbacks(execute=True):
            assert review_portfolios_task() == 3
        part_task = "advisor.tasks.review_portfolios_part_task"
        assert [(func, kw["size"], "cluster" in kw) for func, kw in queued] == [
            (part_task, 2, False), (part_task, 1, False)]  # the default cluster, as scheduled
        job = Job.objects.filter(kind="Review portfolios").latest("pk")
        assert (job.state, job.done, job.total) == (Job.State.RUNNING, 0, 3)
        for func, kwargs in queued + queued:  # each part delivered twice: the second delivery does nothing
            import_string(func)(**kwargs)
        job.refresh_from_db()
        return job

    for _ in range(2):  # the same day again: a new Job, the valuations replaced and the alerts updated in place
        job = run_review()
        assert (job.state, job.done, job.result) == (
            Job.State.DONE, 3, {"parts": 2, "customers": 3, "open_alerts": 1})
    assert sorted(PortfolioValuation.objects.values_list("customer_id", flat=True)) == [customer.pk, depositor.pk]
    assert list(PortfolioAlert.objects.filter(resolved_at__isnull=True)
                .values_list("customer_id", "kind")) == [(customer.pk, "concentration")]
    assert review_portfolios_task(customer_ids=[customer.pk, insured.pk]) == 1


def test_staff_edit_assumptions_in_the_admin_and_an_invalid_matrix_is_refused(client):
    from advisor.investing.models import CapitalMarketAssumptions

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    seeded = CapitalMarketAssumptions.objects.get()
    page = client.get(reverse("admin:advisor_capitalmarketassumptions_change", args=[seeded.pk]))
    assert page.status_code == 200 and "Correlation matrix" in page.content.decode()
    rows = {f"classes-{i}-{k}": v for i, (c, r, vol) in enumerate(
        [("cash", "1.5", "0.5"), ("gov_bond", "2", "3"), ("corp_bond", "3", "5"), ("dom_equity", "7", "22"),
         ("global_equity", "6", "16"), ("gold", "4", "15")]) for k, v in
        {"asset_class": c, "expected_return": r, "volatility": vol}.items()}
    form = {"name": "Bad", "effective_date": "2026-11-01", "source": "staff", "description": "",
            "classes-TOTAL_FORMS": "6", "classes-INITIAL_FORMS": "0", "classes-MIN_NUM_FORMS": "6",
            "classes-MAX_NUM_FORMS": "6", **rows,
            "correlations": '{"dom_equity": {"global_equity": 0.99, "gold": -0.99}, "global_equity": {"gold": 0.99}}'}
    refused = client.post(reverse("admin:advisor_capitalmarketassumptions_add"), form)
    assert refused.status_code == 200 and "positive semi-definite" in refused.content.decode()
    assert CapitalMarketAssumptions.objects.count() == 1
    missing = client.post(reverse("admin:advisor_capitalmarketassumptions_add"), form | {
        "correlations": '{"dom_equity": {"global_equity": 0.6}}'})
    assert "The correlation of cash and gov_bond is missing" in missing.content.decode()
    form["correlations"] = json.dumps({a: {b: (0.6 if {a, b} == {"dom_equity", "global_equity"} else 0.1)
                                           for b in ASSET_CLASSES if b != a} for a in ASSET_CLASSES})
    form["name"] = "Staff view 2026Q4"
    saved = client.post(reverse("admin:advisor_capitalmarketassumptions_add"), form)
    assert saved.status_code == 302
    assert services.active_assumptions().name == "Staff view 2026Q4"


def test_advice_in_the_admin_shows_the_report_and_that_it_reproduces(client, customer):
    services.assess_risk(customer=customer, answers=answers(boldest=True), channel="api")
    advice = services.advise_allocation(customer=customer, amount=Decimal("100000"), channel="api")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:advisor_investmentadvice_change", args=[advice.pk])).content.decode()
    assert "1. Your risk profile" in page and "一、您的风险画像" in page and 'alt="True"' in page
