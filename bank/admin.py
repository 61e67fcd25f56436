"""Back office for the model registry, and the site-wide titles of the staff admin.

Activation and rollback go through bank.registry, which verifies each artifact's sha256: an admin click
can never make a tampered or truncated artifact serve.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bank import registry
from bank.jobs import start_job
from bank.models import AuditEvent, Job, ModelVersion

admin.site.site_header = _("Bank platform back office")
admin.site.site_title = _("Bank platform back office")
admin.site.index_title = _("Back office")

METRICS_PREVIEW_CHARS = 60


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "status", "quality", "created_at", "activated_at", "short_metrics"]
    list_filter = ["status", "name", "device"]
    search_fields = ["name", "notes"]
    date_hierarchy = "created_at"
    actions = ["activate_selected", "roll_back_to_previous", "retrain_selected"]
    # Everything that describes the artifact is fixed at registration; status moves only through the actions.
    readonly_fields = [
        "name", "version", "status", "created_at", "activated_at", "retired_at", "artifact_path", "sha256",
        "metrics", "params", "training_data", "device",
    ]
    fieldsets = [
        (None, {"fields": ["name", "version", "status", "notes"]}),
        (_("Lifecycle"), {"fields": ["created_at", "activated_at", "retired_at"]}),
        (_("Artifact"), {"fields": ["artifact_path", "sha256", "device"]}),
        (_("Training"), {"fields": ["metrics", "params", "training_data"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Versions are registered by training code with their files (bank.registry), never typed in.
        return False

    @admin.display(description=_("Quality floor"))
    def quality(self, obj: ModelVersion) -> str:
        # Why a version cannot be activated, at a glance (bank.registry.quality_failures).
        if not (obj.metrics or {}).get("quality"):
            return "—"
        below = registry.quality_failures(obj)
        return str(_("below: %(failures)s") % {"failures": "; ".join(below)} if below else _("passed"))

    @admin.display(description=_("Metrics"))
    def short_metrics(self, obj: ModelVersion) -> str:
        if not obj.metrics:
            return "—"
        text = ", ".join(
            f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={json.dumps(value)}"
            for key, value in sorted(obj.metrics.items())
        )
        return text if len(text) <= METRICS_PREVIEW_CHARS else text[: METRICS_PREVIEW_CHARS - 1] + "…"

    @admin.action(description=_("Activate selected version"), permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        versions = list(queryset.order_by("name", "version"))
        repeated = sorted(name for name, count in Counter(v.name for v in versions).items() if count > 1)
        if repeated:
            # Activating two versions of one model in one click would silently keep only the last.
            self.message_user(
                request,
                _("Select at most one version per model; several were selected for: %(names)s.")
                % {"names": ", ".join(repeated)},
                messages.ERROR,
            )
            return
        for version in versions:
            try:
                registry.activate(version, by=request.user, channel="admin")
            except registry.RegistryError as error:
                self.message_user(request, _("Not activated: %(error)s") % {"error": error}, messages.ERROR)
            else:
                self.message_user(
                    request, _("%(label)s is now active.") % {"label": version.label}, messages.SUCCESS
                )

    @admin.action(description=_("Roll back to previous version"), permissions=["change"])
    def roll_back_to_previous(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for name in sorted(set(queryset.values_list("name", flat=True))):
            try:
                restored = registry.rollback(name, by=request.user, channel="admin")
            except registry.RegistryError as error:
                self.message_user(request, _("Not rolled back: %(error)s") % {"error": error}, messages.ERROR)
            else:
                self.message_user(
                    request, _("%(label)s is active again.") % {"label": restored.label}, messages.SUCCESS
                )

    @admin.action(description=_("Retrain selected models (queue a new version)"), permissions=["change"])
    def retrain_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        # Training runs on the ML cluster; the new version is registered as ready and activated only by the
        # trainer's own rule or by a later click on "Activate", so a retrain never changes what serves.
        for name in sorted(set(queryset.values_list("name", flat=True))):
            task = settings.MODEL_TRAINING_TASKS.get(name)
            if task is None:
                self.message_user(
                    request, _("%(name)s is not trained on this platform.") % {"name": name}, messages.WARNING
                )
                continue
            job = start_job(kind=f"Train {name}", task=task, requested_by=request.user, ml=True)
            self.message_user(
                request,
                format_html(
                    str(_("Training {name} is queued: follow it in <a href='{url}'>Jobs</a>.")),
                    name=name, url=f"../job/{job.pk}/change/",
                ),
                messages.SUCCESS,
            )


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Background work with its progress. Jobs are started by actions and schedules, never typed in."""

    list_display = ["created_at", "kind", "state", "progress_bar", "step", "requested_by", "duration", "outcome"]
    list_filter = ["state", "kind"]
    search_fields = ["kind", "step", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["requested_by"]
    fields = readonly_fields = (
        "kind", "task", "state", "progress_bar", "step", "done", "total", "attempts", "result", "error",
        "requested_by", "created_at", "started_at", "updated_at", "finished_at",
    )
    change_list_template = "admin/bank/job/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        active = Job.objects.filter(state__in=[Job.State.QUEUED, Job.State.RUNNING]).exists()
        return super().changelist_view(request, {**(extra_context or {}), "active_jobs": active})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Progress"))
    def progress_bar(self, obj: Job) -> str:
        if obj.state == Job.State.DONE:
            return format_html("<progress max='1' value='1'></progress> 100%")
        fraction = obj.fraction
        if fraction is None:
            return "—" if obj.state != Job.State.RUNNING else format_html("<progress></progress>")
        return format_html(
            "<progress max='1' value='{}'></progress> {}% <span class='quiet'>({} / {})</span>",
            f"{fraction:.3f}", int(fraction * 100), obj.done, obj.total,
        )

    @admin.display(description=_("Took"))
    def duration(self, obj: Job) -> str:
        if obj.started_at is None:
            return "—"
        end = obj.finished_at or obj.updated_at
        seconds = int((end - obj.started_at).total_seconds())
        return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"

    @admin.display(description=_("Outcome"))
    def outcome(self, obj: Job) -> str:
        if obj.state == Job.State.FAILED:
            return obj.error.splitlines()[-1][:120] if obj.error else str(_("failed"))
        return ", ".join(f"{key}={value}" for key, value in obj.result.items())[:120] if obj.result else "—"


class AuditActorFilter(admin.SimpleListFilter):
    """Who acted, by kind: a person with a login, a partner's API token, or the system (rules, workers)."""

    title = _("actor")
    parameter_name = "actor_kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("person", _("A person (staff or customer)")), ("staff", _("Staff")),
                ("partner", _("A partner (API)")), ("system", _("The system"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        value = self.value()
        if value == "person":
            return queryset.filter(actor__isnull=False)
        if value == "staff":
            return queryset.filter(actor__is_staff=True)
        if value == "partner":
            return queryset.filter(actor_label__startswith="partner:")
        if value == "system":
            return queryset.filter(actor__isnull=True).exclude(actor_label__startswith="partner:")
        return queryset


class AuditObjectTypeFilter(admin.SimpleListFilter):
    """What was acted on: the kind named before the colon of the subject (customer:…, account:…, model:…)."""

    title = _("object type")
    parameter_name = "object_type"
    KINDS = ("customer", "account", "application", "intervention", "credit_score", "model", "conversation")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kind, kind) for kind in self.KINDS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(subject__startswith=f"{self.value()}:") if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail: compliance and administrators read it; nobody adds, edits or deletes, superusers
    included (the database refuses it too: bank 0004 and 0005)."""

    list_display = ["at", "actor_label", "channel", "action", "subject", "customer_ref"]
    list_filter = [AuditActorFilter, "action", AuditObjectTypeFilter, "channel", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "subject", "customer_ref", "action"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "actor", "actor_label", "channel", "action", "subject", "customer_ref", "detail")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}  # not even the site-wide "delete selected"
