"""The investment advisor's writes: assessing a customer's risk, advising an allocation or a rebalance, planning
a goal and reviewing portfolios. Each is one atomic entry point; the maths lives in the pure modules beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from advisor.investing import goals, questionnaire
from advisor.investing.allocation import ENGINE_VERSION, compute_allocation
from advisor.investing.asset_classes import ASSET_CLASSES, policy_for
from advisor.investing.models import (
    AdviceKind,
    AlertKind,
    AllocationMethod,
    CapitalMarketAssumptions,
    GoalPlan,
    InvestmentAdvice,
    PortfolioAlert,
    PortfolioValuation,
    RiskAssessment,
)
from advisor.investing.rebalancing import Position, plan_rebalance
from advisor.investing.report import render_allocation_report, render_rebalance_report
from advisor.models import BlockReason
from advisor.suitability import CustomerFacts, SuitabilityGate, catalogue_rules
from bank import audit
from customers.models import Customer, Holding
from products.models import Liquidity, Product

MIN_ADVICE_AMOUNT = Decimal("1000")
MAX_ADVICE_AMOUNT = Decimal("1000000000")
# Rebalancing: trades under this are not worth their cost and bother; at most this share of the portfolio changes
# hands in one rebalance; class weights within this of target are left alone.
MIN_TRADE = 500.0
TURNOVER_CAP = 0.25
DRIFT_TOLERANCE = 0.02
# Alerts: drift beyond these (share of the portfolio away from target) is a warning / urgent.
DRIFT_WARNING, DRIFT_URGENT = 0.05, 0.10
GOAL_PATHS = 5000
# The gate's rules that do not apply to an allocation: topping up a product already held is fine, and the amount
# rule is checked against the amount being invested, not the current account balances.
_NOT_APPLICABLE = {BlockReason.ALREADY_HELD.value, BlockReason.AMOUNT_OUT_OF_REACH.value}


class AdviceUnavailable(Exception):
    """Advice cannot be given yet; `code` says why (the API's error code, the portal's message)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


# ---- risk profile ---------------------------------------------------------------------------------------------

@transaction.atomic
def assess_risk(
    *, customer: Customer, answers: Mapping[str, str], channel: str, by: Any = None, today: date | None = None
) -> RiskAssessment:
    """Score a completed questionnaire, keep the answers as evidence and set the customer's risk tolerance.

    Raises questionnaire.QuestionnaireError (with `.errors` per question) for missing or unknown answers; then
    nothing is written.
    """
    today = today or timezone.localdate()
    profile = questionnaire.score_answers(answers, today=today)
    assessment = RiskAssessment.objects.create(
        customer=customer, questionnaire_version=profile.version, answers=dict(profile.answers),
        level=profile.level, capacity_level=profile.capacity_level, willingness_level=profile.willingness_level,
        dimension_scores=dict(profile.scores), horizon_years=profile.horizon_years,
        sustainability=profile.sustainability or "", channel=channel,
        flags=[{"code": f.code, "en": f.message_en, "zh": f.message_zh} for f in profile.flags],
        assessed_by=by if by is not None and getattr(by, "is_staff", False) else None,
        reassess_by=profile.reassess_by,
    )
    Customer.objects.filter(pk=customer.pk).update(risk_tolerance=profile.level, risk_assessed_at=timezone.now())
    customer.risk_tolerance = profile.level
    audit.record(action="risk_assessed", actor=by, channel=channel, subject=f"assessment {assessment.public_id}",
                 customer_ref=str(customer.public_id),
                 detail={"level": profile.level, "flags": [f.code for f in profile.flags]})
    # The new level changes what counts as concentrated or too deep a fall: refresh the alerts now, not tomorrow.
    review_portfolio(customer=customer, today=today)
    return assessment


def latest_assessment(*, customer: Customer) -> RiskAssessment | None:
    return RiskAssessment.objects.filter(customer=customer).order_by("-assessed_at", "-id").first()


