from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from customers.partners import issue_partner_token
from customers.tests.factories import PartnerFactory, UserFactory
from products import search
from products.search import SearchHit
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


@pytest.fixture
def client():
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


@pytest.fixture
def catalogue():
    """Five products on sale and one withdrawn, with every filtered field distinct."""
    return {
        "dep": ProductFactory(
            code="DEP-12M",
            type="deposit",
            risk_level=1,
            currency="CNY",
            term_months=12,
            min_amount=Decimal("1000.00"),
            expected_return_min=Decimal("1.500"),
            expected_return_max=Decimal("1.800"),
        ),
        "dep_usd": ProductFactory(
            code="DEP-6M-USD",
            type="deposit",
            risk_level=1,
            currency="USD",
            term_months=6,
            min_amount=Decimal("500.00"),
            expected_return_min=Decimal("3.000"),
            expected_return_max=Decimal("3.200"),
        ),
        "wealth": ProductFactory(
            code="WM-90D",
            type="wealth",
            risk_level=2,
            currency="CNY",
            term_months=3,
            min_amount=Decimal("10000.00"),
            expected_return_min=Decimal("2.400"),
            expected_return_max=Decimal("2.900"),
        ),
        "fund": ProductFactory(
            code="FUND-EQ",
            type="fund",
            risk_level=4,
            currency="CNY",
            term_months=None,
            min_amount=Decimal("100.00"),
            expected_return_min=Decimal("-5.000"),
            expected_return_max=Decimal("12.000"),
        ),
        "card": ProductFactory(
            code="CARD-GOLD",
            type="credit_card",
            risk_level=1,
            currency="CNY",
            term_months=None,
            min_amount=Decimal("0.00"),
            expected_return_min=None,
            expected_return_max=None,
        ),
        "withdrawn": ProductFactory(code="DEP-OLD", type="deposit", risk_level=1, is_active=False),
    }


def _codes(response):
    assert response.status_code == 200, response.content
    return _codes_of(response.json())


def _codes_of(body):
    return [item["code"] for item in body["results"]]


def test_list_shows_products_on_sale_by_type_then_code_with_exact_fields(client, catalogue):
    response = client.get(PRODUCTS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert body["next"] is None
    assert body["previous"] is None
    assert [item["code"] for item in body["results"]] == [
        "CARD-GOLD",
        "DEP-12M",
        "DEP-6M-USD",
        "FUND-EQ",
        "WM-90D",
    ]
    dep = catalogue["dep"]
    assert body["results"][1] == {
        "code": "DEP-12M",
        "type": "deposit",
        "name_en": dep.name_en,
        "name_zh": dep.name_zh,
        "currency": "CNY",
        "risk_level": 1,
        "expected_return_min": "1.500",
        "expected_return_max": "1.800",
        "term_months": 12,
        "min_amount": "1000.00",
        "liquidity": "at_maturity",
        "score": None,
        "vector_score": None,
        "text_score": None,
    }


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("type=deposit", ["DEP-12M", "DEP-6M-USD"]),
        ("type=deposit&type=fund", ["DEP-12M", "DEP-6M-USD", "FUND-EQ"]),
        ("risk_level_max=1", ["CARD-GOLD", "DEP-12M", "DEP-6M-USD"]),
        ("risk_level_max=2", ["CARD-GOLD", "DEP-12M", "DEP-6M-USD", "WM-90D"]),
        ("currency=USD", ["DEP-6M-USD"]),
        ("currency=usd", ["DEP-6M-USD"]),
        ("term_months_max=6", ["DEP-6M-USD", "WM-90D"]),
        ("min_amount_max=500", ["CARD-GOLD", "DEP-6M-USD", "FUND-EQ"]),
        ("type=deposit&currency=CNY&risk_level_max=1", ["DEP-12M"]),
        ("ordering=-expected_return", ["CARD-GOLD", "FUND-EQ", "DEP-6M-USD", "WM-90D", "DEP-12M"]),
        ("ordering=min_amount", ["CARD-GOLD", "FUND-EQ", "DEP-6M-USD", "DEP-12M", "WM-90D"]),
        ("ordering=risk_level,-code", ["DEP-6M-USD", "DEP-12M", "CARD-GOLD", "WM-90D", "FUND-EQ"]),
        ("type=deposit&ordering=-min_amount", ["DEP-12M", "DEP-6M-USD"]),
    ],
)
def test_filters_and_ordering(client, catalogue, query, codes):
    assert _codes(client.get(f"{PRODUCTS}?{query}")) == codes


