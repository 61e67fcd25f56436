"""The investment maths (allocation, goal projection, rebalancing, estimation): pure functions, no database."""

import csv
import io
import math
from datetime import date, timedelta

import numpy as np
import pytest

from advisor.investing.asset_classes import ASSET_CLASSES, EQUITIES, POLICIES, LevelPolicy
from advisor.investing.estimation import estimate_assumptions, read_price_history
from advisor.investing.goals import project_goal
from advisor.investing.optimiser import (
    MarketAssumptions,
    OptimisationError,
    mean_variance,
    portfolio_stats,
    risk_parity,
)
from advisor.investing.rebalancing import Position, Trade, plan_rebalance

# cash, government bonds, corporate bonds, domestic equity, global equity, gold
RETURNS = [0.018, 0.025, 0.035, 0.07, 0.065, 0.04]
VOLS = [0.005, 0.04, 0.06, 0.22, 0.17, 0.15]
CORRELATIONS = [
    [1.00, 0.10, 0.05, 0.00, 0.00, 0.00],
    [0.10, 1.00, 0.60, -0.10, -0.10, 0.20],
    [0.05, 0.60, 1.00, 0.40, 0.40, 0.10],
    [0.00, -0.10, 0.40, 1.00, 0.75, 0.05],
    [0.00, -0.10, 0.40, 0.75, 1.00, 0.05],
    [0.00, 0.20, 0.10, 0.05, 0.05, 1.00],
]
MARKET = MarketAssumptions(ASSET_CLASSES, np.array(RETURNS), np.array(VOLS), np.array(CORRELATIONS))
OPEN_POLICY = LevelPolicy(level=9, min_weights={}, max_weights=dict.fromkeys(ASSET_CLASSES, 1.0), max_volatility=1.0,
                          max_drawdown=1.0, max_single_product=1.0)


def _market(**changes):
    fields = {"asset_classes": ASSET_CLASSES, "expected_returns": np.array(RETURNS), "volatilities": np.array(VOLS),
              "correlations": np.array(CORRELATIONS)}
    return MarketAssumptions(**{**fields, **changes})


# --- optimiser ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("optimise", [mean_variance, risk_parity])
@pytest.mark.parametrize("level", sorted(POLICIES))
def test_every_allocation_keeps_its_level_policy(optimise, level):
    policy = POLICIES[level]
    allocation = optimise(MARKET, policy)

    assert allocation.method == optimise.__name__
    assert list(allocation.weights) == list(ASSET_CLASSES)
    assert sum(allocation.weights.values()) == pytest.approx(1.0, abs=1e-9)
    for key, weight in allocation.weights.items():
        assert policy.min_weights[key] - 1e-6 <= weight <= policy.max_weights[key] + 1e-6
        assert weight == 0.0 or weight >= 1e-4  # no solver dust
    assert allocation.volatility <= policy.max_volatility + 1e-6
    assert portfolio_stats(allocation.weights, MARKET) == pytest.approx(
        (allocation.expected_return, allocation.volatility), abs=1e-12)
    assert sum(allocation.risk_contributions.values()) == pytest.approx(1.0, abs=1e-9)


def test_mean_variance_spends_each_volatility_budget():
    # With these assumptions more risk always buys more return, so the budget binds at every level.
    for policy in POLICIES.values():
        assert mean_variance(MARKET, policy).volatility == pytest.approx(policy.max_volatility, abs=1e-6)


def test_mean_variance_gets_riskier_with_the_level():
    allocations = [mean_variance(MARKET, POLICIES[level]) for level in sorted(POLICIES)]
    equity = [sum(a.weights[key] for key in EQUITIES) for a in allocations]

    for lower, higher in zip(allocations, allocations[1:], strict=False):
        assert higher.volatility >= lower.volatility - 1e-9
        assert higher.expected_return >= lower.expected_return - 1e-9
    assert all(b >= a - 1e-9 for a, b in zip(equity, equity[1:], strict=False))
    assert equity[0] == 0.0 and equity[-1] > 0.5


