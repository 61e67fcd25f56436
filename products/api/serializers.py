"""Output serializers of the product API (and the one input serializer of its query string).

Rates, fees and amounts are strings of decimals ("1.500"), never floats: a client must get back exactly the
figure the bank publishes.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from products.models import Product

LIST_FIELDS = [
    "code",
    "type",
    "name_en",
    "name_zh",
    "currency",
    "risk_level",
    "expected_return_min",
    "expected_return_max",
    "term_months",
    "min_amount",
    "liquidity",
]


class ProductListItemOut(serializers.ModelSerializer):
    """A product in a list. The scores are set when the list answers a search (`q`) and null otherwise."""

    score = serializers.SerializerMethodField(help_text="Hybrid relevance; higher is better. Null without q.")
    vector_score = serializers.SerializerMethodField(help_text="Semantic similarity part of the score.")
    text_score = serializers.SerializerMethodField(help_text="Full-text part of the score.")

    class Meta:
        model = Product
        fields = [*LIST_FIELDS, "score", "vector_score", "text_score"]
        read_only_fields = fields

    def _hit(self, product: Product) -> Any:
        # The view passes the search hits by product id; a plain list passes none.
        return self.context.get("hits", {}).get(product.pk)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_score(self, product: Product) -> float | None:
        hit = self._hit(product)
        return None if hit is None else hit.score

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_vector_score(self, product: Product) -> float | None:
        hit = self._hit(product)
        return None if hit is None else hit.vector_score

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_text_score(self, product: Product) -> float | None:
        hit = self._hit(product)
        return None if hit is None else hit.text_score


class FeesOut(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["management_fee_pct", "annual_fee", "subscription_fee_pct"]
        read_only_fields = fields


class EligibilityOut(serializers.ModelSerializer):
    residency = serializers.ListField(
        child=serializers.CharField(), help_text="ISO country codes; empty means any residency."
    )

    class Meta:
        model = Product
        fields = ["min_age", "max_age", "min_annual_income", "residency", "kyc_required"]
        read_only_fields = fields


class ProductDetailOut(serializers.ModelSerializer):
    fees = FeesOut(source="*", read_only=True)
    eligibility = EligibilityOut(source="*", read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Product
        fields = [
            *LIST_FIELDS,
            "description_en",
            "description_zh",
            "provider",
            "fees",
            "eligibility",
            "allows_multiple",
            "launched_on",
            "tags",
            "is_active",
        ]
        read_only_fields = fields


class ProductListQueryIn(serializers.Serializer):
    """The query parameters of the list that are not filters. `page` and `page_size` are checked here so
    that page=abc is a 400 naming the parameter, not the paginator's 404."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=200, trim_whitespace=True)
    understand = serializers.BooleanField(
        default=True,
        help_text="With q: read the constraints the words state (type, risk, term, amount, currency, liquidity, "
                  "minimum return) and apply them as filters. false ranks by the words alone.",
    )
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)

