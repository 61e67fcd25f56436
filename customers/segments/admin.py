"""Back office for customer segments: what each segment is (in words and in numbers), how big, how it moved from
run to run, and a button to re-run the segmentation as a Job. Segments and runs are records of a computation:
read-only here. Sizes are aggregates (no customer rows), so every role allowed to view segments sees all of them;
the customer list filtered by a segment is still limited to the staff member's book.

`customers.admin` imports this module at its end (after CustomerAdmin is registered).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bank.jobs import start_job
from bank.models import Job
from customers.models import Segment
from customers.segments.charts import feature_bars, share_lines, size_bars
from customers.segments.describe import format_value
from customers.segments.features import BY_NAME, FEATURE_NAMES
from customers.segments.models import SegmentationRun
from customers.selectors import segment_sizes, segmentation_history

TASK = "customers.tasks.segment_customers_task"
JOB_KIND = "Segment customers"
CHART_FEATURES = 10

FEATURE_LABELS = {
    "age": _("Age"),
    "income_monthly": _("Monthly income"),
    "income_months_share": _("Months with income"),
    "spend_monthly": _("Monthly spending"),
    "savings_rate": _("Savings rate"),
    "transactions_per_month": _("Transactions a month"),
    "assets_total": _("Balances"),
    "debt_total": _("Debt"),
    "credit_utilisation": _("Credit card utilisation"),
    "holdings_value": _("Investments"),
    "spend_share_groceries": _("Spending share: groceries"),
    "spend_share_dining": _("Spending share: dining"),
    "spend_share_travel": _("Spending share: travel"),
    "spend_share_shopping": _("Spending share: shopping"),
    "spend_share_housing": _("Spending share: housing"),
    "spend_share_education": _("Spending share: education"),
    "spend_share_health": _("Spending share: health"),
    "spend_share_entertainment": _("Spending share: entertainment"),
    "holds_credit_card": _("Holds a credit card"),
    "holds_loan": _("Holds a loan"),
    "holds_deposit": _("Holds a term deposit"),
    "holds_wealth": _("Holds a wealth product"),
    "holds_fund": _("Holds a fund"),
    "holds_insurance": _("Holds insurance"),
}


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


def _population_averages(run: SegmentationRun) -> dict[str, float]:
    """The whole population's average of each feature: the size-weighted mean of the segments' averages."""
    snapshots = list(run.snapshots.all())
    total = sum(s.size for s in snapshots) or 1
    return {name: sum(s.size * float(s.averages.get(name, 0.0)) for s in snapshots) / total for name in FEATURE_NAMES}


def _drift_chart(runs: list[SegmentationRun], *, only: Segment | None = None) -> dict[str, object] | None:
    """Each segment's share per run (a gap where a run did not have it)."""
    segments: dict[int, Segment] = {}
    for run in runs:
        for snapshot in run.snapshots.all():
            if only is None or snapshot.segment_id == only.pk:
                segments.setdefault(snapshot.segment_id, snapshot.segment)
    series = []
    for segment_id, segment in sorted(segments.items(), key=lambda kv: kv[1].code):
        shares = {run.pk: next((s.share for s in run.snapshots.all() if s.segment_id == segment_id), None)
                  for run in runs}
        series.append((f"{segment.code} {segment.name}", [shares[run.pk] for run in runs]))
    return share_lines([f"{run.started_at:%m-%d}" for run in runs], series)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["code", "segment_name", "size", "is_active", "segment_description", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "name_en", "name_zh"]
    fields = readonly_fields = (
        "code", "name_en", "name_zh", "description_en", "description_zh", "is_active", "created_at", "size",
        "customers_link",
    )
    change_list_template = "admin/customers/segment/change_list.html"
    change_form_template = "admin/customers/segment/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        return super().get_queryset(request).annotate(member_count=Count("customers"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Name"))
    def segment_name(self, obj: Segment) -> str:
        return obj.name

    @admin.display(description=_("Description"))
    def segment_description(self, obj: Segment) -> str:
        return obj.description_zh if _zh() else obj.description_en

    @admin.display(description=_("Customers"), ordering="member_count")
    def size(self, obj: Segment) -> int:
        return getattr(obj, "member_count", None) or obj.customers.count()

    @admin.display(description=_("Customers in this segment"))
    def customers_link(self, obj: Segment) -> str:
        url = reverse("admin:customers_customer_changelist") + f"?segment__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Show them in the customer list"))

    def get_urls(self) -> list[URLPattern]:
        rerun = path("run/", self.admin_site.admin_view(require_POST(self.run_view)), name="customers_segment_run")
        return [rerun, *super().get_urls()]

    def run_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a re-segmentation as a Job; its progress shows in Jobs."""
        if not request.user.has_perm("customers.change_segment"):
            raise PermissionDenied
        job = start_job(kind=JOB_KIND, task=TASK, requested_by=request.user)
        self.message_user(request, _("Segmentation is queued; follow it in Jobs."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:bank_job_change", args=[job.pk]))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        runs = segmentation_history()
        latest = runs[-1] if runs else None
        sizes = segment_sizes()
        active = list(Segment.objects.filter(is_active=True).order_by("code"))
        total = sum(sizes.values())
        context = {
            **(extra_context or {}),
            "latest_run": latest,
            "k_scores": sorted(((int(k), v) for k, v in (latest.scores if latest else {}).items())),
            "sizes_chart": size_bars([(f"{s.code} {s.name}", sizes.get(s.pk, 0), False) for s in active],
                                     total=total),
            "drift_chart": _drift_chart(runs),
            "can_run": request.user.has_perm("customers.change_segment"),
            "running": Job.objects.filter(kind=JOB_KIND, state__in=[Job.State.QUEUED, Job.State.RUNNING]).exists(),
        }
        return super().changelist_view(request, context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        segment = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if segment is not None:
            runs = segmentation_history()
            snapshot = next((s for run in reversed(runs) for s in run.snapshots.all() if s.segment_id == segment.pk),
                            None)
            if snapshot is not None:
                population = _population_averages(snapshot.run)
                lang = "zh" if _zh() else "en"
                top = sorted(snapshot.zscores.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:CHART_FEATURES]
                rows = []
                for name, z in top:
                    if name not in BY_NAME:
                        continue
                    spec = BY_NAME[name]
                    text = _("%(segment)s vs %(all)s overall") % {
                        "segment": format_value(spec, float(snapshot.averages.get(name, 0.0)), lang),
                        "all": format_value(spec, population.get(name, 0.0), lang),
                    }
                    rows.append((str(FEATURE_LABELS.get(name, name)), float(z), text))
                context["features_chart"] = feature_bars(rows)
                context["snapshot"] = snapshot
            sizes = segment_sizes()
            active = list(Segment.objects.filter(is_active=True).order_by("code"))
            if segment not in active:
                active.append(segment)
            context["sizes_chart"] = size_bars(
                [(f"{s.code} {s.name}", sizes.get(s.pk, 0), s.pk == segment.pk) for s in active],
                total=sum(sizes.values()))
            context["drift_chart"] = _drift_chart(runs, only=segment)
        return super().change_view(request, object_id, form_url, context)


@admin.register(SegmentationRun)
class SegmentationRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "customers", "k", "silhouette", "matched", "created", "retired", "seconds", "job"]
    list_select_related = ["job"]
    fields = readonly_fields = (
        "started_at", "finished_at", "seconds", "customers", "profiles_as_of", "k", "silhouette", "criterion",
        "scores", "features", "seed", "matched", "created", "retired", "job",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
