"""Back office for the customer 360 and partners.

Object-level rule: every queryset goes through customers.selectors.visible_customers, so a relationship
manager whose only role is that one sees their own book (customers and everything hanging off them) and
gets a 404 for anyone else's, whatever their model permissions say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from bank import audit
from bank.pii import mask_address, mask_email, mask_tail
from customers.models import (
    Account,
    Customer,
    Holding,
    Partner,
    PartnerConsent,
    PartnerToken,
    ProductInteraction,
    ProfileSnapshot,
    Transaction,
)
from customers.partners import revoke_partner_token
from customers.selectors import Actor, latest_profile, personal_data_match, visible_customers

# Beyond this many rows an exact COUNT(*) costs more than the page it paginates.
EXACT_COUNT_LIMIT = 10_000


class FastCountPaginator(Paginator):
    """A paginator for tables with millions of rows.

    An unfiltered list uses PostgreSQL's planner estimate (pg_class.reltuples, kept fresh by autovacuum);
    a filtered one counts exactly but stops at EXACT_COUNT_LIMIT, so a broad filter never scans the table.
    Pages past the capped count are not reachable from the list; filters narrow it instead.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.has_filters():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            estimate = int(row[0]) if row else -1
            # -1 means never analysed; a small table is cheaper to count than to guess.
            if estimate > EXACT_COUNT_LIMIT:
                return estimate
        if isinstance(queryset, QuerySet):
            return queryset[:EXACT_COUNT_LIMIT].count()
        return len(queryset)


class BookScopedAdmin(admin.ModelAdmin):
    """Rows of customers the staff user may see; `customer_lookup` is the path from the row to Customer."""

    customer_lookup = "customer"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        visible = visible_customers(actor=Actor(user=request.user))
        # Roles that see every customer get the unrestricted queryset: an IN (SELECT id FROM customer) on a
        # table of millions of transactions would only slow the list down.
        if not visible.query.has_filters():
            return queryset
        if not self.customer_lookup:
            return queryset.filter(pk__in=visible.values("pk"))
        return queryset.filter(**{f"{self.customer_lookup}__in": visible.values("pk")})


UNMASK_PARAM = "_unmask"
UNMASK_PERMISSION = "customers.unmask_customer"


def _masked_display(field: str, mask: Callable[[str], str], label: Any) -> Any:
    @admin.display(description=label)
    def show(self: Any, obj: Any) -> str:
        return mask(getattr(obj, field)) or "—"

    return show


class PersonalDataMaskingAdmin(BookScopedAdmin):
    """Personal details and card numbers are masked on the change page (and cannot be edited) until the staff
    member asks to see them (`?_unmask=1`, a link at the top of the page). Only roles holding
    `customers.unmask_customer` may; every unmasking is written to the audit trail, naming the fields shown.

    `masked_fields` maps each protected field to the read-only display that replaces it.
    """

    masked_fields: dict[str, str] = {}
    change_form_template = "admin/pii_change_form.html"

    def pii_owner(self, obj: Any) -> Customer:
        return obj

    def pii_unmasked(self, request: HttpRequest, obj: Any) -> bool:
        # A new record is being typed in by the person who knows its details: nothing to mask yet.
        if obj is None or obj.pk is None:
            return True
        return request.GET.get(UNMASK_PARAM) == "1" and request.user.has_perm(UNMASK_PERMISSION)

    def _masked_line(self, line: str | Sequence[str]) -> str | tuple[str, ...]:
        # A fieldset line is a field name or a group of names shown side by side.
        if isinstance(line, str):
            return self.masked_fields.get(line, line)
        return tuple(self.masked_fields.get(name, name) for name in line)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if self.pii_unmasked(request, obj):
            return fieldsets
        masked = []
        for title, options in fieldsets:
            names = list(dict.fromkeys(self._masked_line(line) for line in options["fields"]))
            masked.append((title, {**options, "fields": names}))
        return masked

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if self.pii_unmasked(request, obj):
            return readonly
        return readonly + [name for name in self.masked_fields.values() if name not in readonly]

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> Any:
        if obj is not None and obj.pk:
            unmasked = self.pii_unmasked(request, obj)
            context.update(pii_masked=not unmasked, pii_unmasked=unmasked,
                           pii_may_unmask=request.user.has_perm(UNMASK_PERMISSION))
            if unmasked:
                owner = self.pii_owner(obj)
                audit.record(action="pii.unmasked", actor=request.user, channel="admin",
                             subject=f"{obj._meta.model_name}:{obj.public_id}", customer_ref=owner.external_ref,
                             detail={"fields": sorted(self.masked_fields)})
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AccountInline(ReadOnlyInline):
    model = Account
    # Card and account numbers are masked here whatever the role: the account's own page unmasks, audited.
    fields = readonly_fields = ("masked_number", "type", "currency", "balance", "credit_limit", "status", "opened_on")


