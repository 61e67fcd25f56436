import pytest

from products.models import Product
from products.search import SearchError, search_catalogue, search_products
from products.services import embed_products, refresh_search_documents
from products.tests.catalogue import build_catalogue

pytestmark = [pytest.mark.django_db, pytest.mark.model]


@pytest.fixture
def catalogue():
    products = build_catalogue()
    refresh_search_documents()
    embed_products()
    return products


def _codes(hits):
    return [hit.product.code for hit in hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("card for trips abroad without currency conversion charges", "CARD-TRAVEL"),
        ("put money away for a year at a guaranteed rate", "DEP-12M"),
        ("borrow money to buy a flat", "LOAN-MORTGAGE"),
        ("payout if I get cancer", "INS-CI"),
        ("cheap way to own the whole Chinese stock market", "FUND-CSI300"),
    ],
)
def test_paraphrased_query_finds_the_right_product_first(catalogue, query, expected):
    hits = search_products(query=query)

    assert _codes(hits)[0] == expected
    assert hits[0].vector_score is not None


def test_chinese_query_finds_the_travel_card_through_the_multilingual_leg(catalogue):
    hits = search_products(query="出国旅行不收外汇手续费的信用卡")

    assert hits[0].product.code == "CARD-TRAVEL"
    # The multilingual embedding itself ranks the travel card first, not only the bigram index.
    assert hits[0].vector_score == max(hit.vector_score for hit in hits if hit.vector_score is not None)
    assert hits[0].text_score is not None


def test_exact_name_matches_through_the_full_text_leg(catalogue):
    hits = search_products(query="CSI 300")

    assert hits[0].product.code == "FUND-CSI300"
    assert hits[0].text_score is not None and hits[0].text_score > 0


def test_fused_score_is_reciprocal_rank_fusion(catalogue):
    hits = search_products(query="12-Month Fixed Deposit")

    top = hits[0]
    assert top.product.code == "DEP-12M"
    # First in both legs: 1/(60+1) twice.
    assert top.score == pytest.approx(2 / 61)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_type_filter_is_honoured_in_both_legs(catalogue):
    hits = search_products(
        query="card for trips abroad without currency conversion charges", types=["deposit"]
    )

    assert set(_codes(hits)) == {"DEP-12M", "DEP-FLEX"}


def test_max_risk_filter_excludes_riskier_products(catalogue):
    hits = search_products(query="cheap way to own the whole Chinese stock market", max_risk=2)

    assert "FUND-CSI300" not in _codes(hits)
    assert len(hits) == 9
    assert all(hit.product.risk_level <= 2 for hit in hits)


def test_inactive_products_are_not_found_unless_asked(catalogue):
    Product.objects.filter(code="CARD-TRAVEL").update(is_active=False)

    assert "CARD-TRAVEL" not in _codes(search_products(query="travel credit card"))
    assert _codes(search_products(query="travel credit card", active_only=False))[0] == "CARD-TRAVEL"


def test_limit_caps_the_results(catalogue):
    assert len(search_products(query="savings", limit=3)) == 3


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"query": "   "}, "blank_query"),
        ({"query": "card", "types": ["credit_card", "crypto"]}, "invalid_type"),
        ({"query": "card", "max_risk": 0}, "invalid_max_risk"),
        ({"query": "card", "max_risk": 6}, "invalid_max_risk"),
        ({"query": "card", "limit": 0}, "invalid_limit"),
    ],
)
def test_invalid_input_raises_value_error_with_a_code(kwargs, code):
    with pytest.raises(ValueError) as error:
        search_products(**kwargs)

    assert isinstance(error.value, SearchError)
    assert error.value.code == code


# --- understanding: the constraints a query states, applied as filters -----------------------------


def test_constraints_in_the_words_filter_the_results(catalogue):
    words_alone = _codes(search_products(query="低风险基金"))  # "a low-risk fund"
    found = search_catalogue(query="低风险基金")

    assert "FUND-CSI300" in words_alone[:2]  # by meaning alone the R4 equity fund ranks near the top
    assert found.applied is True
    assert found.understood.types == ("fund",) and found.understood.max_risk == 2
    assert _codes(found.hits) == ["FUND-BOND"]  # the only fund at R2 or below


def test_constraints_and_explicit_filters_both_apply(catalogue):
    found = search_catalogue(query="a deposit for about a year", max_risk=1)

    assert found.applied is True
    # A term asked for in a search is that term: the open-ended DEP-FLEX, which a recommendation would admit for
    # "about a year" since it can be left any day, is not shown.
    assert _codes(found.hits) == ["DEP-12M"]


def test_no_product_meeting_the_constraints_falls_back_to_the_words(catalogue):
    found = search_catalogue(query="aggressive deposit")

    assert found.applied is False
    assert found.understood.min_risk == 4 and found.understood.types == ("deposit",)
    assert _codes(found.hits) == _codes(search_products(query="aggressive deposit"))
    assert _codes(found.hits)[0] in {"DEP-12M", "DEP-FLEX"}


def test_features_are_left_to_the_ranking_and_understand_false_reads_nothing(catalogue):
    travel = search_catalogue(query="travel credit card")
    literal = search_catalogue(query="低风险基金", understand=False)

    assert travel.understood.tags == () and travel.understood.types == ("credit_card",)
    assert _codes(travel.hits)[0] == "CARD-TRAVEL"
    assert set(_codes(travel.hits)) == {"CARD-TRAVEL", "CARD-CASHBACK"}
    assert literal.understood.is_empty and literal.applied is False
    assert _codes(literal.hits) == _codes(search_products(query="低风险基金"))
