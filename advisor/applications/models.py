"""Product applications: what a customer asked for, what we understood, every check we ran and its outcome, and
the trail of states (who moved it, when, why).

An application moves only through `advisor.applications.services`, one function per transition, each atomic on a
locked row and writing an ApplicationEvent; `TRANSITIONS` is the whole state machine, so an illegal move is
refused in one place.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ApplicationState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    # Only ever seen inside the decision's transaction (and in the event trail, where it stamps when the checks
    # started): the checks and the outcome commit together or not at all.
    CHECKING = "checking", _("Checking")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    REFERRED = "referred", _("Referred to a person")
    ACTIVATED = "activated", _("Activated")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


S = ApplicationState
# from -> the states it may move to. Declined, activated, withdrawn and expired are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.CHECKING, S.WITHDRAWN}),
    S.CHECKING: frozenset({S.APPROVED, S.DECLINED, S.REFERRED}),
    S.REFERRED: frozenset({S.APPROVED, S.DECLINED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.ACTIVATED, S.WITHDRAWN, S.EXPIRED}),
    S.DECLINED: frozenset(),
    S.ACTIVATED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.EXPIRED: frozenset(),
}
OPEN_STATES = (S.SUBMITTED, S.CHECKING, S.REFERRED, S.APPROVED)
FINAL_STATES = (S.DECLINED, S.ACTIVATED, S.WITHDRAWN, S.EXPIRED)


class ApplicationSource(models.TextChoices):
    PRODUCT_PAGE = "product_page", _("Product page")
    RECOMMENDATION = "recommendation", _("Recommendation")
    API = "api", _("API")
    CHAT = "chat", _("Chat")
    BRANCH = "branch", _("Branch (entered by staff)")


class NeedsSource(models.TextChoices):
    NONE = "", _("No reason given")
    LLM = "llm", _("Language model, cross-checked")
    EMBEDDINGS = "embeddings", _("Sentence embeddings, cross-checked")
    RULES = "rules", _("Rule-based reader")


class Application(models.Model):
    """One customer's application for one product."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="applications")
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=ApplicationState.choices, default=S.SUBMITTED, db_index=True)
    source = models.CharField(max_length=16, choices=ApplicationSource.choices)
    recommendation = models.ForeignKey("advisor.Recommendation", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", help_text="The recommendation it was made from, if any.")
    reason_text = models.TextField(blank=True, help_text="Why the customer applies, in their own words.")
    language = models.CharField(max_length=2, default="en", help_text="en or zh: the customer's language.")
    requested_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="A loan's principal, a card's limit, or the amount to put into a deposit or investment.")
    # What we understood from reason_text: need labels from the closed vocabulary (advisor.applications.reading),
    # which reader produced them, and for each label the evidence (phrase, whether each reader agreed).
    needs = models.JSONField(default=list, blank=True)
    needs_source = models.CharField(max_length=10, choices=NeedsSource.choices, blank=True, default=NeedsSource.NONE)
    needs_detail = models.JSONField(default=dict, blank=True)
    # The decision: every check as {check, status, code, en, zh, facts}, the outcome's reason codes.
    checks = models.JSONField(default=list, blank=True)
    reason_codes = models.JSONField(default=list, blank=True)
    credit_score = models.ForeignKey("risk.CreditScore", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", help_text="The score the credit check used.")
    approved_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="What the bank offers: the card limit or loan principal decided (may be below the request).")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="Staff who decided a referred application.")
    decision_note = models.TextField(blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                      help_text="When a referred application must be decided by.")
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    account = models.ForeignKey("customers.Account", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", help_text="The account opened on activation (cards, loans).")
    holding = models.ForeignKey("customers.Holding", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", help_text="The holding opened on activation.")
    # Our own attempt counter for the background decision (django-q2's ORM broker redelivers forever): a decision
    # that keeps failing stops after APPLICATION_MAX_DECISION_ATTEMPTS and waits for staff, with the error shown.
    decision_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # "<hash of caller+key>:<hash of body>" (see services.submit_application): a retried submission finds this row.
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("decide_application", "Can approve or decline a referred application")]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="application_customer_time_idx"),
            models.Index(fields=["state", "sla_due_at"], name="application_state_sla_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(requested_amount__isnull=True) | Q(requested_amount__gt=0),
                                   name="application_amount_positive"),
            models.CheckConstraint(condition=Q(state__in=list(ApplicationState.values)),
                                   name="application_state_known"),
        ]

    def __str__(self) -> str:
        return f"Application {str(self.public_id)[:8]} for product #{self.product_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class ApplicationEvent(models.Model):
    """One transition: from which state to which, who moved it (frozen label), when, and why (codes + note)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10, choices=ApplicationState.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=ApplicationState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=120, help_text="customer, system, a staff username or partner:<name>.")
    reason_codes = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["application_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.to_state} by {self.actor_label}"