def current_assessment(*, customer: Customer, today: date | None = None) -> RiskAssessment:
    """The assessment advice may rely on; raises AdviceUnavailable when there is none or it has expired."""
    today = today or timezone.localdate()
    assessment = latest_assessment(customer=customer)
    if assessment is None:
        raise AdviceUnavailable("Complete the risk questionnaire first.", code="risk_profile_missing")
    if assessment.reassess_by < today:
        raise AdviceUnavailable(f"The risk profile expired on {assessment.reassess_by}; complete the "
                                "questionnaire again.", code="risk_profile_expired")
    return assessment


# ---- assumptions ----------------------------------------------------------------------------------------------

def active_assumptions(*, on: date | None = None) -> CapitalMarketAssumptions:
    on = on or timezone.localdate()
    cma = (CapitalMarketAssumptions.objects.filter(effective_date__lte=on).prefetch_related("classes")
           .order_by("-effective_date", "-id").first())
    if cma is None:
        raise AdviceUnavailable("No capital-market assumptions are in force.", code="assumptions_missing")
    return cma


def assumptions_snapshot(cma: CapitalMarketAssumptions) -> dict[str, Any]:
    """The assumptions as plain numbers (decimals a year), as the maths and the stored inputs use them."""
    rows = {row.asset_class: row for row in cma.classes.all()}
    missing = [c for c in ASSET_CLASSES if c not in rows]
    if missing:
        raise AdviceUnavailable(f"The assumptions lack {', '.join(missing)}.", code="assumptions_incomplete")
    return {
        "id": cma.pk, "name": cma.name, "effective_date": cma.effective_date.isoformat(),
        "expected_returns": {c: float(rows[c].expected_return) / 100 for c in ASSET_CLASSES},
        "volatilities": {c: float(rows[c].volatility) / 100 for c in ASSET_CLASSES},
        "correlations": {a: {b: cma.correlation(a, b) for b in ASSET_CLASSES} for a in ASSET_CLASSES},
    }


# ---- allocation -----------------------------------------------------------------------------------------------

def _product_facts(product: Product) -> dict[str, Any]:
    return {
        "id": product.pk, "code": product.code, "name_en": product.name_en, "name_zh": product.name_zh,
        "asset_mix": product.asset_mix, "risk_level": product.risk_level,
        "return_min": float(product.expected_return_min) if product.expected_return_min is not None else None,
        "return_max": float(product.expected_return_max) if product.expected_return_max is not None else None,
        "management_fee_pct": float(product.management_fee_pct),
        "subscription_fee_pct": float(product.subscription_fee_pct),
        "min_amount": float(product.min_amount), "liquidity": product.liquidity, "term_months": product.term_months,
        "esg": bool({"esg", "green"} & set(product.tags)),
    }


def suitable_investments(*, customer: Customer, today: date | None = None) -> list[Product]:
    """Investment products (those with an asset mix) the suitability gate lets this customer buy."""
    rules = catalogue_rules()
    gate = SuitabilityGate(CustomerFacts.of(customer, today=today), rules)
    products = Product.objects.filter(is_active=True).exclude(asset_mix={}).order_by("code")
    allowed = []
    for product in products:
        i = rules.index.get(product.pk)
        if i is not None and not (set(gate.reasons(i)) - _NOT_APPLICABLE):
            allowed.append(product)
    return allowed


def allocation_inputs(
    *, customer: Customer, amount: Decimal, method: str, today: date | None = None
) -> tuple[dict[str, Any], RiskAssessment, CapitalMarketAssumptions]:
    today = today or timezone.localdate()
    if method not in AllocationMethod.values:
        raise ValueError(f"Method must be one of {', '.join(AllocationMethod.values)}.")
    if not MIN_ADVICE_AMOUNT <= amount <= MAX_ADVICE_AMOUNT:
        raise ValueError(f"The amount must be between {MIN_ADVICE_AMOUNT:,} and {MAX_ADVICE_AMOUNT:,}.")
    assessment = current_assessment(customer=customer, today=today)
    cma = active_assumptions(on=today)
    products = [_product_facts(p) for p in suitable_investments(customer=customer, today=today)]
    inputs = {
        "engine_version": ENGINE_VERSION, "customer": str(customer.public_id), "as_of": today.isoformat(),
        "level": assessment.level, "assessment": str(assessment.public_id),
        "assessed_on": timezone.localtime(assessment.assessed_at).date().isoformat(),
        "reassess_by": assessment.reassess_by.isoformat(), "horizon_years": assessment.horizon_years,
        "sustainability": assessment.sustainability, "flags": assessment.flags,
        "amount": str(amount.quantize(Decimal("0.01"))), "method": method,
        "assumptions": assumptions_snapshot(cma), "products": products,
    }
    return inputs, assessment, cma


