"""Input and output shapes of the applications API (no database writes here)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from advisor.applications.models import Application, ApplicationEvent
from advisor.applications.reading import describe
from advisor.applications.services import MAX_REASON_LENGTH
from products.models import Product


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


class ApplicationIn(serializers.Serializer):
    product = serializers.SlugField(max_length=40, help_text="The product's code, e.g. CC-TRAVEL.")
    reason = serializers.CharField(max_length=MAX_REASON_LENGTH, required=False, allow_blank=True, default="",
                                   help_text="Why the customer applies, in their own words (English or Chinese).")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True,
                                      default=None, min_value=Decimal("0.01"),
                                      help_text="A loan's principal, a card's limit (optional), or the amount to "
                                                "put into a deposit, fund or policy.")


class CheckOut(serializers.Serializer):
    check = serializers.CharField(help_text="kyc, suitability, credit, limit, affordability, amount, needs_fit.")
    status = serializers.ChoiceField(choices=["pass", "note", "refer", "fail"])
    code = serializers.CharField()
    message = serializers.SerializerMethodField()

    def get_message(self, check: dict[str, Any]) -> str:
        return str(check["zh"] if _zh() else check["en"])


class NeedOut(serializers.Serializer):
    # A declared field, which DRF's metaclass takes off the class: it does not replace Field.label at runtime.
    label = serializers.CharField()  # type: ignore[assignment]  # the stubs see it as overriding Field.label
    text = serializers.CharField()


class EventOut(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ApplicationEvent
        fields = ["from_state", "to_state", "actor", "at", "reason_codes"]

    def get_actor(self, event: ApplicationEvent) -> str:
        # Staff are named by role, not username, to the customer.
        label = event.actor_label
        return label if label in ("customer", "system") or label.startswith("partner:") else "staff"


class ApplicationOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    product: serializers.SlugRelatedField[Product] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    product_name = serializers.SerializerMethodField()
    needs = serializers.SerializerMethodField()
    checks = CheckOut(many=True)
    reasons = serializers.SerializerMethodField(help_text="Why it ended as it did, in the request's language.")
    events = EventOut(many=True)

    class Meta:
        model = Application
        fields = ["id", "product", "product_name", "state", "source", "reason_text", "requested_amount",
                  "approved_amount", "needs", "needs_source", "checks", "reason_codes", "reasons", "created_at",
                  "decided_at", "offer_expires_at", "activated_at", "events"]

    def get_product_name(self, app: Application) -> str:
        return app.product.name_zh if _zh() else app.product.name_en

    @extend_schema_field(NeedOut(many=True))
    def get_needs(self, app: Application) -> list[dict[str, str]]:
        language = "zh" if _zh() else "en"
        return [{"label": label, "text": text} for label, text in zip(app.needs, describe(app.needs, language),
                                                                       strict=True)]

    def get_reasons(self, app: Application) -> list[str]:
        key = "zh" if _zh() else "en"
        cited = set(app.reason_codes)
        return [str(c[key]) for c in app.checks if c["code"] in cited]


class ApplicationSubmitOut(ApplicationOut):
    replayed = serializers.SerializerMethodField(help_text="True when this answers a repeated Idempotency-Key.")

    class Meta(ApplicationOut.Meta):
        fields = [*ApplicationOut.Meta.fields, "replayed"]

    def get_replayed(self, app: Application) -> bool:
        return bool(self.context.get("replayed"))
