"""Back office for applications: the staff queue of referred applications (most urgent first, with the time left
before the service level is missed), approve / decline with a required note through the services, every
application with its checks and trail, and the funnel.

Relationship managers and risk officers decide (`advisor.decide_application`); support agents and compliance
read. A relationship manager sees their own book only, as everywhere else.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

# advisor.admin imports this module after defining ReadOnlyAdmin (at its end), so the import below is safe.
from advisor.admin import ReadOnlyAdmin
from advisor.applications import selectors, services
from advisor.applications.charts import funnel_chart
from advisor.applications.models import Application, ApplicationEvent, ApplicationState
from advisor.applications.reading import describe
from customers.selectors import Actor, visible_customers

DECIDE_PERMISSION = "advisor.decide_application"
STEP_LABELS = {"decision": _("Automated decision"), "staff review": _("Staff review"), "take-up": _("Take-up")}


class DecisionForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000,
                           label=_("Note (required; on a decline the customer reads it)"))


class StateFilter(admin.SimpleListFilter):
    """Defaults to the staff queue: referred applications."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("all", _("All")), *ApplicationState.choices]

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {"selected": (self.value() or ApplicationState.REFERRED) == lookup,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup}), "display": title}

    def queryset(self, request: HttpRequest, queryset: QuerySet[Application]) -> QuerySet[Application]:
        value = self.value() or ApplicationState.REFERRED
        return queryset if value == "all" else queryset.filter(state=value)


class EventInline(admin.TabularInline):
    model = ApplicationEvent
    fields = readonly_fields = ("at", "from_state", "to_state", "actor_label", "reason_codes", "note")
    extra = 0
    can_delete = False
    ordering = ["at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "product", "state", "sla_timer", "requested_amount", "approved_amount",
                    "reasons_short"]
    list_filter = [StateFilter, "product__type", "source", "needs_source", "customer__segment"]
    search_fields = ["customer__external_ref", "customer__full_name", "product__code", "public_id"]
    list_select_related = ["customer", "product"]
    inlines = [EventInline]
    fields = readonly_fields = (
        "public_id", "customer", "product", "state", "source", "reason_text", "needs_understood", "needs_source",
        "needs_detail", "requested_amount", "approved_amount", "check_table", "reason_codes", "credit_score",
        "sla_due_at", "decided_at", "decided_by", "decision_note", "offer_expires_at", "activated_at", "account",
        "holding", "decision_attempts", "last_error", "created_at",
    )
    show_full_result_count = False
    change_list_template = "admin/advisor/application/change_list.html"
    change_form_template = "admin/advisor/application/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Application]:
        qs = super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))
        # The queue is worked most urgent first: referred ones by SLA due time.
        queue = request.GET.get("state", ApplicationState.REFERRED) == ApplicationState.REFERRED
        if queue and not request.GET.get("o"):
            return qs.order_by("sla_due_at", "created_at")
        return qs

    @admin.display(description=_("SLA"), ordering="sla_due_at")
    def sla_timer(self, obj: Application) -> str:
        if obj.state != ApplicationState.REFERRED or obj.sla_due_at is None:
            return "—"
        left = obj.sla_due_at - timezone.now()
        hours = left.total_seconds() / 3600
        if hours < 0:
            return format_html('<strong style="color:#b42318">{}</strong>',
                               _("overdue by %(h).1f h") % {"h": -hours})
        colour = "#b54708" if hours < 4 else "#067647"
        return format_html('<span style="color:{}">{}</span>', colour, _("due in %(h).1f h") % {"h": hours})

    @admin.display(description=_("Reasons"))
    def reasons_short(self, obj: Application) -> str:
        return ", ".join(obj.reason_codes)

    @admin.display(description=_("Needs understood"))
    def needs_understood(self, obj: Application) -> str:
        return ", ".join(describe(obj.needs, "en")) or "—"

    @admin.display(description=_("Checks"))
    def check_table(self, obj: Application) -> str:
        colours = {"pass": "#067647",  # nosec B105  # CSS colours of check outcomes, not passwords
                   "note": "#475467", "refer": "#b54708", "fail": "#b42318"}
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td style='color:{}'><strong>{}</strong></td><td>{}</td><td>{}</td></tr>",
            ((c["check"], colours.get(c["status"], "#000"), c["status"], c["code"], c["en"]) for c in obj.checks)))

    # --- deciding ---------------------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        return [
            path("funnel/", site.admin_view(self.funnel_view), name="advisor_application_funnel"),
            path("<int:pk>/decide/<str:verb>/", site.admin_view(require_POST(self.decide_view)),
                 name="advisor_application_decide"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context = {**(extra_context or {}), "application": obj, "decision_form": DecisionForm(),
                   "can_decide": bool(obj and obj.state == ApplicationState.REFERRED
                                      and request.user.has_perm(DECIDE_PERMISSION))}
        return super().change_view(request, object_id, form_url, context)

    def decide_view(self, request: HttpRequest, pk: int, verb: str) -> HttpResponse:
        if not request.user.has_perm(DECIDE_PERMISSION) or verb not in ("approve", "decline"):
            raise PermissionDenied
        app = get_object_or_404(self.get_queryset(request), pk=pk)
        try:
            services.decide_referred(application=app, approve=verb == "approve", note=request.POST.get("note", ""),
                                     by=request.user)
        except services.ApplicationError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:advisor_application_change", args=[pk]))
        self.message_user(request, _("Application %(verb)s.") % {
            "verb": _("approved") if verb == "approve" else _("declined")}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:advisor_application_changelist"))

    # --- funnel -----------------------------------------------------------------------------------------------

    def funnel_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = min(max(int(request.GET.get("days", 90)), 7), 365)
        except ValueError:
            days = 90
        result = selectors.funnel(customers=visible_customers(actor=Actor(user=request.user)), days=days)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Application funnel"),
            "opts": self.model._meta,
            "days": days,
            "rows": selectors.as_rows(result),
            "chart": funnel_chart(result.counts.get("all", {})),
            "steps": [{"name": STEP_LABELS[s.name], "count": s.count,
                       "median": selectors.human_duration(s.median_seconds),
                       "p90": selectors.human_duration(s.p90_seconds)} for s in result.steps],
        }
        return TemplateResponse(request, "admin/advisor/application/funnel.html", context)
