"""Reading the customer's reason into needs: the model's JSON is accepted only for known labels the customer's
words support; junk, a dead endpoint or no model fall back to the sentence-embedding reader (the real MiniLM and
e5 here) or, without it, the rule-based reading, and the source says so; a clause that denies a need never yields
it. Also the needs-fit rules, pure."""

from decimal import Decimal

import pytest

from advisor.applications import checks
from advisor.applications.reading import keyword_labels, parse_model_answer, read_needs, rule_labels, split_clauses
from bank.llm import LLMError

REASON = "I travel a lot and want no foreign-exchange fees"


class FakeModel:
    """A bank.llm ChatModel answering a fixed text (or failing), recording the prompts."""

    name = "fake-llm"

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.calls: list[list[dict[str, str]]] = []

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        self.calls.append(messages)
        if self.answer is None:
            raise LLMError("connection refused")
        return self.answer


def test_valid_json_from_the_model_is_accepted_where_the_words_support_it():
    model = FakeModel('Sure! {"needs": ["travel", "no_fx_fees"]}')

    reading = read_needs(text=REASON, model=model)

    assert reading.labels == ["no_fx_fees", "travel"]
    assert reading.source == "llm"
    assert reading.detail["no_fx_fees"] == {"phrase": "no foreign-exchange fees", "llm": True, "rules": True,
                                            "keywords": True}
    assert reading.detail["_model"] == "fake-llm"
    assert model.calls[0][1] == {"role": "user", "content": REASON}
    assert "no_fx_fees (no foreign-exchange fees)" in model.calls[0][0]["content"]


def test_invented_and_unsupported_labels_are_refused():
    model = FakeModel('{"needs": ["travel", "crypto_trading", "high_yield"]}')

    reading = read_needs(text=REASON, model=model)

    # The rule reader's no_fx_fees stands although the model missed it; its inventions do not.
    assert reading.labels == ["no_fx_fees", "travel"]
    assert reading.detail["_rejected"] == {"crypto_trading": "not in the vocabulary",
                                           "high_yield": "not found in the customer's words"}
    assert reading.detail["no_fx_fees"]["llm"] is False


def test_keyword_only_needs_count_only_when_the_model_confirms_them():
    text = "I want points and no annual fee"
    confirmed = read_needs(text=text, model=FakeModel('{"needs": ["rewards"]}'))
    without_model = read_needs(text=text, model=None, embeddings=False)

    assert confirmed.labels == ["rewards"]
    # Without a model the keyword hits stand on their own ("no annual fee" is a keyword, not a rule).
    assert without_model.labels == ["rewards", "low_fees"] and without_model.source == "rules"


def test_a_clause_that_denies_a_need_yields_nothing_whichever_reader_reads():
    text = "I don't care about low fees, I want points"
    confirmed = read_needs(text=text, model=FakeModel('{"needs": ["rewards", "low_fees"]}'))
    without_model = read_needs(text=text, model=None, embeddings=False)

    assert confirmed.labels == ["rewards"]
    assert confirmed.detail["_rejected"] == {"low_fees": "not found in the customer's words"}
    assert (without_model.labels, without_model.detail["_negated"]) == (["rewards"], ["I don't care about low fees"])


def test_clauses_split_at_punctuation_and_turns_and_keep_their_negation_across_and():
    clauses = split_clauses("I never travel and need no lounges, but I want cash back。不在乎手续费")

    assert [(c.text, c.pieces, c.negated) for c in clauses] == [
        ("I never travel and need no lounges", ["I never travel and need no lounges", "I never travel",
                                                "need no lounges"], True),
        ("I want cash back", ["I want cash back"], False),
        ("不在乎手续费", ["不在乎手续费"], True),
    ]
    # Needs stated with a negative word are not denials.
    assert not any(c.negated for c in split_clauses("I don't want to lose money; no fees; 不想亏; 不要手续费"))

@pytest.mark.parametrize("answer", ["travel, no fx fees", '{"needs": "travel"}', '{"labels": ["travel"]}',
                                    "{not json}", ""])
