"""Worker heartbeats: one row per running django-q2 cluster, refreshed by its sentinel every few seconds."""

from __future__ import annotations

from django.db import models


class ClusterHeartbeat(models.Model):
    """The last sign of life of one django-q2 cluster process (bank.observability.brokers writes it).

    django-q2 keeps cluster statistics in the broker's cache; with the ORM broker that is Django's per-process
    memory cache, which no other process can read. The row holds the same signed statistic, so the readiness
    probe, /metrics and django-q2's own monitors see every cluster, whichever broker carries the tasks."""

    key = models.CharField(max_length=200, unique=True, help_text="django-q2's statistic key (one per cluster run).")
    queue = models.CharField(max_length=100, db_index=True, help_text="The cluster's name: its queue.")
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    status = models.CharField(max_length=20, blank=True, help_text="Idle, Working, Stopping…")
    workers = models.PositiveSmallIntegerField(default=0)
    stat = models.TextField(help_text="The signed django-q2 statistic, as the broker would cache it.")
    beat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["queue", "-beat_at"]

    def __str__(self) -> str:
        return f"{self.queue} on {self.host} (pid {self.pid}) at {self.beat_at:%Y-%m-%d %H:%M:%S}"