class HoldingInline(ReadOnlyInline):
    model = Holding
    fields = readonly_fields = ("product", "amount", "opened_on", "maturity_date", "status")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Holding]:
        return super().get_queryset(request).select_related("product")


@admin.register(Customer)
class CustomerAdmin(PersonalDataMaskingAdmin):
    customer_lookup = ""
    masked_fields = {
        "national_id": "national_id_masked", "phone": "phone_masked", "email": "email_masked",
        "address": "address_masked",
    }
    national_id_masked = _masked_display("national_id", mask_tail, _("National ID"))
    phone_masked = _masked_display("phone", mask_tail, _("Phone"))
    email_masked = _masked_display("email", mask_email, _("E-mail"))
    address_masked = _masked_display("address", mask_address, _("Address"))
    list_display = [
        "external_ref", "full_name", "life_stage", "kyc_status", "risk_tolerance", "relationship_manager",
        "consent_marketing", "consent_profiling", "segment",
    ]
    list_filter = [
        "kyc_status", "risk_tolerance", "life_stage", "consent_marketing", "consent_profiling", "residency",
        "segment",
    ]
    # E-mail, phone and national ID are encrypted: an exact value is found through its keyed hash
    # (get_search_results), never by comparing text.
    search_fields = ["^external_ref", "full_name"]
    list_select_related = ["relationship_manager", "segment"]
    show_full_result_count = False
    paginator = FastCountPaginator
    # User pickers as id fields: a dropdown of every login in the bank would be both slow and a leak.
    raw_id_fields = ["user", "relationship_manager"]
    readonly_fields = ["public_id", "created_at", "updated_at", "latest_profile_summary", "segment_summary"]
    inlines = [AccountInline, HoldingInline]
    fieldsets = [
        (None, {"fields": ["external_ref", "public_id", "full_name", "user", "relationship_manager"]}),
        (_("Profile in plain words"), {"fields": ["latest_profile_summary", "segment_summary"]}),
        (_("Personal details"), {"fields": [
            "birth_date", "gender", "national_id", "phone", "email", "address", "city", "residency",
            "occupation", "life_stage", "declared_annual_income", "preferred_language",
        ]}),
        (_("Know your customer and risk"), {"fields": [
            "kyc_status", "kyc_verified_at", "risk_tolerance", "risk_assessed_at",
        ]}),
        (_("Consents"), {"fields": ["consent_marketing", "consent_profiling"]}),
        (_("Record"), {"fields": ["customer_since", "created_at", "updated_at"]}),
    ]

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Customer | None = None) -> Any:
        # Showing the customer 360 is a view of personal data: the trail says who saw which fields of whom
        # (names of fields, never their values -- the trail is append-only and must survive an erasure).
        if obj is not None and obj.pk:
            shown = [name for _title, options in self.get_fieldsets(request, obj) for name in options["fields"]]
            audit.record(action="customer.viewed", actor=request.user, channel="admin",
                         subject=f"customer:{obj.public_id}", customer_ref=obj.external_ref,
                         detail={"fields": shown, "inlines": ["accounts", "holdings"]})
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Customer],
                           search_term: str) -> tuple[QuerySet[Customer], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            found = found | queryset.filter(personal_data_match(term))
        return found, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit.record(action="customer.changed" if change else "customer.added", actor=request.user,
                     channel="admin", subject=f"customer:{obj.public_id}", customer_ref=obj.external_ref,
                     detail={"fields": sorted(form.changed_data)})

    @admin.display(description=_("Latest profile"))
    def latest_profile_summary(self, obj: Customer) -> str:
        profile = latest_profile(customer=obj) if obj.pk else None
        if profile is None:
            return str(_("No profile computed yet."))
        return format_html(
            "<p><strong>{}</strong></p><p>{}</p><p>{}</p>",
            _("As of %(day)s") % {"day": profile.as_of.isoformat()},
            profile.summary_en or "—",
            profile.summary_zh or "—",
        )

    @admin.display(description=_("Segment"))
    def segment_summary(self, obj: Customer) -> str:
        segment = obj.segment if obj.pk else None
        if segment is None:
            return str(_("Not in a segment (no profile, or no consent to profiling)."))
        description = segment.description_zh if (get_language() or "").startswith("zh") else segment.description_en
        return format_html(
            '<p><strong><a href="{}">{} {}</a></strong></p><p>{}</p>',
            reverse("admin:customers_segment_change", args=[segment.pk]), segment.code, segment.name, description,
        )


@admin.register(Account)
class AccountAdmin(PersonalDataMaskingAdmin):
    masked_fields = {"number": "number_masked"}
    number_masked = _masked_display("number", mask_tail, _("Number"))
    list_display = [
        "number_masked", "customer", "type", "currency", "balance", "credit_limit", "status", "opened_on",
    ]
    list_filter = ["type", "status", "currency", "customer__segment"]
    # The number is encrypted: an exact number is found through its keyed hash (get_search_results).
    search_fields = ["=customer__external_ref"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    readonly_fields = ["public_id"]
    show_full_result_count = False
    paginator = FastCountPaginator

    def pii_owner(self, obj: Account) -> Customer:
        return obj.customer

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Account],
                           search_term: str) -> tuple[QuerySet[Account], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            found = found | queryset.filter(number=term)
        return found, may_have_duplicates


@admin.register(Transaction)
class TransactionAdmin(BookScopedAdmin):
    list_display = [
        "timestamp", "customer", "account", "amount", "currency", "category", "channel", "merchant",
    ]
    list_filter = ["category", "channel"]
    search_fields = ["merchant"]
    list_select_related = ["customer", "account"]
    date_hierarchy = "timestamp"
    raw_id_fields = ["account", "customer"]
    show_full_result_count = False
    paginator = FastCountPaginator


@admin.register(Holding)
class HoldingAdmin(BookScopedAdmin):
    list_display = ["customer", "product", "amount", "opened_on", "maturity_date", "status"]
    list_filter = ["status", "product__type", "customer__segment"]
    search_fields = ["=customer__external_ref", "product__code"]
    list_select_related = ["customer", "product"]
    raw_id_fields = ["customer", "account"]
    show_full_result_count = False
    paginator = FastCountPaginator


@admin.register(ProductInteraction)
class ProductInteractionAdmin(BookScopedAdmin):
    list_display = ["timestamp", "customer", "product", "event", "channel", "model_version"]
    list_filter = ["event", "channel", "customer__segment"]
    search_fields = ["=customer__external_ref", "product__code"]
    list_select_related = ["customer", "product", "model_version"]
    date_hierarchy = "timestamp"
    raw_id_fields = ["customer", "product", "model_version"]
    show_full_result_count = False
    paginator = FastCountPaginator


@admin.register(ProfileSnapshot)
class ProfileSnapshotAdmin(BookScopedAdmin):
    list_display = [
        "customer", "as_of", "income_estimate_monthly", "spend_monthly", "balance_trend", "embedding_model",
    ]
    list_filter = ["as_of"]
    search_fields = ["=customer__external_ref"]
    list_select_related = ["customer", "embedding_model"]
    show_full_result_count = False
    paginator = FastCountPaginator
    # Snapshots are computed from transactions; editing one by hand would make it lie about its inputs.
    exclude = ["embedding"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]


@admin.register(PartnerToken)
class PartnerTokenAdmin(admin.ModelAdmin):
    list_display = ["partner", "name", "prefix", "scope_list", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["partner", "revoked_at"]
    search_fields = ["prefix", "name", "partner__name"]
    list_select_related = ["partner"]
    # token_hash never leaves the database, not even to staff: the prefix is how a token is recognised.
    fields = ["partner", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["partner", "prefix", "created_at", "revoked_at", "last_used_at"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's secret is shown once, by the code that issues it; a form here could not show it safely.
        return False

    @admin.display(description=_("Scopes"))
    def scope_list(self, obj: PartnerToken) -> str:
        return ", ".join(obj.scopes) or "—"

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[PartnerToken]) -> None:
        # The service is idempotent: a token already revoked keeps its original revocation time.
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            revoke_partner_token(token=token)
            revoked += 1
        self.message_user(request, _("%(count)d token(s) revoked.") % {"count": revoked}, messages.SUCCESS)


@admin.register(PartnerConsent)
class PartnerConsentAdmin(BookScopedAdmin):
    list_display = ["customer", "partner", "granted_at", "revoked_at"]
    list_filter = ["partner", "revoked_at"]
    search_fields = ["=customer__external_ref", "partner__name"]
    list_select_related = ["customer", "partner"]
    raw_id_fields = ["customer"]
    readonly_fields = ["granted_at"]


# The segment back office registers itself on import (after CustomerAdmin, whose list it links to).
import customers.segments.admin  # noqa: E402,F401
