"""Customer 360: who the customer is, what they hold, what they do, and what they allowed us to do.

Protected rows are reached through `customers.selectors`, never by querying these models from a view.
Holdings and interactions point at `products.Product`; the catalogue itself knows nothing of customers.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from pgvector.django import HnswIndex, VectorField

from bank.fields import BlindIndexField, EncryptedCharField


class RiskTolerance(models.IntegerChoices):
    R1 = 1, _("R1 conservative")
    R2 = 2, _("R2 cautious")
    R3 = 3, _("R3 balanced")
    R4 = 4, _("R4 growth")
    R5 = 5, _("R5 aggressive")


class KycStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")


class LifeStage(models.TextChoices):
    STUDENT = "student", _("Student")
    YOUNG_PROFESSIONAL = "young_professional", _("Young professional")
    YOUNG_FAMILY = "young_family", _("Young family")
    ESTABLISHED = "established", _("Established family")
    PRE_RETIREMENT = "pre_retirement", _("Pre-retirement")
    RETIRED = "retired", _("Retired")


class Segment(models.Model):
    """A group of customers who look alike on their profile features, found by clustering (`customers.segments`).

    Codes are stable: a re-run that finds the same groups matches them to these rows instead of making new ones,
    so campaigns and filters that name a segment keep meaning the same customers.
    """

    code = models.CharField(max_length=16, unique=True)
    name_en = models.CharField(max_length=120)
    name_zh = models.CharField(max_length=120)
    description_en = models.TextField(blank=True)
    description_zh = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="False once a re-run no longer finds this group.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class Customer(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_ref = models.CharField(
        max_length=64, unique=True, help_text="The bank's own customer number (core-banking id)."
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    full_name = models.CharField(max_length=200)
    birth_date = models.DateField()
    gender = models.CharField(max_length=1, choices=[("F", _("Female")), ("M", _("Male")), ("X", _("Other"))],
                              blank=True)
    # Personal data encrypted at rest (bank/fields.py); ID, phone and e-mail are searched by their keyed hashes.
    national_id = EncryptedCharField(max_length=32, blank=True, hash_field="national_id_hash")
    phone = EncryptedCharField(max_length=32, blank=True, hash_field="phone_hash")
    email = EncryptedCharField(max_length=254, blank=True, validators=[EmailValidator()], hash_field="email_hash")
    address = EncryptedCharField(max_length=300, blank=True)
    national_id_hash = BlindIndexField("national_id", kind="national_id")
    phone_hash = BlindIndexField("phone", kind="phone")
    email_hash = BlindIndexField("email", kind="email")
    city = models.CharField(max_length=80, blank=True)
    residency = models.CharField(max_length=2, default="CN", help_text="ISO country code of tax residency.")
    occupation = models.CharField(max_length=80, blank=True)
    life_stage = models.CharField(max_length=20, choices=LifeStage.choices, blank=True)
    declared_annual_income = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    kyc_status = models.CharField(max_length=10, choices=KycStatus.choices, default=KycStatus.PENDING)
    kyc_verified_at = models.DateTimeField(null=True, blank=True)
    risk_tolerance = models.PositiveSmallIntegerField(choices=RiskTolerance.choices, default=RiskTolerance.R1)
    risk_assessed_at = models.DateTimeField(null=True, blank=True)
    consent_marketing = models.BooleanField(default=False)
    consent_profiling = models.BooleanField(default=False)
    preferred_language = models.CharField(max_length=10, default="zh-hans",
                                          choices=[("en", "English"), ("zh-hans", "简体中文")])
    relationship_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="book"
    )
    customer_since = models.DateField(default=date.today)
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers",
                                help_text="Set by the latest segmentation run.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_ref"]
        indexes = [models.Index(fields=["kyc_status", "risk_tolerance"], name="customer_kyc_risk_idx")]
        permissions = [("unmask_customer", "Can see a customer's personal details and card numbers unmasked")]

    def __str__(self) -> str:
        return f"{self.external_ref} {self.full_name}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


class AccountType(models.TextChoices):
    CURRENT = "current", _("Current account")
    SAVINGS = "savings", _("Savings account")
    CREDIT_CARD = "credit_card", _("Credit card")
    LOAN = "loan", _("Loan")
    INVESTMENT = "investment", _("Investment account")


class Account(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="accounts")
    # Card and account numbers are encrypted at rest; `number=` and `number__in=` compare keyed hashes, and
    # uniqueness is the hash's (bank/fields.py).
    number = EncryptedCharField(max_length=34, hash_field="number_hash")
    number_hash = BlindIndexField("number", kind="account_number", unique=True)
    type = models.CharField(max_length=12, choices=AccountType.choices)
    currency = models.CharField(max_length=3, default="CNY")
    # For credit cards and loans the balance is what the customer owes (a positive number).
    balance = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    interest_rate = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True,
                                        help_text="Percent per year.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    opened_on = models.DateField(default=date.today)
    product = models.ForeignKey("products.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")

    class Meta:
        # Not by number: its ciphertext has no useful order.
        ordering = ["customer_id", "type", "opened_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_limit__isnull=True) | Q(type="credit_card"),
                name="account_credit_limit_only_on_cards",
            ),
            models.CheckConstraint(
                condition=~Q(type="credit_card") | Q(credit_limit__isnull=False),
                name="account_card_has_credit_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} •••{self.number[-4:]}"

    def clean(self) -> None:
        # The unique constraint is on number_hash, which no form holds: check it here so that a form says so
        # instead of failing on the constraint.
        super().clean()
        if self.number and Account.objects.filter(number=self.number).exclude(pk=self.pk).exists():
            raise ValidationError({"number": _("An account with this number already exists.")})

    @property
    def masked_number(self) -> str:
        return f"•••• {self.number[-4:]}"


class SpendingCategory(models.TextChoices):
    GROCERIES = "groceries", _("Groceries")
    DINING = "dining", _("Dining")
    TRAVEL = "travel", _("Travel")
    TRANSPORT = "transport", _("Transport")
    SHOPPING = "shopping", _("Shopping")
    UTILITIES = "utilities", _("Utilities")
    HOUSING = "housing", _("Housing")
    HEALTH = "health", _("Health")
    EDUCATION = "education", _("Education")
    ENTERTAINMENT = "entertainment", _("Entertainment")
    INSURANCE = "insurance", _("Insurance")
    INVESTMENT = "investment", _("Investment")
    TRANSFER = "transfer", _("Transfer")
    CASH = "cash", _("Cash")
    FEES = "fees", _("Fees")
    SALARY = "salary", _("Salary")
    INCOME_OTHER = "income_other", _("Other income")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    APP = "app", _("Mobile app")
    ONLINE = "online", _("Online")
    BRANCH = "branch", _("Branch")
    ATM = "atm", _("ATM")
    POS = "pos", _("Card terminal")


class Transaction(models.Model):
    """A posted transaction. `amount` is signed: money in is positive, money out negative."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="transactions")
    # Denormalised from the account: every customer-360 read is "this customer's transactions by time".
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="transactions")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    timestamp = models.DateTimeField()
    merchant = models.CharField(max_length=120, blank=True)
    category = models.CharField(max_length=16, choices=SpendingCategory.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    counterparty = models.CharField(max_length=120, blank=True)
    description = models.CharField(max_length=200, blank=True)
    external_ref = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["customer", "-timestamp"], name="txn_customer_time_idx"),
            models.Index(fields=["account", "-timestamp"], name="txn_account_time_idx"),
            # Staff lists across all customers: newest first, date drill-down.
            models.Index(fields=["-timestamp"], name="txn_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d} {self.amount} {self.merchant or self.counterparty}"


class Holding(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="holdings")
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"),
                                 help_text="Current value (principal for deposits, limit for cards).")
    opened_on = models.DateField()
    maturity_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["customer_id", "-opened_on"]
        indexes = [models.Index(fields=["customer", "status"], name="holding_customer_status_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.product_id} {self.amount}"


class InteractionEvent(models.TextChoices):
    IMPRESSION = "impression", _("Shown")
    CLICK = "click", _("Clicked")
    DISMISS = "dismiss", _("Dismissed")
    PURCHASE = "purchase", _("Purchased")


class ProductInteraction(models.Model):
    """A customer's interaction with a product: the history recommendations learn from."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=10, choices=InteractionEvent.choices)
    timestamp = models.DateTimeField()
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.APP)
    model_version = models.ForeignKey("bank.ModelVersion", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", help_text="The recommender that showed it, if any.")
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["customer", "-timestamp"], name="interaction_customer_time_idx"),
            models.Index(fields=["product", "event"], name="interaction_product_event_idx"),
            models.Index(fields=["-timestamp"], name="interaction_time_idx"),
        ]

    def __str__(self) -> str:
        # Ids, not related objects: the admin lists hundreds of these and must not query per row.
        return f"{self.get_event_display()} of product #{self.product_id} by customer #{self.customer_id}"


class ProfileSnapshot(models.Model):
    """Features computed from transactions and holdings, one row per customer per day (recomputing
    the same day replaces it), plus a profile embedding for similarity."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="profiles")
    as_of = models.DateField()
    computed_at = models.DateTimeField(auto_now=True)
    window_days = models.PositiveIntegerField(default=180)
    income_estimate_monthly = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    spend_monthly = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    spend_mix = models.JSONField(default=dict, help_text="Share of spending per category (sums to 1).")
    transactions_per_month = models.FloatField(default=0)
    balance_total = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    balance_trend = models.FloatField(default=0, help_text="Net monthly inflow as a share of income.")
    product_types_held = ArrayField(models.CharField(max_length=20), default=list)
    features = models.JSONField(default=dict, help_text="The numeric feature vector, by name.")
    summary_en = models.TextField(blank=True)
    summary_zh = models.TextField(blank=True)
    embedding = VectorField(dimensions=384, null=True, blank=True)
    embedding_model = models.ForeignKey("bank.ModelVersion", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")

    class Meta:
        ordering = ["customer_id", "-as_of"]
        get_latest_by = "as_of"
        constraints = [
            models.UniqueConstraint(fields=["customer", "as_of"], name="profile_one_per_customer_per_day"),
        ]
        indexes = [
            HnswIndex(name="profile_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"]),
        ]

    def __str__(self) -> str:
        return f"Profile of customer #{self.customer_id} on {self.as_of}"


class Partner(models.Model):
    """A third party integrating through the API. It sees only customers who consented to it."""

    name = models.CharField(max_length=120, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class PartnerScope(models.TextChoices):
    PRODUCTS_READ = "products:read", "products:read"
    PROFILE_READ = "profile:read", "profile:read"
    ACCOUNTS_READ = "accounts:read", "accounts:read"
    TRANSACTIONS_READ = "transactions:read", "transactions:read"
    TRANSACTIONS_WRITE = "transactions:write", "transactions:write"
    RECOMMENDATIONS_READ = "recommendations:read", "recommendations:read"
    FEEDBACK_WRITE = "feedback:write", "feedback:write"
    CHAT_WRITE = "chat:write", "chat:write"
    RISK_READ = "risk:read", "risk:read"
    INVESTMENTS_READ = "investments:read", "investments:read"
    INVESTMENTS_WRITE = "investments:write", "investments:write"
    APPLICATIONS_READ = "applications:read", "applications:read"
    APPLICATIONS_WRITE = "applications:write", "applications:write"
    MESSAGES_READ = "messages:read", "messages:read"
    MESSAGES_WRITE = "messages:write", "messages:write"


class PartnerToken(models.Model):
    """An API token. Only its SHA-256 is stored; the secret is shown once, when it is issued."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12, unique=True, help_text="First characters, to recognise a token.")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=40, choices=PartnerScope.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.partner.name}: {self.name} ({self.prefix}…)"


class PartnerConsent(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="partner_consents")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="consents")
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "partner"], name="partner_consent_unique"),
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "granted"
        return f"Consent of customer #{self.customer_id} to partner #{self.partner_id} ({state})"


# Segmentation runs live beside their code; importing them here registers them with the app.
from customers.segments.models import SegmentationRun, SegmentSnapshot  # noqa: E402,F401