def test_mean_variance_is_deterministic():
    assert mean_variance(MARKET, POLICIES[3]) == mean_variance(MARKET, POLICIES[3])
    assert risk_parity(MARKET, POLICIES[3]) == risk_parity(MARKET, POLICIES[3])


def test_an_unreachable_budget_gives_the_minimum_variance_portfolio():
    policy = LevelPolicy(level=1, min_weights={"cash": 0.0}, max_weights={"cash": 0.5, "gov_bond": 0.5, "gold": 0.5},
                         max_volatility=0.001, max_drawdown=0.01, max_single_product=1.0)
    allocation = mean_variance(MARKET, policy)

    assert allocation.method == "minimum_variance"
    assert allocation.volatility > policy.max_volatility
    assert allocation.weights["cash"] == pytest.approx(0.5, abs=1e-6)  # the least volatile class, to its maximum
    assert allocation.weights["corp_bond"] == 0.0  # not in the policy, so never held
    # No other in-bounds mix of the remaining half is less volatile than the one found.
    for gov in np.linspace(0.0, 0.5, 51):
        _, vol = portfolio_stats({"cash": 0.5, "gov_bond": gov, "gold": 0.5 - gov}, MARKET)
        assert vol >= allocation.volatility - 1e-9


def test_risk_parity_equalises_risk_when_the_bounds_do_not_bind():
    everything = risk_parity(MARKET, OPEN_POLICY)
    assert everything.risk_contributions == pytest.approx(dict.fromkeys(ASSET_CLASSES, 1 / 6), abs=1e-5)

    # Level 1 may not hold equities or gold: the three classes it may hold share the risk.
    cautious = risk_parity(MARKET, POLICIES[1])
    expected = {"cash": 1 / 3, "gov_bond": 1 / 3, "corp_bond": 1 / 3, "dom_equity": 0.0, "global_equity": 0.0,
                "gold": 0.0}
    assert cautious.risk_contributions == pytest.approx(expected, abs=1e-5)


def test_risk_parity_respects_a_binding_bound():
    policy = LevelPolicy(level=9, min_weights={}, max_weights={**dict.fromkeys(ASSET_CLASSES, 1.0), "cash": 0.3},
                         max_volatility=1.0, max_drawdown=1.0, max_single_product=1.0)
    allocation = risk_parity(MARKET, policy)

    assert allocation.weights["cash"] == pytest.approx(0.3, abs=1e-6)
    assert allocation.risk_contributions["cash"] < 1 / 6  # capped below its equal share


def test_bounds_that_admit_no_portfolio_raise():
    policy = LevelPolicy(level=9, min_weights={}, max_weights={"cash": 0.4, "gov_bond": 0.4}, max_volatility=1.0,
                         max_drawdown=1.0, max_single_product=1.0)
    with pytest.raises(OptimisationError, match="no fully invested portfolio"):
        mean_variance(MARKET, policy)


@pytest.mark.parametrize(("changes", "message"), [
    ({"correlations": np.array(CORRELATIONS) + np.triu(np.full((6, 6), 0.1), 1)}, "symmetric"),
    # Six classes cannot all be -0.5 correlated with each other: the equally weighted mix would have negative variance.
    ({"correlations": np.where(np.eye(6) == 1, 1.0, -0.5)}, "positive semi-definite"),
    ({"correlations": np.array(CORRELATIONS) * 2}, "ones on its diagonal"),
    ({"correlations": np.where(np.eye(6) == 1, 1.0, 1.5)}, "between -1 and 1"),
    ({"volatilities": np.array([0.0, *VOLS[1:]])}, "volatility must be positive"),
    ({"expected_returns": np.array(RETURNS[:5])}, "6 entries"),
])
def test_impossible_assumptions_are_refused(changes, message):
    market = _market(**changes)
    with pytest.raises(ValueError, match=message):
        market.validate()
    with pytest.raises(ValueError, match=message):
        mean_variance(market, POLICIES[3])


