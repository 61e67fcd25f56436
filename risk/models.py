"""Risk: credit scores with reasons, monitoring rules and alerts, cases, interventions, drift, risk grades.

Every score records the model version that produced it; every alert the rules that fired and their evidence;
every intervention its maker, its checker (a different person, enforced by the database too) and an
append-only trail of what happened to it. Writes go through risk.services.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Severity(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")
    CRITICAL = 4, _("Critical")


class Decision(models.TextChoices):
    """What the monitoring path answers for a transaction."""

    ACCEPT = "accept", _("Accept")
    REVIEW = "review", _("Review")
    BLOCK = "block", _("Block")


# --- credit -----------------------------------------------------------------------------------------------

class CreditPolicy(models.Model):
    """The one credit policy row (pk 1): which of the two models serves, and the PD cut-offs of decisions."""

    class Serving(models.TextChoices):
        GBM = "gbm", _("Calibrated gradient boosting")
        SCORECARD = "scorecard", _("Scorecard (binned features, points)")

    serving_model = models.CharField(max_length=10, choices=Serving.choices, default=Serving.GBM)
    approve_below = models.FloatField(default=0.06, help_text=_("Approve when the PD is below this."))
    decline_from = models.FloatField(default=0.25, help_text=_("Decline when the PD is at least this; refer between."))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("credit policy")
        verbose_name_plural = _("credit policy")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="creditpolicy_single_row"),
            models.CheckConstraint(
                condition=Q(approve_below__gt=0) & Q(approve_below__lte=F("decline_from")) & Q(decline_from__lte=1),
                name="creditpolicy_cutoffs_ordered",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Credit policy"))


class CreditScore(models.Model):
    class Outcome(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REFER = "refer", _("Refer to an underwriter")
        DECLINE = "decline", _("Decline")

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="credit_scores")
    model_version = models.ForeignKey("bank.ModelVersion", on_delete=models.PROTECT, related_name="+")
    serving_model = models.CharField(max_length=10, choices=CreditPolicy.Serving.choices)
    pd = models.FloatField(help_text=_("Probability of default of the serving model."))
    pd_gbm = models.FloatField()
    pd_scorecard = models.FloatField()
    points = models.IntegerField(help_text=_("Scorecard points (higher is safer)."))
    decision = models.CharField(max_length=8, choices=Outcome.choices)
    reason_codes = models.JSONField(default=list, help_text=_("Top factors that lowered the score."))
    reasons_en = models.JSONField(default=list)
    reasons_zh = models.JSONField(default=list)
    features = models.JSONField(default=dict, help_text=_("The inputs, as scored (drift compares these)."))
    as_of = models.DateField(help_text=_("The end of the data window the features describe."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="creditscore_customer_time_idx")]

    def __str__(self) -> str:
        return f"PD {self.pd:.1%} for customer #{self.customer_id} ({self.serving_model})"


# --- monitoring -------------------------------------------------------------------------------------------

class RuleKind(models.TextChoices):
    AMOUNT_VS_HISTORY = "amount_vs_history", _("Amount far above the customer's own history")
    VELOCITY = "velocity", _("Many payments in a short time")
    NEW_COUNTERPARTY = "new_counterparty", _("Large payment to a new counterparty")
    UNUSUAL_CHANNEL = "unusual_channel", _("Channel the customer rarely uses")
    UNUSUAL_HOUR = "unusual_hour", _("Hour the customer is rarely active")
    UNUSUAL_CATEGORY = "unusual_category", _("Merchant category the customer rarely uses")
    STRUCTURING = "structuring", _("Several cash amounts just below the reporting threshold")
    ANOMALY = "anomaly", _("Anomaly model: unlike the customer's own behaviour")


class RuleAction(models.TextChoices):
    ALERT = "alert", _("Accept, raise an alert")
    REVIEW = "review", _("Hold for review")
    BLOCK = "block", _("Block")


class MonitoringRule(models.Model):
    """A transaction-monitoring rule. Risk officers edit parameters, severity, action and whether it is on;
    the parameters each kind reads are checked on save (risk.monitoring.rules.validate_params)."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    params = models.JSONField(default=dict, blank=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    action = models.CharField(max_length=8, choices=RuleAction.choices, default=RuleAction.REVIEW)
    enabled = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from risk.monitoring.rules import RuleParamsError, validate_params

        try:
            self.params = validate_params(self.kind, self.params or {})
        except RuleParamsError as error:
            raise ValidationError({"params": str(error)}) from None


