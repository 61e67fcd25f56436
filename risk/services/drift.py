"""Drift of the active credit model: PSI of the score and of every feature between the population at training
time (the reference stored with the model) and the customers' latest scores. Above the threshold it raises an
alert and, when asked, queues a challenger retrain (registered as ready, never activated by itself)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from bank.jobs import start_job
from bank.models import Job
from risk.ml import drift
from risk.ml.dataset import table_from_features
from risk.ml.scoring import active_credit_model
from risk.ml.training import CREDIT_MODEL
from risk.models import Alert, CreditScore, DriftReport, Severity
from risk.services.credit import NoActiveCreditModel, credit_policy

DRIFT_THRESHOLD = 0.25
RECENT_DAYS = 30


def compute_credit_drift(
    *, threshold: float = DRIFT_THRESHOLD, recent_days: int = RECENT_DAYS, queue_retrain: bool = False,
    requested_by: User | AnonymousUser | None = None,
) -> DriftReport:
    """Compare each customer's latest score of the active version (within `recent_days`) with the reference.
    Raises NoActiveCreditModel; ValueError when there are no recent scores to compare."""
    loaded = active_credit_model()
    if loaded is None:
        raise NoActiveCreditModel("No credit model is active.")
    since = timezone.now() - timedelta(days=recent_days)
    latest = list(
        CreditScore.objects.filter(model_version=loaded.version, created_at__gte=since)
        .order_by("customer_id", "-created_at", "-id").distinct("customer_id")
        .values_list("pd_gbm", "pd_scorecard", "features")
    )
    if not latest:
        raise ValueError(f"no scores of {loaded.version.label} in the last {recent_days} days to compare")
    serving = credit_policy().serving_model
    reference = loaded.reference["scores"][serving]
    pds = np.array([row[0] if serving == "gbm" else row[1] for row in latest])
    actual = drift.score_bins_of(reference, pds)
    score_psi = drift.psi(reference["expected"], actual)
    table = table_from_features([row[2] for row in latest])
    feature_psi, feature_bins = {}, {}
    for bins in loaded.model.scorecard.all_bins:
        expected = loaded.reference["features"].get(bins.name)
        if expected is None or bins.name not in table.columns:
            continue
        recent = drift.shares(bins.index(table.column(bins.name)), bins.n_bins)
        feature_psi[bins.name] = round(drift.psi(expected, recent), 5)
        feature_bins[bins.name] = {"labels": bins.labels, "expected": expected, "actual": recent}
    breached = score_psi >= threshold or max(feature_psi.values(), default=0.0) >= threshold
    with transaction.atomic():
        report = DriftReport.objects.create(
            model_version=loaded.version, recent_rows=len(latest), recent_from=since, score_psi=round(score_psi, 5),
            feature_psi=feature_psi,
            score_bins={"model": serving, "labels": drift.bin_labels(reference["edges"]),
                        "expected": reference["expected"], "actual": actual},
            feature_bins=feature_bins, threshold=threshold, breached=breached,
        )
        if breached:
            worst = sorted(feature_psi.items(), key=lambda kv: -kv[1])[:3]
            report.alert = Alert.objects.create(
                kind=Alert.Kind.DRIFT, severity=Severity.HIGH, decision="accept", model_version=loaded.version,
                rule_codes=["credit-drift"],
                reasons=[{
                    "code": "credit-drift", "kind": "drift",
                    "en": f"{loaded.version.label}: score PSI {score_psi:.3f}; most shifted: "
                          + ", ".join(f"{k} {v:.3f}" for k, v in worst),
                    "zh": f"{loaded.version.label}：评分PSI {score_psi:.3f}；变化最大：" + "、".join(
                        f"{k} {v:.3f}" for k, v in worst),
                    "evidence": {"score_psi": round(score_psi, 5), "threshold": threshold},
                }],
            )
            if queue_retrain:
                report.retrain_job = queue_challenger(requested_by=requested_by)
            report.save(update_fields=["alert", "retrain_job"])
    return report


def queue_challenger(*, requested_by: User | AnonymousUser | None = None) -> Job:
    """Queue a retrain of the credit model (once: an already queued or running one is returned)."""
    kind = f"Train {CREDIT_MODEL}"
    running = Job.objects.filter(kind=kind, state__in=[Job.State.QUEUED, Job.State.RUNNING]).first()
    if running is not None:
        return running
    return start_job(kind=kind, task=settings.MODEL_TRAINING_TASKS[CREDIT_MODEL], requested_by=requested_by, ml=True)
