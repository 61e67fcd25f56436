"""The product catalogue. It knows nothing of customers: who may buy what is decided in `advisor`."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from pgvector.django import HnswIndex, VectorField


class ProductType(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    WEALTH = "wealth", _("Wealth management")
    FUND = "fund", _("Fund")
    BOND = "bond", _("Bond")
    CREDIT_CARD = "credit_card", _("Credit card")
    LOAN = "loan", _("Loan")
    INSURANCE = "insurance", _("Insurance")


class RiskLevel(models.IntegerChoices):
    R1 = 1, _("R1 conservative")
    R2 = 2, _("R2 cautious")
    R3 = 3, _("R3 balanced")
    R4 = 4, _("R4 growth")
    R5 = 5, _("R5 aggressive")


class Liquidity(models.TextChoices):
    DAILY = "daily", _("Any day")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    AT_MATURITY = "at_maturity", _("At maturity")
    NOT_APPLICABLE = "n/a", _("Not applicable")


class AssetClass(models.TextChoices):
    """What a product invests in, for the investment advisor's allocation (see `Product.asset_mix`)."""

    CASH = "cash", _("Cash and money market")
    GOV_BOND = "gov_bond", _("Government bonds")
    CORP_BOND = "corp_bond", _("Corporate bonds")
    DOM_EQUITY = "dom_equity", _("Domestic equity")
    GLOBAL_EQUITY = "global_equity", _("Global equity")
    GOLD = "gold", _("Gold and commodities")


def validate_asset_mix(value: object) -> None:
    """An asset mix is empty (not an investment) or maps asset classes to shares in (0, 1] that sum to 1."""
    if value in (None, {}):
        return
    if not isinstance(value, dict):
        raise ValidationError(_("The asset mix must be an object of asset class → share."), code="asset_mix")
    unknown = sorted(set(value) - set(AssetClass.values))
    if unknown:
        raise ValidationError(_("Unknown asset classes: %(names)s."), params={"names": ", ".join(unknown)},
                              code="asset_mix")
    shares = list(value.values())
    if not all(isinstance(v, (int, float)) and 0 < v <= 1 for v in shares) or abs(sum(shares) - 1) > 1e-6:
        raise ValidationError(_("Asset mix shares must be between 0 and 1 and sum to 1."), code="asset_mix")


