import importlib
import sys
import types
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import reverse

from products.models import Product
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Hit:
    product: Product
    score: float
    vector_score: float
    text_score: float


@pytest.fixture
def search_calls(monkeypatch):
    """Replace products.search.search_products (written separately) by a recorder returning fixed hits."""
    try:
        module = importlib.import_module("products.search")
    except ImportError:
        module = types.ModuleType("products.search")
        monkeypatch.setitem(sys.modules, "products.search", module)
    calls: list[dict] = []
    results: list[Hit] = []

    def fake_search_products(**kwargs):
        needs = kwargs.pop("needs", None)
        calls.append({**kwargs, "needs": None if needs is None else needs.describe("en")})
        return list(results)

    monkeypatch.setattr(module, "search_products", fake_search_products, raising=False)
    return calls, results, module


def test_products_page_lists_active_products_with_facts(client):
    ProductFactory(code="DEP-12M", name_en="12-month deposit", name_zh="十二个月定期存款", risk_level=1,
                   expected_return_min=Decimal("1.500"), expected_return_max=Decimal("1.800"), term_months=12,
                   min_amount=Decimal("1000.00"))
    ProductFactory(code="OLD-1", name_en="Withdrawn deposit", is_active=False)

    response = client.get(reverse("portal:products"))

    assert response.status_code == 200
    page = response.content.decode()
    assert [p.code for p in response.context["products"]] == ["DEP-12M"]
    assert "12-month deposit" in page
    assert "1.5% – 1.8%" in page
    assert "12 months" in page
    assert "¥1,000.00" in page
    assert '<span aria-hidden="true">R1</span>' in page
    assert "Withdrawn deposit" not in page


def test_products_page_filters_by_type_and_max_risk(client):
    ProductFactory(code="DEP-1", type="deposit", risk_level=1)
    ProductFactory(code="FUND-3", type="fund", risk_level=3)
    ProductFactory(code="FUND-5", type="fund", risk_level=5)

    by_type = client.get(reverse("portal:products"), {"type": "fund"})
    assert [p.code for p in by_type.context["products"]] == ["FUND-3", "FUND-5"]

    by_risk = client.get(reverse("portal:products"), {"type": "fund", "max_risk": "4"})
    assert [p.code for p in by_risk.context["products"]] == ["FUND-3"]


def test_products_page_in_chinese_uses_chinese_names(client):
    ProductFactory(code="DEP-12M", name_en="12-month deposit", name_zh="十二个月定期存款")
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/products/"})

    page = client.get(reverse("portal:products")).content.decode()

    assert "十二个月定期存款" in page
    assert "12-month deposit" not in page


def test_products_search_passes_query_and_filters_and_lists_hits(client, search_calls):
    calls, results, _module = search_calls
    fund = ProductFactory(code="FUND-3", type="fund", risk_level=3, name_en="Balanced growth fund")
    results.append(Hit(product=fund, score=0.9, vector_score=0.8, text_score=0.7))

    response = client.get(reverse("portal:products"), {"q": " growth ", "type": "fund", "max_risk": "3"})

    assert response.status_code == 200
    assert calls == [{"query": "growth", "types": ["fund"], "max_risk": 3, "active_only": True, "limit": 20,
                      "needs": None}]
    assert [p.code for p in response.context["products"]] == ["FUND-3"]
    assert "1 result for “growth”" in response.content.decode()
    assert "understood" not in response.context


