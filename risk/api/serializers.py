"""Input and output serializers of the risk API. No database writes here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import Channel, SpendingCategory
from risk.models import Alert, CreditScore, Intervention, Severity


class RiskReasonsOut(serializers.Serializer):
    en = serializers.ListField(child=serializers.CharField())
    zh = serializers.ListField(child=serializers.CharField())


class CreditScoreOut(serializers.ModelSerializer):
    model_version = serializers.CharField(source="model_version.label", help_text="e.g. risk.credit@v2")
    reasons = serializers.SerializerMethodField(help_text="The top factors that lowered the score, in plain words.")

    class Meta:
        model = CreditScore
        fields = ["pd", "points", "decision", "serving_model", "model_version", "reasons", "reason_codes",
                  "pd_gbm", "pd_scorecard", "as_of", "created_at"]
        read_only_fields = fields

    @extend_schema_field(RiskReasonsOut)
    def get_reasons(self, obj: CreditScore) -> dict[str, list[str]]:
        return {"en": obj.reasons_en, "zh": obj.reasons_zh}


class GradeOut(serializers.Serializer):
    grade = serializers.CharField(help_text="A (lowest risk) to E; empty when nothing is known yet.")
    points = serializers.IntegerField(help_text="0–100: credit (≤ 50) + behaviour (≤ 20) + monitoring (≤ 30).")
    components = serializers.DictField()
    reasons = serializers.SerializerMethodField()

    @extend_schema_field(RiskReasonsOut)
    def get_reasons(self, obj: Any) -> dict[str, list[str]]:
        return {"en": obj.reasons_en, "zh": obj.reasons_zh}


class InterventionOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    account = serializers.UUIDField(source="account.public_id", allow_null=True, default=None)

    class Meta:
        model = Intervention
        fields = ["id", "kind", "account", "params", "reason", "applied_at"]
        read_only_fields = fields


class CustomerRiskOut(serializers.Serializer):
    customer = serializers.UUIDField()
    grade = GradeOut()
    credit = CreditScoreOut(allow_null=True)
    interventions = InterventionOut(many=True)


class TransactionIn(serializers.Serializer):
    customer = serializers.UUIDField(help_text="The customer's public id.")
    account = serializers.UUIDField(help_text="One of the customer's accounts (public id).")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Signed: money out is negative.")
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="CNY")
    timestamp = serializers.DateTimeField(required=False, help_text="When it happened; default now.")
    category = serializers.ChoiceField(choices=SpendingCategory.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    counterparty = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    merchant = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    external_ref = serializers.CharField(max_length=64, required=False, allow_null=True, default=None,
                                         help_text="Your own id of the transaction (unique).")

    def validate_amount(self, value: Decimal) -> Decimal:
        if value == 0:
            raise serializers.ValidationError("A transaction moves money: the amount cannot be 0.")
        return value


class HitOut(serializers.Serializer):
    code = serializers.CharField()
    en = serializers.CharField()
    zh = serializers.CharField()


class IngestionOut(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "review", "block"])
    transaction = serializers.IntegerField(allow_null=True, help_text="The posted transaction; null when blocked.")
    alert = serializers.UUIDField(allow_null=True)
    severity = serializers.CharField(allow_null=True)
    step_up_required = serializers.BooleanField()
    reasons = HitOut(many=True)
    anomaly_score = serializers.FloatField(allow_null=True)
    replayed = serializers.BooleanField(help_text="True when this answers a repeated Idempotency-Key.")


class AlertQueryIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=Alert.Status.choices, required=False)
    min_severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    customer = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)


class AlertOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    customer = serializers.UUIDField(source="customer.public_id")
    severity = serializers.SerializerMethodField()
    # A plain string, not an enum: several APIs have a "status" of their own, and the values are listed here.
    status = serializers.CharField(read_only=True, help_text="new, in_case or closed")
    reasons = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "customer", "created_at", "decision", "severity", "status", "rule_codes", "reasons",
                  "transaction", "anomaly_score"]
        read_only_fields = fields

    def get_severity(self, obj: Alert) -> str:
        return Severity(obj.severity).label.lower()

    @extend_schema_field(HitOut(many=True))
    def get_reasons(self, obj: Alert) -> list[dict[str, str]]:
        return [{"code": r["code"], "en": r["en"], "zh": r["zh"]} for r in obj.reasons]
