import json
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db.models import Q

from products.needs import DEPOSIT_REFERENCE_RATE, MAX_NEEDS_LENGTH, Evidence, Needs, parse_needs


def _constraints(needs: Needs) -> Needs:
    """The needs without the phrases they came from, to compare constraints alone."""
    return replace(needs, matched=())


# --- The examples from the issue, in both languages -----------------------------------------------------


def test_low_risk_year_better_than_deposit_in_english():
    needs = parse_needs("I want a low-risk product for about a year with better yield than a deposit")

    assert _constraints(needs) == Needs(
        types=("wealth", "bond", "fund"), excluded_types=("deposit",), max_risk=2, term_months_min=9,
        term_months_max=15, min_return=DEPOSIT_REFERENCE_RATE, language="en",
    )
    assert DEPOSIT_REFERENCE_RATE == Decimal("1.55")
    assert needs.matched == (
        Evidence("min_return", "better yield than a deposit"),
        Evidence("excluded_types", "better yield than a deposit"),
        Evidence("term", "a year"),
        Evidence("risk", "low-risk"),
        Evidence("types", "better yield than a deposit"),
    )


def test_low_risk_year_better_than_deposit_in_chinese_names_wealth_management():
    needs = parse_needs("我想要一年期、低风险、收益比存款高的理财")

    assert _constraints(needs) == Needs(
        types=("wealth",), excluded_types=("deposit",), max_risk=2, term_months_min=9, term_months_max=15,
        min_return=Decimal("1.55"), language="zh",
    )
    assert needs.matched == (
        Evidence("min_return", "收益比存款高"),
        Evidence("excluded_types", "收益比存款高"),
        Evidence("term", "一年期"),
        Evidence("risk", "低风险"),
        Evidence("types", "理财"),
    )


@pytest.mark.parametrize(
    "text",
    ["a credit card for travelling abroad with no foreign exchange fee", "出国旅游用的信用卡，免货币转换费"],
)
def test_travel_card_without_fx_fee(text):
    needs = parse_needs(text)

    assert (needs.types, needs.tags) == (("credit_card",), ("travel", "no-fx-fee"))
    assert needs.max_risk is None and needs.amount is None


def test_save_fifty_thousand_with_daily_access_in_chinese():
    needs = parse_needs("我想存5万块，随时能取")

    assert _constraints(needs) == Needs(
        types=("deposit", "wealth"), amount=Decimal("50000.00"), currency="CNY", liquidity="daily", language="zh",
    )
    assert needs.matched == (
        Evidence("amount", "5万块"), Evidence("liquidity", "随时能取"), Evidence("types", "存"),
        Evidence("currency", "5万块"),
    )


def test_save_fifty_thousand_with_daily_access_in_english():
    needs = parse_needs("I want to save 50k and access it any time")

    assert _constraints(needs) == Needs(
        types=("deposit", "wealth"), amount=Decimal("50000.00"), liquidity="daily", language="en",
    )


@pytest.mark.parametrize("text", ["loan of 200k for a car over 3 years", "三年期车贷20万"])
def test_car_loan_amount_and_term(text):
    needs = parse_needs(text)

    assert (needs.types, needs.tags, needs.amount) == (("loan",), ("car",), Decimal("200000.00"))
    # "over 3 years" is how long the loan runs: about 36 months, not "more than 36".
    assert (needs.term_months_min, needs.term_months_max) == (27, 45)


@pytest.mark.parametrize("text", ["high risk high return fund", "高风险高收益的基金"])
def test_high_risk_fund(text):
    needs = parse_needs(text)

    assert (needs.types, needs.min_risk, needs.max_risk) == (("fund",), 4, None)


@pytest.mark.parametrize(
    ("text", "max_risk", "tags"),
    [
        ("保本", 1, ("capital-protected",)),
        ("capital protected please", 1, ("capital-protected",)),
        ("稳健", 2, ()),
        ("something cautious", 2, ()),
        ("不要亏本", 1, ()),
        ("I can't afford to lose money", 1, ()),
        ("no risk", 1, ()),
        ("不想冒风险", 1, ()),
        ("中等风险", 3, ()),
    ],
)
def test_risk_appetite_words(text, max_risk, tags):
    needs = parse_needs(text)

    assert (needs.max_risk, needs.min_risk, needs.tags) == (max_risk, None, tags)