@transaction.atomic
def advise_allocation(
    *, customer: Customer, amount: Decimal, method: str = AllocationMethod.MEAN_VARIANCE, channel: str,
    by: Any = None, today: date | None = None,
) -> InvestmentAdvice:
    """A strategic allocation of `amount` for the customer, mapped onto products they may buy, with its report.

    Guarantees: no product above the customer's assessed risk level or refused by the suitability gate; weights
    within the level's bounds; every input stored. Raises ValueError for a bad amount or method and
    AdviceUnavailable when there is no current risk profile or assumptions.
    """
    inputs, assessment, cma = allocation_inputs(customer=customer, amount=amount, method=method, today=today)
    try:
        result = compute_allocation(inputs)
    except ValueError as error:
        raise AdviceUnavailable(str(error), code="no_feasible_allocation") from None
    advice = InvestmentAdvice.objects.create(
        customer=customer, kind=AdviceKind.ALLOCATION, method=method, assessment=assessment, assumptions=cma,
        amount=Decimal(inputs["amount"]), inputs=inputs, target_weights=result["weights"],
        expected_return=result["expected_return"], volatility=result["volatility"], products=result["products"],
        summary={k: result[k] for k in ("bad_year_return", "costs", "unavailable_classes", "volatility_budget")},
        report_en=render_allocation_report(inputs, result, language="en"),
        report_zh=render_allocation_report(inputs, result, language="zh"),
        engine_version=ENGINE_VERSION, channel=channel,
    )
    audit.record(action="investment_advice", actor=by, channel=channel, subject=f"advice {advice.public_id}",
                 customer_ref=str(customer.public_id),
                 detail={"kind": "allocation", "amount": inputs["amount"], "level": inputs["level"]})
    review_portfolio(customer=customer, today=today)  # a new target: drift is measured against it from now on
    return advice


def reproduce_advice(advice: InvestmentAdvice) -> bool:
    """Whether the stored inputs still give exactly the stored advice and report (compliance's check)."""
    if advice.kind == AdviceKind.ALLOCATION:
        result = compute_allocation(advice.inputs)
        return (
            result["weights"] == advice.target_weights and result["products"] == advice.products
            and render_allocation_report(advice.inputs, result, language="en") == advice.report_en
            and render_allocation_report(advice.inputs, result, language="zh") == advice.report_zh
        )
    plan = _rebalance_plan(advice.inputs)
    return plan["trades"] == advice.trades and render_rebalance_report(
        advice.inputs, plan, language="en") == advice.report_en


# ---- portfolio: holdings, rebalancing, monitoring ------------------------------------------------------------

def investment_holdings(*, customer: Customer) -> list[Holding]:
    return list(
        Holding.objects.filter(customer=customer, status=Holding.Status.ACTIVE, amount__gt=0)
        .exclude(product__asset_mix={}).select_related("product").order_by("product__code")
    )


def class_weights(holdings: Iterable[Holding]) -> tuple[Decimal, dict[str, float]]:
    """The portfolio's value and its weight in each asset class (through each product's asset mix)."""
    holdings = list(holdings)
    total = sum((h.amount for h in holdings), Decimal("0"))
    weights = dict.fromkeys(ASSET_CLASSES, 0.0)
    if total > 0:
        for h in holdings:
            for asset_class, share in h.product.asset_mix.items():
                weights[asset_class] += float(h.amount / total) * share
    return total, {c: round(w, 6) for c, w in weights.items()}


