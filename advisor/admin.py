"""Back office for recommendations: what was shown and why, what the gate blocked, and how it performed.

These are records of decisions: staff read them, nobody edits or deletes them in the admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from advisor.charts import ctr_chart
from advisor.ml.scoring import MODEL_NAME
from advisor.models import BatchRecommendation, BlockedCandidate, BlockReason, Recommendation, RecommendationSet
from advisor.selectors import engagement
from bank.jobs import start_job
from bank.models import Job
from bank.registry import active_version
from customers.selectors import Actor, visible_customers

if TYPE_CHECKING:
    # A development dependency (it comes with django-stubs): needed by the type checker only.
    from django_stubs_ext import StrOrPromise


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def staff_user(request: HttpRequest) -> User:
    """The signed-in user, to record as who created a row. The admin site lets in only active staff, so an
    anonymous user here means the view was reached around it: refuse rather than record nobody."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


class RecommendationInline(admin.TabularInline):
    model = Recommendation
    fields = readonly_fields = ("rank", "product", "score", "driver", "reasons_en", "contribution_table")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Feature contributions"))
    def contribution_table(self, obj: Recommendation) -> str:
        return contribution_table(obj.contributions)


class BlockedInline(admin.TabularInline):
    model = BlockedCandidate
    fields = readonly_fields = ("product", "score", "reasons", "detail")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def contribution_table(contributions: dict[str, float], *, top: int = 8) -> str:
    """The largest contributions (log-odds units of the ranker) as a small signed table."""
    items = sorted(contributions.items(), key=lambda kv: -abs(kv[1]))[:top]
    if not items:
        return "—"
    return format_html(
        "<table class='contributions'>{}</table>",
        format_html_join(
            "", "<tr><td>{}</td><td style='text-align:right;color:{}'>{}</td></tr>",
            ((name, "#1a7f37" if value >= 0 else "#b42318", f"{value:+.3f}") for name, value in items),
        ),
    )


@admin.register(RecommendationSet)
class RecommendationSetAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at", "customer", "channel", "model_version", "query", "candidates_considered", "candidates_blocked",
    ]
    list_filter = ["channel", "model_version", "created_at", "customer__segment"]
    search_fields = ["customer__external_ref", "customer__full_name", "query"]
    date_hierarchy = "created_at"
    list_select_related = ["customer", "model_version"]
    inlines = [RecommendationInline, BlockedInline]
    fields = readonly_fields = (
        "public_id", "customer", "channel", "model_version", "query", "needs", "context",
        "candidates_considered", "candidates_blocked", "created_at",
    )
    show_full_result_count = False
    change_list_template = "admin/advisor/recommendationset/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        dashboard = path(
            "performance/", self.admin_site.admin_view(self.performance_view), name="advisor_performance"
        )
        retrain = path(
            "retrain/", self.admin_site.admin_view(require_POST(self.retrain_view)), name="advisor_retrain"
        )
        return [dashboard, retrain, *super().get_urls()]

    def retrain_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a training run on the ML cluster; the new version is activated only by staff (or if none is)."""
        if not request.user.has_perm("bank.change_modelversion"):
            raise PermissionDenied
        job = start_job(
            kind=f"Train {MODEL_NAME}", task=settings.MODEL_TRAINING_TASKS[MODEL_NAME], requested_by=request.user,
            ml=True,
        )
        self.message_user(request, _("Training is queued; its progress is shown below."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:advisor_performance") + f"?job={job.pk}")

    def performance_view(self, request: HttpRequest) -> HttpResponse:
        """CTR and conversion over time, per model version and per segment, over the customers the user sees."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = min(max(int(request.GET.get("days", 30)), 7), 180)
        except ValueError:
            days = 30
        visible = visible_customers(actor=Actor(user=request.user))
        by_model = engagement(customers=visible, days=days, by="model")
        by_segment = engagement(customers=visible, days=days, by="segment")
        model = active_version(MODEL_NAME)
        offline = (model.metrics.get("hybrid") or {}) if model is not None else {}
        jobs = list(Job.objects.filter(kind=f"Train {MODEL_NAME}").order_by("-created_at")[:5])
        context = {
            **self.admin_site.each_context(request),
            "title": _("Recommendation performance"),
            "opts": self.model._meta,
            "days": days,
            "by_model": by_model,
            "by_segment": by_segment,
            "model_chart": ctr_chart(by_model),
            "segment_chart": ctr_chart(by_segment),
            "active_model": model,
            "offline_ndcg": offline.get("ndcg@k"),
            "offline_hr": offline.get("hr@k"),
            "can_retrain": request.user.has_perm("bank.change_modelversion"),
            "training_jobs": jobs,
            "training_running": any(job.state in (Job.State.QUEUED, Job.State.RUNNING) for job in jobs),
        }
        return TemplateResponse(request, "admin/advisor/performance.html", context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecommendationSet]:
        # A relationship manager sees the recommendations of their own book only, as everywhere else.
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyAdmin):
    list_display = ["recommendation_set", "rank", "product", "score", "driver", "model_version"]
    list_filter = ["driver", "model_version"]
    search_fields = ["customer__external_ref", "product__code"]
    list_select_related = ["recommendation_set", "product", "model_version"]
    fields = readonly_fields = (
        "recommendation_set", "customer", "product", "rank", "score", "model_version", "driver",
        "reasons_en", "reasons_zh", "contribution_table",
    )
    show_full_result_count = False

    @admin.display(description=_("Feature contributions"))
    def contribution_table(self, obj: Recommendation) -> str:
        return contribution_table(obj.contributions, top=30)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Recommendation]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))


class ReasonFilter(admin.SimpleListFilter):
    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return list(BlockReason.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[BlockedCandidate]) -> QuerySet[BlockedCandidate]:
        if self.value():
            return queryset.filter(reasons__contains=[self.value()])
        return queryset


@admin.register(BlockedCandidate)
class BlockedCandidateAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "product", "reason_list", "detail", "model_version"]
    list_filter = [ReasonFilter, "model_version", "created_at"]
    search_fields = ["customer__external_ref", "product__code"]
    date_hierarchy = "created_at"
    list_select_related = ["customer", "product", "model_version"]
    fields = readonly_fields = (
        "recommendation_set", "customer", "product", "score", "reasons", "detail", "model_version", "created_at",
    )
    show_full_result_count = False

    @admin.display(description=_("Reasons"))
    def reason_list(self, obj: BlockedCandidate) -> str:
        return ", ".join(str(BlockReason(code).label) for code in obj.reasons)

    def get_queryset(self, request: HttpRequest) -> QuerySet[BlockedCandidate]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))


@admin.register(BatchRecommendation)
class BatchRecommendationAdmin(ReadOnlyAdmin):
    """The latest batch run's lists (`manage.py score_recommendations`): read-only, replaced whole by each run."""

    list_display = ["customer", "rank", "product", "score", "model_version", "computed_at"]
    list_filter = ["model_version"]
    search_fields = ["customer__external_ref", "product__code"]
    list_select_related = ["customer", "product", "model_version"]
    fields = readonly_fields = ("customer", "rank", "product", "score", "model_version", "computed_at")
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[BatchRecommendation]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))


# The back offices of applications, personalised messages and the investment advisor register themselves on import.
import advisor.applications.admin  # noqa: E402,F401
import advisor.engagement.admin  # noqa: E402,F401
import advisor.investing.admin  # noqa: E402,F401
