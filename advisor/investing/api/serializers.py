"""Input and output shapes of the investment advisor's API (no database writes here)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import get_language
from rest_framework import serializers

from advisor.investing.models import AllocationMethod, GoalPlan, InvestmentAdvice, RiskAssessment
from advisor.investing.services import MAX_ADVICE_AMOUNT, MIN_ADVICE_AMOUNT


class OptionOut(serializers.Serializer):
    value = serializers.CharField()
    text = serializers.CharField()


class QuestionOut(serializers.Serializer):
    key = serializers.CharField()
    dimension = serializers.CharField()
    text = serializers.CharField()
    options = OptionOut(many=True)


class QuestionnaireOut(serializers.Serializer):
    version = serializers.CharField()
    questions = QuestionOut(many=True)


class AssessmentIn(serializers.Serializer):
    answers = serializers.DictField(child=serializers.CharField(max_length=40), allow_empty=False,
                                    help_text="Question key → option value, for every question.")


class FlagOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.SerializerMethodField()

    def get_message(self, flag: dict[str, str]) -> str:
        return flag["zh"] if (get_language() or "").startswith("zh") else flag["en"]


class AssessmentOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    risk_level = serializers.IntegerField(source="level")
    flags = FlagOut(many=True)

    class Meta:
        model = RiskAssessment
        fields = ["id", "risk_level", "capacity_level", "willingness_level", "dimension_scores", "horizon_years",
                  "sustainability", "flags", "answers", "questionnaire_version", "channel", "assessed_at",
                  "reassess_by"]


class AllocationIn(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=MIN_ADVICE_AMOUNT,
                                      max_value=MAX_ADVICE_AMOUNT)
    method = serializers.ChoiceField(choices=AllocationMethod.choices, default=AllocationMethod.MEAN_VARIANCE)


class AdviceOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    assessment = serializers.UUIDField(source="assessment.public_id")
    risk_level = serializers.IntegerField(source="assessment.level")
    assumptions = serializers.CharField(source="assumptions.name")
    report = serializers.CharField(help_text="The suitability report in the request's language (zh or en).")
    reproducible = serializers.SerializerMethodField()

    class Meta:
        model = InvestmentAdvice
        fields = ["id", "kind", "method", "risk_level", "assessment", "assumptions", "amount", "target_weights",
                  "expected_return", "volatility", "products", "trades", "summary", "report", "engine_version",
                  "channel", "created_at", "reproducible"]

    def get_reproducible(self, advice: InvestmentAdvice) -> bool | None:
        return self.context.get("reproducible")


class GoalIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    target_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("1"))
    target_date = serializers.DateField()
    current_savings = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"),
                                               default=Decimal("0"))
    monthly_contribution = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"),
                                                    default=Decimal("0"))


class GoalOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    advice = serializers.SerializerMethodField()

    class Meta:
        model = GoalPlan
        fields = ["id", "name", "target_amount", "target_date", "current_savings", "monthly_contribution",
                  "expected_return", "volatility", "advice", "paths", "seed", "probability",
                  "required_contribution", "projection", "created_at"]

    def get_advice(self, plan: GoalPlan) -> Any:
        return str(plan.advice.public_id) if plan.advice is not None else None
