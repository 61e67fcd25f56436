"""Back office for investment advice: the capital-market assumptions (edited by the investment office), risk
assessments, advice with its report, goal plans and portfolio alerts. Advice and assessments are records: staff
read them; an alert can be resolved. A relationship manager sees their own book only, as everywhere else."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

# advisor.admin imports this module after defining ReadOnlyAdmin (at its end), so the import below is safe.
from advisor.admin import ReadOnlyAdmin, staff_user
from advisor.investing.allocation import market_from_inputs
from advisor.investing.asset_classes import ASSET_CLASSES, LABELS
from advisor.investing.models import (
    AssetClassAssumption,
    CapitalMarketAssumptions,
    GoalPlan,
    InvestmentAdvice,
    PortfolioAlert,
    RiskAssessment,
)
from advisor.investing.services import reproduce_advice
from customers.selectors import Actor, visible_customers


class _ReadOnly(ReadOnlyAdmin):
    """A record of the customer's: read only, and only within the staff member's book."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))


def _weights_table(weights: dict[str, float]) -> str:
    rows = [(LABELS.get(c, c), f"{weights.get(c, 0):.1%}", round(weights.get(c, 0) * 200)) for c in ASSET_CLASSES
            if weights.get(c, 0) > 0]
    return format_html("<table>{}</table>", format_html_join(
        "", "<tr><td>{}</td><td style='text-align:right'>{}</td><td><span style='display:inline-block;height:10px;"
        "width:{}px;background:#2f6f9f'></span></td></tr>", rows))


class AssetClassAssumptionInline(admin.TabularInline):
    model = AssetClassAssumption
    extra = 0
    min_num = len(ASSET_CLASSES)
    max_num = len(ASSET_CLASSES)


class AssumptionsForm(forms.ModelForm):
    class Meta:
        model = CapitalMarketAssumptions
        fields = ["name", "effective_date", "source", "description", "correlations"]

    def clean_correlations(self) -> dict[str, Any]:
        value = self.cleaned_data["correlations"]
        if not isinstance(value, dict):
            raise ValidationError(_("Correlations must be an object of asset class → {asset class: correlation}."))
        probe = CapitalMarketAssumptions(correlations=value)
        try:
            matrix = {a: {b: probe.correlation(a, b) for b in ASSET_CLASSES} for a in ASSET_CLASSES}
            market_from_inputs({"expected_returns": dict.fromkeys(ASSET_CLASSES, 0.0),
                                "volatilities": dict.fromkeys(ASSET_CLASSES, 0.1), "correlations": matrix})
        except (ValueError, TypeError) as error:
            raise ValidationError(str(error)) from None
        return value


@admin.register(CapitalMarketAssumptions)
class CapitalMarketAssumptionsAdmin(admin.ModelAdmin):
    """A set in force is never edited (advice points at it): staff add a new set with a later effective date."""

    form = AssumptionsForm
    inlines = [AssetClassAssumptionInline]
    list_display = ["name", "effective_date", "source", "created_by", "created_at"]
    list_filter = ["source"]
    readonly_fields = ["estimation", "correlation_table", "created_by", "created_at"]

    @admin.display(description=_("Correlation matrix"))
    def correlation_table(self, obj: CapitalMarketAssumptions) -> str:
        if not obj.pk:
            return "—"
        header = format_html_join("", "<th>{}</th>", ((c,) for c in ASSET_CLASSES))
        body = format_html_join("", "<tr><th>{}</th>{}</tr>", (
            (a, format_html_join("", "<td style='text-align:right'>{}</td>",
                                 ((f"{obj.correlation(a, b):.2f}",) for b in ASSET_CLASSES)))
            for a in ASSET_CLASSES))
        return format_html("<table><tr><th></th>{}</tr>{}</table>", header, body)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and InvestmentAdvice.objects.filter(assumptions=obj).exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CapitalMarketAssumptions, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = staff_user(request)
        super().save_model(request, obj, form, change)


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(_ReadOnly):
    list_display = ["assessed_at", "customer", "level", "capacity_level", "willingness_level", "flag_codes",
                    "reassess_by", "channel"]
    list_filter = ["level", "channel", "customer__segment"]
    search_fields = ["customer__external_ref", "customer__full_name"]
    list_select_related = ["customer"]
    date_hierarchy = "assessed_at"
    fields = readonly_fields = (
        "public_id", "customer", "level", "capacity_level", "willingness_level", "dimension_scores",
        "horizon_years", "sustainability", "flags", "answers", "questionnaire_version", "channel",
        "assessed_by", "assessed_at", "reassess_by",
    )

    @admin.display(description=_("Flags"))
    def flag_codes(self, obj: RiskAssessment) -> str:
        return ", ".join(f["code"] for f in obj.flags) or "—"


