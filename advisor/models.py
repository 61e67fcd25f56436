"""What the advisor recommended, to whom, why, and what it refused to recommend.

Every stored recommendation points at the model version that produced it; every candidate the suitability
gate blocked (one the model would otherwise have shown) is kept with the rule that blocked it, for
compliance.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    API = "api", _("API")
    PORTAL = "portal", _("Portal")
    BATCH = "batch", _("Batch")
    CHAT = "chat", _("Chat")


class BlockReason(models.TextChoices):
    """The suitability and eligibility rules. Each is a hard constraint, checked for every candidate."""

    NOT_ON_SALE = "not_on_sale", _("Not on sale")
    RISK_ABOVE_TOLERANCE = "risk_above_tolerance", _("Risk above the customer's tolerance")
    BELOW_MIN_AGE = "below_min_age", _("Below the minimum age")
    ABOVE_MAX_AGE = "above_max_age", _("Above the maximum age")
    INCOME_BELOW_MINIMUM = "income_below_minimum", _("Income below the minimum")
    KYC_NOT_VERIFIED = "kyc_not_verified", _("Identity (KYC) not verified")
    RESIDENCY_NOT_ALLOWED = "residency_not_allowed", _("Residency not allowed")
    ALREADY_HELD = "already_held", _("Already held (holding twice makes no sense)")
    AMOUNT_OUT_OF_REACH = "amount_out_of_reach", _("Minimum amount out of reach")


class RecommendationSet(models.Model):
    """One answer to "what should this customer consider?": the ranked list, how it was asked, by which model."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: recset_customer_time_idx starts with the customer (every set written updates one
    # index fewer; see the Recommendation FKs).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="recommendation_sets", db_index=False
    )
    model_version = models.ForeignKey("bank.ModelVersion", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    query = models.CharField(max_length=500, blank=True, help_text="What the customer typed, if anything.")
    needs = models.JSONField(default=dict, blank=True, help_text="Constraints read from the query.")
    context = models.JSONField(default=dict, blank=True, help_text="Day of month, recency: what shaped the order.")
    candidates_considered = models.PositiveIntegerField(default=0)
    candidates_blocked = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="recset_customer_time_idx")]

    def __str__(self) -> str:
        return f"Recommendations for customer #{self.customer_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Recommendation(models.Model):
    # The set and the customer have no single-column index: the unique (set, rank) and the (customer, product)
    # index start with them and serve the same lookups, so each recommendation (ten rows a request) updates two
    # indexes fewer.
    recommendation_set = models.ForeignKey(
        RecommendationSet, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    # Denormalised from the set: feedback and the CTR dashboard join on customer and product directly.
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, related_name="+")
    model_version = models.ForeignKey("bank.ModelVersion", on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    driver = models.CharField(max_length=60, help_text="What contributed most to the score.")
    reasons_en = models.JSONField(default=list)
    reasons_zh = models.JSONField(default=list)
    contributions = models.JSONField(default=dict, help_text="Feature contributions to the score (staff view).")

    class Meta:
        ordering = ["recommendation_set_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["recommendation_set", "rank"], name="recommendation_rank_unique"),
            models.UniqueConstraint(fields=["recommendation_set", "product"], name="recommendation_product_unique"),
        ]
        indexes = [models.Index(fields=["customer", "product"], name="recommendation_cust_prod_idx")]

    def __str__(self) -> str:
        return f"#{self.rank} product #{self.product_id} for customer #{self.customer_id}"


class BlockedCandidate(models.Model):
    """A product the model ranked high enough to show, refused by the suitability gate."""

    recommendation_set = models.ForeignKey(RecommendationSet, on_delete=models.CASCADE, related_name="blocked")
    # No index of its own: blocked_customer_time_idx starts with the customer.
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, related_name="+")
    model_version = models.ForeignKey("bank.ModelVersion", on_delete=models.PROTECT, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(help_text="Every rule the product failed, as codes.")
    detail = models.TextField(help_text="The facts behind the reasons, for compliance.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="blocked_customer_time_idx")]

    def __str__(self) -> str:
        return f"Blocked product #{self.product_id} for customer #{self.customer_id}: {', '.join(self.reasons)}"


class BatchRecommendation(models.Model):
    """One item of the batch run: a customer's rank-th suitable product, as the run scored it.

    The table is rebuilt whole by each run (`advisor.batch`): loaded into a fresh table with binary COPY and
    swapped in with one transaction, so a reader sees the previous run or the new one, never part of one.
    No database foreign keys: validating tens of millions of references on every swap would cost more than
    the load, and the rows are derived data, rewritten nightly; the ORM still cascades a deleted customer and
    protects a recommended product or model version.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    rank = models.PositiveSmallIntegerField()
    product = models.ForeignKey(
        "products.Product", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    score = models.FloatField(help_text="The ranker's score (comparable within one customer's list only).")
    model_version = models.ForeignKey(
        "bank.ModelVersion", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    computed_at = models.DateTimeField(help_text="When the run scored the bank (the same for every row of a run).")

    class Meta:
        ordering = ["customer_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "rank"], name="batchrec_customer_rank_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} product #{self.product_id} for customer #{self.customer_id} (batch)"


# The models of the advisor's sub-packages (product applications, personalised messages, the investment
# advisor) live beside their code; importing them here registers them with the app.
from advisor.applications.models import Application, ApplicationEvent  # noqa: E402,F401
from advisor.engagement.models import (  # noqa: E402,F401
    Campaign,
    CampaignVariant,
    Message,
    MessageEvent,
    TriggerCursor,
)
from advisor.investing.models import (  # noqa: E402,F401
    AssetClassAssumption,
    CapitalMarketAssumptions,
    GoalPlan,
    InvestmentAdvice,
    PortfolioAlert,
    PortfolioValuation,
    RiskAssessment,
)
