"""The investment advisor end to end on the demo catalogue and a real Postgres: assessment, allocation, report,
reproduction, rebalancing, the periodic review and goal planning."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from advisor.investing import questionnaire, services
from advisor.investing.asset_classes import ASSET_CLASSES, EQUITIES, policy_for
from advisor.investing.models import (
    AlertKind,
    GoalPlan,
    InvestmentAdvice,
    PortfolioAlert,
    PortfolioValuation,
    RiskAssessment,
)
from bank.models import AuditEvent
from customers.demo.generator import install_catalogue
from customers.models import Customer, Holding
from customers.tests.factories import AccountFactory, CustomerFactory
from products.models import Product

pytestmark = pytest.mark.django_db
TODAY = date(2026, 12, 1)


def answers(*, boldest: bool) -> dict[str, str]:
    pick = max if boldest else min
    chosen = {q.key: pick(q.options, key=lambda o: o.points).value for q in questionnaire.QUESTIONS}
    chosen["sustainability"] = "none" if "none" in {o.value for o in questionnaire.question_by_key(
        "sustainability").options} else chosen["sustainability"]
    return chosen


@pytest.fixture
def catalogue() -> dict[str, int]:
    return install_catalogue()


def investor(*, boldest: bool, cash: str = "2000000.00") -> Customer:
    customer = CustomerFactory(risk_tolerance=1)
    AccountFactory(customer=customer, balance=Decimal(cash))
    services.assess_risk(customer=customer, answers=answers(boldest=boldest), channel="portal", today=TODAY)
    customer.refresh_from_db()
    return customer


def test_an_assessment_keeps_the_answers_sets_the_tolerance_and_is_audited():
    customer = CustomerFactory(risk_tolerance=1)
    assessment = services.assess_risk(customer=customer, answers=answers(boldest=True), channel="portal",
                                      today=TODAY)
    customer.refresh_from_db()
    assert assessment.level == 5 and customer.risk_tolerance == 5 and customer.risk_assessed_at is not None
    assert assessment.answers == answers(boldest=True)
    assert assessment.reassess_by == TODAY + timedelta(days=365) and assessment.flags == []
    assert AuditEvent.objects.filter(action="risk_assessed", customer_ref=str(customer.public_id)).count() == 1


def test_incomplete_answers_are_refused_and_change_nothing():
    customer = CustomerFactory(risk_tolerance=2)
    partial = answers(boldest=True)
    del partial["horizon"]
    partial["objective"] = "to the moon"
    with pytest.raises(questionnaire.QuestionnaireError) as refused:
        services.assess_risk(customer=customer, answers=partial, channel="api")
    assert set(refused.value.errors) == {"horizon", "objective"}
    customer.refresh_from_db()
    assert customer.risk_tolerance == 2 and not RiskAssessment.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("boldest", [False, True])
def test_allocation_respects_the_level_maps_onto_suitable_products_and_reproduces(catalogue, boldest):
    customer = investor(boldest=boldest)
    advice = services.advise_allocation(customer=customer, amount=Decimal("500000"), channel="portal", today=TODAY)
    policy = policy_for(customer.risk_tolerance)
    weights = advice.target_weights
    assert abs(sum(weights.values()) - 1) < 1e-6
    for asset_class in ASSET_CLASSES:
        assert policy.min_weights[asset_class] - 1e-6 <= weights[asset_class] <= policy.max_weights[asset_class] + 1e-6
    assert advice.volatility <= policy.max_volatility + 1e-6
    # Never above the customer's level, every product one they may buy, amounts to the cent.
    codes = [p["code"] for p in advice.products]
    levels = dict(Product.objects.filter(code__in=codes).values_list("code", "risk_level"))
    assert codes and max(levels.values()) <= customer.risk_tolerance
    assert sum(Decimal(p["amount"]) for p in advice.products) == Decimal("500000.00")
    for heading_en, heading_zh in (("1. Your risk profile", "一、您的风险画像"), ("4. Risks", "四、风险提示"),
                                   ("5. Costs", "五、费用")):
        assert heading_en in advice.report_en and heading_zh in advice.report_zh
    assert services.reproduce_advice(advice)
    advice.report_en += " (edited)"
    assert not services.reproduce_advice(advice)


def test_a_bolder_investor_gets_more_equity_and_more_volatility(catalogue):
    cautious = services.advise_allocation(customer=investor(boldest=False), amount=Decimal("300000"),
                                          channel="api", today=TODAY)
    bold = services.advise_allocation(customer=investor(boldest=True), amount=Decimal("300000"), channel="api",
                                      today=TODAY)
    equity = lambda a: sum(a.target_weights[c] for c in EQUITIES)  # noqa: E731
    assert cautious.assessment.level == 1 and bold.assessment.level == 5
    assert equity(cautious) == 0 and equity(bold) > 0.5
    assert bold.volatility > cautious.volatility and bold.expected_return > cautious.expected_return


def test_risk_parity_is_offered_too(catalogue):
    advice = services.advise_allocation(customer=investor(boldest=True), amount=Decimal("300000"),
                                        method="risk_parity", channel="api", today=TODAY)
    assert advice.method == "risk_parity" and services.reproduce_advice(advice)
    assert "risk parity" in advice.report_en and "风险平价" in advice.report_zh


def test_no_advice_without_a_current_profile_and_nothing_is_written(catalogue):
    customer = CustomerFactory()
    with pytest.raises(services.AdviceUnavailable) as missing:
        services.advise_allocation(customer=customer, amount=Decimal("100000"), channel="api", today=TODAY)
    assert missing.value.code == "risk_profile_missing"
    services.assess_risk(customer=customer, answers=answers(boldest=False), channel="api", today=TODAY)
    with pytest.raises(services.AdviceUnavailable) as expired:
        services.advise_allocation(customer=customer, amount=Decimal("100000"), channel="api",
                                   today=TODAY + timedelta(days=400))
    assert expired.value.code == "risk_profile_expired"
    with pytest.raises(ValueError, match="between"):
        services.advise_allocation(customer=customer, amount=Decimal("10"), channel="api", today=TODAY)
    assert not InvestmentAdvice.objects.exists()


def test_rebalancing_moves_toward_target_within_the_cap_and_never_sells_locked_products(catalogue):
    customer = investor(boldest=True)
    target = services.advise_allocation(customer=customer, amount=Decimal("200000"), channel="api", today=TODAY)
    locked = Holding.objects.create(customer=customer, product_id=catalogue["DEP-36M"], amount=Decimal("50000"),
                                    opened_on=TODAY - timedelta(days=30), maturity_date=TODAY + timedelta(days=1000))
    Holding.objects.create(customer=customer, product_id=catalogue["FND-MMF-01"], amount=Decimal("150000"),
                           opened_on=TODAY - timedelta(days=30))
    advice = services.advise_rebalance(customer=customer, channel="api", today=TODAY)
    assert advice.kind == "rebalance" and advice.inputs["target_advice"] == str(target.public_id)
    assert advice.summary["turnover"] <= services.TURNOVER_CAP + 1e-9
    assert advice.summary["drift_after"] < advice.summary["drift_before"]
    sells = {t["key"] for t in advice.trades if t["side"] == "sell"}
    buys = sum(t["amount"] for t in advice.trades if t["side"] == "buy")
    assert locked.product.code not in sells and "FND-MMF-01" in sells
    assert buys == pytest.approx(sum(t["amount"] for t in advice.trades if t["side"] == "sell"), abs=0.05)
    assert all(t["amount"] >= services.MIN_TRADE for t in advice.trades)
    assert services.reproduce_advice(advice)


def test_the_review_raises_and_resolves_alerts_and_is_safe_to_rerun(catalogue):
    customer = investor(boldest=True)
    services.advise_allocation(customer=customer, amount=Decimal("200000"), channel="api", today=TODAY)
    holding = Holding.objects.create(customer=customer, product_id=catalogue["FND-MMF-01"],
                                     amount=Decimal("150000"), opened_on=TODAY - timedelta(days=30))
    Holding.objects.create(customer=customer, product_id=catalogue["FND-IDX-CSI300"], amount=Decimal("10000"),
                           opened_on=TODAY - timedelta(days=30))
    PortfolioValuation.objects.create(customer=customer, as_of=TODAY - timedelta(days=60), value=Decimal("400000"),
                                      weights={})
    for _ in range(2):
        kinds = services.review_portfolio(customer=customer, today=TODAY)
    assert set(kinds) == {AlertKind.DRIFT, AlertKind.DRAWDOWN, AlertKind.CONCENTRATION}
    assert PortfolioAlert.objects.filter(customer=customer, resolved_at__isnull=True).count() == 3
    assert PortfolioValuation.objects.filter(customer=customer, as_of=TODAY).count() == 1
    drawdown = PortfolioAlert.objects.get(customer=customer, kind=AlertKind.DRAWDOWN)
    assert drawdown.metrics["drawdown"] == pytest.approx(0.6) and "60.0%" in drawdown.message_en

    PortfolioValuation.objects.filter(customer=customer, as_of__lt=TODAY).delete()
    holding.delete()
    assert set(services.review_portfolio(customer=customer, today=TODAY)) == {AlertKind.DRIFT}
    assert PortfolioAlert.objects.filter(customer=customer, resolved_at__isnull=False).count() == 2


def _review_state(customers: list[Customer]) -> tuple[list[tuple], list[tuple]]:
    """Every alert (open or resolved, without its timestamps) and valuation of `customers`, comparable."""
    alerts = sorted(((a.customer_id, a.kind, a.severity, a.message_en, a.message_zh, a.metrics, a.resolved_at is None)
                     for a in PortfolioAlert.objects.filter(customer__in=customers)), key=str)
    valuations = sorted(PortfolioValuation.objects.filter(customer__in=customers).values_list(
        "customer_id", "as_of", "value", "weights"), key=str)
    return alerts, valuations


def _portfolios(catalogue) -> list[Customer]:
    """Six investors whose portfolios call for different alerts, or none."""
    drifted = investor(boldest=True)  # drift, drawdown, concentration
    services.advise_allocation(customer=drifted, amount=Decimal("200000"), channel="api", today=TODAY)
    Holding.objects.create(customer=drifted, product_id=catalogue["FND-MMF-01"], amount=Decimal("150000"),
                           opened_on=TODAY - timedelta(days=30))
    Holding.objects.create(customer=drifted, product_id=catalogue["FND-IDX-CSI300"], amount=Decimal("10000"),
                           opened_on=TODAY - timedelta(days=30))
    PortfolioValuation.objects.create(customer=drifted, as_of=TODAY - timedelta(days=60), value=Decimal("400000"),
                                      weights={})
    cautious = investor(boldest=False)  # one fund, no target: nothing to say
    Holding.objects.create(customer=cautious, product_id=catalogue["FND-MMF-01"], amount=Decimal("5000"),
                           opened_on=TODAY - timedelta(days=30))
    expired = investor(boldest=True)  # an expired risk profile, an old peak beyond a year
    RiskAssessment.objects.filter(customer=expired).update(reassess_by=TODAY - timedelta(days=1))
    Holding.objects.create(customer=expired, product_id=catalogue["FND-IDX-CSI300"], amount=Decimal("1000"),
                           opened_on=TODAY - timedelta(days=400))
    PortfolioValuation.objects.create(customer=expired, as_of=TODAY - timedelta(days=400), value=Decimal("90000"),
                                      weights={})
    assessed_only = investor(boldest=False)  # assessed, holds nothing
    today_again = investor(boldest=True)  # reviewed earlier today at another value
    Holding.objects.create(customer=today_again, product_id=catalogue["FND-IDX-CSI300"], amount=Decimal("3000"),
                           opened_on=TODAY - timedelta(days=30))
    PortfolioValuation.objects.create(customer=today_again, as_of=TODAY, value=Decimal("99999"), weights={})
    unassessed = CustomerFactory(risk_tolerance=2)  # the customer's own tolerance decides
    Holding.objects.create(customer=unassessed, product_id=catalogue["FND-MMF-01"], amount=Decimal("8000"),
                           opened_on=TODAY - timedelta(days=30))
    Holding.objects.create(customer=unassessed, product_id=catalogue["FND-IDX-CSI300"], amount=Decimal("2000"),
                           opened_on=TODAY - timedelta(days=30))
    return [drifted, cautious, expired, assessed_only, today_again, unassessed]


def test_reviewing_a_group_at_once_gives_what_reviewing_each_alone_gives(catalogue):
    from django.db import transaction

    customers = _portfolios(catalogue)
    ids = [c.pk for c in customers]
    for _ in range(2):  # a first review opens alerts; the second finds them open and updates them in place
        with transaction.atomic():
            alone = {c.pk: set(services.review_portfolio(customer=c, today=TODAY)) for c in customers}
            expected = _review_state(customers)
            transaction.set_rollback(True)

        grouped = services.review_portfolios([*reversed(ids), ids[0], 10**9], today=TODAY)

        assert {pk: set(kinds) for pk, kinds in grouped.items()} == alone  # an unknown id is left out
        assert _review_state(customers) == expected
    assert alone[customers[0].pk] == {AlertKind.DRIFT, AlertKind.DRAWDOWN, AlertKind.CONCENTRATION}
    assert alone[customers[2].pk] == {AlertKind.REASSESSMENT}
    assert alone[customers[5].pk] == {AlertKind.CONCENTRATION}
    assert not alone[customers[1].pk] and not alone[customers[3].pk]
    assert PortfolioValuation.objects.get(customer=customers[4], as_of=TODAY).value == Decimal("3000")

    # A condition gone: the group's review resolves just that alert.
    Holding.objects.filter(customer=customers[5], product_id=catalogue["FND-IDX-CSI300"]).delete()
    assert services.review_portfolios(ids, today=TODAY)[customers[5].pk] == []
    assert PortfolioAlert.objects.get(customer=customers[5]).resolved_at is not None
    assert PortfolioAlert.objects.filter(customer=customers[0], resolved_at__isnull=True).count() == 3


def test_a_group_review_costs_the_same_round_trips_for_two_customers_as_for_six(catalogue):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    customers = _portfolios(catalogue)
    services.review_portfolios([c.pk for c in customers], today=TODAY)  # alerts now open: updates, not inserts
    counts = []
    for group in (customers[:2], customers):
        with CaptureQueriesContext(connection) as queries:
            services.review_portfolios([c.pk for c in group], today=TODAY)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 14


def test_goal_projection_is_reproducible_and_offers_the_contribution_for_80_percent(catalogue):
    customer = investor(boldest=True)
    services.advise_allocation(customer=customer, amount=Decimal("200000"), channel="api", today=TODAY)
    kwargs = dict(customer=customer, name="Flat deposit", target_amount=Decimal("600000"),
                  target_date=date(2036, 12, 1), current_savings=Decimal("100000"),
                  monthly_contribution=Decimal("1500"), today=TODAY)
    first, second = services.plan_goal(**kwargs), services.plan_goal(**kwargs)
    assert first.probability == second.probability and first.projection == second.projection
    assert 0 < first.probability < 0.8 and first.required_contribution > Decimal("1500")
    assert first.advice is not None and first.seed == second.seed
    with pytest.raises(ValueError, match="month"):
        services.plan_goal(**{**kwargs, "target_date": TODAY})
    assert GoalPlan.objects.count() == 2


def _price_rows(months: int, *, seed: int = 3) -> list[dict[str, str]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, levels = [], {"dom_equity": 100.0, "gov_bond": 100.0}
    for m in range(months):
        day = date(2000 + m // 12, m % 12 + 1, 28)
        levels["dom_equity"] *= 1 + rng.normal(0.006, 0.06)
        levels["gov_bond"] *= 1 + rng.normal(0.002, 0.01)
        rows += [{"date": day.isoformat(), "asset_class": k, "level": f"{v:.4f}"} for k, v in levels.items()]
    return rows


def test_assumptions_re_estimated_from_prices_are_stored_as_a_new_valid_set_and_used(catalogue, tmp_path):
    import csv

    from django.core.management import call_command

    from advisor.investing.models import CapitalMarketAssumptions

    path = tmp_path / "prices.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["date", "asset_class", "level"])
        writer.writeheader()
        writer.writerows(_price_rows(240))
    call_command("estimate_assumptions", str(path), "--effective", "2026-06-01", "--name", "Re-estimated 2026")
    cma = services.active_assumptions(on=TODAY)
    assert cma.name == "Re-estimated 2026" and cma.source == "estimated" and cma.estimation["observations"] == 239
    vols = {row.asset_class: float(row.volatility) for row in cma.classes.all()}
    assert 17 < vols["dom_equity"] < 25 and vols["cash"] == 0.5  # 6 % a month ≈ 21 % a year; cash keeps the prior
    advice = services.advise_allocation(customer=investor(boldest=True), amount=Decimal("100000"), channel="api",
                                        today=TODAY)
    assert advice.assumptions == cma and "Re-estimated 2026" in advice.report_en

    before = CapitalMarketAssumptions.objects.count()
    with pytest.raises(ValueError, match="Line 2"):
        services.estimate_assumptions_from_prices(rows=[{"date": "yesterday", "asset_class": "gold", "level": "1"}],
                                                  name="bad", effective_date=TODAY)
    assert CapitalMarketAssumptions.objects.count() == before
