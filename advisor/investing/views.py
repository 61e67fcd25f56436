"""Portal pages of the investment advisor: the questionnaire, the allocation with its chart and report, the goal
planner with a fan chart, rebalancing suggestions and the customer's reports.

Every write is a POST (CSRF-protected) followed by a redirect, so a reload never asks for advice twice. The
customer is always the logged-in user's own record; a report id of another customer is a 404.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from advisor.investing import questionnaire, services
from advisor.investing.charts import allocation_chart, fan_chart
from advisor.investing.models import (
    AdviceKind,
    AllocationMethod,
    AssessmentChannel,
    GoalPlan,
    InvestmentAdvice,
    PortfolioAlert,
)
from advisor.views import _customer


class AllocationForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount to invest (CNY)"), min_value=services.MIN_ADVICE_AMOUNT,
                                max_value=services.MAX_ADVICE_AMOUNT, decimal_places=2)
    method = forms.ChoiceField(label=_("Method"), choices=AllocationMethod.choices,
                               initial=AllocationMethod.MEAN_VARIANCE)


class GoalForm(forms.Form):
    name = forms.CharField(label=_("Goal"), max_length=120, initial=_("My goal"))
    target_amount = forms.DecimalField(label=_("Target amount (CNY)"), min_value=Decimal("1"), decimal_places=2,
                                       max_digits=14)
    target_date = forms.DateField(label=_("By"), widget=forms.DateInput(attrs={"type": "date"}))
    current_savings = forms.DecimalField(label=_("Saved so far (CNY)"), min_value=Decimal("0"), decimal_places=2,
                                         max_digits=14, initial=0)
    monthly_contribution = forms.DecimalField(label=_("Monthly contribution (CNY)"), min_value=Decimal("0"),
                                              decimal_places=2, max_digits=12, initial=0)

    def clean_target_date(self) -> date:
        value = self.cleaned_data["target_date"]
        if value <= timezone.localdate():
            raise forms.ValidationError(_("Choose a date in the future."))
        return value


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    assessment = services.latest_assessment(customer=customer)
    allocation = services.latest_allocation(customer=customer)
    holdings = services.investment_holdings(customer=customer)
    value, current = services.class_weights(holdings)
    context: dict[str, Any] = {
        "assessment": assessment,
        "expired": assessment is not None and assessment.reassess_by < timezone.localdate(),
        "allocation": allocation,
        "chart": allocation_chart(allocation.target_weights, current if value > 0 else None) if allocation else None,
        "holdings": holdings, "portfolio_value": value,
        "alerts": PortfolioAlert.objects.filter(customer=customer, resolved_at__isnull=True),
        "reports": InvestmentAdvice.objects.filter(customer=customer).order_by("-created_at")[:10],
        "goals": GoalPlan.objects.filter(customer=customer).order_by("-created_at")[:5],
        "form": AllocationForm(initial={"amount": Decimal("100000")}),
    }
    return render(request, "portal/invest.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def risk_questionnaire(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    language = getattr(request, "LANGUAGE_CODE", "en")
    latest = services.latest_assessment(customer=customer)
    chosen: dict[str, str] = dict(latest.answers) if latest and request.method == "GET" else {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        chosen = {q.key: request.POST.get(q.key, "") for q in questionnaire.QUESTIONS if request.POST.get(q.key)}
        try:
            assessment = services.assess_risk(customer=customer, answers=chosen, channel=AssessmentChannel.PORTAL,
                                              by=request.user)
        except questionnaire.QuestionnaireError as error:
            errors = error.errors
        else:
            messages.success(request, _("Your risk level is now R%(level)d.") % {"level": assessment.level})
            return redirect("portal:invest")
    questions = [
        {"key": q.key, "text": questionnaire.text(q, language), "error": errors.get(q.key, ""),
         "options": [{"value": o.value, "text": questionnaire.text(o, language),
                      "checked": chosen.get(q.key) == o.value} for o in q.options]}
        for q in questionnaire.QUESTIONS
    ]
    return render(request, "portal/invest_questionnaire.html", {"questions": questions, "has_errors": bool(errors)},
                  status=400 if errors else 200)


@login_required
@require_POST
def request_allocation(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    form = AllocationForm(request.POST)
    if not form.is_valid():
        for field_errors in form.errors.values():
            messages.error(request, field_errors[0])  # type: ignore[arg-type]  # stubs: ErrorList[i] gives the message
        return redirect("portal:invest")
    try:
        advice = services.advise_allocation(customer=customer, amount=form.cleaned_data["amount"],
                                            method=form.cleaned_data["method"], channel=AssessmentChannel.PORTAL,
                                            by=request.user)
    except services.AdviceUnavailable as error:
        messages.error(request, str(error))
        return redirect("portal:invest_questionnaire" if error.code.startswith("risk_profile") else "portal:invest")
    return redirect("portal:invest_report", public_id=advice.public_id)


@login_required
@require_POST
def request_rebalance(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    try:
        advice = services.advise_rebalance(customer=customer, channel=AssessmentChannel.PORTAL, by=request.user)
    except services.AdviceUnavailable as error:
        messages.error(request, str(error))
        return redirect("portal:invest")
    return redirect("portal:invest_report", public_id=advice.public_id)


@login_required
@require_GET
def report(request: HttpRequest, public_id: str) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    try:
        advice = InvestmentAdvice.objects.select_related("assessment", "assumptions").get(
            public_id=uuid.UUID(public_id), customer=customer)
    except (ValueError, InvestmentAdvice.DoesNotExist):
        raise Http404 from None
    current = advice.inputs.get("current_weights") if advice.kind == AdviceKind.REBALANCE else None
    return render(request, "portal/invest_report.html", {
        "advice": advice, "chart": allocation_chart(advice.target_weights, current),
    })


@login_required
@require_http_methods(["GET", "POST"])
def goals(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    form = GoalForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = services.plan_goal(customer=customer, **form.cleaned_data)
            except (ValueError, services.AdviceUnavailable) as error:
                form.add_error(None, str(error))
            else:
                return redirect(f"{request.path}?plan={created.public_id}")
        status = 400
    plan: GoalPlan | None = None
    wanted = request.GET.get("plan", "")
    plans = GoalPlan.objects.filter(customer=customer)
    try:
        plan = plans.get(public_id=uuid.UUID(wanted)) if wanted else plans.order_by("-created_at").first()
    except (ValueError, GoalPlan.DoesNotExist):
        plan = None
    chart = fan_chart(plan.projection, target=float(plan.target_amount), start_value=float(plan.current_savings)
                      ) if plan else None
    return render(request, "portal/invest_goals.html", {"form": form, "plan": plan, "chart": chart},
                  status=status)
