"""Back office for risk: alerts, cases, monitoring rules, interventions with maker-checker, credit scores and the
credit policy, and the drift and fairness dashboards. Every state change goes through risk.services; records of
decisions (scores, alerts' reasons, the intervention trail) are never edited here. Rows are scoped to the
customers the staff user may see, as in the rest of the back office.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bank.models import Job
from bank.registry import active_version
from customers.admin import CustomerAdmin
from customers.models import Customer
from customers.selectors import Actor, visible_customers
from risk.charts import line_chart, paired_bars
from risk.ml.evaluation import FOUR_FIFTHS
from risk.ml.training import CREDIT_MODEL
from risk.models import (
    Alert,
    Case,
    CaseNote,
    CreditPolicy,
    CreditScore,
    CustomerNotice,
    CustomerRiskGrade,
    DriftReport,
    Intervention,
    InterventionEvent,
    MonitoringRule,
)
from risk.selectors import decisions_by_group, drift_history, rule_performance
from risk.services import cases as case_services
from risk.services import interventions as intervention_services
from risk.services.credit import NoActiveCreditModel
from risk.services.drift import compute_credit_drift, queue_challenger


def _visible(request: HttpRequest) -> QuerySet[Customer]:
    return visible_customers(actor=Actor(user=request.user))


def _staff_user(request: HttpRequest) -> User:
    """The signed-in user, to record as who changed a row. The admin site lets in only active staff, so an
    anonymous user here means the view was reached around it: refuse rather than record nobody."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


class ScopedAdmin(admin.ModelAdmin):
    """Rows of customers the user may see (a relationship manager: their book)."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        visible = _visible(request)
        if not visible.query.has_filters():
            return queryset
        return queryset.filter(customer__in=visible.values("pk"))


class RecordAdmin(ScopedAdmin):
    """Records of decisions: read, never typed in, edited or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def reasons_table(reasons: list[dict[str, Any]]) -> str:
    if not reasons:
        return "—"
    return format_html(
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>", _("Rule"), _("English"),
        _("Chinese"), _("Evidence"),
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", (
            (r.get("code", ""), r.get("en", ""), r.get("zh", ""), r.get("evidence", "")) for r in reasons
        )),
    )


# --- credit -------------------------------------------------------------------------------------------------