def test_assumptions_are_frozen_copies():
    returns = np.array(RETURNS)
    market = _market(expected_returns=returns)
    returns[0] = 0.5

    assert market.expected_returns[0] == 0.018
    with pytest.raises(ValueError, match="read-only"):
        market.expected_returns[0] = 0.5


def test_portfolio_stats_refuses_an_unknown_class():
    with pytest.raises(ValueError, match="Unknown asset classes: crypto"):
        portfolio_stats({"crypto": 1.0}, MARKET)


# --- goals -------------------------------------------------------------------------------------------------------

GOAL = {"target_amount": 100_000.0, "months": 120, "current_savings": 10_000.0, "monthly_contribution": 400.0,
        "expected_return": 0.05, "volatility": 0.10}


def test_a_goal_projection_is_reproducible_with_its_seed():
    first = project_goal(**GOAL, seed=7)

    assert project_goal(**GOAL, seed=7) == first
    other = project_goal(**GOAL, seed=8)
    assert other.probability != first.probability
    assert other.median_final != first.median_final


def test_the_probability_rises_with_the_contribution():
    probabilities = [project_goal(**{**GOAL, "monthly_contribution": c}).probability for c in (0, 300, 600, 900, 1200)]

    assert probabilities == sorted(probabilities)
    assert probabilities[0] < 0.05 and probabilities[-1] > 0.95


def test_the_required_contribution_reaches_the_success_target():
    required = project_goal(**GOAL).required_contribution
    assert required is not None and required == int(required)

    assert project_goal(**{**GOAL, "monthly_contribution": required}).probability >= 0.8
    assert project_goal(**{**GOAL, "monthly_contribution": required - 1}).probability < 0.8


def test_without_volatility_the_projection_is_the_closed_form_future_value():
    projection = project_goal(**{**GOAL, "volatility": 0.0, "paths": 100})
    monthly = 1.05 ** (1 / 12)
    # Savings compound for 10 years; contributions paid at the start of each month (an annuity due).
    future_value = 10_000 * 1.05**10 + 400 * monthly * (monthly**120 - 1) / (monthly - 1)

    assert projection.median_final == pytest.approx(future_value, rel=1e-12)
    assert projection.probability == (1.0 if future_value >= 100_000 else 0.0)
    assert [p[0] for p in projection.percentiles] == [12, 24, 36, 48, 60, 72, 84, 96, 108, 120]
    assert projection.percentiles[-1][1:] == pytest.approx([future_value] * 5, rel=1e-12)
    assert projection.contributed_total == 10_000 + 400 * 120
    # With every path alike, the required contribution is the closed form's, rounded up to a whole unit.
    annuity = monthly * (monthly**120 - 1) / (monthly - 1)
    assert projection.required_contribution == math.ceil((100_000 - 10_000 * 1.05**10) / annuity)


def test_the_fan_chart_ends_on_the_final_month():
    projection = project_goal(**{**GOAL, "months": 30})

    assert [p[0] for p in projection.percentiles] == [12, 24, 30]
    for _, *values in projection.percentiles:
        assert values == sorted(values)
    assert projection.percentiles[-1][3] == projection.median_final


def test_required_contribution_is_zero_when_met_and_none_when_out_of_reach():
    assert project_goal(**{**GOAL, "current_savings": 200_000.0}).required_contribution == 0.0
    hopeless = project_goal(target_amount=1_000.0, months=1, current_savings=0.0, monthly_contribution=0.0,
                            expected_return=-0.5, volatility=0.0, paths=100)
    assert hopeless.required_contribution is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"months": 0}, "at least 1"),
    ({"current_savings": -1.0}, "cannot be negative"),
    ({"monthly_contribution": -1.0}, "cannot be negative"),
    ({"paths": 99}, "At least 100"),
    ({"volatility": -0.1}, "Volatility cannot be negative"),
    ({"target_amount": 0.0}, "target amount must be positive"),
])
def test_goal_inputs_are_checked(changes, message):
    with pytest.raises(ValueError, match=message):
        project_goal(**{**GOAL, **changes})


