"""The risk questionnaire: bilingual questions, the level rule (min of capacity and willingness, then caps), the
inconsistency flags and validation. Pure Python: no database."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from advisor.investing import questionnaire as q
from advisor.investing.questionnaire import QuestionnaireError, question_by_key, score_answers, validate_answers

TODAY = date(2026, 3, 1)
CJK = re.compile(r"[\u4e00-\u9fff]")

# A consistent middle-of-the-road customer: capacity R4 (19 of 24 points), willingness R3 (9 of 16), level R3.
BALANCED = {
    "experience": "experienced",
    "knowledge_check": "falls",
    "age": "30_44",
    "income_stability": "50_75",
    "emergency_fund": "6_12",
    "investment_share": "10_25",
    "debt_burden": "under_10",
    "objective": "balanced",
    "horizon": "5_10",
    "reaction_to_fall": "hold",
    "max_annual_loss": "up_to_10",
    "return_risk_choice": "balanced",
    "sustainability": "none",
}
MOST_CONSERVATIVE = {question.key: question.options[0].value for question in q.QUESTIONS} | {
    "knowledge_check": "dont_know",
    "age": "65_plus",
    "investment_share": "over_75",
    "debt_burden": "over_50",
}
MOST_AGGRESSIVE = {
    "experience": "complex",
    "knowledge_check": "falls",
    "age": "under_30",
    "income_stability": "over_75",
    "emergency_fund": "over_12",
    "investment_share": "under_10",
    "debt_burden": "none",
    "objective": "max_growth",
    "horizon": "over_10",
    "reaction_to_fall": "buy_more",
    "max_annual_loss": "30_plus",
    "return_risk_choice": "max_growth",
    "sustainability": "none",
}
# Willingness R2 (6 of 16 points), low enough that no cap binds, so an inconsistency flag is the only flag.
TIMID = {"reaction_to_fall": "sell_some", "max_annual_loss": "up_to_5", "return_risk_choice": "cautious",
         "objective": "income"}
WILLINGNESS_KEYS = ("reaction_to_fall", "max_annual_loss", "return_risk_choice", "objective")


def codes(profile: q.RiskProfile) -> tuple[str, ...]:
    return tuple(flag.code for flag in profile.flags)


def score(answers: dict[str, str]) -> q.RiskProfile:
    return score_answers(answers, today=TODAY)


def test_questions_are_bilingual_with_unique_keys_and_option_values():
    assert q.VERSION == "2026.1"
    assert 11 <= len(q.QUESTIONS) <= 13
    assert len({question.key for question in q.QUESTIONS}) == len(q.QUESTIONS)
    assert {question.dimension for question in q.QUESTIONS} == set(q.DIMENSIONS)
    for question in q.QUESTIONS:
        assert question.text_en.strip() and CJK.search(question.text_zh), question.key
        assert bool(question.help_en) == bool(question.help_zh), question.key
        assert not question.help_zh or CJK.search(question.help_zh), question.key
        assert len(question.options) >= 3, question.key
        values = [option.value for option in question.options]
        assert len(set(values)) == len(values), question.key
        for option in question.options:
            assert re.fullmatch(r"[a-z0-9_]+", option.value), (question.key, option.value)
            assert option.text_en.strip() and option.text_zh.strip(), (question.key, option.value)
            assert option.points >= 0


def test_willingness_options_are_ordered_from_cautious_to_aggressive():
    for key in WILLINGNESS_KEYS:
        points = [option.points for option in question_by_key(key).options]
        assert points == sorted(points), key


def test_most_conservative_answers_give_r1_without_flags():
    profile = score(MOST_CONSERVATIVE)

    assert profile.level == 1
    assert profile.capacity_level == 1
    assert profile.willingness_level == 1
    assert profile.flags == ()
    assert profile.scores == {"knowledge": 0, "capacity": 0, "objective": 0, "horizon": 0, "willingness": 0,
                              "sustainability": 0}
    assert profile.horizon_years == 0.5


def test_most_aggressive_consistent_answers_give_r5_without_flags():
    profile = score(MOST_AGGRESSIVE)

    assert profile.level == 5
    assert profile.capacity_level == 5
    assert profile.willingness_level == 5
    assert profile.flags == ()
    assert profile.scores == {"knowledge": 100, "capacity": 100, "objective": 100, "horizon": 100,
                              "willingness": 100, "sustainability": 0}
    assert profile.horizon_years == 15.0


def test_balanced_profile_scores_and_echoes_answers():
    profile = score(BALANCED)

    assert profile == q.RiskProfile(
        level=3,
        scores={"knowledge": 88, "capacity": 80, "objective": 50, "horizon": 75, "willingness": 58,
                "sustainability": 0},
        capacity_level=4,
        willingness_level=3,
        horizon_years=7.5,
        sustainability="none",
        flags=(),
        reassess_by=date(2027, 3, 1),
        answers=BALANCED,
        version="2026.1",
    )


def test_level_is_the_lower_of_capacity_and_willingness():
    # Capacity 9 of 24 points (R2), willingness 10 of 16 (R4): the customer wants more risk than they can afford.
    low_capacity = BALANCED | {"age": "55_64", "income_stability": "under_25", "emergency_fund": "1_3",
                               "investment_share": "25_50", "debt_burden": "30_50", "horizon": "3_5",
                               "max_annual_loss": "up_to_20", "return_risk_choice": "growth", "objective": "income"}
    # Capacity 19 of 24 (R4), willingness 4 of 16 (R2): the customer can afford more than they want.
    low_willingness = BALANCED | {"reaction_to_fall": "sell_some", "max_annual_loss": "up_to_5",
                                  "return_risk_choice": "cautious", "objective": "income"}

    capacity_bound = score(low_capacity)
    willingness_bound = score(low_willingness)

    assert (capacity_bound.capacity_level, capacity_bound.willingness_level, capacity_bound.level) == (2, 4, 2)
    assert (willingness_bound.capacity_level, willingness_bound.willingness_level, willingness_bound.level) == (4, 2, 2)
    assert capacity_bound.flags == ()
    assert willingness_bound.flags == ()


def test_horizon_under_one_year_caps_at_r2_and_says_why():
    # Capacity 20 of 24 (R5) even with the shortest horizon; willingness 12 of 16 (R4).
    answers = MOST_AGGRESSIVE | {"horizon": "under_1", "max_annual_loss": "up_to_10", "objective": "balanced"}

    profile = score(answers)

    assert (profile.capacity_level, profile.willingness_level, profile.level) == (5, 4, 2)
    assert profile.flags == (q.Flag(
        "horizon_cap",
        "An investment horizon of less than 1 year limits the risk level to R2 (otherwise R4).",
        "投资期限为1年以内，风险等级最高为R2（否则为R4）。",
    ),)
    assert profile.horizon_years == 0.5


def test_horizon_of_one_to_three_years_caps_at_r3():
    answers = MOST_AGGRESSIVE | {"horizon": "1_3", "max_annual_loss": "up_to_10", "objective": "balanced"}

    profile = score(answers)

    assert (profile.capacity_level, profile.willingness_level, profile.level) == (5, 4, 3)
    assert codes(profile) == ("horizon_cap",)
    assert profile.flags[0].message_en == (
        "An investment horizon of 1 to 3 years limits the risk level to R3 (otherwise R4)."
    )


def test_horizon_cap_is_not_flagged_when_it_does_not_lower_the_level():
    answers = BALANCED | TIMID | {"horizon": "1_3"}

    profile = score(answers)

    assert (profile.willingness_level, profile.level) == (2, 2)
    assert profile.flags == ()


def test_no_experience_and_failed_knowledge_check_caps_at_r3():
    answers = BALANCED | {"experience": "none", "knowledge_check": "rises", "max_annual_loss": "up_to_20",
                          "reaction_to_fall": "buy_more"}

    profile = score(answers)

    assert (profile.capacity_level, profile.willingness_level, profile.level) == (4, 4, 3)
    assert profile.flags == (q.Flag(
        "knowledge_cap",
        "With no investment experience and the knowledge question not answered correctly, the risk level is "
        "limited to R3 (otherwise R4).",
        "您尚无投资经验且知识题未答对，风险等级最高为R3（否则为R4）。",
    ),)


def test_knowledge_cap_needs_both_no_experience_and_a_failed_check():
    base = BALANCED | {"max_annual_loss": "up_to_20", "reaction_to_fall": "buy_more"}

    passed_check = score(base | {"experience": "none", "knowledge_check": "falls"})
    some_experience = score(base | {"experience": "wealth_products", "knowledge_check": "dont_know"})

    assert (passed_check.level, passed_check.flags) == (4, ())
    assert (some_experience.level, some_experience.flags) == (4, ())


def test_both_caps_are_flagged_when_both_would_lower_the_level():
    answers = MOST_AGGRESSIVE | {"horizon": "under_1", "experience": "none", "knowledge_check": "unchanged",
                                 "max_annual_loss": "up_to_10", "objective": "balanced",
                                 "return_risk_choice": "balanced"}

    profile = score(answers)

    assert (profile.capacity_level, profile.willingness_level, profile.level) == (5, 4, 2)
    assert codes(profile) == ("horizon_cap", "knowledge_cap")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"horizon": "1_3", "objective": "growth"}, "horizon_vs_objective"),
        ({"horizon": "under_1", "objective": "growth"}, "horizon_vs_objective"),
        ({"horizon": "1_3", "max_annual_loss": "up_to_20"}, "horizon_vs_loss"),
        ({"horizon": "under_1", "max_annual_loss": "up_to_20"}, "horizon_vs_loss"),
        ({"reaction_to_fall": "sell_all", "max_annual_loss": "up_to_20"}, "reaction_vs_loss"),
        ({"objective": "preserve", "return_risk_choice": "max_growth"}, "objective_vs_choice"),
        ({"experience": "none", "return_risk_choice": "growth"}, "experience_vs_choice"),
    ],
)
def test_each_inconsistency_fires_on_its_own_case(changes, expected):
    # TIMID keeps willingness at R2 or R3, so no cap binds and the inconsistency is the only flag.
    profile = score(BALANCED | TIMID | changes)

    assert codes(profile) == (expected,)
    assert profile.level <= 3
    assert CJK.search(profile.flags[0].message_zh)
    assert profile.reassess_by == date(2026, 8, 28)


def test_concentration_without_reserve_fires_only_with_aggressive_willingness():
    concentrated = BALANCED | {"investment_share": "over_75", "emergency_fund": "none"}
    aggressive = {"reaction_to_fall": "buy_more", "max_annual_loss": "up_to_20", "return_risk_choice": "growth",
                  "objective": "growth"}

    flagged = score(concentrated | aggressive)
    moderate = score(concentrated)
    with_reserve = score(concentrated | aggressive | {"emergency_fund": "1_3"})
    half = score(concentrated | aggressive | {"investment_share": "25_50"})

    assert (flagged.capacity_level, flagged.willingness_level, flagged.level) == (3, 5, 3)
    assert codes(flagged) == ("concentration_without_reserve",)
    assert (moderate.willingness_level, moderate.flags) == (3, ())
    assert with_reserve.flags == ()
    assert half.flags == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"horizon": "3_5", "objective": "max_growth"},  # growth over 3 to 5 years is a fit
        {"horizon": "1_3", "objective": "balanced", "max_annual_loss": "up_to_10"},
        {"reaction_to_fall": "sell_all", "max_annual_loss": "up_to_10"},
        {"reaction_to_fall": "sell_some", "max_annual_loss": "30_plus"},
        {"objective": "preserve", "return_risk_choice": "growth"},
        {"objective": "income", "return_risk_choice": "max_growth"},
        {"experience": "none", "return_risk_choice": "balanced"},
        {"experience": "wealth_products", "return_risk_choice": "max_growth"},
    ],
)
def test_inconsistency_rules_do_not_fire_on_near_misses(changes):
    profile = score(BALANCED | changes)

    assert profile.flags == ()
    assert profile.reassess_by == date(2027, 3, 1)


def test_inconsistencies_do_not_move_the_level():
    consistent = score(BALANCED | {"max_annual_loss": "up_to_20", "reaction_to_fall": "sell_some"})
    contradictory = score(BALANCED | {"max_annual_loss": "up_to_20", "reaction_to_fall": "sell_all"})

    assert codes(contradictory) == ("reaction_vs_loss",)
    assert (consistent.willingness_level, contradictory.willingness_level) == (3, 3)
    assert (consistent.level, contradictory.level) == (3, 3)


def test_reassess_by_is_a_year_without_flags_and_180_days_with():
    assert score(BALANCED).reassess_by == date(2027, 3, 1)
    assert score(BALANCED | {"reaction_to_fall": "sell_all", "max_annual_loss": "30_plus"}).reassess_by == date(
        2026, 8, 28)
    assert score_answers(BALANCED, today=date(2028, 2, 29)).reassess_by == date(2029, 2, 28)


def test_sustainability_is_recorded_but_never_changes_the_level():
    profiles = {value: score(BALANCED | {"sustainability": value}) for value in ("none", "prefer_esg", "only_esg")}

    assert {value: profile.level for value, profile in profiles.items()} == {
        "none": 3, "prefer_esg": 3, "only_esg": 3}
    assert {value: profile.sustainability for value, profile in profiles.items()} == {
        "none": "none", "prefer_esg": "prefer_esg", "only_esg": "only_esg"}
    assert {value: profile.scores["sustainability"] for value, profile in profiles.items()} == {
        "none": 0, "prefer_esg": 50, "only_esg": 100}
    assert all(profile.flags == () for profile in profiles.values())


def test_validation_lists_every_missing_and_unknown_answer():
    answers = dict(BALANCED)
    del answers["horizon"]
    del answers["age"]
    answers["objective"] = "get_rich"
    answers["favourite_colour"] = "blue"

    with pytest.raises(QuestionnaireError) as caught:
        validate_answers(answers)

    assert isinstance(caught.value, ValueError)
    assert caught.value.errors == {
        "favourite_colour": "Unknown question.",
        "age": "This question must be answered.",
        "objective": "Unknown option 'get_rich'; expected one of: preserve, income, balanced, growth, max_growth.",
        "horizon": "This question must be answered.",
    }


def test_validation_of_an_empty_form_names_every_question():
    with pytest.raises(QuestionnaireError) as caught:
        validate_answers({})

    assert caught.value.errors == {question.key: "This question must be answered." for question in q.QUESTIONS}


def test_score_answers_validates_first():
    with pytest.raises(QuestionnaireError) as caught:
        score(BALANCED | {"sustainability": None})  # type: ignore[dict-item]

    assert caught.value.errors == {
        "sustainability": "Unknown option None; expected one of: none, prefer_esg, only_esg.",
    }


def test_validate_answers_returns_answers_in_questionnaire_order():
    shuffled = dict(reversed(list(BALANCED.items())))

    cleaned = validate_answers(shuffled)

    assert list(cleaned) == [question.key for question in q.QUESTIONS]
    assert cleaned == BALANCED


def test_scoring_is_deterministic():
    answers = BALANCED | {"horizon": "1_3", "objective": "growth"}

    first = score(answers)
    again = score(dict(reversed(list(answers.items()))))

    assert first == again
    assert first.flags == again.flags


def test_a_more_aggressive_willingness_answer_never_lowers_the_level():
    rng = random.Random(2026)
    bases = [MOST_CONSERVATIVE, BALANCED, MOST_AGGRESSIVE] + [
        {question.key: rng.choice(question.options).value for question in q.QUESTIONS} for _ in range(150)
    ]
    checked = 0
    for base in bases:
        for key in WILLINGNESS_KEYS:
            levels = [score(base | {key: option.value}).level for option in question_by_key(key).options]
            assert levels == sorted(levels), (base, key, levels)
            checked += 1

    assert checked == 153 * 4


def test_question_by_key_and_text_helpers():
    horizon = question_by_key("horizon")
    flag = score(BALANCED | {"reaction_to_fall": "sell_all", "max_annual_loss": "30_plus"}).flags[0]

    assert horizon.key == "horizon"
    assert q.text(horizon, "zh-hans") == "您计划这笔资金的投资期限是多久？"
    assert q.text(horizon, "zh_CN") == horizon.text_zh
    assert q.text(horizon, "en-gb") == "How long do you expect to keep this money invested?"
    assert q.text(horizon.option("over_10"), "ZH-Hant") == "10年以上"
    assert q.text(horizon.option("over_10"), "en") == "More than 10 years"
    assert q.text(flag, "zh") == "您表示投资下跌20%时会全部卖出，但又表示一年内可以接受20%及以上的亏损。"
    assert q.text(flag, "en") == (
        "You would sell everything after a 20 % fall, yet said you could accept a loss of 20 % or more in a year."
    )
    with pytest.raises(KeyError):
        question_by_key("star_sign")
    with pytest.raises(KeyError):
        horizon.option("forever")