@admin.register(CreditPolicy)
class CreditPolicyAdmin(admin.ModelAdmin):
    """Which model serves (the GBM or the scorecard) and the PD cut-offs: one row, edited by risk officers."""

    list_display = ["__str__", "serving_model", "approve_below", "decline_from", "updated_by", "updated_at"]
    fields = ["serving_model", "approve_below", "decline_from", "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CreditPolicy, form: Any, change: bool) -> None:
        obj.updated_by = _staff_user(request)
        super().save_model(request, obj, form, change)


# Records shown in full and read-only: each tuple is both `fields` and `readonly_fields`. Tuples, because
# `fields` is declared as a list or tuple of field groups, and a list[str] is not one (lists are invariant).
CREDIT_SCORE_FIELDS = ("customer", "model_version", "serving_model", "pd", "pd_gbm", "pd_scorecard", "points",
                       "decision", "reasons_en", "reasons_zh", "reason_code_table", "features", "as_of", "created_at")


@admin.register(CreditScore)
class CreditScoreAdmin(RecordAdmin):
    list_display = ["created_at", "customer", "pd_percent", "points", "decision", "serving_model", "model_version",
                    "top_reason"]
    list_filter = ["decision", "serving_model", "model_version", "created_at", "customer__segment"]
    search_fields = ["customer__external_ref", "customer__full_name"]
    list_select_related = ["customer", "model_version"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = CREDIT_SCORE_FIELDS
    readonly_fields = CREDIT_SCORE_FIELDS
    change_list_template = "admin/risk/creditscore/change_list.html"

    @admin.display(description=_("PD"), ordering="pd")
    def pd_percent(self, obj: CreditScore) -> str:
        return f"{obj.pd:.1%}"

    @admin.display(description=_("Main reason"))
    def top_reason(self, obj: CreditScore) -> str:
        return obj.reasons_en[0] if obj.reasons_en else "—"

    @admin.display(description=_("Reason codes"))
    def reason_code_table(self, obj: CreditScore) -> str:
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>", _("Feature"), _("Bin"),
            _("Value"), _("Weight"),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
                (c["code"], c["bin"], c["value"], c["weight"]) for c in obj.reason_codes
            )),
        )

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        return [
            path("drift/", site.admin_view(self.drift_view), name="risk_drift"),
            path("drift/compute/", site.admin_view(require_POST(self.compute_drift_view)), name="risk_drift_compute"),
            path("fairness/", site.admin_view(self.fairness_view), name="risk_fairness"),
            path("retrain/", site.admin_view(require_POST(self.retrain_view)), name="risk_retrain"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta}

    def drift_view(self, request: HttpRequest) -> HttpResponse:
        """PSI of the score and features over time, and the latest reference-vs-recent distributions."""
        if not request.user.has_perm("risk.view_driftreport"):
            raise PermissionDenied
        model = active_version(CREDIT_MODEL)
        history = drift_history(model_version_id=model.pk if model else None)
        latest = history[-1] if history else None
        worst = sorted(latest.feature_psi.items(), key=lambda kv: -kv[1])[:4] if latest else []
        labels = [r.computed_at.strftime("%m-%d %H:%M") for r in history]
        threshold = latest.threshold if latest else 0.25
        psi_chart = line_chart(
            labels, [(str(_("score")), [r.score_psi for r in history])]
            + [(name, [r.feature_psi.get(name) for r in history]) for name, _v in worst],
            fmt="{:.3f}", guides=[(threshold, str(_("alert threshold")))],
        )
        score_bars = feature_bars = None
        if latest:
            score_bars = paired_bars(latest.score_bins["labels"], latest.score_bins["expected"],
                                     latest.score_bins["actual"])
            if worst:
                bins = latest.feature_bins[worst[0][0]]
                feature_bars = paired_bars(bins["labels"], bins["expected"], bins["actual"])
        jobs = list(Job.objects.filter(kind=f"Train {CREDIT_MODEL}").order_by("-created_at")[:5])
        context = {
            **self._context(request, _("Credit model drift")), "model": model, "latest": latest,
            "psi_chart": psi_chart, "score_bars": score_bars, "feature_bars": feature_bars,
            "worst_feature": worst[0][0] if worst else "", "feature_psi": sorted(
                (latest.feature_psi.items() if latest else []), key=lambda kv: -kv[1]),
            "can_act": request.user.has_perm("bank.change_modelversion"),
            "training_jobs": jobs, "training_running": any(j.state in ("queued", "running") for j in jobs),
        }
        return TemplateResponse(request, "admin/risk/drift.html", context)

    def compute_drift_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("bank.change_modelversion"):
            raise PermissionDenied
        try:
            report = compute_credit_drift(queue_retrain=bool(request.POST.get("retrain")), requested_by=request.user)
        except (NoActiveCreditModel, ValueError) as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            level = messages.WARNING if report.breached else messages.SUCCESS
            self.message_user(request, _("Score PSI %(psi).3f; largest feature PSI %(feature).3f.") % {
                "psi": report.score_psi, "feature": report.max_feature_psi}, level)
        return HttpResponseRedirect(reverse("admin:risk_drift"))

    def retrain_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("bank.change_modelversion"):
            raise PermissionDenied
        job = queue_challenger(requested_by=request.user)
        self.message_user(request, _("A challenger is training (job %(id)s); it serves only once activated.")
                          % {"id": job.pk}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:risk_drift"))

    def fairness_view(self, request: HttpRequest) -> HttpResponse:
        """Disparate impact: the model's out-of-fold report from training, and live approvals by group."""
        if not request.user.has_perm("risk.view_creditscore"):
            raise PermissionDenied
        model = active_version(CREDIT_MODEL)
        offline = (model.metrics.get("fairness") or {}) if model else {}
        live = []
        if model:
            for attribute, rows in decisions_by_group(model_version_id=model.pk).items():
                rates = [r["approved"] / r["n"] for r in rows if r["n"] >= 20]
                best = max(rates, default=0)
                for r in rows:
                    rate = r["approved"] / r["n"] if r["n"] else None
                    ratio = rate / best if rate is not None and best else None
                    live.append({"attribute": attribute, **r, "rate": rate, "ratio": ratio,
                                 "flag": ratio is not None and r["n"] >= 20 and ratio < FOUR_FIFTHS})
        offline_rows = []
        for model_name, attributes in (offline.get("models") or {}).items():
            for attribute, report in attributes.items():
                for group, r in report["groups"].items():
                    offline_rows.append({"model": model_name, "attribute": attribute, "group": group, **r})
        context = {**self._context(request, _("Credit fairness")), "model": model, "offline": offline,
                   "offline_rows": offline_rows, "live": live, "threshold": FOUR_FIFTHS}
        return TemplateResponse(request, "admin/risk/fairness.html", context)


DRIFT_REPORT_FIELDS = ("computed_at", "model_version", "recent_rows", "recent_from", "score_psi", "feature_psi",
                       "threshold", "breached", "alert", "retrain_job")


@admin.register(DriftReport)
class DriftReportAdmin(admin.ModelAdmin):
    list_display = ["computed_at", "model_version", "score_psi", "max_psi", "recent_rows", "breached", "retrain_job"]
    list_filter = ["breached", "model_version"]
    fields = DRIFT_REPORT_FIELDS
    readonly_fields = DRIFT_REPORT_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Largest feature PSI"))
    def max_psi(self, obj: DriftReport) -> str:
        return f"{obj.max_feature_psi:.3f}"


# --- monitoring ---------------------------------------------------------------------------------------------

class RuleForm(forms.ModelForm):
    class Meta:
        model = MonitoringRule
        fields = ["code", "name", "kind", "params", "severity", "action", "enabled", "description"]
        help_texts = {"params": _("JSON. Missing parameters take their defaults; unknown ones are refused.")}


@admin.register(MonitoringRule)
class MonitoringRuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ["code", "name", "kind", "severity", "action", "enabled", "alerts_90d", "precision", "updated_by",
                    "updated_at"]
    list_filter = ["enabled", "kind", "action", "severity"]
    list_editable = ["enabled", "severity", "action"]
    search_fields = ["code", "name"]
    readonly_fields = ["updated_by", "updated_at"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        self._performance = rule_performance()
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("Alerts (90 days)"))
    def alerts_90d(self, obj: MonitoringRule) -> int:
        return getattr(self, "_performance", {}).get(obj.code, {}).get("alerts", 0)

    @admin.display(description=_("Confirmed / labelled"))
    def precision(self, obj: MonitoringRule) -> str:
        stats = getattr(self, "_performance", {}).get(obj.code)
        if not stats or not (stats["true_positive"] + stats["false_positive"]):
            return "—"
        labelled = stats["true_positive"] + stats["false_positive"]
        return f"{stats['true_positive']} / {labelled} ({stats['true_positive'] / labelled:.0%})"

    def save_model(self, request: HttpRequest, obj: MonitoringRule, form: Any, change: bool) -> None:
        obj.updated_by = _staff_user(request)
        super().save_model(request, obj, form, change)


class CaseChoiceForm(forms.Form):
    title = forms.CharField(max_length=200, required=False)


ALERT_FIELDS = ("public_id", "kind", "customer", "transaction", "attempted", "decision", "severity", "anomaly_score",
                "reason_table", "status", "label", "case", "model_version", "created_at")


@admin.register(Alert)
class AlertAdmin(ScopedAdmin):
    list_display = ["created_at", "kind", "customer", "severity", "decision", "rules", "status", "label", "case_link"]
    list_filter = ["status", "severity", "decision", "kind", "label", "created_at", "customer__segment"]
    search_fields = ["customer__external_ref", "customer__full_name", "rule_codes"]
    list_select_related = ["customer", "case"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["open_case"]
    fields = ALERT_FIELDS
    readonly_fields = ALERT_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        visible = _visible(request)
        if not visible.query.has_filters():
            return queryset
        # Drift alerts are about a model, not a customer: only roles that see every customer see them.
        return queryset.filter(customer__in=visible.values("pk"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Rules"))
    def rules(self, obj: Alert) -> str:
        return ", ".join(obj.rule_codes)

    @admin.display(description=_("Case"))
    def case_link(self, obj: Alert) -> str:
        case = obj.case  # selected with the row (list_select_related)
        if case is None:
            return "—"
        return format_html("<a href='{}'>{}</a>", reverse("admin:risk_case_change", args=[case.pk]),
                           str(case.public_id)[:8])

    @admin.display(description=_("Reasons"))
    def reason_table(self, obj: Alert) -> str:
        return reasons_table(obj.reasons)

    @admin.action(description=_("Open a case with the selected alerts"), permissions=["change"])
    def open_case(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        if not request.user.has_perm("risk.add_case"):
            raise PermissionDenied
        try:
            case = case_services.open_case(alerts=list(queryset), by=request.user, assign_to=request.user)
        except case_services.CaseError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(request, format_html(str(_("Opened <a href='{}'>case {}</a>.")),
                                               reverse("admin:risk_case_change", args=[case.pk]),
                                               str(case.public_id)[:8]), messages.SUCCESS)


CASE_ALERT_FIELDS = ("created_at", "severity", "decision", "rule_codes", "summary", "label")


class CaseAlertInline(admin.TabularInline):
    model = Alert
    fields = CASE_ALERT_FIELDS
    readonly_fields = CASE_ALERT_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Reasons"))
    def summary(self, obj: Alert) -> str:
        return "; ".join(r.get("en", "") for r in obj.reasons)


class CaseNoteInline(admin.TabularInline):
    """Notes are added, never edited or removed: the author is whoever adds it."""

    model = CaseNote
    fields = ["created_at", "author", "text"]
    readonly_fields = ["created_at", "author"]
    extra = 1
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("risk.add_casenote")


CASE_INTERVENTION_FIELDS = ("kind", "account", "status", "proposed_by", "approved_by", "created_at")


class CaseInterventionInline(admin.TabularInline):
    model = Intervention
    fields = CASE_INTERVENTION_FIELDS
    readonly_fields = CASE_INTERVENTION_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = ["title", "status", "outcome", "assigned_to"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        status, outcome = data.get("status"), data.get("outcome")
        if self.instance.pk and self.instance.status == Case.Status.CLOSED:
            raise ValidationError(_("A closed case cannot change; add a note instead."))
        if status == Case.Status.CLOSED and not outcome:
            self.add_error("outcome", _("Say how the case ended."))
        if outcome and status != Case.Status.CLOSED:
            self.add_error("status", _("An outcome is given when the case is closed."))
        if (self.instance.pk and status == Case.Status.OPEN and self.instance.status == Case.Status.INVESTIGATING):
            self.add_error("status", _("A case under investigation does not go back to open."))
        return data


@admin.register(Case)
class CaseAdmin(ScopedAdmin):
    form = CaseForm
    list_display = ["created_at", "title", "customer", "status", "outcome", "assigned_to", "alert_count"]
    list_filter = ["status", "outcome", "assigned_to", "customer__segment"]
    search_fields = ["title", "customer__external_ref", "customer__full_name"]
    list_select_related = ["customer", "assigned_to"]
    raw_id_fields = ["assigned_to"]
    readonly_fields = ["public_id", "customer", "opened_by", "closed_by", "created_at", "closed_at"]
    fieldsets = [
        (None, {"fields": ["public_id", "customer", "title", "assigned_to"]}),
        (_("Status"), {"fields": ["status", "outcome", "opened_by", "created_at", "closed_by", "closed_at"]}),
    ]
    inlines = [CaseAlertInline, CaseNoteInline, CaseInterventionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases are opened from alerts

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Alerts"))
    def alert_count(self, obj: Case) -> int:
        return obj.alerts.count()

    def save_model(self, request: HttpRequest, obj: Case, form: Any, change: bool) -> None:
        # Status and assignment move through the services (notes, labels, grades); only the title is edited here.
        original = Case.objects.get(pk=obj.pk)
        if "title" in form.changed_data:
            Case.objects.filter(pk=obj.pk).update(title=obj.title)
        if "assigned_to" in form.changed_data:
            case_services.assign_case(case=original, to=obj.assigned_to, by=request.user)
        if obj.status == Case.Status.INVESTIGATING and original.status == Case.Status.OPEN:
            case_services.start_investigation(case=original, by=request.user)
        if obj.status == Case.Status.CLOSED and original.status != Case.Status.CLOSED:
            case_services.close_case(case=original, outcome=obj.outcome, by=request.user)
        obj.refresh_from_db()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is CaseNote:
            for note in formset.save(commit=False):
                case_services.add_case_note(case=form.instance, author=request.user, text=note.text)
            return
        super().save_formset(request, form, formset, change)


# --- interventions ------------------------------------------------------------------------------------------

class TrailInline(admin.TabularInline):
    """What followed from an intervention, shown under it and never edited there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


EVENT_FIELDS = ("at", "action", "actor_label", "note", "evidence")
NOTICE_FIELDS = ("created_at", "title_en", "body_en", "body_zh", "read_at")


class EventInline(TrailInline):
    model = InterventionEvent
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS


class NoticeInline(TrailInline):
    model = CustomerNotice
    fields = NOTICE_FIELDS
    readonly_fields = NOTICE_FIELDS


class ProposeForm(forms.ModelForm):
    class Meta:
        model = Intervention
        fields = ["customer", "account", "kind", "params", "reason", "rationale", "case"]
        help_texts = {"params": _('lower_credit_limit: {"new_limit": "20000"}; restrict: {"categories": ["cash"], '
                                  '"channels": ["atm"]}; step_up: {"amount_over": "5000"}.')}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        customer, account = data.get("customer"), data.get("account")
        if account is not None and customer is not None and account.customer_id != customer.pk:
            self.add_error("account", _("That account belongs to another customer."))
        elif data.get("kind"):
            try:
                data["params"] = intervention_services.validate_params(
                    kind=data["kind"], params=data.get("params") or {}, account=account)
            except intervention_services.InterventionError as error:
                self.add_error("params", str(error))
        return data


class DecisionForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


# An existing intervention, all read-only: it moves by approve / reject / reverse, never by editing.
INTERVENTION_FIELDS = ("public_id", "customer", "account", "kind", "params", "reason", "rationale", "evidence",
                       "status", "maker", "approved_by", "decided_at", "applied_at", "reversed_by", "reversed_at",
                       "previous_state", "case", "created_at")


@admin.register(Intervention)
class InterventionAdmin(ScopedAdmin):
    list_display = ["created_at", "customer", "kind", "account", "status", "maker", "approved_by", "decided_at"]
    list_filter = ["status", "kind", "reason"]
    search_fields = ["customer__external_ref", "customer__full_name", "rationale"]
    list_select_related = ["customer", "account", "proposed_by", "approved_by"]
    raw_id_fields = ["customer", "account", "case"]
    inlines = [EventInline, NoticeInline]
    actions = ["approve_selected", "reject_selected"]
    change_form_template = "admin/risk/intervention/change_form.html"

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return [] if obj is None else list(self.inlines)  # a proposal has no trail or notices yet

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ProposeForm
        return super().get_form(request, obj, change=change, **kwargs)

    # Tuples, as for the records' fields above: get_fields' declared return type does not admit a list[str].
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return INTERVENTION_FIELDS

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return tuple(ProposeForm.Meta.fields)
        return self.get_readonly_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Proposed by"))
    def maker(self, obj: Intervention) -> str:
        return obj.proposed_by.get_username() if obj.proposed_by else f"rule: {obj.proposed_by_rule}"

    def save_model(self, request: HttpRequest, obj: Intervention, form: Any, change: bool) -> None:
        if change:  # nothing on an existing intervention is edited: it moves by approve / reject / reverse
            return
        data = form.cleaned_data
        created = intervention_services.propose_intervention(
            customer=data["customer"], account=data.get("account"), kind=data["kind"], reason=data["reason"],
            rationale=data["rationale"], params=data["params"], case=data.get("case"), proposed_by=request.user,
            evidence={"proposed_in": "back office"},
        )
        obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return  # the service wrote the audit event; there is nothing else to save

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        return [
            path("<int:pk>/decide/<str:verb>/", site.admin_view(require_POST(self.decide_view)),
                 name="risk_intervention_decide"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context = {**(extra_context or {}), "decision_form": DecisionForm(), "intervention": obj,
                   "can_check": bool(obj and obj.status == Intervention.Status.PROPOSED
                                     and request.user.has_perm(intervention_services.APPROVE_PERMISSION)
                                     and obj.proposed_by_id != request.user.pk),
                   "is_maker": bool(obj and obj.proposed_by_id == request.user.pk),
                   "can_reverse": bool(obj and obj.status == Intervention.Status.ACTIVE
                                       and request.user.has_perm("risk.change_intervention"))}
        return super().change_view(request, object_id, form_url, context)

    def decide_view(self, request: HttpRequest, pk: int, verb: str) -> HttpResponse:
        intervention = get_object_or_404(self.get_queryset(request), pk=pk)
        note = DecisionForm(request.POST).data.get("note", "")
        try:
            if verb == "approve":
                intervention_services.approve_intervention(intervention=intervention, by=request.user, note=note)
            elif verb == "reject":
                intervention_services.reject_intervention(intervention=intervention, by=request.user, note=note)
            elif verb == "reverse":
                if not request.user.has_perm("risk.change_intervention"):
                    raise PermissionDenied
                intervention_services.reverse_intervention(intervention=intervention, by=request.user, note=note)
            else:
                raise PermissionDenied
        except (intervention_services.InterventionError, intervention_services.MakerCheckerViolation) as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, _("Done: %(verb)s.") % {"verb": verb}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:risk_intervention_change", args=[pk]))

    def _decide_many(self, request: HttpRequest, queryset: QuerySet[Intervention], approve: bool) -> None:
        for intervention in queryset:
            try:
                if approve:
                    intervention_services.approve_intervention(intervention=intervention, by=request.user)
                else:
                    intervention_services.reject_intervention(intervention=intervention, by=request.user)
            except (intervention_services.InterventionError, intervention_services.MakerCheckerViolation) as error:
                self.message_user(request, f"{intervention}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{intervention}: {_('approved') if approve else _('rejected')}",
                                  messages.SUCCESS)

    @admin.action(description=_("Approve and apply the selected (checker)"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Intervention]) -> None:
        self._decide_many(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected (checker)"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Intervention]) -> None:
        self._decide_many(request, queryset, approve=False)


CUSTOMER_NOTICE_FIELDS = ("customer", "intervention", "title_en", "title_zh", "body_en", "body_zh", "created_at",
                          "read_at")


@admin.register(CustomerNotice)
class CustomerNoticeAdmin(RecordAdmin):
    list_display = ["created_at", "customer", "title_en", "read_at"]
    list_select_related = ["customer"]
    search_fields = ["customer__external_ref"]
    fields = CUSTOMER_NOTICE_FIELDS
    readonly_fields = CUSTOMER_NOTICE_FIELDS


# --- the customer's page ------------------------------------------------------------------------------------

RISK_GRADE_FIELDS = ("grade", "points", "breakdown", "reasons_en", "reasons_zh", "latest_credit", "computed_at")


class RiskGradeInline(admin.StackedInline):
    model = CustomerRiskGrade
    fields = RISK_GRADE_FIELDS
    readonly_fields = RISK_GRADE_FIELDS
    can_delete = False
    verbose_name = _("risk grade")
    verbose_name_plural = _("risk grade (credit, behaviour, monitoring)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Points"))
    def breakdown(self, obj: CustomerRiskGrade) -> str:
        c = obj.components
        return _("credit %(credit)s + behaviour %(behaviour)s + monitoring %(monitoring)s") % {
            "credit": c.get("credit", 0), "behaviour": c.get("behaviour", 0), "monitoring": c.get("monitoring", 0)}

    @admin.display(description=_("Latest credit score"))
    def latest_credit(self, obj: CustomerRiskGrade) -> str:
        score = obj.credit_score
        if score is None:
            return "—"
        return format_html("<a href='{}'>PD {} · {} · {}</a>", reverse("admin:risk_creditscore_change",
                                                                        args=[score.pk]),
                           f"{score.pd:.1%}", score.get_decision_display(), "; ".join(score.reasons_en))


# risk builds on customers, so it is risk that adds its grade to the customer's page (customers knows nothing of
# risk): the customer admin gets one more read-only inline, placed first.
if RiskGradeInline not in CustomerAdmin.inlines:
    CustomerAdmin.inlines = [RiskGradeInline, *CustomerAdmin.inlines]