def latest_allocation(*, customer: Customer) -> InvestmentAdvice | None:
    return (InvestmentAdvice.objects.filter(customer=customer, kind=AdviceKind.ALLOCATION)
            .order_by("-created_at", "-id").first())


def _rebalance_plan(inputs: dict[str, Any]) -> dict[str, Any]:
    positions = [Position(key=p["code"], value=p["value"], target_value=p["target_value"], cost_rate=p["cost_rate"],
                          sellable=p["sellable"]) for p in inputs["positions"]]
    plan = plan_rebalance(positions, min_trade=inputs["min_trade"], turnover_cap=inputs["turnover_cap"],
                          tolerance=inputs["tolerance"])
    names = {p["code"]: (p["name_en"], p["name_zh"]) for p in inputs["positions"]}
    trades = [{"key": t.key, "side": t.side, "amount": round(t.amount, 2), "cost": round(t.cost, 2),
               "name_en": names[t.key][0], "name_zh": names[t.key][1]} for t in plan.trades]
    return {"trades": trades, "turnover": plan.turnover, "total_cost": round(plan.total_cost, 2),
            "drift_before": plan.drift_before, "drift_after": plan.drift_after, "capped": plan.capped}


def rebalance_inputs(*, customer: Customer, today: date | None = None) -> tuple[dict[str, Any], InvestmentAdvice]:
    today = today or timezone.localdate()
    target = latest_allocation(customer=customer)
    if target is None:
        raise AdviceUnavailable("Ask for an allocation first: rebalancing needs a target.", code="no_target")
    holdings = investment_holdings(customer=customer)
    value, current = class_weights(holdings)
    if value <= 0:
        raise AdviceUnavailable("There are no investments to rebalance.", code="no_holdings")
    held = {h.product.code: h for h in holdings}
    targets = {p["code"]: p for p in target.products}
    positions = []
    for code in sorted(set(held) | set(targets)):
        holding, line = held.get(code), targets.get(code)
        product = holding.product if holding is not None else Product.objects.get(code=code)
        locked = (holding is not None and product.liquidity == Liquidity.AT_MATURITY
                  and holding.maturity_date is not None and holding.maturity_date > today)
        positions.append({
            "code": code, "name_en": product.name_en, "name_zh": product.name_zh,
            "value": float(holding.amount) if holding else 0.0,
            "target_value": round(float(value) * (line["weight"] if line else 0.0), 2),
            "cost_rate": float(product.subscription_fee_pct) / 100, "sellable": not locked,
        })
    inputs = {
        "engine_version": ENGINE_VERSION, "as_of": today.isoformat(), "target_advice": str(target.public_id),
        "portfolio_value": str(value), "target_weights": target.target_weights, "current_weights": current,
        "positions": positions, "min_trade": MIN_TRADE, "turnover_cap": TURNOVER_CAP, "tolerance": DRIFT_TOLERANCE,
        "locked": [p["code"] for p in positions if not p["sellable"]],
    }
    return inputs, target


@transaction.atomic
def advise_rebalance(*, customer: Customer, channel: str, by: Any = None, today: date | None = None
                     ) -> InvestmentAdvice:
    """A trade list moving the customer's holdings toward their latest allocation, within the turnover cap,
    never selling what is locked until maturity, skipping trades below the minimum size; stored with its report.
    Raises AdviceUnavailable without a target allocation or holdings."""
    inputs, target = rebalance_inputs(customer=customer, today=today)
    plan = _rebalance_plan(inputs)
    advice = InvestmentAdvice.objects.create(
        customer=customer, kind=AdviceKind.REBALANCE, method=target.method, assessment=target.assessment,
        assumptions=target.assumptions, amount=Decimal(inputs["portfolio_value"]), inputs=inputs,
        target_weights=target.target_weights, expected_return=target.expected_return, volatility=target.volatility,
        products=target.products, trades=plan["trades"],
        summary={k: plan[k] for k in ("turnover", "total_cost", "drift_before", "drift_after", "capped")},
        report_en=render_rebalance_report(inputs, plan, language="en"),
        report_zh=render_rebalance_report(inputs, plan, language="zh"),
        engine_version=ENGINE_VERSION, channel=channel,
    )
    audit.record(action="investment_advice", actor=by, channel=channel, subject=f"advice {advice.public_id}",
                 customer_ref=str(customer.public_id), detail={"kind": "rebalance", "trades": len(plan["trades"])})
    return advice