@admin.register(InvestmentAdvice)
class InvestmentAdviceAdmin(_ReadOnly):
    list_display = ["created_at", "customer", "kind", "method", "amount", "expected_return_pct", "volatility_pct",
                    "channel"]
    list_filter = ["kind", "method", "channel", "assumptions", "customer__segment"]
    search_fields = ["customer__external_ref", "customer__full_name"]
    list_select_related = ["customer"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "public_id", "customer", "kind", "method", "assessment", "assumptions", "amount", "allocation",
        "products", "trades", "summary", "report_en_block", "report_zh_block", "engine_version", "channel",
        "created_at", "reproduces",
    )

    @admin.display(description=_("Expected return"))
    def expected_return_pct(self, obj: InvestmentAdvice) -> str:
        return f"{obj.expected_return:.1%}"

    @admin.display(description=_("Volatility"))
    def volatility_pct(self, obj: InvestmentAdvice) -> str:
        return f"{obj.volatility:.1%}"

    @admin.display(description=_("Target allocation"))
    def allocation(self, obj: InvestmentAdvice) -> str:
        return _weights_table(obj.target_weights)

    @admin.display(description=_("Report (English)"))
    def report_en_block(self, obj: InvestmentAdvice) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.report_en)

    @admin.display(description=_("Report (Chinese)"))
    def report_zh_block(self, obj: InvestmentAdvice) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.report_zh)

    @admin.display(description=_("Reproduces from its stored inputs"), boolean=True)
    def reproduces(self, obj: InvestmentAdvice) -> bool:
        return reproduce_advice(obj)


@admin.register(GoalPlan)
class GoalPlanAdmin(_ReadOnly):
    list_display = ["created_at", "customer", "name", "target_amount", "target_date", "probability_pct",
                    "required_contribution"]
    search_fields = ["customer__external_ref", "name"]
    list_select_related = ["customer"]
    readonly_fields = [f.name for f in GoalPlan._meta.fields]

    @admin.display(description=_("Chance of success"))
    def probability_pct(self, obj: GoalPlan) -> str:
        return f"{obj.probability:.0%}"


@admin.register(PortfolioAlert)
class PortfolioAlertAdmin(admin.ModelAdmin):
    list_display = ["opened_at", "customer", "kind", "severity", "message_en", "updated_at", "resolved_at"]
    list_filter = ["kind", "severity", ("resolved_at", admin.EmptyFieldListFilter), "customer__segment"]
    search_fields = ["customer__external_ref", "customer__full_name"]
    list_select_related = ["customer"]
    readonly_fields = ["customer", "kind", "severity", "message_en", "message_zh", "metrics", "opened_at",
                       "updated_at", "resolved_at"]
    actions = ["resolve"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PortfolioAlert]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))

    @admin.action(description=_("Resolve the selected alerts (the next review reopens any still true)"),
                  permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[PortfolioAlert]) -> None:
        done = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, _("%(n)d alerts resolved.") % {"n": done}, messages.SUCCESS)