def test_junk_falls_back_to_the_rules_and_says_why(answer):
    reading = read_needs(text=REASON, model=FakeModel(answer), embeddings=False)

    assert reading.source == "rules"
    assert reading.labels == ["no_fx_fees", "travel"]
    assert reading.detail["_error"].startswith("no JSON needs list in")


def test_an_unreachable_model_falls_back_to_the_rules():
    reading = read_needs(text="我经常出国旅行，希望免外汇手续费", model=FakeModel(None), embeddings=False)

    assert (reading.source, reading.labels) == ("rules", ["no_fx_fees", "travel"])
    assert reading.detail["_error"] == "connection refused"


@pytest.mark.django_db
def test_the_none_backend_reads_with_the_rules_when_embeddings_are_off(settings):
    settings.CHAT_LLM_BACKEND = "none"
    settings.APPLICATION_NEEDS_EMBEDDINGS = False

    reading = read_needs(text="something safe I can withdraw any time")

    assert (reading.source, reading.labels) == ("rules", ["low_risk", "liquidity"])


# --- the sentence-embedding reader (real models) --------------------------------------------------------------

@pytest.mark.model
@pytest.mark.django_db
@pytest.mark.parametrize(("text", "label"), [
    ("My job takes me to other countries every few weeks", "travel"),
    ("I'd like some money back every time I shop", "cashback"),
    ("I want my savings to grow much faster", "high_yield"),
    ("Nothing volatile please, I sleep badly when markets fall", "low_risk"),
])
def test_embeddings_read_paraphrases_the_keywords_miss(settings, text, label):
    settings.CHAT_LLM_BACKEND = "none"

    reading = read_needs(text=text)

    assert keyword_labels(text) == {} and rule_labels(text) == {}
    assert (reading.source, reading.labels) == ("embeddings", [label])
    entry = reading.detail[label]
    assert (entry["rules"], entry["keywords"], entry["llm"]) == (False, False, False)
    assert entry["similarity"] >= 0.48  # the English encoder's `accept` bar
    assert reading.detail["_model"] == "embedding.text v1"


@pytest.mark.model
@pytest.mark.django_db
def test_embeddings_confirm_the_customers_words_and_drop_a_denied_need():
    reading = read_needs(text="I never travel, I just want cash back", model=None)

    assert (reading.source, reading.labels) == ("embeddings", ["cashback"])
    assert reading.detail["_negated"] == ["I never travel"]
    assert reading.detail["cashback"]["phrase"] == "cash back" and reading.detail["cashback"]["keywords"] is True


@pytest.mark.model
@pytest.mark.django_db
def test_embeddings_read_chinese_with_the_multilingual_encoder():
    paraphrase = read_needs(text="我一年有一半时间在国外", model=None)
    denied = read_needs(text="不在乎手续费，只想要积分", model=None)

    assert (paraphrase.source, paraphrase.labels) == ("embeddings", ["travel"])
    assert paraphrase.detail["_model"] == "embedding.multilingual v1"
    assert (denied.labels, denied.detail["_negated"]) == (["rewards"], ["不在乎手续费"])


@pytest.mark.model
@pytest.mark.django_db
@pytest.mark.parametrize("text", ["My friend recommended this card", "The weather is lovely today", "看起来还不错"])
def test_embeddings_give_an_unrelated_sentence_no_need(text):
    reading = read_needs(text=text, model=None)

    assert (reading.source, reading.labels) == ("embeddings", [])


@pytest.mark.model
@pytest.mark.django_db
def test_a_junk_model_answer_falls_back_to_the_embeddings():
    reading = read_needs(text=REASON, model=FakeModel("{not json}"))

    assert (reading.source, reading.labels) == ("embeddings", ["no_fx_fees", "travel"])
    assert reading.detail["_error"].startswith("no JSON needs list in")


def test_no_reason_means_no_reading():
    assert read_needs(text="  ", model=FakeModel('{"needs": ["travel"]}')).source == ""


def test_parse_model_answer_takes_the_first_valid_object():
    assert parse_model_answer('x {"a": 1} then {"needs": ["ESG ", "esg"]}') == ["esg"]