# --- rebalancing -------------------------------------------------------------------------------------------------

def _position(key, value, target, *, sellable=True, buyable=True, cost_rate=0.01):
    return Position(key=key, value=value, target_value=target, cost_rate=cost_rate, sellable=sellable,
                    buyable=buyable)


def _sides(plan):
    buys = sum(t.amount for t in plan.trades if t.side == "buy")
    sells = sum(t.amount for t in plan.trades if t.side == "sell")
    return buys, sells


def test_an_uncapped_plan_reaches_the_targets():
    positions = [_position("A", 600, 400), _position("B", 100, 300, cost_rate=0.02), _position("C", 300, 300)]
    plan = plan_rebalance(positions, min_trade=50, turnover_cap=0.5)

    assert plan.trades == [Trade("A", "sell", 200.0, 2.0), Trade("B", "buy", 200.0, 4.0)]
    assert plan.total_cost == 6.0
    assert plan.turnover == 0.2
    assert plan.drift_before == 0.2
    assert plan.drift_after == 0.0
    assert not plan.capped


def test_trades_below_the_minimum_are_dropped_and_the_rest_still_balance():
    positions = [_position("A", 530, 500), _position("B", 470, 500), _position("C", 40, 30), _position("D", 0, 10)]
    plan = plan_rebalance(positions, min_trade=15, turnover_cap=1.0)

    # C and D are 10 off, below the 15 minimum; A and B's 30 each clear it.
    assert plan.trades == [Trade("A", "sell", 30.0, 0.3), Trade("B", "buy", 30.0, 0.3)]
    assert plan.drift_after * 1040 == pytest.approx(10.0)  # the min-trade leftovers


def test_a_binding_cap_scales_every_trade_alike():
    positions = [_position("A", 700, 400), _position("B", 100, 300), _position("C", 200, 300)]
    plan = plan_rebalance(positions, min_trade=10, turnover_cap=0.1)

    assert plan.capped
    assert plan.turnover == pytest.approx(0.1, abs=1e-9)
    assert plan.drift_after < plan.drift_before
    assert plan.drift_after == pytest.approx(plan.drift_before - plan.turnover, abs=1e-12)
    amounts = {t.key: t.amount for t in plan.trades}
    assert amounts == pytest.approx({"A": 100.0, "B": 200 / 3, "C": 100 / 3})


def test_a_locked_position_is_never_sold_and_the_others_share_what_is_left():
    positions = [_position("deposit", 70, 40, sellable=False), _position("B", 10, 30), _position("C", 20, 30)]
    plan = plan_rebalance(positions, min_trade=1, turnover_cap=1.0)

    # The 30 the deposit cannot release is missing: B and C split the remaining 30 as their targets do, 15 each.
    assert plan.trades == [Trade("C", "sell", 5.0, 0.05), Trade("B", "buy", 5.0, 0.05)]
    assert plan.drift_after <= plan.drift_before


def test_an_unbuyable_position_is_never_bought():
    positions = [_position("closed", 10, 50, buyable=False), _position("B", 60, 25), _position("C", 30, 25)]
    plan = plan_rebalance(positions, min_trade=1, turnover_cap=1.0)

    # closed keeps 10, so B and C aim at 45 each: B sells 15 and C buys 15.
    assert plan.trades == [Trade("B", "sell", 15.0, 0.15), Trade("C", "buy", 15.0, 0.15)]


def test_positions_within_the_tolerance_are_left_alone():
    positions = [_position("A", 505, 500), _position("B", 395, 400), _position("C", 100, 100)]
    assert plan_rebalance(positions, min_trade=0, turnover_cap=1.0, tolerance=0.01).trades == []