@pytest.mark.parametrize("text", ["monthly income for retirement", "退休后希望每月领取收入"])
def test_monthly_income_for_retirement(text):
    needs = parse_needs(text)

    assert set(needs.tags) == {"monthly-income", "income", "annuity", "retirement", "pension"}
    assert needs.types == ()


@pytest.mark.parametrize("text", ["USD", "美元", "a US dollar deposit"])
def test_dollars_set_the_currency(text):
    assert parse_needs(text).currency == "USD"


# --- Amounts and numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("2万元", "20000", "CNY"),
        ("RMB 50,000", "50000", "CNY"),
        ("¥3000", "3000", "CNY"),
        ("￥3000", "3000", "CNY"),
        ("five thousand", "5000", None),
        ("twenty thousand yuan", "20000", "CNY"),
        ("5千", "5000", None),
        ("五千块", "5000", "CNY"),
        ("200k", "200000", None),
        ("3K", "3000", None),
        ("1.5m", "1500000", None),
        ("一万五", "15000", None),
        ("两万", "20000", None),
        ("$5,000", "5000", "USD"),
        ("我想存１００００元", "10000", "CNY"),
        ("invest 300", "300", None),
        ("5-10万", "50000", None),
    ],
)
def test_amounts_with_units_and_currencies(text, amount, currency):
    needs = parse_needs(text)

    assert (needs.amount, needs.currency) == (Decimal(amount), currency)


@pytest.mark.parametrize(
    "text",
    [
        "I am 35 years old and earn 20k a month",
        "我今年35岁，月薪2万",
        "call me on 13800138000",
        "万一亏了怎么办",
        "my monthly income is 20k",
        "我每月收入一万",
        "I have 2 kids",
    ],
)
def test_numbers_that_are_not_amounts_or_terms_are_ignored(text):
    needs = parse_needs(text)

    assert (needs.amount, needs.term_months_min, needs.term_months_max, needs.types) == (None, None, None, ())
    assert "monthly-income" not in needs.tags


def test_a_monthly_contribution_is_not_the_sum_to_place():
    needs = parse_needs("给孩子存教育金，每月存1000")

    assert (needs.amount, needs.tags) == (None, ("family", "education"))


def test_words_inside_other_words_are_not_read():
    assert parse_needs("please discard this extra note").is_empty


def test_a_year_is_not_a_term():
    needs = parse_needs("the best card for 2030")

    assert _constraints(needs) == Needs(types=("credit_card",), language="en")


# --- Terms ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("半年", 4, 8),
        ("6个月", 4, 8),
        ("half a year", 4, 8),
        ("18 months", 13, 23),
        ("十八个月", 13, 23),
        ("一年半", 13, 23),
        ("两年", 18, 30),
        ("a 1-year deposit", 9, 15),
        ("短期", None, 12),
        ("short-term", None, 12),
        ("长期", 36, None),
        ("long term", 36, None),
        ("1-3 years", 12, 36),
        ("一到三年", 12, 36),
        ("3到6个月", 3, 6),
        ("a year or two", 12, 24),
        ("six months to a year", 6, 12),
        ("within a year", None, 12),
        ("一年以内", None, 12),
        ("at least 3 years", 36, None),
        ("三年以上", 36, None),
    ],
)
def test_terms_ranges_and_numerals(text, low, high):
    needs = parse_needs(text)

    assert (needs.term_months_min, needs.term_months_max) == (low, high)


def test_term_phrase_includes_its_qualifier():
    assert parse_needs("一年以内").matched == (Evidence("term", "一年以内"),)
    assert parse_needs("at least 3 years").matched == (Evidence("term", "at least 3 years"),)


def test_several_horizons_narrow_each_other():
    needs = parse_needs("短期的，三个月左右")

    assert (needs.term_months_min, needs.term_months_max) == (2, 4)


# --- Negation -------------------------------------------------------------------------------------------


