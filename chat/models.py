"""The assistant's records: conversations and their messages, the knowledge base it answers from, the account
actions it proposed and carried out, and the hand-offs to staff.

Transcripts are stored masked (card numbers, national IDs, phone numbers and e-mail addresses never reach
the database in clear; see chat.pii). A proposed account action is a row of its own, so a confirmation
carries it out at most once however often it is sent (see chat.services.confirm_action).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from pgvector.django import HnswIndex, VectorField


class Language(models.TextChoices):
    EN = "en", "English"
    ZH = "zh", "中文"


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        HANDED_OFF = "handed_off", _("With a person")
        CLOSED = "closed", _("Closed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(max_length=40, default="portal", help_text="portal, api or partner:<id>.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    # The dialogue state between turns: the task in progress and its slots, the failure count. Never PII in
    # clear: slot values are amounts, account ids of the customer's own accounts, dates and product types.
    state = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["customer", "-updated_at"], name="conversation_customer_idx")]

    def __str__(self) -> str:
        return f"Conversation {str(self.public_id)[:8]} with customer #{self.customer_id}"


class Message(models.Model):
    class Role(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        ASSISTANT = "assistant", _("Assistant")
        AGENT = "agent", _("Bank staff")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    text = models.TextField(help_text="Masked: card numbers, IDs, phone numbers and e-mails never stored in clear.")
    intent = models.CharField(max_length=60, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    slots = models.JSONField(default=dict, blank=True)
    citations = models.JSONField(default=list, blank=True)
    answer_mode = models.CharField(
        max_length=20, blank=True, help_text="How the reply was made: generated, extractive, action, template…"
    )
    sentiment = models.FloatField(null=True, blank=True, help_text="-1 (very negative) … +1 (positive).")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The staff member, for replies by a person.",
    )
    model_version = models.ForeignKey(
        "bank.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The intent model that read the customer's message.",
    )
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"


class KnowledgeArticle(models.Model):
    """A bank FAQ article in English and Chinese; staff edit it in the admin and the assistant cites it."""

    slug = models.SlugField(max_length=80, unique=True)
    title_en = models.CharField(max_length=200)
    title_zh = models.CharField(max_length=200)
    body_en = models.TextField()
    body_zh = models.TextField()
    intents = ArrayField(models.CharField(max_length=60), default=list, blank=True,
                         help_text="Intents this article answers (Banking77 names and the assistant's own).")
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    is_published = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    indexed_hash = models.CharField(max_length=64, blank=True, editable=False,
                                    help_text="Text and model hash of the indexed passages.")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title_en

    @property
    def title(self) -> str:
        return self.title_zh if (get_language() or "").startswith("zh") else self.title_en

    @property
    def body(self) -> str:
        return self.body_zh if (get_language() or "").startswith("zh") else self.body_en


class KnowledgePassage(models.Model):
    """A paragraph of an article in one language, indexed for hybrid retrieval (vector + full text).

    English passages are embedded with the configured text model, Chinese ones with the multilingual model
    (one vector column each, so each HNSW index holds one model's space); `search_document` is English
    full text or CJK bigrams.
    """

    article = models.ForeignKey(KnowledgeArticle, on_delete=models.CASCADE, related_name="passages")
    language = models.CharField(max_length=2, choices=Language.choices)
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    search_document = SearchVectorField(null=True, editable=False)
    embedding = VectorField(dimensions=384, null=True, editable=False)
    embedding_model = models.ForeignKey(
        "bank.ModelVersion", null=True, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["article_id", "language", "position"]
        constraints = [
            models.UniqueConstraint(fields=["article", "language", "position"], name="passage_unique_position"),
        ]
        indexes = [
            GinIndex(fields=["search_document"], name="passage_search_gin"),
            HnswIndex(name="passage_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.article.slug} [{self.language} {self.position}]"


class ChatAction(models.Model):
    """An account action the assistant proposed; it runs only after the customer confirms, and only once."""

    class Kind(models.TextChoices):
        FREEZE_CARD = "freeze_card", _("Freeze card")
        UNFREEZE_CARD = "unfreeze_card", _("Unfreeze card")
        TRANSFER = "transfer", _("Transfer between own accounts")
        APPLY_PRODUCT = "apply_product", _("Apply for a product")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Waiting for confirmation")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="actions")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    params = models.JSONField(help_text="Account public ids, amount as a string, currency.")
    summary_en = models.CharField(max_length=300)
    summary_zh = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"

    def summary(self, language: str) -> str:
        return self.summary_zh if language == Language.ZH else self.summary_en


class Handoff(models.Model):
    """A conversation handed to a person: why, what the assistant understood, who is on it."""

    class Reason(models.TextChoices):
        REQUESTED = "requested", _("Customer asked for a person")
        SENTIMENT = "sentiment", _("Customer upset")
        FAILURES = "failures", _("Assistant failed repeatedly")
        NO_ANSWER = "no_answer", _("No answer in the knowledge base")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting")
        ASSIGNED = "assigned", _("Assigned")
        RESOLVED = "resolved", _("Resolved")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    intent = models.CharField(max_length=60, blank=True)
    slots = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True, help_text="The last customer messages, masked.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "created_at"]
        constraints = [
            # One open hand-off per conversation: a second trigger joins the first instead of queueing twice.
            models.UniqueConstraint(
                fields=["conversation"], condition=~models.Q(status="resolved"), name="handoff_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"Hand-off of {self.conversation} ({self.get_reason_display()})"
