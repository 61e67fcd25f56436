"""Input (query) and output serializers of the customer API. No database writes here.

What leaves the bank is chosen field by field: national id, birth date, e-mail and address are never sent
(age and city are enough for every partner use we support), the phone is masked, and account numbers show
only their last four digits.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import Account, Customer, Holding, ProfileSnapshot, SpendingCategory, Transaction


def mask_phone(phone: str) -> str:
    """Keep the country/operator start and the last four digits: enough for a person to recognise their
    number, not enough to call it. '+8613800000001' -> '+86*******0001'."""
    phone = phone.strip()
    if not phone:
        return ""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


class ProfileSnapshotOut(serializers.ModelSerializer):
    spend_mix = serializers.DictField(
        child=serializers.FloatField(), help_text="Share of spending per category; the shares sum to 1."
    )
    product_types_held = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = ProfileSnapshot
        fields = [
            "as_of",
            "window_days",
            "income_estimate_monthly",
            "spend_monthly",
            "spend_mix",
            "transactions_per_month",
            "balance_total",
            "balance_trend",
            "product_types_held",
            "summary_en",
            "summary_zh",
            "computed_at",
        ]
        read_only_fields = fields


class CustomerOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    age = serializers.SerializerMethodField()
    phone_masked = serializers.SerializerMethodField()
    latest_profile = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "full_name",
            "gender",
            "age",
            "phone_masked",
            "city",
            "residency",
            "occupation",
            "life_stage",
            "preferred_language",
            "customer_since",
            "kyc_status",
            "kyc_verified_at",
            "risk_tolerance",
            "risk_assessed_at",
            "latest_profile",
        ]
        read_only_fields = fields

    def get_age(self, customer: Customer) -> int:
        return customer.age_on(timezone.localdate())

    def get_phone_masked(self, customer: Customer) -> str:
        return mask_phone(customer.phone)

    @extend_schema_field(ProfileSnapshotOut(allow_null=True))
    def get_latest_profile(self, customer: Customer) -> dict[str, Any] | None:
        # The view passes the snapshot it read through customers.selectors.latest_profile.
        snapshot = self.context.get("latest_profile")
        return ProfileSnapshotOut(snapshot).data if snapshot is not None else None


class SegmentRefOut(serializers.Serializer):
    code = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()


class CustomerListItemOut(serializers.ModelSerializer):
    """A row of the customer list: who, and which segment they are in now (null: none)."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    segment = SegmentRefOut(allow_null=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "full_name", "city", "life_stage", "kyc_status", "risk_tolerance", "segment"]
        read_only_fields = fields


class AccountOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    number_masked = serializers.CharField(source="masked_number", read_only=True)
    product_code: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        source="product", slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "number_masked",
            "type",
            "currency",
            "balance",
            "credit_limit",
            "interest_rate",
            "status",
            "opened_on",
            "product_code",
        ]
        read_only_fields = fields


class TransactionOut(serializers.ModelSerializer):
    account = serializers.UUIDField(source="account.public_id", read_only=True)

    class Meta:
        model = Transaction
        fields = [
            "account",
            "timestamp",
            "amount",
            "currency",
            "category",
            "channel",
            "merchant",
            "counterparty",
            "description",
        ]
        read_only_fields = fields


class HoldingOut(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", read_only=True)
    product_type = serializers.CharField(source="product.type", read_only=True)
    product_name_en = serializers.CharField(source="product.name_en", read_only=True)
    product_name_zh = serializers.CharField(source="product.name_zh", read_only=True)
    account = serializers.UUIDField(source="account.public_id", read_only=True, allow_null=True)

    class Meta:
        model = Holding
        fields = [
            "product_code",
            "product_type",
            "product_name_en",
            "product_name_zh",
            "amount",
            "opened_on",
            "maturity_date",
            "status",
            "account",
        ]
        read_only_fields = fields


class TransactionQueryIn(serializers.Serializer):
    """The query string of the transaction list. `page` and `page_size` are checked here too so that a bad
    page number is a 400 naming the parameter, not the paginator's 404."""

    account = serializers.UUIDField(required=False, help_text="Id of one of the customer's accounts.")
    category = serializers.ChoiceField(choices=SpendingCategory.choices, required=False)
    since = serializers.DateField(required=False, help_text="First day included (bank's local time).")
    until = serializers.DateField(required=False, help_text="Last day included (bank's local time).")
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": "must not be before since."})
        return attrs