def test_not_high_risk_caps_risk_at_balanced():
    needs = parse_needs("不要高风险")

    assert (needs.max_risk, needs.min_risk) == (3, None)
    assert needs.matched == (Evidence("risk", "不要高风险"),)


def test_english_not_high_risk_caps_risk_at_balanced():
    assert parse_needs("I don't want high risk").max_risk == 3


def test_not_a_loan_excludes_loans():
    needs = parse_needs("I want something, not a loan")

    assert _constraints(needs) == Needs(excluded_types=("loan",), language="en")
    assert needs.matched == (Evidence("excluded_types", "not a loan"),)
    assert needs.as_filters()["type__in"] == ["deposit", "wealth", "fund", "bond", "credit_card", "insurance"]


def test_negation_reaches_only_the_phrase_it_precedes():
    needs = parse_needs("我不想要高风险的基金")

    assert (needs.types, needs.excluded_types, needs.max_risk) == (("fund",), (), 3)


def test_not_a_kind_of_fund_is_still_a_fund():
    needs = parse_needs("我想买点基金，不要股票基金")

    assert (needs.types, needs.excluded_types) == (("fund",), ())


def test_chinese_negation_after_the_thing():
    needs = parse_needs("保险就算了，想要国债")

    assert (needs.types, needs.excluded_types) == (("bond",), ("insurance",))


def test_a_ceiling_on_a_rate_is_not_a_return_to_reach():
    needs = parse_needs("利率低于4%的房贷")

    assert (needs.types, needs.min_return) == (("loan",), None)


# --- Returns and explicit risk levels -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "min_return"),
    [("年化3%以上的理财", "3"), ("a fund with 4.5% a year", "4.5"), ("收益百分之三点五", "3.5")],
)
def test_a_return_in_percent(text, min_return):
    needs = parse_needs(text)

    assert needs.min_return == Decimal(min_return)
    assert needs.term_months_min is None  # "a year" after a rate is how the rate is quoted


@pytest.mark.parametrize(
    ("text", "max_risk", "min_risk"),
    [("R3以下", 3, None), ("not more than R2", 2, None), ("R4 or above", None, 4), ("风险等级R2", 2, None)],
)
def test_explicit_risk_levels(text, max_risk, min_risk):
    needs = parse_needs(text)

    assert (needs.max_risk, needs.min_risk) == (max_risk, min_risk)


# --- Limits ---------------------------------------------------------------------------------------------


def test_text_longer_than_the_limit_is_refused():
    with pytest.raises(ValueError, match="needs text is 501 characters long; at most 500 are accepted"):
        parse_needs("a" * (MAX_NEEDS_LENGTH + 1))


def test_text_at_the_limit_is_read():
    text = ("low risk fund " * 40)[:MAX_NEEDS_LENGTH]

    needs = parse_needs(text)

    assert (needs.types, needs.max_risk) == (("fund",), 2)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_text_gives_empty_needs(text):
    needs = parse_needs(text)

    assert needs == Needs()
    assert needs.is_empty
    assert needs.describe() == []
    assert needs.as_filters() == {}


def test_text_without_any_need_is_empty_but_keeps_its_language():
    needs = parse_needs("你好")

    assert needs.is_empty
    assert needs.language == "zh"


# --- describe() -----------------------------------------------------------------------------------------


def test_describe_in_english_and_chinese():
    needs = parse_needs("I want a low-risk product for about a year with better yield than a deposit")

    assert needs.describe("en") == [
        "Type: wealth management, bond, fund",
        "Not: deposit",
        "Risk at most R2 (cautious)",
        "Term about 9–15 months",
        "Expected return at least 1.55% a year",
    ]
    assert needs.describe("zh") == [
        "产品类型：理财、债券、基金",
        "不要：存款",
        "风险不高于 R2（稳健型）",
        "期限约 9–15 个月",
        "预期年化收益不低于 1.55%",
    ]


def test_describe_defaults_to_the_language_of_the_text_and_can_name_sources():
    needs = parse_needs("我想存5万块，随时能取")

    assert needs.describe(sources=True) == [
        "产品类型：存款、理财（来自“存”）",
        "金额 ¥50,000（来自“5万块”）",
        "币种：人民币（来自“5万块”）",
        "随时可取（来自“随时能取”）",
    ]
    assert needs.describe("en", sources=True) == [
        "Type: deposit, wealth management (from '存')",
        "Amount ¥50,000 (from '5万块')",
        "Currency: CNY (from '5万块')",
        "Money available any day (from '随时能取')",
    ]