def test_plan_invariants_hold_on_random_portfolios():
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(2, 8))
        values = rng.uniform(0, 1000, n) * (rng.random(n) < 0.9)  # some positions empty
        values[0] += 1.0  # but never the whole portfolio
        positions = [_position(f"P{i}", float(values[i]), float(rng.uniform(0, 1000)),
                               sellable=bool(rng.random() < 0.8), buyable=bool(rng.random() < 0.9)) for i in range(n)]
        cap, min_trade = float(rng.uniform(0, 0.5)), float(rng.uniform(0, 100))
        plan = plan_rebalance(positions, min_trade=min_trade, turnover_cap=cap, tolerance=float(rng.uniform(0, 0.02)))
        by_key = {p.key: p for p in positions}

        buys, sells = _sides(plan)
        assert buys == pytest.approx(sells, abs=1e-9)
        assert plan.turnover <= cap + 1e-12
        assert all(t.amount >= min_trade and t.amount > 0 for t in plan.trades)
        assert all(by_key[t.key].sellable for t in plan.trades if t.side == "sell")
        assert all(by_key[t.key].buyable for t in plan.trades if t.side == "buy")
        assert all(t.cost == t.amount * by_key[t.key].cost_rate for t in plan.trades)
        assert plan.drift_after <= plan.drift_before + 1e-12
        assert [t.side for t in plan.trades] == sorted(t.side for t in plan.trades)[::-1]  # sells, then buys


def test_rebalance_inputs_are_checked():
    with pytest.raises(ValueError, match="only once"):
        plan_rebalance([_position("A", 1, 1), _position("A", 1, 1)], min_trade=0, turnover_cap=1)
    with pytest.raises(ValueError, match="Position A: value must be a non-negative number"):
        plan_rebalance([_position("A", -1, 1)], min_trade=0, turnover_cap=1)
    with pytest.raises(ValueError, match="turnover_cap"):
        plan_rebalance([_position("A", 1, 1)], min_trade=0, turnover_cap=-0.1)


# --- estimation --------------------------------------------------------------------------------------------------

def _month_end(year, month):
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _simulated_rows(classes, months, seed=11, market=MARKET, mid_month=True):
    """Month-end levels from known monthly returns, plus a mid-month row the month-end resampling must skip."""
    index = [ASSET_CLASSES.index(key) for key in classes]
    covariance = market.covariance[np.ix_(index, index)] / 12
    returns = np.random.default_rng(seed).multivariate_normal(market.expected_returns[index] / 12, covariance, months)
    levels = 100 * np.vstack([np.ones(len(classes)), np.cumprod(1 + returns, axis=0)])
    rows = []
    for m in range(months + 1):
        day = _month_end(1994, 12 + m)
        for j, key in enumerate(classes):
            rows.append({"date": day.isoformat(), "asset_class": key, "level": repr(float(levels[m, j]))})
            if m > 0 and mid_month:
                rows.append({"date": day.replace(day=15).isoformat(), "asset_class": key, "level": "1.5"})
    return rows, returns


def test_estimation_recovers_the_parameters_of_a_long_series():
    rows, returns = _simulated_rows(ASSET_CLASSES, 360)
    estimate = estimate_assumptions(read_price_history(rows), prior=MARKET)
    result = estimate.assumptions

    assert (estimate.observations, estimate.start, estimate.end) == (360, date(1994, 12, 31), date(2024, 12, 31))
    assert estimate.mean_weight == 30 / 40
    assert 0 <= estimate.covariance_shrinkage < 0.1
    assert result.volatilities == pytest.approx(MARKET.volatilities, rel=0.15)
    # A correlation from 360 months has a standard error of about 0.05; 15 pairs, so allow three of them.
    assert np.abs(result.correlations - MARKET.correlations).max() < 0.15
    expected = 0.75 * returns.mean(axis=0) * 12 + 0.25 * MARKET.expected_returns
    assert result.expected_returns == pytest.approx(expected, abs=1e-9)
    result.validate()


