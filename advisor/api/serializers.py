"""Input and output serializers of the recommendation API. No database writes here."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from advisor.models import Recommendation, RecommendationSet
from advisor.services import FEEDBACK_EVENTS, MAX_K
from products.api.serializers import LIST_FIELDS
from products.models import Product
from products.needs import Needs


class RecommendationQueryIn(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=10)
    q = serializers.CharField(max_length=500, required=False, allow_blank=True, trim_whitespace=True,
                              help_text="What the customer wants, in their words (English or Chinese).")


class RecommendedProductOut(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = LIST_FIELDS
        read_only_fields = fields


class ReasonsOut(serializers.Serializer):
    en = serializers.ListField(child=serializers.CharField())
    zh = serializers.ListField(child=serializers.CharField())


class RecommendationOut(serializers.ModelSerializer):
    product = RecommendedProductOut()
    reasons = serializers.SerializerMethodField()

    class Meta:
        model = Recommendation
        fields = ["rank", "product", "score", "reasons"]
        read_only_fields = fields

    @extend_schema_field(ReasonsOut)
    def get_reasons(self, item: Recommendation) -> dict[str, list[str]]:
        return {"en": item.reasons_en, "zh": item.reasons_zh}


class UnderstoodOut(serializers.Serializer):
    constraints = serializers.DictField(help_text="The constraints read from q, as stored.")
    en = serializers.ListField(child=serializers.CharField(), help_text="The constraints in plain English.")
    zh = serializers.ListField(child=serializers.CharField(), help_text="The constraints in plain Chinese.")


class RecommendationSetOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", help_text="Quote it in feedback as `recommendation`.")
    model_version = serializers.SerializerMethodField(
        help_text="The model that ranked these, e.g. advisor.recommender@v3."
    )
    understood = serializers.SerializerMethodField()
    items = RecommendationOut(many=True)

    class Meta:
        model = RecommendationSet
        fields = ["id", "created_at", "model_version", "query", "understood", "items"]
        read_only_fields = fields

    def get_model_version(self, obj: RecommendationSet) -> str:
        return obj.model_version.label

    @extend_schema_field(UnderstoodOut(allow_null=True))
    def get_understood(self, obj: RecommendationSet) -> dict[str, Any] | None:
        if not obj.needs:
            return None
        needs = Needs.from_json(obj.needs)
        return {
            "constraints": obj.needs,
            "en": needs.describe("en", sources=True),
            "zh": needs.describe("zh", sources=True),
        }


class FeedbackIn(serializers.Serializer):
    product = serializers.SlugField(help_text="The product's code.")
    event = serializers.ChoiceField(choices=[str(e) for e in FEEDBACK_EVENTS])
    recommendation = serializers.UUIDField(required=False, help_text="The recommendation set's id, when known.")


class FeedbackOut(serializers.Serializer):
    id = serializers.IntegerField(source="interaction.pk")
    product = serializers.CharField(source="interaction.product.code")
    event = serializers.CharField(source="interaction.event")
    timestamp = serializers.DateTimeField(source="interaction.timestamp")
    replayed = serializers.SerializerMethodField(help_text="True when this answers a repeated Idempotency-Key.")

    def get_replayed(self, result: Any) -> bool:
        return not result.created