def test_describe_minimum_risk_open_terms_dollars_and_features():
    needs = Needs(min_risk=4, term_months_min=36, amount=Decimal("5000"), currency="USD",
                  tags=("travel", "no-fx-fee"))

    assert needs.describe("en") == [
        "Risk at least R4 (growth)",
        "Term at least 36 months",
        "Amount US$5,000",
        "Currency: USD",
        "Features: travel, no foreign-exchange fee",
    ]
    assert needs.describe("zh") == [
        "风险不低于 R4（成长型）",
        "期限不少于 36 个月",
        "金额 US$5,000",
        "币种：美元",
        "特点：旅行、免货币转换费",
    ]


# --- as_filters(), as_q() and JSON ----------------------------------------------------------------------


def test_as_filters_for_the_low_risk_example():
    needs = parse_needs("I want a low-risk product for about a year with better yield than a deposit")

    assert needs.as_filters() == {
        "type__in": ["wealth", "bond", "fund"],
        "risk_level__lte": 2,
        "term_months__range": (9, 15),
        "expected_return_max__gte": Decimal("1.55"),
    }


def test_as_filters_for_an_amount_liquidity_and_currency():
    assert parse_needs("我想存5万块，随时能取").as_filters() == {
        "type__in": ["deposit", "wealth"],
        "min_amount__lte": Decimal("50000.00"),
        "currency": "CNY",
        "liquidity__in": ["daily"],
    }


def test_as_filters_for_a_car_loan_and_open_ended_terms():
    assert parse_needs("三年期车贷20万").as_filters() == {
        "type__in": ["loan"],
        "term_months__range": (27, 45),
        "min_amount__lte": Decimal("200000.00"),
        "tags__overlap": ["car"],
    }
    assert parse_needs("长期, high risk").as_filters() == {"risk_level__gte": 4, "term_months__gte": 36}
    assert parse_needs("短期, weekly access").as_filters() == {
        "term_months__lte": 12, "liquidity__in": ["daily", "weekly"],
    }


def test_as_filters_states_a_dollar_amount_in_yuan_as_the_catalogue_does():
    # DEP-USD-*: "from USD 500" is stored as a minimum of 3500.
    assert parse_needs("$500").as_filters() == {"min_amount__lte": Decimal("3500.00"), "currency": "USD"}


def test_as_q_admits_open_ended_products_that_can_be_left_at_will():
    needs = parse_needs("低风险，一年左右")

    assert needs.as_q() == Q(risk_level__lte=2) & (
        Q(term_months__range=(9, 15)) | Q(term_months__isnull=True, liquidity__in=["daily", "weekly", "monthly"])
    )


def test_json_round_trip():
    needs = parse_needs("我想要一年期、低风险、收益比存款高的理财，5万元")

    stored = json.loads(json.dumps(needs.to_json()))

    assert Needs.from_json(stored) == needs
    assert stored["amount"] == "50000.00"
    assert stored["matched"][0] == ["min_return", "收益比存款高"]


def test_from_json_refuses_an_amount_that_is_not_a_number():
    stored = Needs().to_json() | {"amount": "lots"}

    with pytest.raises(ValueError, match="not a decimal: 'lots'"):
        Needs.from_json(stored)


def test_from_json_refuses_unknown_product_types():
    stored = Needs(types=("fund",)).to_json() | {"types": ["crypto"]}

    with pytest.raises(ValueError, match=r"unknown product types: \['crypto'\]"):
        Needs.from_json(stored)


def test_without_features_keeps_the_harder_constraints_and_their_phrases():
    needs = parse_needs("a low-risk ESG fund")

    plain = needs.without_features()

    assert needs.tags and not plain.tags
    assert (plain.types, plain.max_risk) == (needs.types, needs.max_risk)
    assert {e.constraint for e in plain.matched} == {e.constraint for e in needs.matched} - {"tags"}