def review_portfolio(*, customer: Customer, today: date | None = None) -> list[str]:
    """Value the customer's investments today and open, update or resolve their alerts: drift from target,
    drawdown beyond the risk level's tolerance, concentration, and an expired risk profile. Safe to rerun the
    same day (the valuation is replaced, alerts are updated in place). Returns the kinds now open."""
    return review_portfolios([customer.pk], today=today)[customer.pk]


@transaction.atomic
def review_portfolios(customer_ids: Iterable[int], *, today: date | None = None) -> dict[int, list[str]]:
    """`review_portfolio` for many customers at once: seven reads and at most four writes for the whole group
    (the nightly review's parts pass a thousand), instead of about 18 round trips a customer. Returns each
    customer's open alert kinds; ids that are not customers are left out."""
    today = today or timezone.localdate()
    now = timezone.now()
    ids = sorted(set(customer_ids))
    risk_tolerance = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "risk_tolerance"))
    holdings: dict[int, list[Holding]] = {pk: [] for pk in risk_tolerance}
    for holding in (Holding.objects.filter(customer_id__in=ids, status=Holding.Status.ACTIVE, amount__gt=0)
                    .exclude(product__asset_mix={}).select_related("product").order_by("customer_id", "product__code")):
        holdings[holding.customer_id].append(holding)
    assessments = {a.customer_id: a for a in RiskAssessment.objects.filter(customer_id__in=ids)
                   .order_by("customer_id", "-assessed_at", "-id").distinct("customer_id")}
    targets = dict(InvestmentAdvice.objects.filter(customer_id__in=ids, kind=AdviceKind.ALLOCATION)
                   .order_by("customer_id", "-created_at", "-id").distinct("customer_id")
                   .values_list("customer_id", "target_weights"))
    # The 12-month peak before today; today's valuation is the one written below.
    earlier_peaks = dict(PortfolioValuation.objects.filter(customer_id__in=ids, as_of__gt=today - timedelta(days=365))
                         .exclude(as_of=today).values("customer_id").annotate(peak=Max("value"))
                         .values_list("customer_id", "peak"))
    open_alerts = {(a.customer_id, a.kind): a
                   for a in PortfolioAlert.objects.filter(customer_id__in=ids, resolved_at__isnull=True)}

    valuations, created, updated, resolved = [], [], [], []
    open_kinds: dict[int, list[str]] = {}
    for pk in risk_tolerance:
        value, current = class_weights(holdings[pk])
        if value > 0:
            valuations.append(PortfolioValuation(customer_id=pk, as_of=today, value=value, weights=current))
        found = _portfolio_conditions(
            holdings[pk], value=value, current=current, assessment=assessments.get(pk),
            risk_tolerance=risk_tolerance[pk], target_weights=targets.get(pk),
            peak=max((v for v in (earlier_peaks.get(pk), value if value > 0 else None) if v is not None), default=None),
            today=today,
        )
        for kind in AlertKind.values:
            alert = open_alerts.get((pk, kind))
            if kind not in found:
                if alert is not None:
                    resolved.append(alert.pk)
                continue
            severity, en, zh, metrics = found[kind]
            if alert is None:
                created.append(PortfolioAlert(customer_id=pk, kind=kind, severity=severity, message_en=en,
                                              message_zh=zh, metrics=metrics))
            else:
                alert.severity, alert.message_en, alert.message_zh, alert.metrics = severity, en, zh, metrics
                alert.updated_at = now  # bulk_update does not run auto_now
                updated.append(alert)
        open_kinds[pk] = list(found)

    PortfolioValuation.objects.bulk_create(valuations, update_conflicts=True, unique_fields=["customer", "as_of"],
                                           update_fields=["value", "weights"])
    PortfolioAlert.objects.filter(pk__in=resolved).update(resolved_at=now)
    PortfolioAlert.objects.bulk_update(updated, ["severity", "message_en", "message_zh", "metrics", "updated_at"])
    PortfolioAlert.objects.bulk_create(created)
    return open_kinds