def _product(**changes):
    fields = dict(code="FND-X", type="fund", name_en="Growth Fund", name_zh="成长基金", risk_level=4, tags=("equity",),
                  liquidity="daily", term_months=None, return_min=Decimal("2.0"), return_max=Decimal("9.0"),
                  annual_fee=Decimal("0"), management_fee_pct=Decimal("1.200"), subscription_fee_pct=Decimal("0"),
                  min_amount=Decimal("1000"))
    return checks.ProductFacts(**{**fields, **changes})


def test_a_protective_need_the_product_contradicts_refers_and_a_preference_is_a_note():
    results = checks.check_needs_fit(labels=["capital_protection", "low_fees", "liquidity"], product=_product(),
                                     alternatives={})

    assert [(r.code, r.status) for r in results] == [("need_conflict_capital_protection", "refer"),
                                                    ("need_unmet_low_fees", "note"), ("need_met_liquidity", "pass")]
    assert results[0].en == ("You told us you want your capital protected, but Growth Fund is risk level R4 and its "
                             "value can go down; an adviser will check with you that it is what you want before it "
                             "is opened.")
    assert checks.outcome(results) == ("referred", ["need_conflict_capital_protection"])


def test_a_better_rate_elsewhere_is_named_with_its_figure():
    loan = _product(code="LN-X", type="loan", name_en="Used Car Loan", name_zh="二手车贷款", risk_level=2,
                    return_min=Decimal("4.80"), liquidity="n/a")

    [result] = checks.check_needs_fit(labels=["low_rate"], product=loan, alternatives={
        "low_rate": checks.Alternative(name_en="Electric Vehicle Loan", name_zh="新能源汽车贷款",
                                       figure=Decimal("2.90"))})

    assert (result.status, result.en) == ("note", "You asked for a low interest rate: this product is 4.80 % a year, "
                                                  "while Electric Vehicle Loan is 2.90 %.")


def test_card_limit_bands_and_bounds():
    good = checks.CreditFacts(pd=0.03, points=700, model_label="v1", approve_below=0.06, decline_from=0.25)
    review = checks.CreditFacts(pd=0.10, points=600, model_label="v1", approve_below=0.06, decline_from=0.25)

    assert checks.card_limit(annual_income=Decimal("240000"), credit=good, student=False) == Decimal("72000")
    assert checks.card_limit(annual_income=Decimal("240000"), credit=review, student=False) == Decimal("36000")
    assert checks.card_limit(annual_income=Decimal("5000"), credit=good, student=False) == Decimal("3000")
    assert checks.card_limit(annual_income=Decimal("240000"), credit=good, student=True) == Decimal("5000")
    assert checks.card_limit(annual_income=Decimal("9000000"), credit=good, student=False) == Decimal("500000")


def test_a_card_limit_is_sized_so_its_minimum_repayment_fits_the_budget():
    good = checks.CreditFacts(pd=0.02, points=700, model_label="risk.credit v1", approve_below=0.06, decline_from=0.25)
    # 40 % of 20,000 is 8,000 of repayments, 2,000 already taken: 6,000 of room, a 10 % minimum → 60,000;
    # spending leaves 20,000 - 12,000 - 2,000 = 6,000 too.
    affordable = checks.affordable_card_limit(monthly_income=Decimal("20000"), monthly_spend=Decimal("12000"),
                                              existing_payments=Decimal("2000"), refer_pct=40, min_payment_pct=10)
    assert affordable == Decimal("60000")
    assert checks.card_limit(annual_income=Decimal("240000"), credit=good, student=False,
                             affordable=affordable) == Decimal("60000")
    # Spending leaves only 1,000: a 10,000 limit, and never below the card minimum.
    tight = checks.affordable_card_limit(monthly_income=Decimal("20000"), monthly_spend=Decimal("17000"),
                                         existing_payments=Decimal("2000"), refer_pct=40, min_payment_pct=10)
    assert tight == Decimal("10000")
    broke = checks.affordable_card_limit(monthly_income=Decimal("20000"), monthly_spend=Decimal("25000"),
                                         existing_payments=Decimal("0"), refer_pct=40, min_payment_pct=10)
    assert broke == 0
    assert checks.card_limit(annual_income=Decimal("240000"), credit=good, student=False,
                             affordable=broke) == Decimal("3000")