class Product(models.Model):
    code = models.SlugField(max_length=40, unique=True, help_text="Stable public identifier, e.g. DEP-12M-STD.")
    type = models.CharField(max_length=20, choices=ProductType.choices, db_index=True)
    name_en = models.CharField(max_length=200)
    name_zh = models.CharField(max_length=200)
    description_en = models.TextField()
    description_zh = models.TextField()
    provider = models.CharField(max_length=120, default="Bank")
    currency = models.CharField(max_length=3, default="CNY")
    risk_level = models.PositiveSmallIntegerField(choices=RiskLevel.choices, db_index=True)
    # Percent per year: deposit/wealth/fund/bond yields; loan APR; card purchase APR. A range, as sold.
    expected_return_min = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    expected_return_max = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    term_months = models.PositiveIntegerField(null=True, blank=True, help_text="Empty for open-ended products.")
    min_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    # Fees: a percent per year of the amount held, a fixed annual fee, and one-off percent on buying.
    management_fee_pct = models.DecimalField(max_digits=5, decimal_places=3, default=Decimal("0"))
    annual_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    subscription_fee_pct = models.DecimalField(max_digits=5, decimal_places=3, default=Decimal("0"))
    liquidity = models.CharField(max_length=12, choices=Liquidity.choices, default=Liquidity.DAILY)
    # Eligibility rules (evaluated by the advisor's suitability gate, never here).
    min_age = models.PositiveSmallIntegerField(default=18)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    min_annual_income = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    residency = ArrayField(
        models.CharField(max_length=2), default=list, blank=True,
        help_text="ISO country codes whose residents may buy it; empty means any residency.",
    )
    kyc_required = models.BooleanField(default=True)
    allows_multiple = models.BooleanField(
        default=False, help_text="Whether holding it twice makes sense (e.g. several deposits, not two of one card)."
    )
    is_active = models.BooleanField(default=True, db_index=True)
    launched_on = models.DateField(null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    asset_mix = models.JSONField(
        default=dict, blank=True, validators=[validate_asset_mix],
        help_text="What the product invests in, as asset class → share (summing to 1), e.g. "
                  '{"dom_equity": 0.5, "corp_bond": 0.5}. Empty for products that are not investments.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Search: an English full-text document plus CJK bigrams for Chinese (see products.search), and two
    # embeddings -- the configured text model (MiniLM by default, English text) and the multilingual one
    # (Chinese and English text) -- each with the registry version that produced it.
    search_document = SearchVectorField(null=True, editable=False)
    embedding = VectorField(dimensions=384, null=True, blank=True, editable=False)
    embedding_model = models.ForeignKey(
        "bank.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    embedding_ml = VectorField(dimensions=384, null=True, blank=True, editable=False)
    embedding_ml_model = models.ForeignKey(
        "bank.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    embedded_text_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["type", "code"]
        indexes = [
            GinIndex(fields=["search_document"], name="product_search_gin"),
            # "What changed lately" (admin, imports) by an index probe rather than a scan of the whole table.
            models.Index(fields=["updated_at"], name="product_updated_at"),
            HnswIndex(
                name="product_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            HnswIndex(
                name="product_embedding_ml_hnsw", fields=["embedding_ml"], m=16, ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expected_return_min__isnull=True)
                | Q(expected_return_max__isnull=True)
                | Q(expected_return_min__lte=F("expected_return_max")),
                name="product_return_range_ordered",
            ),
            models.CheckConstraint(condition=Q(min_amount__gte=0), name="product_min_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(max_age__isnull=True) | Q(max_age__gte=F("min_age")), name="product_age_range_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_en}"

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en

    @property
    def description(self) -> str:
        return self.description_zh if (get_language() or "").startswith("zh") else self.description_en

    def embedding_text(self) -> str:
        """The English text the configured model embeds (MiniLM reads English)."""
        return f"{self.name_en}. {self.get_type_display_en()}. {self.description_en}"

    def embedding_text_multilingual(self) -> str:
        return f"{self.name_zh} {self.name_en}. {self.description_zh} {self.description_en}"

    def get_type_display_en(self) -> str:
        return {
            "deposit": "Deposit", "wealth": "Wealth management product", "fund": "Investment fund",
            "bond": "Bond", "credit_card": "Credit card", "loan": "Loan", "insurance": "Insurance",
        }[self.type]




# Product columns that do not change what the catalogue offers: its search document and embeddings, rewritten by
# the embedding worker. Writing only these leaves the catalogue's version alone (see CatalogueVersion).
SEARCH_COLUMNS = (
    "search_document", "embedding", "embedding_model_id", "embedding_ml", "embedding_ml_model_id",
    "embedded_text_hash",
)


class CatalogueVersion(models.Model):
    """One row: a number that PostgreSQL itself raises whenever the product table changes -- a product added or
    removed, any column but SEARCH_COLUMNS updated, by the admin, the ORM, a queryset update or raw SQL alike,
    or the table truncated (statement-level triggers, migration products 0005) -- and when it did.

    It is the catalogue's stamp (advisor.suitability.catalogue_stamp): read on every recommendation, it tells the
    cached suitability rules and the loaded recommender whether they still describe the catalogue, in one row
    read however large the catalogue (counting 50,000 products took 3-6 ms)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    version = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="catalogue_version_single_row")]

    def __str__(self) -> str:
        return f"catalogue v{self.version} ({self.changed_at:%Y-%m-%d %H:%M:%S})"
