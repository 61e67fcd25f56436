"""What the investment advisor knows and keeps: capital-market assumptions, risk assessments, every piece of
advice with its report, goal plans and portfolio alerts.

Advice rows keep every input they were computed from (assessment, assumptions, holdings, the products that
were eligible, the method and its parameters) and the engine version, so `reproduce_advice` can compute the
same advice again and prove the stored report is what the inputs give.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from products.models import AssetClass


class AssumptionsSource(models.TextChoices):
    PUBLISHED = "published", _("Published long-term values")
    STAFF = "staff", _("Entered by staff")
    ESTIMATED = "estimated", _("Re-estimated from price history")


class CapitalMarketAssumptions(models.Model):
    """Expected return, volatility and correlations per asset class, in force from `effective_date`."""

    name = models.CharField(max_length=120)
    effective_date = models.DateField(db_index=True)
    source = models.CharField(max_length=10, choices=AssumptionsSource.choices, default=AssumptionsSource.STAFF)
    description = models.TextField(blank=True)
    correlations = models.JSONField(
        default=dict, help_text='Pairwise correlations, {"dom_equity": {"global_equity": 0.6, …}, …}; the matrix '
                                "must be symmetric with a unit diagonal and positive semi-definite.")
    estimation = models.JSONField(default=dict, blank=True, editable=False,
                                  help_text="For re-estimated sets: observations, period, shrinkage.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_date", "-id"]
        verbose_name = _("capital-market assumptions")
        verbose_name_plural = _("capital-market assumptions")

    def __str__(self) -> str:
        return f"{self.name} (from {self.effective_date:%Y-%m-%d})"

    def correlation(self, a: str, b: str) -> float:
        if a == b:
            return 1.0
        value = (self.correlations.get(a) or {}).get(b)
        if value is None:
            value = (self.correlations.get(b) or {}).get(a)
        if value is None:
            raise ValidationError(_("The correlation of %(a)s and %(b)s is missing."), params={"a": a, "b": b})
        return float(value)


class AssetClassAssumption(models.Model):
    assumptions = models.ForeignKey(CapitalMarketAssumptions, on_delete=models.CASCADE, related_name="classes")
    asset_class = models.CharField(max_length=16, choices=AssetClass.choices)
    expected_return = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent a year, arithmetic.")
    volatility = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent a year.")

    class Meta:
        ordering = ["assumptions", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assumptions", "asset_class"], name="assumption_class_unique"),
            models.CheckConstraint(condition=Q(volatility__gt=0), name="assumption_volatility_positive"),
            models.CheckConstraint(condition=Q(expected_return__gt=-50) & Q(expected_return__lt=50),
                                   name="assumption_return_plausible"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_class}: {self.expected_return} % ± {self.volatility} %"


class AssessmentChannel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    BRANCH = "branch", _("Branch (entered by staff)")


class RiskAssessment(models.Model):
    """One completed questionnaire: the answers as evidence, the level they gave and why."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="risk_assessments")
    questionnaire_version = models.CharField(max_length=20)
    answers = models.JSONField()
    level = models.PositiveSmallIntegerField()
    capacity_level = models.PositiveSmallIntegerField()
    willingness_level = models.PositiveSmallIntegerField()
    dimension_scores = models.JSONField(default=dict)
    horizon_years = models.FloatField()
    sustainability = models.CharField(max_length=20, blank=True)
    flags = models.JSONField(default=list, help_text="Inconsistent answers and caps, as {code, en, zh}.")
    channel = models.CharField(max_length=8, choices=AssessmentChannel.choices)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    assessed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reassess_by = models.DateField()

    class Meta:
        ordering = ["-assessed_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=5),
                                              name="assessment_level_range")]

    def __str__(self) -> str:
        return f"R{self.level} for customer #{self.customer_id} on {self.assessed_at:%Y-%m-%d}"


class AdviceKind(models.TextChoices):
    ALLOCATION = "allocation", _("Strategic allocation")
    REBALANCE = "rebalance", _("Rebalancing")


class AllocationMethod(models.TextChoices):
    MEAN_VARIANCE = "mean_variance", _("Mean-variance")
    RISK_PARITY = "risk_parity", _("Risk parity")