def test_a_class_missing_from_the_history_keeps_the_prior():
    rows, _ = _simulated_rows(["gov_bond", "dom_equity", "global_equity"], 48)
    estimate = estimate_assumptions(read_price_history(rows), prior=MARKET)
    result = estimate.assumptions

    kept = [ASSET_CLASSES.index(key) for key in ("cash", "corp_bond", "gold")]
    assert result.expected_returns[kept] == pytest.approx(MARKET.expected_returns[kept])
    assert result.volatilities[kept] == pytest.approx(MARKET.volatilities[kept])
    assert result.correlations[kept] == pytest.approx(MARKET.correlations[kept], abs=1e-12)
    assert estimate.mean_weight == 4 / 14
    result.validate()


def test_blending_estimates_with_the_prior_stays_a_valid_correlation_matrix():
    # The prior ties government bonds closely to both corporate bonds and gold; a history in which those two move
    # against each other cannot sit next to it without repair.
    tied = np.eye(6)
    tied[np.ix_([1, 2, 5], [1, 2, 5])] = np.where(np.eye(3) == 1, 1.0, 0.95)
    opposed = np.eye(6)
    opposed[2, 5] = opposed[5, 2] = -0.9
    rows, _ = _simulated_rows(["corp_bond", "gold"], 60, market=_market(correlations=opposed))
    result = estimate_assumptions(read_price_history(rows), prior=_market(correlations=tied)).assumptions

    result.validate()
    assert np.linalg.eigvalsh(result.correlations).min() >= -1e-10
    assert result.correlations[2, 5] < 0  # the repair keeps what the data says, as far as the prior allows


def test_periods_per_year_uses_every_row_as_a_period():
    history = read_price_history(_simulated_rows(["cash", "gold"], 36, mid_month=False)[0])
    monthly = estimate_assumptions(history, prior=MARKET)
    as_given = estimate_assumptions(history, prior=MARKET, periods_per_year=12)

    assert as_given.observations == monthly.observations == 36
    assert np.array_equal(as_given.assumptions.volatilities, monthly.assumptions.volatilities)
    assert np.array_equal(as_given.assumptions.expected_returns, monthly.assumptions.expected_returns)


def _csv(text):
    return csv.DictReader(io.StringIO(text))


@pytest.mark.parametrize(("body", "message"), [
    ("2024-01-31,cash,100\n31/02/2024,cash,100\n", "Line 3: '31/02/2024' is not an ISO date"),
    ("2024-01-31,cash,0\n", "Line 2: the level must be a positive number, not '0'"),
    ("2024-01-31,cash,-3\n", "Line 2: the level must be a positive number"),
    ("2024-01-31,cash,abc\n", "Line 2: the level must be a positive number, not 'abc'"),
    ("2024-01-31,crypto,100\n", "Line 2: unknown asset class 'crypto'"),
    ("2024-01-31,cash,100\n2024-02-29,cash,101\n2024-01-31,cash,102\n", "Line 4: cash on 2024-01-31 was already given "
                                                                        "on line 2"),
    ("2024-01-31,cash\n", "Line 2: the level is missing"),
])
def test_bad_price_rows_are_named_by_line(body, message):
    with pytest.raises(ValueError, match=message):
        read_price_history(_csv("date,asset_class,level\n" + body))


def test_a_history_needs_two_years_common_to_every_class():
    rows, _ = _simulated_rows(["cash", "gold"], 30)
    # Gold stops after 22 months: the common history is 23 month-ends (the start plus 22).
    short = [row for row in rows if row["asset_class"] == "cash" or row["date"] <= "1996-10-31"]
    with pytest.raises(ValueError, match="at least 24 months .* it has 23"):
        read_price_history(short)
    assert len(read_price_history(rows).dates) == 31 + 30
