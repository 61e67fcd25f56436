"""Back office for the product catalogue. Embeddings and the search document are written by the
embedding pipeline only (editable=False on the model); here they are shown, never typed in."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from bank.tasks import enqueue
from products.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "code", "type", "name_en", "name_zh", "risk_level", "return_range", "term_months", "min_amount",
        "is_active",
    ]
    list_filter = ["type", "risk_level", "liquidity", "is_active"]
    search_fields = ["code", "name_en", "name_zh"]
    readonly_fields = [
        "created_at", "updated_at", "embedding_model", "embedding_ml_model", "embedded_text_hash",
    ]
    fieldsets = [
        (None, {"fields": ["code", "type", "provider", "currency", "is_active", "launched_on", "tags"]}),
        (_("Names and descriptions"), {"fields": ["name_en", "name_zh", "description_en", "description_zh"]}),
        (_("Risk, return and terms"), {"fields": [
            "risk_level", "expected_return_min", "expected_return_max", "term_months", "min_amount",
            "liquidity", "asset_mix",
        ]}),
        (_("Fees"), {"fields": ["management_fee_pct", "annual_fee", "subscription_fee_pct"]}),
        (_("Eligibility"), {"fields": [
            "min_age", "max_age", "min_annual_income", "residency", "kyc_required", "allows_multiple",
        ]}),
        (_("Search"), {"fields": ["embedding_model", "embedding_ml_model", "embedded_text_hash"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The search document and the embeddings follow the text; the ML worker re-embeds only what changed.
        enqueue("products.tasks.embed_products_task", [obj.pk], ml=True)
        messages.info(request, _("The product will be searchable by its new text in a moment."))

    @admin.display(description=_("Expected return"))
    def return_range(self, obj: Product) -> str:
        low, high = obj.expected_return_min, obj.expected_return_max
        if low is None and high is None:
            return "—"
        if low is None or high is None or low == high:
            return f"{low if low is not None else high}%"
        return f"{low}–{high}%"