class InvestmentAdvice(models.Model):
    """A piece of advice and its suitability report, reproducible from what it stores."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="investment_advice")
    kind = models.CharField(max_length=10, choices=AdviceKind.choices)
    method = models.CharField(max_length=16, choices=AllocationMethod.choices)
    assessment = models.ForeignKey(RiskAssessment, on_delete=models.PROTECT, related_name="+")
    assumptions = models.ForeignKey(CapitalMarketAssumptions, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=16, decimal_places=2, help_text="The money the advice is about.")
    inputs = models.JSONField(help_text="Everything the advice was computed from (see reproduce_advice).")
    target_weights = models.JSONField(help_text="Asset class → weight.")
    expected_return = models.FloatField()
    volatility = models.FloatField()
    products = models.JSONField(default=list, help_text="The products the allocation maps onto, with amounts.")
    trades = models.JSONField(default=list, blank=True, help_text="For rebalancing advice: the trade list.")
    summary = models.JSONField(default=dict, help_text="Figures the report quotes (costs, turnover, drift, …).")
    report_en = models.TextField()
    report_zh = models.TextField()
    engine_version = models.CharField(max_length=20)
    channel = models.CharField(max_length=8, choices=AssessmentChannel.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("investment advice")
        indexes = [models.Index(fields=["customer", "-created_at"], name="advice_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for customer #{self.customer_id} on {self.created_at:%Y-%m-%d}"

    @property
    def report(self) -> str:
        return self.report_zh if (get_language() or "").startswith("zh") else self.report_en


class GoalPlan(models.Model):
    """A savings goal and its Monte Carlo projection (reproducible: the seed and path count are stored)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="goal_plans")
    name = models.CharField(max_length=120)
    target_amount = models.DecimalField(max_digits=16, decimal_places=2)
    target_date = models.DateField()
    current_savings = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    monthly_contribution = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    expected_return = models.FloatField(help_text="Of the allocation the projection assumes.")
    volatility = models.FloatField()
    advice = models.ForeignKey(InvestmentAdvice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    paths = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    probability = models.FloatField()
    required_contribution = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                                help_text="Monthly contribution for an 80 % chance; empty if "
                                                          "no affordable contribution reaches it.")
    projection = models.JSONField(help_text="Percentiles of wealth by month, for the fan chart.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(target_amount__gt=0), name="goal_target_positive"),
            models.CheckConstraint(condition=Q(current_savings__gte=0) & Q(monthly_contribution__gte=0),
                                   name="goal_amounts_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} for customer #{self.customer_id}"


class AlertKind(models.TextChoices):
    DRIFT = "drift", _("Drift from target")
    DRAWDOWN = "drawdown", _("Drawdown beyond tolerance")
    CONCENTRATION = "concentration", _("Concentration")
    REASSESSMENT = "reassessment", _("Risk profile due for re-assessment")


class PortfolioAlert(models.Model):
    """A condition the periodic portfolio review found. One open alert per customer and kind: a later review
    updates it, and closes it when the condition is gone."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="portfolio_alerts")
    kind = models.CharField(max_length=14, choices=AlertKind.choices)
    severity = models.PositiveSmallIntegerField(default=2, help_text="1 notice, 2 warning, 3 urgent.")
    message_en = models.TextField()
    message_zh = models.TextField()
    metrics = models.JSONField(default=dict)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["customer", "kind"], condition=Q(resolved_at__isnull=True),
                                               name="one_open_portfolio_alert_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for customer #{self.customer_id}"

    @property
    def message(self) -> str:
        return self.message_zh if (get_language() or "").startswith("zh") else self.message_en


class PortfolioValuation(models.Model):
    """The value of a customer's investments on a day, written by the periodic review; drawdowns are measured
    against the peak of these."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="valuations")
    as_of = models.DateField()
    value = models.DecimalField(max_digits=16, decimal_places=2)
    weights = models.JSONField(default=dict, help_text="Asset class → weight on that day.")

    class Meta:
        ordering = ["customer", "as_of"]
        constraints = [models.UniqueConstraint(fields=["customer", "as_of"], name="valuation_customer_day_unique")]

    def __str__(self) -> str:
        return f"{self.value} for customer #{self.customer_id} on {self.as_of}"