def _portfolio_conditions(
    holdings: list[Holding], *, value: Decimal, current: dict[str, float], assessment: RiskAssessment | None,
    risk_tolerance: int, target_weights: dict[str, float] | None, peak: Decimal | None, today: date,
) -> dict[str, tuple[int, str, str, dict[str, Any]]]:
    """The alerts one customer's portfolio calls for: {kind: (severity, message en, message zh, metrics)}."""
    level = assessment.level if assessment else risk_tolerance
    policy = policy_for(level)
    found: dict[str, tuple[int, str, str, dict[str, Any]]] = {}

    if target_weights is not None and value > 0:
        drift = sum(abs(current.get(c, 0.0) - target_weights.get(c, 0.0)) for c in ASSET_CLASSES) / 2
        if drift > DRIFT_WARNING:
            found[AlertKind.DRIFT] = (
                3 if drift > DRIFT_URGENT else 2,
                f"The portfolio is {drift:.1%} away from its target allocation; a rebalance is suggested.",
                f"投资组合偏离目标配置 {drift:.1%}，建议再平衡。", {"drift": round(drift, 4)})

    drawdown = float(1 - value / peak) if peak and value > 0 else 0.0
    if drawdown > policy.max_drawdown:
        found[AlertKind.DRAWDOWN] = (
            3,
            f"The portfolio is {drawdown:.1%} below its 12-month peak, beyond the "
            f"{policy.max_drawdown:.0%} an R{level} investor accepts.",
            f"投资组合较近12个月高点回撤 {drawdown:.1%}，超过 R{level} 可承受的 {policy.max_drawdown:.0%}。",
            {"drawdown": round(drawdown, 4), "peak": str(peak), "value": str(value)})

    largest = max(holdings, key=lambda h: h.amount, default=None)
    share = float(largest.amount / value) if largest is not None and value > 0 else 0.0
    if largest is not None and len(holdings) > 1 and share > policy.max_single_product:
        found[AlertKind.CONCENTRATION] = (
            2,
            f"{share:.0%} of the portfolio is in one product ({largest.product.name_en}); the R{level} "
            f"limit is {policy.max_single_product:.0%}.",
            f"投资组合的 {share:.0%} 集中在单一产品（{largest.product.name_zh}），R{level} 的上限为 "
            f"{policy.max_single_product:.0%}。",
            {"share": round(share, 4), "product": largest.product.code})

    if assessment is not None and assessment.reassess_by < today:
        found[AlertKind.REASSESSMENT] = (
            1,
            f"The risk profile expired on {assessment.reassess_by}; ask the customer to re-assess.",
            f"风险测评已于 {assessment.reassess_by} 过期，请提醒客户重新测评。",
            {"reassess_by": assessment.reassess_by.isoformat()})
    return found


def customers_to_review() -> QuerySet[Customer]:
    """Customers with investments or a risk assessment: the periodic review's population (a queryset, so the
    review can be cut into id ranges without reading every id first)."""
    invested = Holding.objects.filter(customer=OuterRef("pk"), status=Holding.Status.ACTIVE, amount__gt=0).exclude(
        product__asset_mix={})
    assessed = RiskAssessment.objects.filter(customer=OuterRef("pk"))
    return Customer.objects.filter(Exists(invested) | Exists(assessed))


# ---- goals ----------------------------------------------------------------------------------------------------

