"""Campaigns, their message variants, every message decided (sent, scheduled, held out or suppressed, and why),
what customers did with them, and the scan cursors of the life-event triggers.

One Message row exists per (campaign, customer, occurrence) — a unique key, so a re-run of a campaign or a
trigger scan can never message anyone twice for the same thing. Suppressed and held-out customers get a row too:
staff can see why someone did not get a message, and the holdout is measured like the treated arms.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from advisor.engagement import rendering
from advisor.engagement.audience import validate_audience
from advisor.engagement.rules import SuppressionReason
from products.models import ProductType

if TYPE_CHECKING:
    # A development dependency (it comes with django-stubs): needed by the type checker only.
    from django_stubs_ext import StrOrPromise


class TriggerKind(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday (today, bank time)")
    SALARY = "salary", _("Salary credited")
    DEPOSIT_MATURING = "deposit_maturing", _("Deposit maturing soon")
    IDLE_BALANCE = "idle_balance", _("Large balance left idle")


# The event placeholders each trigger fills; a scheduled campaign (and a birthday) has none of them.
EVENT_PLACEHOLDERS = frozenset({"amount", "maturity_date", "salary_amount"})
TRIGGER_PLACEHOLDERS: dict[str, frozenset[str]] = {
    TriggerKind.SALARY: frozenset({"salary_amount"}),
    TriggerKind.DEPOSIT_MATURING: frozenset({"amount", "maturity_date"}),
}


class Campaign(models.Model):
    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled (an audience, once)")
        TRIGGER = "trigger", _("Life-event trigger (ongoing)")

    class Purpose(models.TextChoices):
        MARKETING = "marketing", _("Marketing (needs consent, counts toward the cap)")
        SERVICE = "service", _("Service notice (no offer; sent without marketing consent)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        FINISHED = "finished", _("Finished")

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCHEDULED)
    trigger = models.CharField(max_length=20, choices=TriggerKind.choices, blank=True,
                               help_text=_("For trigger campaigns: the event that sends the message."))
    trigger_params = models.JSONField(
        default=dict, blank=True,
        help_text=_('Optional: {"days": 14} for maturing deposits; {"threshold": "100000", "days": 30, '
                    '"max_outflow": "2000"} for idle balances; {"lookback_days": 3} for salary.'))
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.MARKETING)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    audience = models.JSONField(default=dict, blank=True, validators=[validate_audience],
                                help_text=_("Who it is for (see advisor.engagement.audience); empty means all."))
    product = models.ForeignKey("products.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", help_text=_("The product promoted (checked for suitability)."))
    product_type = models.CharField(
        max_length=20, choices=ProductType.choices, blank=True,
        help_text=_("Without a product: suggest the customer's best suitable recommendation of this type."))
    send_at = models.DateTimeField(null=True, blank=True,
                                   help_text=_("Scheduled campaigns: when to send (empty: as soon as active)."))
    ends_at = models.DateTimeField(null=True, blank=True, help_text=_("Triggers stop firing after this."))
    holdout_pct = models.PositiveSmallIntegerField(default=10, help_text=_("Share of the audience held out (%)."))
    variant_b_pct = models.PositiveSmallIntegerField(
        default=0, help_text=_("Share of the treated customers given variant B (%); 0 for no A/B test."))
    conversion_days = models.PositiveSmallIntegerField(default=14,
                                                       help_text=_("How long after a message a purchase counts."))
    send_email = models.BooleanField(default=True, help_text=_("Also email customers who have an address."))
    launched_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(holdout_pct__lte=50), name="campaign_holdout_at_most_half"),
            models.CheckConstraint(condition=Q(variant_b_pct__lte=100), name="campaign_b_share_percent"),
            models.CheckConstraint(condition=Q(kind="scheduled", trigger="") | Q(kind="trigger") & ~Q(trigger=""),
                                   name="campaign_trigger_iff_trigger_kind"),
            models.CheckConstraint(
                condition=Q(purpose="marketing") | Q(product__isnull=True, product_type=""),
                name="campaign_service_has_no_offer"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_marketing(self) -> bool:
        return self.purpose == self.Purpose.MARKETING

    @property
    def offers_product(self) -> bool:
        return self.product_id is not None or bool(self.product_type)

    def clean(self) -> None:
        errors: dict[str, list[StrOrPromise]] = {}
        if self.kind == self.Kind.TRIGGER and not self.trigger:
            errors.setdefault("trigger", []).append(_("A trigger campaign needs a trigger."))
        if self.kind == self.Kind.SCHEDULED and self.trigger:
            errors.setdefault("trigger", []).append(_("Only trigger campaigns have a trigger."))
        if self.purpose == self.Purpose.SERVICE and self.offers_product:
            errors.setdefault("purpose", []).append(
                _("A service notice cannot promote a product: make it a marketing campaign."))
        if self.product_id is not None and self.product_type:
            errors.setdefault("product_type", []).append(_("Choose a product or a product type, not both."))
        if errors:
            raise ValidationError(errors)


class CampaignVariant(models.Model):
    """The message of one arm, in English and Chinese; each customer gets it in their preferred language."""

    class Arm(models.TextChoices):
        A = "a", "A"
        B = "b", "B"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    arm = models.CharField(max_length=1, choices=Arm.choices, default=Arm.A)
    subject_en = models.CharField(max_length=200)
    body_en = models.TextField()
    subject_zh = models.CharField(max_length=200)
    body_zh = models.TextField()

    class Meta:
        ordering = ["campaign_id", "arm"]
        constraints = [models.UniqueConstraint(fields=["campaign", "arm"], name="variant_one_per_arm")]

    def __str__(self) -> str:
        return f"{self.campaign_id} variant {self.arm.upper()}"

    def texts(self) -> dict[str, str]:
        return {"subject_en": self.subject_en, "body_en": self.body_en, "subject_zh": self.subject_zh,
                "body_zh": self.body_zh}

    def clean(self) -> None:
        """Every text uses only known placeholders and renders with a sample customer; product placeholders
        need a campaign that has a product to show."""
        errors: dict[str, list[StrOrPromise]] = {}
        for field, text in self.texts().items():
            try:
                names = rendering.placeholders_in(text)
                language = "zh-hans" if field.endswith("_zh") else "en"
                rendering.render(text, rendering.values_for(rendering.SAMPLE_FACTS, language))
            except rendering.TemplateError as error:
                errors.setdefault(field, []).append(str(error))
                continue
            campaign = self.campaign if self.campaign_id else None
            if campaign is None:
                continue
            if names & rendering.PRODUCT_PLACEHOLDERS and not campaign.offers_product:
                errors.setdefault(field, []).append(
                    _("This campaign has no product or product type, so it cannot use product placeholders."))
            unavailable = sorted(names & EVENT_PLACEHOLDERS - TRIGGER_PLACEHOLDERS.get(campaign.trigger, frozenset()))
            if unavailable:
                errors.setdefault(field, []).append(
                    _("This campaign's event does not provide: %(names)s.") % {"names": ", ".join(unavailable)})
        if errors:
            raise ValidationError(errors)


class MessageStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled (after quiet hours)")
    DELIVERED = "delivered", _("Delivered")
    HELD_OUT = "held_out", _("Held out (control group)")
    SUPPRESSED = "suppressed", _("Suppressed")


class MessageArm(models.TextChoices):
    A = "a", "A"
    B = "b", "B"
    HOLDOUT = "holdout", _("Holdout")


class Message(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="messages")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="messages")
    occurrence = models.CharField(max_length=80, help_text=_("The event this is about, e.g. birthday:2026; "
                                                             "'campaign' for a scheduled campaign."))
    arm = models.CharField(max_length=8, choices=MessageArm.choices)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    suppression_reason = models.CharField(max_length=24, choices=SuppressionReason.choices, blank=True)
    why = models.JSONField(default=dict, help_text=_("Why it was sent: campaign, trigger or audience rule, the "
                                                     "event that matched, the arm, the product check."))
    marketing = models.BooleanField(default=True)
    language = models.CharField(max_length=10)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    product = models.ForeignKey("products.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    deliver_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer", "occurrence"], name="message_once_per_occurrence"),
            models.CheckConstraint(condition=Q(status="suppressed") ^ Q(suppression_reason=""),
                                   name="message_suppressed_iff_reason"),
        ]
        indexes = [
            models.Index(fields=["customer", "status", "-deliver_at"], name="message_inbox_idx"),
            models.Index(fields=["status", "deliver_at"], name="message_due_idx"),
            models.Index(fields=["campaign", "arm", "status"], name="message_campaign_arm_idx"),
        ]

    def __str__(self) -> str:
        return f"Message {self.campaign_id} to customer #{self.customer_id} ({self.status})"


class MessageEvent(models.Model):
    """A customer opened or clicked a message (each time; the message keeps the first)."""

    class Kind(models.TextChoices):
        OPEN = "open", _("Opened")
        CLICK = "click", _("Clicked")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    channel = models.CharField(max_length=8)
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} of message #{self.message_id}"


class TriggerCursor(models.Model):
    """How far a trigger campaign has scanned (salary: the last transaction id seen)."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="cursor")
    last_id = models.BigIntegerField(default=0)
    scanned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Cursor of campaign #{self.campaign_id} at {self.last_id}"