class Alert(models.Model):
    class Kind(models.TextChoices):
        TRANSACTION = "transaction", _("Transaction")
        DRIFT = "drift", _("Model drift")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        IN_CASE = "in_case", _("In a case")
        CLOSED = "closed", _("Closed")

    class Label(models.TextChoices):
        UNKNOWN = "", _("Not yet known")
        TRUE_POSITIVE = "true_positive", _("Confirmed (true positive)")
        FALSE_POSITIVE = "false_positive", _("False positive")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.TRANSACTION)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="risk_alerts")
    transaction = models.ForeignKey("customers.Transaction", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", help_text=_("Empty for a blocked (never posted) payment."))
    attempted = models.JSONField(default=dict, blank=True, help_text=_("The transaction as submitted."))
    decision = models.CharField(max_length=8, choices=Decision.choices, default=Decision.ACCEPT)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    anomaly_score = models.FloatField(null=True, blank=True)
    reasons = models.JSONField(default=list, help_text=_("Each rule that fired: code, words (en/zh), evidence."))
    rule_codes = ArrayField(models.CharField(max_length=60), default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.NEW, db_index=True)
    label = models.CharField(max_length=16, choices=Label.choices, blank=True, default=Label.UNKNOWN)
    case = models.ForeignKey("risk.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    model_version = models.ForeignKey("bank.ModelVersion", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", help_text=_("The anomaly or credit model involved."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="alert_customer_time_idx"),
            models.Index(fields=["status", "-severity"], name="alert_status_severity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} alert on customer #{self.customer_id}: {', '.join(self.rule_codes)}"


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        INVESTIGATING = "investigating", _("Investigating")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        FRAUD_CONFIRMED = "fraud_confirmed", _("Fraud confirmed")
        SUSPICIOUS_REPORTED = "suspicious_reported", _("Suspicious activity reported")
        CREDIT_RISK_CONFIRMED = "credit_risk_confirmed", _("Credit risk confirmed")
        GENUINE = "genuine", _("Genuine activity (false positive)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="risk_cases")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.OPEN, db_index=True)
    outcome = models.CharField(max_length=24, choices=Outcome.choices, blank=True, default=Outcome.NONE)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="risk_cases")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A closed case says how it ended; an open one has not ended yet.
            models.CheckConstraint(
                condition=(Q(status="closed") & ~Q(outcome="")) | (~Q(status="closed") & Q(outcome="")),
                name="case_outcome_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {str(self.public_id)[:8]}: {self.title}"


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Note on case #{self.case_id} by #{self.author_id}"


# --- interventions ----------------------------------------------------------------------------------------

class Intervention(models.Model):
    class Kind(models.TextChoices):
        LOWER_CREDIT_LIMIT = "lower_credit_limit", _("Lower a credit limit")
        RESTRICT = "restrict", _("Restrict a card or transaction type")
        STEP_UP = "step_up", _("Require step-up verification")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed, waiting for approval")
        ACTIVE = "active", _("Approved and applied")
        REJECTED = "rejected", _("Rejected")
        REVERSED = "reversed", _("Reversed")

    class Reason(models.TextChoices):
        """Why, in the words the customer reads (risk.reasons has the texts)."""

        UNUSUAL_ACTIVITY = "unusual_activity", _("Unusual activity on the account")
        REPAYMENT_DIFFICULTY = "repayment_difficulty", _("Signs of difficulty with repayments")
        SUSPECTED_FRAUD = "suspected_fraud", _("Suspected fraud")
        REGULATORY_REVIEW = "regulatory_review", _("A required review of the account")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="risk_interventions")
    account = models.ForeignKey("customers.Account", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="risk_interventions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True,
                              help_text=_("new_limit; categories/channels to restrict; amount_over for step-up."))
    reason = models.CharField(max_length=24, choices=Reason.choices)
    rationale = models.TextField(help_text=_("Why, for staff and auditors."))
    evidence = models.JSONField(default=dict, blank=True, help_text=_("Alert ids, scores, facts behind it."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", help_text=_("Empty when a rule proposed it."))
    proposed_by_rule = models.CharField(max_length=60, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reversed_at = models.DateTimeField(null=True, blank=True)
    previous_state = models.JSONField(default=dict, blank=True, help_text=_("What applying it changed, to undo it."))
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="interventions")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_intervention", "Can approve or reject an intervention (checker)")]
        constraints = [
            # Maker-checker, also where the service layer could be bypassed: never the same person.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | Q(proposed_by__isnull=True)
                | ~Q(approved_by=F("proposed_by")),
                name="intervention_checker_is_not_maker",
            ),
            models.CheckConstraint(
                condition=Q(proposed_by__isnull=False) | ~Q(proposed_by_rule=""),
                name="intervention_has_a_maker",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for customer #{self.customer_id} ({self.status})"


class InterventionEvent(models.Model):
    """The audit trail of an intervention: append-only (no service updates or deletes these rows)."""

    class Action(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved and applied")
        REJECTED = "rejected", _("Rejected")
        REVERSED = "reversed", _("Reversed")

    intervention = models.ForeignKey(Intervention, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    actor_label = models.CharField(max_length=150, help_text=_("Who, as shown (a username or a rule)."))
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label}"


class CustomerNotice(models.Model):
    """What the customer is told on the portal, in plain words, in both languages."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="risk_notices")
    intervention = models.ForeignKey(Intervention, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="notices")
    title_en = models.CharField(max_length=200)
    title_zh = models.CharField(max_length=200)
    body_en = models.TextField()
    body_zh = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="notice_customer_time_idx")]

    def __str__(self) -> str:
        return self.title_en


# --- drift, grades, plumbing ------------------------------------------------------------------------------

class DriftReport(models.Model):
    model_version = models.ForeignKey("bank.ModelVersion", on_delete=models.PROTECT, related_name="+")
    computed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    recent_rows = models.PositiveIntegerField()
    recent_from = models.DateTimeField(null=True, blank=True)
    score_psi = models.FloatField()
    feature_psi = models.JSONField(default=dict)
    score_bins = models.JSONField(default=dict, help_text=_("labels, expected and actual shares (charts)."))
    feature_bins = models.JSONField(default=dict)
    threshold = models.FloatField()
    breached = models.BooleanField(default=False)
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    retrain_job = models.ForeignKey("bank.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"Drift of model #{self.model_version_id}: score PSI {self.score_psi:.3f}"

    @property
    def max_feature_psi(self) -> float:
        return max(self.feature_psi.values(), default=0.0)


class CustomerRiskGrade(models.Model):
    """The customer's overall risk grade (A best … E worst), combining credit, behaviour and monitoring."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="risk_grade")
    grade = models.CharField(max_length=1)
    points = models.PositiveSmallIntegerField(help_text=_("0 (no concern) to 100."))
    components = models.JSONField(default=dict)
    reasons_en = models.JSONField(default=list)
    reasons_zh = models.JSONField(default=list)
    credit_score = models.ForeignKey(CreditScore, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(grade__in=list("ABCDE")), name="riskgrade_letter")]

    def __str__(self) -> str:
        return f"Risk grade {self.grade} of customer #{self.customer_id}"


class IngestionRecord(models.Model):
    """One answered ingestion request, for Idempotency-Key replays (scoped to the caller)."""

    caller = models.CharField(max_length=80, help_text=_("partner:<id> or user:<id>."))
    key = models.CharField(max_length=200)
    body_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="ingestion_key_unique_per_caller")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"


class MonitoringCursor(models.Model):
    """How far the batch monitor has read the transactions table (ids are increasing)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_transaction_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at #{self.last_transaction_id}"