@transaction.atomic
def plan_goal(
    *, customer: Customer, name: str, target_amount: Decimal, target_date: date, current_savings: Decimal,
    monthly_contribution: Decimal, seed: int | None = None, today: date | None = None,
) -> GoalPlan:
    """Project a savings goal under the customer's latest allocation (or, without one, their risk level's
    mean-variance portfolio) by Monte Carlo; stored with its seed so the projection can be recomputed exactly.
    Raises ValueError for impossible inputs (a date not in the future, negative amounts)."""
    today = today or timezone.localdate()
    months = (target_date.year - today.year) * 12 + (target_date.month - today.month)
    if months < 1:
        raise ValueError("The target date must be at least a month away.")
    if months > 600:
        raise ValueError("The target date must be within 50 years.")
    advice = latest_allocation(customer=customer)
    if advice is not None:
        expected, volatility = advice.expected_return, advice.volatility
    else:
        expected, volatility = _level_portfolio(customer=customer, today=today)
    seed = int(seed if seed is not None else settings.GOAL_PLAN_SEED)
    projection = goals.project_goal(
        target_amount=float(target_amount), months=months, current_savings=float(current_savings),
        monthly_contribution=float(monthly_contribution), expected_return=expected, volatility=volatility,
        paths=GOAL_PATHS, seed=seed,
    )
    required = projection.required_contribution
    return GoalPlan.objects.create(
        customer=customer, name=name, target_amount=target_amount, target_date=target_date,
        current_savings=current_savings, monthly_contribution=monthly_contribution, expected_return=expected,
        volatility=volatility, advice=advice, paths=GOAL_PATHS, seed=seed, probability=projection.probability,
        required_contribution=Decimal(repr(required)).quantize(Decimal("0.01")) if required is not None else None,
        projection=_jsonable(asdict(projection)),
    )


def _level_portfolio(*, customer: Customer, today: date) -> tuple[float, float]:
    from advisor.investing.allocation import market_from_inputs
    from advisor.investing.optimiser import mean_variance

    market = market_from_inputs(assumptions_snapshot(active_assumptions(on=today)))
    allocation = mean_variance(market, policy_for(customer.risk_tolerance))
    return float(allocation.expected_return), float(allocation.volatility)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


# ---- assumptions from price history ---------------------------------------------------------------------------

@transaction.atomic
def estimate_assumptions_from_prices(
    *, rows: Iterable[dict[str, str]], name: str, effective_date: date, by: Any = None,
    prior_weight_years: float = 10.0,
) -> CapitalMarketAssumptions:
    """A new assumptions set re-estimated from imported index levels (CSV `date,asset_class,level`), shrunk toward
    the set in force: Ledoit-Wolf for the correlations, the sample mean blended with the prior by history length.
    Raises ValueError (naming the CSV line) for bad rows or too short a history; then nothing is written."""
    from advisor.investing.allocation import market_from_inputs
    from advisor.investing.estimation import estimate_assumptions, read_price_history
    from advisor.investing.models import AssetClassAssumption, AssumptionsSource

    history = read_price_history(rows)
    prior_set = active_assumptions(on=effective_date)
    estimate = estimate_assumptions(history, prior=market_from_inputs(assumptions_snapshot(prior_set)),
                                    prior_weight_years=prior_weight_years)
    market = estimate.assumptions
    keys = list(market.asset_classes)
    cma = CapitalMarketAssumptions.objects.create(
        name=name, effective_date=effective_date, source=AssumptionsSource.ESTIMATED,
        description=f"Re-estimated from {estimate.observations} monthly returns ({estimate.start} to {estimate.end}), "
                    f"shrunk toward “{prior_set.name}”.",
        correlations={a: {b: round(float(market.correlations[i, j]), 4) for j, b in enumerate(keys) if b != a}
                      for i, a in enumerate(keys)},
        estimation={"observations": estimate.observations, "start": estimate.start.isoformat(),
                    "end": estimate.end.isoformat(), "covariance_shrinkage": round(estimate.covariance_shrinkage, 4),
                    "mean_weight": round(estimate.mean_weight, 4), "prior": prior_set.pk,
                    "classes_in_history": list(history.asset_classes)},
        created_by=by if getattr(by, "pk", None) and getattr(by, "is_staff", False) else None,
    )
    AssetClassAssumption.objects.bulk_create(
        AssetClassAssumption(assumptions=cma, asset_class=c,
                             expected_return=Decimal(repr(round(float(market.expected_returns[i]) * 100, 2))),
                             volatility=Decimal(repr(round(float(market.volatilities[i]) * 100, 2))))
        for i, c in enumerate(keys)
    )
    return cma
