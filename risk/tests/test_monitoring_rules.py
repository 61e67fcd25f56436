from datetime import timedelta

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from sklearn.ensemble import IsolationForest

from risk.models import MonitoringRule
from risk.monitoring.anomaly import FlatForest
from risk.monitoring.engine import Monitor, event_from_row
from risk.monitoring.rules import RuleParamsError, validate_params
from risk.tests.factories import history

pytestmark = pytest.mark.django_db


def event(account, *, amount, minutes_ago=0, category="groceries", channel="pos", counterparty="FreshMart Ltd",
          hour=None):
    # Today at 12:30 local time (the history's hour), or at `hour`, minus `minutes_ago`.
    base = timezone.localtime().replace(hour=12 if hour is None else hour, minute=30, second=0, microsecond=0)
    moment = base - timedelta(minutes=minutes_ago)
    return event_from_row(customer_id=account.customer_id, account_id=account.pk, amount=amount, timestamp=moment,
                          category=category, channel=channel, counterparty=counterparty)


def judge(*events):
    return Monitor().evaluate_many(list(events))


def codes(verdict):
    return [h.code for h in verdict.hits]


def test_the_default_rules_are_installed_by_the_migration():
    assert sorted(MonitoringRule.objects.values_list("code", flat=True)) == [
        "amount-far-above-history", "behaviour-anomaly", "cash-structuring", "large-new-counterparty", "rapid-payments",
        "rare-category", "rare-channel", "rare-hour",
    ]


def test_an_ordinary_payment_fires_nothing():
    account = history()

    [verdict] = judge(event(account, amount="-104.50"))

    assert verdict.decision == "accept" and verdict.hits == [] and verdict.severity == 0


def test_an_amount_far_above_the_customers_history_is_held_for_review():
    account = history()

    [verdict] = judge(event(account, amount="-9800.00"))

    assert codes(verdict) == ["amount-far-above-history"]
    assert verdict.decision == "review" and verdict.severity == 2
    hit = verdict.hits[0]
    assert hit.evidence["amount"] == 9800.0 and hit.evidence["typical"] == 100.0 and hit.evidence["z"] >= 3.5
    assert hit.en == "¥9,800 is far above this customer's usual payments (typically ¥100)"
    assert hit.zh == "金额¥9,800远高于该客户平时的支出（通常约¥100）"


def test_six_payments_within_the_hour_trip_the_velocity_rule_on_the_sixth():
    account = history()

    verdicts = judge(*[event(account, amount="-90.00", minutes_ago=50 - 5 * i) for i in range(6)])

    assert [codes(v) for v in verdicts] == [[], [], [], [], [], ["rapid-payments"]]
    assert verdicts[-1].decision == "review"
    assert verdicts[-1].hits[0].evidence == {"count": 6, "total": 540.0, "window_minutes": 60}


def test_a_large_payment_to_a_new_counterparty_raises_an_alert_but_is_accepted():
    account = history(amount="-3000.00")

    [verdict] = judge(event(account, amount="-12000.00", category="transfer", channel="app",
                            counterparty="Unknown Trading Ltd"))

    assert "large-new-counterparty" in codes(verdict)
    assert verdict.actions["large-new-counterparty"] == "alert"
    hit = verdict.hits[codes(verdict).index("large-new-counterparty")]
    assert hit.evidence["counterparty"] == "unknown trading ltd"


def test_cash_just_below_the_reporting_threshold_three_times_is_blocked_as_structuring():
    account = history()

    verdicts = judge(*[event(account, amount="-48000.00", minutes_ago=3000 - 1000 * i, category="cash",
                             channel="atm") for i in range(3)])

    assert ["cash-structuring" in codes(v) for v in verdicts] == [False, False, True]
    assert verdicts[2].decision == "block" and verdicts[2].severity == 4
    structuring = verdicts[2].hits[codes(verdicts[2]).index("cash-structuring")]
    assert structuring.evidence == {"count": 3, "threshold": 50000.0, "band_from": 45000.0, "window_days": 7}


def test_a_payment_at_an_hour_the_customer_is_never_active_is_flagged():
    account = history(amount="-2500.00", hour=12)

    [verdict] = judge(event(account, amount="-2600.00", hour=3))

    assert codes(verdict) == ["rare-hour"]
    assert verdict.hits[0].evidence == {"hour": "03:00", "share": 0.0, "amount": 2600.0}


def test_a_disabled_rule_does_not_fire():
    account = history()
    MonitoringRule.objects.filter(code="amount-far-above-history").update(enabled=False)

    [verdict] = judge(event(account, amount="-9800.00"))

    assert verdict.hits == [] and verdict.decision == "accept"


def test_rule_parameters_are_validated_with_defaults_filled_in():
    assert validate_params("velocity", {"max_count": 3}) == {"window_minutes": 60, "max_count": 3, "max_total": 50000.0}
    with pytest.raises(RuleParamsError, match="'limit' is not a parameter of velocity"):
        validate_params("velocity", {"limit": 3})
    with pytest.raises(RuleParamsError, match="max_count must be a whole number"):
        validate_params("velocity", {"max_count": 2.5})
    rule = MonitoringRule(code="x", name="x", kind="structuring", params={"band": 1.2})
    with pytest.raises(ValidationError, match="band must be below 1"):
        rule.full_clean()


def test_the_flattened_isolation_forest_scores_exactly_like_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 8))
    x[:30] *= 6
    forest = IsolationForest(n_estimators=50, max_samples=256, random_state=0).fit(x)

    flat = FlatForest.from_sklearn(forest)

    assert np.allclose(flat.score(x), -forest.score_samples(x), atol=1e-12)
    assert flat.score(x[:30]).mean() > flat.score(x[30:]).mean()