def test_products_search_shows_the_constraints_it_read_and_offers_the_words_alone(client, search_calls):
    calls, results, _module = search_calls
    fund = ProductFactory(code="WM-1", type="wealth", risk_level=2, name_en="Steady wealth plan")
    results.append(Hit(product=fund, score=0.9, vector_score=0.8, text_score=0.7))

    response = client.get(reverse("portal:products"), {"q": "低风险理财", "type": "wealth"},
                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = response.content.decode()
    words_only = client.get(reverse("portal:products"), {"q": "低风险理财", "type": "wealth", "understand": "0"})

    assert calls[0]["needs"] == ["Type: wealth management", "Risk at most R2 (cautious)"]
    assert response.context["understood"] == ["产品类型：理财（来自“理财”）", "风险不高于 R2（稳健型）（来自“低风险”）"]
    assert response.context["understood_applied"] is True
    assert "风险不高于 R2（稳健型）" in page
    assert "只显示符合我们理解的条件的产品" in page
    assert 'href="?q=%E4%BD%8E%E9%A3%8E%E9%99%A9%E7%90%86%E8%B4%A2&amp;type=wealth&amp;understand=0"' in page
    assert calls[1]["needs"] is None  # the words only: nothing read
    assert "understood" not in words_only.context
    assert [p.code for p in words_only.context["products"]] == ["WM-1"]


def test_products_search_says_when_no_product_fits_what_it_read(client, monkeypatch):
    from products import search

    deposit = ProductFactory(code="DEP-1", type="deposit", risk_level=1, name_en="Plain deposit")
    monkeypatch.setattr(search, "search_products", lambda **kwargs: [] if kwargs.get("needs") else [
        Hit(product=deposit, score=0.5, vector_score=0.5, text_score=None)])

    response = client.get(reverse("portal:products"), {"q": "aggressive deposit"})
    page = response.content.decode()

    assert [p.code for p in response.context["products"]] == ["DEP-1"]
    assert response.context["understood_applied"] is False
    assert "No product fits everything we understood" in page
    assert "Risk at least R4 (growth) (from &#x27;aggressive&#x27;)" in page
    assert "understand=0" not in page


def test_products_search_drops_an_unknown_risk_level(client, search_calls):
    calls, _results, _module = search_calls

    response = client.get(reverse("portal:products"), {"q": "deposit", "max_risk": "0"})

    # max_risk=0 is not a risk level: the form drops it, so the search runs without it. No hit met "deposit"
    # read as a type, so the words were searched alone.
    assert calls == [
        {"query": "deposit", "types": None, "max_risk": None, "active_only": True, "limit": 20,
         "needs": ["Type: deposit"]},
        {"query": "deposit", "types": None, "max_risk": None, "active_only": True, "limit": 20, "needs": None},
    ]
    assert response.status_code == 200
    assert "Some filters were not understood and were ignored." in response.content.decode()


def test_products_search_error_becomes_a_message(client, search_calls, monkeypatch):
    from products.search import SearchError

    def refuse(**kwargs):
        raise SearchError("invalid filters", code="invalid_type")

    monkeypatch.setattr(search_calls[2], "search_products", refuse, raising=False)

    response = client.get(reverse("portal:products"), {"q": "deposit"})

    assert response.status_code == 200
    assert response.context["products"] == []
    assert "That search could not be run." in response.content.decode()


def test_blank_query_lists_the_catalogue_without_searching(client, search_calls):
    calls, _results, _module = search_calls
    ProductFactory(code="DEP-1")

    response = client.get(reverse("portal:products"), {"q": "   "})

    assert calls == []
    assert [p.code for p in response.context["products"]] == ["DEP-1"]


def test_product_detail_shows_product_in_active_language(client):
    ProductFactory(code="DEP-12M", name_en="12-month deposit", name_zh="十二个月定期存款",
                   description_en="Fixed rate for a year.", description_zh="一年期固定利率。")

    page = client.get(reverse("portal:product_detail", args=["DEP-12M"])).content.decode()
    assert "12-month deposit" in page
    assert "Fixed rate for a year." in page

    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("portal:product_detail", args=["DEP-12M"])).content.decode()
    assert "十二个月定期存款" in page
    assert "一年期固定利率。" in page


def test_product_detail_unknown_code_is_404(client):
    assert client.get(reverse("portal:product_detail", args=["NOPE"])).status_code == 404
