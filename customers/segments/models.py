"""The history of segmentation: one row per run (how k was chosen, the scaler, the features) and one row per run
and segment (its size and centroid), which the admin draws as drift over time and the next run matches against.

`customers.models.Segment` is the segment itself (stable code, names); `Customer.segment` the membership.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SegmentationRun(models.Model):
    """A finished run: written in the same transaction as the segments and memberships it produced, so a run that
    failed leaves no row (its Job, when it ran as one, records the error)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    customers = models.PositiveIntegerField(default=0, help_text="Customers clustered (latest profile, consenting).")
    profiles_as_of = models.DateField(null=True, blank=True, help_text="The newest profile snapshot used.")
    k = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The number of segments chosen.")
    criterion = models.TextField(blank=True, help_text="How k was chosen, in words.")
    scores = models.JSONField(
        default=dict, blank=True, help_text="Per candidate k: silhouette on the sample, smallest segment share."
    )
    silhouette = models.FloatField(null=True, blank=True, help_text="Silhouette of the chosen k (sample).")
    features = models.JSONField(default=list, blank=True, help_text="The feature names, in the matrix's order.")
    scaler = models.JSONField(default=dict, blank=True, help_text="Standardisation: mean and scale per feature.")
    seed = models.IntegerField(default=0)
    matched = models.PositiveSmallIntegerField(default=0, help_text="Clusters matched to an existing segment.")
    created = models.PositiveSmallIntegerField(default=0, help_text="Clusters that became new segments.")
    retired = models.PositiveSmallIntegerField(default=0, help_text="Segments no longer found.")
    job = models.ForeignKey("bank.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        app_label = "customers"
        verbose_name = _("segmentation run")
        verbose_name_plural = _("segmentation runs")
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"Segmentation run #{self.pk} ({self.started_at:%Y-%m-%d %H:%M}, k={self.k})"


class SegmentSnapshot(models.Model):
    """A segment as one run found it: size and centroid (feature means in the features' own units, and their
    z-scores against the population of that run)."""

    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="snapshots")
    segment = models.ForeignKey("customers.Segment", on_delete=models.CASCADE, related_name="snapshots")
    size = models.PositiveIntegerField()
    share = models.FloatField()
    centroid = models.JSONField(help_text="Feature → mean of the segment (transformed units, e.g. log income).")
    zscores = models.JSONField(help_text="Feature → (segment mean − population mean) / population std.")
    averages = models.JSONField(default=dict, help_text="Feature → segment average in its own units (yuan, years).")
    distance = models.FloatField(
        null=True, blank=True, help_text="RMS z-distance to the segment's previous centroid (None: new)."
    )

    class Meta:
        app_label = "customers"
        verbose_name = _("segment in a run")
        verbose_name_plural = _("segments in runs")
        ordering = ["run_id", "segment_id"]
        constraints = [models.UniqueConstraint(fields=["run", "segment"], name="segment_snapshot_one_per_run")]

    def __str__(self) -> str:
        return f"Segment #{self.segment_id} in run #{self.run_id}: {self.size}"