def test_pagination_pages_through_the_list(client, catalogue):
    first = client.get(f"{PRODUCTS}?page_size=2").json()
    second = client.get(f"{PRODUCTS}?page_size=2&page=2").json()
    third = client.get(f"{PRODUCTS}?page_size=2&page=3").json()

    assert first["count"] == 5
    assert [item["code"] for item in first["results"]] == ["CARD-GOLD", "DEP-12M"]
    assert first["next"] == "http://testserver/api/v1/products/?page=2&page_size=2"
    assert [item["code"] for item in second["results"]] == ["DEP-6M-USD", "FUND-EQ"]
    assert second["previous"] == "http://testserver/api/v1/products/?page_size=2"
    assert [item["code"] for item in third["results"]] == ["WM-90D"]
    assert third["next"] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("type=stock", "type"),
        ("type=deposit&type=crypto", "type"),
        ("risk_level_max=9", "risk_level_max"),
        ("risk_level_max=0", "risk_level_max"),
        ("risk_level_max=abc", "risk_level_max"),
        ("risk_level_max=2.5", "risk_level_max"),
        ("currency=EURO", "currency"),
        ("currency=12", "currency"),
        ("term_months_max=-1", "term_months_max"),
        ("term_months_max=twelve", "term_months_max"),
        ("min_amount_max=abc", "min_amount_max"),
        ("min_amount_max=-5", "min_amount_max"),
        ("ordering=balance", "ordering"),
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page_size=0", "page_size"),
        ("page_size=1000", "page_size"),
        ("q=", "q"),
        ("q=%20%20", "q"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, catalogue, query, parameter):
    response = client.get(f"{PRODUCTS}?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert list(error["details"]) == [parameter]
    assert error["message"].startswith(f"{parameter}: ")


def test_a_page_past_the_end_is_404_in_the_error_shape(client, catalogue):
    response = client.get(f"{PRODUCTS}?page=9")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Invalid page.", "details": {}}}


def test_detail_has_both_languages_fees_eligibility_and_decimal_strings(client):
    product = ProductFactory(
        code="WM-180D-PLUS",
        type="wealth",
        name_en="Steady Plus 180",
        name_zh="稳盈180天",
        description_en="Low-volatility bond portfolio.",
        description_zh="低波动债券组合。",
        provider="Bank Asset Management",
        currency="CNY",
        risk_level=2,
        term_months=6,
        expected_return_min=Decimal("2.600"),
        expected_return_max=Decimal("3.100"),
        min_amount=Decimal("10000.00"),
        management_fee_pct=Decimal("0.300"),
        annual_fee=Decimal("0.00"),
        subscription_fee_pct=Decimal("0.100"),
        liquidity="at_maturity",
        min_age=18,
        max_age=75,
        min_annual_income=Decimal("50000.00"),
        residency=["CN", "HK"],
        kyc_required=True,
        allows_multiple=True,
        launched_on=None,
        tags=["bond", "steady"],
    )

    response = client.get(f"{PRODUCTS}{product.code}/")

    assert response.status_code == 200
    assert response.json() == {
        "code": "WM-180D-PLUS",
        "type": "wealth",
        "name_en": "Steady Plus 180",
        "name_zh": "稳盈180天",
        "currency": "CNY",
        "risk_level": 2,
        "expected_return_min": "2.600",
        "expected_return_max": "3.100",
        "term_months": 6,
        "min_amount": "10000.00",
        "liquidity": "at_maturity",
        "description_en": "Low-volatility bond portfolio.",
        "description_zh": "低波动债券组合。",
        "provider": "Bank Asset Management",
        "fees": {"management_fee_pct": "0.300", "annual_fee": "0.00", "subscription_fee_pct": "0.100"},
        "eligibility": {
            "min_age": 18,
            "max_age": 75,
            "min_annual_income": "50000.00",
            "residency": ["CN", "HK"],
            "kyc_required": True,
        },
        "allows_multiple": True,
        "launched_on": None,
        "tags": ["bond", "steady"],
        "is_active": True,
    }


def test_a_withdrawn_product_is_still_readable_by_code(client, catalogue):
    response = client.get(f"{PRODUCTS}DEP-OLD/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False


@pytest.mark.parametrize("code", ["NOPE", "not a slug", "%E7%A8%B3"])
def test_unknown_code_is_404_in_the_error_shape(client, code):
    response = client.get(f"{PRODUCTS}{code}/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No product with this code.", "details": {}}
    }


# --- search (q): the wiring only; products.search has its own tests ------------------------------


@pytest.fixture
def fake_search(monkeypatch):
    """Stands in for the real search (which needs the embedding models): records calls, answers given hits."""
    calls = []
    answer = {"hits": [], "error": None}

    def search_products(*, query, types=None, max_risk=None, active_only=True, limit=20, needs=None):
        calls.append(
            {"query": query, "types": types, "max_risk": max_risk, "active_only": active_only, "limit": limit,
             "needs": None if needs is None else needs.describe("en")}
        )
        if answer["error"]:
            raise search.SearchError(answer["error"], code="test")
        if needs is not None and answer.get("none_fit"):
            return []
        return answer["hits"]

    monkeypatch.setattr(search, "search_products", search_products)
    return calls, answer


def test_q_returns_hits_in_relevance_order_with_scores(client, catalogue, fake_search):
    calls, answer = fake_search
    answer["hits"] = [
        SearchHit(catalogue["wealth"], 0.91, 0.88, 0.5),
        SearchHit(catalogue["dep"], 0.72, 0.70, None),
        SearchHit(catalogue["dep_usd"], 0.40, None, 0.4),
    ]

    response = client.get(f"{PRODUCTS}?q=safe+savings&type=deposit&type=wealth&risk_level_max=2")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [
        (item["code"], item["score"], item["vector_score"], item["text_score"]) for item in body["results"]
    ] == [
        ("WM-90D", 0.91, 0.88, 0.5),
        ("DEP-12M", 0.72, 0.70, None),
        ("DEP-6M-USD", 0.40, None, 0.4),
    ]
    assert calls == [
        {
            "query": "safe savings",
            "types": ["deposit", "wealth"],
            "max_risk": 2,
            "active_only": True,
            "limit": 100,
            "needs": ["Type: deposit", "Risk at most R2 (cautious)"],
        }
    ]
    assert body["understood"] == {
        "applied": True,
        "constraints": {
            "types": ["deposit"], "excluded_types": [], "max_risk": 2, "min_risk": None, "term_months_min": None,
            "term_months_max": None, "amount": None, "currency": None, "liquidity": None, "min_return": None,
            "tags": [], "language": "en", "matched": [["risk", "safe"], ["types", "savings"]],
        },
        "en": ["Type: deposit (from 'savings')", "Risk at most R2 (cautious) (from 'safe')"],
        "zh": ["产品类型：存款（来自“savings”）", "风险不高于 R2（稳健型）（来自“safe”）"],
    }


def test_q_with_no_product_meeting_its_constraints_answers_the_words_best_matches(client, catalogue, fake_search):
    calls, answer = fake_search
    answer["hits"] = [SearchHit(catalogue["dep"], 0.5, 0.5, None)]
    answer["none_fit"] = True

    body = client.get(f"{PRODUCTS}?q=aggressive+deposit").json()

    assert [call["needs"] for call in calls] == [["Type: deposit", "Risk at least R4 (growth)"], None]
    assert _codes_of(body) == ["DEP-12M"]
    assert body["understood"]["applied"] is False
    assert body["understood"]["en"] == [
        "Type: deposit (from 'deposit')", "Risk at least R4 (growth) (from 'aggressive')"
    ]


def test_understand_false_ranks_by_the_words_alone(client, catalogue, fake_search):
    calls, answer = fake_search
    answer["hits"] = [SearchHit(catalogue["wealth"], 0.9, 0.9, None)]

    body = client.get(f"{PRODUCTS}?q=safe+savings&understand=false").json()
    refused = client.get(f"{PRODUCTS}?q=safe+savings&understand=maybe")

    assert [call["needs"] for call in calls] == [None]
    assert body["understood"] is None
    assert _codes_of(body) == ["WM-90D"]
    assert refused.status_code == 400
    assert list(refused.json()["error"]["details"]) == ["understand"]


def test_a_query_stating_no_constraint_and_the_plain_list_have_no_understood(client, catalogue, fake_search):
    calls, answer = fake_search
    answer["hits"] = [SearchHit(catalogue["wealth"], 0.9, 0.9, None)]

    searched = client.get(f"{PRODUCTS}?q=CSI+300").json()
    listed = client.get(PRODUCTS).json()

    assert [call["needs"] for call in calls] == [None]
    assert searched["understood"] is None
    assert listed["understood"] is None


def test_q_applies_the_filters_search_does_not_know(client, catalogue, fake_search):
    _, answer = fake_search
    answer["hits"] = [
        SearchHit(catalogue["dep_usd"], 0.9, 0.9, 0.9),
        SearchHit(catalogue["dep"], 0.8, 0.8, 0.8),
    ]

    response = client.get(f"{PRODUCTS}?q=deposit&currency=CNY&page_size=1")

    assert response.json()["count"] == 1
    assert _codes(response) == ["DEP-12M"]


def test_q_refuses_ordering_and_reports_search_errors_as_400(client, catalogue, fake_search):
    calls, answer = fake_search

    ordered = client.get(f"{PRODUCTS}?q=deposit&ordering=code")
    answer["error"] = "query is too long"
    failed = client.get(f"{PRODUCTS}?q=deposit")
    bad_filter = client.get(f"{PRODUCTS}?q=deposit&risk_level_max=7")

    assert ordered.status_code == 400
    assert list(ordered.json()["error"]["details"]) == ["ordering"]
    assert failed.status_code == 400
    assert failed.json()["error"] == {
        "code": "invalid_parameter",
        "message": "q: query is too long",
        "details": {"q": ["query is too long"]},
    }
    assert bad_filter.status_code == 400
    assert list(bad_filter.json()["error"]["details"]) == ["risk_level_max"]
    assert len(calls) == 1  # neither refusal reached the search


# --- who may read the catalogue ----------------------------------------------------------------


def test_anonymous_is_401(catalogue):
    for url in (PRODUCTS, f"{PRODUCTS}DEP-12M/"):
        response = APIClient().get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


def test_staff_can_read_the_catalogue(catalogue):
    client = APIClient()
    client.force_login(UserFactory(is_staff=True))
    assert client.get(f"{PRODUCTS}DEP-12M/").status_code == 200
    assert len(_codes(client.get(PRODUCTS))) == 5


def test_partner_needs_products_read(catalogue):
    _, allowed = issue_partner_token(partner=PartnerFactory(), name="p", scopes=["products:read"])
    _, other = issue_partner_token(partner=PartnerFactory(), name="p", scopes=["profile:read"])
    with_scope, without_scope = APIClient(), APIClient()
    with_scope.credentials(HTTP_AUTHORIZATION=f"Bearer {allowed}")
    without_scope.credentials(HTTP_AUTHORIZATION=f"Bearer {other}")

    assert len(_codes(with_scope.get(PRODUCTS))) == 5
    assert with_scope.get(f"{PRODUCTS}DEP-12M/").status_code == 200
    for url in (PRODUCTS, f"{PRODUCTS}DEP-12M/"):
        response = without_scope.get(url)
        assert response.status_code == 403
        assert response.json() == {
            "error": {
                "code": "insufficient_scope",
                "message": "This API token lacks the scope(s): products:read.",
                "details": {},
            }
        }
