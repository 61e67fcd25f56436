"""Back office for personalised messages: campaigns (audience with a preview count, texts in English and Chinese
validated against a sample customer, schedule, A/B split and holdout), the report of each campaign (conversion
per arm, uplift over the holdout with its significance, activity over time), and every message with the reason it
was sent or suppressed. Messages are records: nobody edits them; a relationship manager sees their own book only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

# advisor.admin imports this module at its end, after defining ReadOnlyAdmin.
from advisor.admin import ReadOnlyAdmin, staff_user
from advisor.engagement import charts, rendering
from advisor.engagement.audience import audience_queryset, check_codes, validate_audience
from advisor.engagement.models import Campaign, CampaignVariant, Message, MessageEvent
from advisor.engagement.selectors import campaign_report, daily_activity
from advisor.engagement.services import bank_tz
from bank.jobs import start_job
from customers.selectors import Actor, visible_customers

PLACEHOLDER_HELP = ", ".join(f"{{{{ {name} }}}}" for name in rendering.PLACEHOLDERS)


class CampaignVariantInline(admin.StackedInline):
    model = CampaignVariant
    extra = 1
    max_num = 2
    fields = ["arm", "subject_en", "body_en", "subject_zh", "body_zh"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        for name in ("body_en", "body_zh"):
            formset.form.base_fields[name].help_text = _("Placeholders: %(names)s") % {"names": PLACEHOLDER_HELP}
        return formset


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["code", "name", "kind", "trigger", "trigger_params", "purpose", "status", "audience", "product",
                  "product_type", "send_at", "ends_at", "holdout_pct", "variant_b_pct", "conversion_days",
                  "send_email"]

    def clean_audience(self) -> dict[str, Any]:
        spec = validate_audience(self.cleaned_data.get("audience"))
        check_codes(spec)
        return spec

    def clean_trigger_params(self) -> dict[str, Any]:
        value = self.cleaned_data.get("trigger_params") or {}
        if not isinstance(value, dict):
            raise ValidationError(_("Trigger parameters must be a JSON object."))
        return value


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    inlines = [CampaignVariantInline]
    list_display = ["code", "name", "kind", "trigger", "purpose", "status", "send_at", "launched_at",
                    "report_link"]
    list_filter = ["kind", "status", "purpose", "trigger"]
    search_fields = ["code", "name"]
    readonly_fields = ["audience_preview", "launched_at", "created_by", "created_at", "report_link"]
    actions = ["launch", "scan_now"]

    @admin.display(description=_("Audience now"))
    def audience_preview(self, obj: Campaign) -> str:
        if obj is None or obj.pk is None:
            return "—"
        today = timezone.now().astimezone(bank_tz()).date()
        audience = audience_queryset(obj.audience, today=today)
        total = audience.count()
        consenting = audience.filter(consent_marketing=True).count()
        return str(_("%(total)d customers match; %(consenting)d of them consented to marketing.")
                   % {"total": total, "consenting": consenting})

    @admin.display(description=_("Report"))
    def report_link(self, obj: Campaign) -> str:
        if obj is None or obj.pk is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:advisor_campaign_report", args=[obj.pk]),
                           _("Results and uplift"))

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = staff_user(request)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Send the selected scheduled campaigns now (as a background job)"),
                  permissions=["change"])
    def launch(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            if campaign.kind != Campaign.Kind.SCHEDULED or campaign.status != Campaign.Status.ACTIVE:
                self.message_user(request, _("%(code)s is not an active scheduled campaign.")
                                  % {"code": campaign.code}, messages.WARNING)
                continue
            start_job(kind="Send campaign", task="advisor.engagement.tasks.launch_campaign_task",
                      requested_by=request.user, campaign_id=campaign.pk)
            self.message_user(request, _("%(code)s is being sent; follow it under Jobs.") % {"code": campaign.code},
                              messages.SUCCESS)

    @admin.action(description=_("Scan the selected trigger campaigns now"), permissions=["change"])
    def scan_now(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        from advisor.engagement.services import CampaignNotReady
        from advisor.engagement.triggers import scan_trigger

        for campaign in queryset.filter(kind=Campaign.Kind.TRIGGER):
            try:
                counts = scan_trigger(campaign=campaign)
            except CampaignNotReady as error:
                self.message_user(request, f"{campaign.code}: {error}", messages.ERROR)
                continue
            self.message_user(request, _("%(code)s: %(events)d events, %(new)d new messages.")
                              % {"code": campaign.code, "events": counts["events"], "new": counts["new"]},
                              messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        report = path("<int:campaign_id>/report/", self.admin_site.admin_view(self.report_view),
                      name="advisor_campaign_report")
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        """Conversion per arm, uplift over the holdout, suppressions by reason, activity over time."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        report = campaign_report(campaign=campaign)
        activity = daily_activity(campaign=campaign, days=30)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "campaign": campaign,
            "title": _("Results of %(code)s") % {"code": campaign.code}, "report": report,
            "conversion_chart": charts.conversion_chart(report.arms),
            "activity_chart": charts.activity_chart(activity),
            "suppressed": sorted(report.suppressed.items()),
        }
        return TemplateResponse(request, "admin/advisor/campaign/report.html", context)


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    fields = readonly_fields = ("kind", "at", "channel")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "campaign", "customer", "arm", "status", "suppression_reason", "deliver_at",
                    "opened_at", "clicked_at"]
    list_filter = ["status", "suppression_reason", "arm", "marketing", "campaign", "customer__segment"]
    search_fields = ["customer__external_ref", "customer__full_name", "campaign__code"]
    list_select_related = ["campaign", "customer"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [MessageEventInline]
    fields = readonly_fields = (
        "public_id", "campaign", "customer", "occurrence", "arm", "status", "suppression_reason", "marketing",
        "why", "language", "subject", "body", "product", "created_at", "deliver_at", "delivered_at",
        "emailed_at", "opened_at", "clicked_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))
