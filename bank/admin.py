"""Back office for the model registry, and the site-wide titles of the staff admin.

Activation and rollback go through bank.registry, which verifies each artifact's sha256: an admin click
can never make a tampered or truncated artifact serve.
"""

from __future__ import annotations

import json
from collections import Counter

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from bank import registry
from bank.models import ModelVersion

admin.site.site_header = _("Bank platform back office")
admin.site.site_title = _("Bank platform back office")
admin.site.index_title = _("Back office")

METRICS_PREVIEW_CHARS = 60


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "status", "created_at", "activated_at", "short_metrics"]
    list_filter = ["status", "name", "device"]
    search_fields = ["name", "notes"]
    date_hierarchy = "created_at"
    actions = ["activate_selected", "roll_back_to_previous"]
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
                registry.activate(version)
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
                restored = registry.rollback(name)
            except registry.RegistryError as error:
                self.message_user(request, _("Not rolled back: %(error)s") % {"error": error}, messages.ERROR)
            else:
                self.message_user(
                    request, _("%(label)s is active again.") % {"label": restored.label}, messages.SUCCESS
                )
