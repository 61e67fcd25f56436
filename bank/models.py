"""The model registry: one row per trained artifact, whatever app trained it.

A version moves training -> ready -> active -> retired. Only a version whose artifact still matches its
sha256 can become active, at most one version per model name is active (a partial unique index), and
whatever the platform scores or recommends records the ModelVersion that produced it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100, help_text="What the model does, e.g. 'embedding.text'.")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    training_data = models.JSONField(
        default=dict, blank=True, help_text="What the model was trained on: source, rows, time range, hash."
    )
    device = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="modelversion_unique_name_version"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(status="active"), name="modelversion_one_active_per_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.status})"

    @property
    def label(self) -> str:
        return f"{self.name}@v{self.version}"


class Job(models.Model):
    """A long piece of background work (training a model, scoring everyone): who asked, how far it got, how it
    ended. Staff follow it in the admin; the worker writes its progress here (bank.jobs)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=100, help_text="What the work is, e.g. 'Train advisor.recommender'.")
    task = models.CharField(max_length=200, help_text="The django-q2 task that runs it (dotted path).")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    step = models.CharField(max_length=200, blank=True, help_text="What it is doing now.")
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty for scheduled work.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.state})"

    @property
    def fraction(self) -> float | None:
        """How much of the current step is done, 0–1 (None when the step has no known size)."""
        if not self.total:
            return None
        return min(self.done / self.total, 1.0)


class JobPart(models.Model):
    """One finished part of a Job split over the workers (`bank.jobs.fan_out`): the row says the part is done, so
    that a redelivered part does not run again and the part that finishes last closes the Job."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="parts")
    key = models.CharField(max_length=60, help_text="Which part, e.g. the id range '1-1000'.")
    size = models.PositiveIntegerField(help_text="How many items the part counted for in the Job's progress.")
    result = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="bank_jobpart_once")]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.key}"


class AuditEvent(models.Model):
    """Who did what to whom, when and why: an append-only record (the database refuses UPDATE, DELETE and TRUNCATE on
    this table; see migrations bank 0004 and 0005), read by compliance in the admin."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # PROTECT: a login with history is deactivated, never deleted (the rows could not be updated anyway).
    actor = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The person who acted: the customer's login, a staff member; empty for the system.",
    )
    actor_label = models.CharField(max_length=150, help_text="Who acted, as they were at the time.")
    channel = models.CharField(max_length=20, help_text="chat, portal, api, admin, worker…")
    action = models.CharField(max_length=60, db_index=True, help_text="e.g. card.freeze, transfer.own_accounts")
    subject = models.CharField(max_length=120, blank=True, help_text="What was acted on, e.g. account:<public id>.")
    customer_ref = models.CharField(max_length=64, blank=True, db_index=True,
                                    help_text="The customer concerned (external ref).")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.subject}"


class RateLimitWindow(models.Model):
    """How many API requests one client made in one fixed window: the counter behind the API's rate limits.

    One row per (key, window), incremented with a single INSERT … ON CONFLICT DO UPDATE … RETURNING
    (bank.ratelimits), so concurrent requests can never both read the same count and both pass; rows of
    past windows are purged by a periodic task."""

    key = models.CharField(max_length=120, help_text="Who is counted and for what, e.g. token:12:read.")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="rate_limit_window_unique")]
        indexes = [models.Index(fields=["window_start"], name="rate_limit_window_start")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start:%Y-%m-%d %H:%M:%S}: {self.count}"


class IdempotencyRecord(models.Model):
    """A state-changing API request sent with an Idempotency-Key, and the first answer it got (bank.api.idempotency).

    The key is the caller's, for one method and path: two callers (or one caller on two endpoints) can use the
    same string without meeting. A record is claimed (in flight) and committed before the view runs, so a
    concurrent duplicate sees it; it is completed in the same transaction as the view's writes, so a stored
    answer always matches what was written.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        DONE = "done", "Done"

    caller = models.CharField(max_length=80, help_text="partner:<id> for a partner token, user:<id> for a login.")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=400)
    key = models.CharField(max_length=200)
    request_sha256 = models.CharField(max_length=64, help_text="Hash of the canonical request body and query.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    # Who holds an in-flight record: a fresh token per attempt, so only that attempt can complete or release it.
    claim = models.UUIDField()
    claimed_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The body as the JSON text first sent (not jsonb, which would reorder its keys): a replay is byte-identical.
    response_body = models.TextField(blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "method", "path", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.method} {self.path} [{self.key}] ({self.state})"
