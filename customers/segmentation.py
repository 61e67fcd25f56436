"""Writes of customer segmentation: one run clusters every consenting customer's latest profile, names the
segments, keeps the codes of segments it finds again, and moves customers into them — all in one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from bank.jobs import Progress
from customers.models import Customer, ProfileSnapshot, Segment
from customers.segments.clustering import K_MAX, K_MIN, NotEnoughCustomers, choose_and_cluster
from customers.segments.describe import describe_segments
from customers.segments.features import FEATURE_NAMES, Scaler, feature_matrix, fit_scaler, in_own_units
from customers.segments.matching import MATCH_THRESHOLD, match_clusters
from customers.segments.models import SegmentationRun, SegmentSnapshot

__all__ = ["NotEnoughCustomers", "segment_customers"]

# Two runs at once would both read the same previous run and hand out the same new codes: they take turns.
_LOCK_KEY = 0x5E6_3E47


@dataclass(frozen=True)
class _Population:
    customer_ids: list[int]
    matrix: np.ndarray
    as_of: date | None


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _population(progress: Progress | None) -> _Population:
    """Each consenting customer's latest snapshot, in customer-id order; age on the snapshot's own day."""
    rows = list(
        ProfileSnapshot.objects.filter(customer__consent_profiling=True)
        .order_by("customer_id", "-as_of")
        .distinct("customer_id")
        .values_list("customer_id", "features", "customer__birth_date", "as_of")
    )
    advance = progress("Reading profiles", len(rows)) if progress is not None else None
    matrix = feature_matrix([(features, _age(birth, as_of)) for _, features, birth, as_of in rows])
    if advance is not None:
        advance(len(rows))
    return _Population(customer_ids=[r[0] for r in rows], matrix=matrix,
                       as_of=max((r[3] for r in rows), default=None))


def _previous_centroids(scaler: Scaler) -> dict[str, np.ndarray]:
    """The active segments as the latest run left them, standardised with this run's scaler (features the old
    run did not have count as the population mean, i.e. 0)."""
    latest = SegmentationRun.objects.order_by("-started_at", "-pk").first()
    if latest is None:
        return {}
    previous: dict[str, np.ndarray] = {}
    for snapshot in latest.snapshots.filter(segment__is_active=True).select_related("segment"):
        raw = np.array([float(snapshot.centroid.get(n, scaler.mean[i])) for i, n in enumerate(FEATURE_NAMES)])
        previous[snapshot.segment.code] = (raw - scaler.mean) / scaler.scale
    return previous


def _next_codes(count: int) -> list[str]:
    used = [int(c[1:]) for c in Segment.objects.values_list("code", flat=True) if c[:1] == "S" and c[1:].isdigit()]
    start = max(used, default=0) + 1
    return [f"S{n:02d}" for n in range(start, start + count)]


def segment_customers(
    *, seed: int = 0, k_min: int = K_MIN, k_max: int = K_MAX, progress: Progress | None = None,
    job_id: int | None = None,
) -> SegmentationRun:
    """Cluster every consenting customer's latest profile into segments and record the run.

    Guarantees: k is chosen by `customers.segments.clustering.CRITERION`; a cluster within MATCH_THRESHOLD of an
    active segment of the previous run keeps that segment's code (so re-running on unchanged data changes no code
    and no membership); other clusters become new segments, and segments no cluster continues are retired
    (inactive, emptied). Every customer clustered gets their segment; every other customer (no profile, consent
    withdrawn) gets none. Segments, memberships and the run are written in one transaction: a failure leaves
    the previous run in force.

    Raises NotEnoughCustomers (nothing written) when too few customers have a profile.
    """
    started_at = timezone.now()
    clock = time.monotonic()
    population = _population(progress)
    if len(population.customer_ids) == 0:
        raise NotEnoughCustomers("no customer has a profile to segment")
    scaler = fit_scaler(population.matrix)
    z = scaler.transform(population.matrix)
    advance = progress("Choosing the number of segments", k_max - k_min + 1) if progress is not None else None
    clustering = choose_and_cluster(z, k_min=k_min, k_max=k_max, seed=seed, advance=advance)
    n = len(population.customer_ids)
    sizes = clustering.sizes
    raw_centroids = [population.matrix[clustering.labels == c].mean(axis=0) for c in range(clustering.k)]
    readable = in_own_units(population.matrix)
    averages = [dict(zip(FEATURE_NAMES, map(float, readable[clustering.labels == c].mean(axis=0)), strict=True))
                for c in range(clustering.k)]
    words = describe_segments(
        zscores=[dict(zip(FEATURE_NAMES, map(float, clustering.centroids[c]), strict=True))
                 for c in range(clustering.k)],
        averages=averages,
        population=dict(zip(FEATURE_NAMES, map(float, readable.mean(axis=0)), strict=True)),
        shares=[size / n for size in sizes],
    )

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        match = match_clusters(previous=_previous_centroids(scaler), current=clustering.centroids,
                               threshold=MATCH_THRESHOLD)
        segments: dict[int, Segment] = {}
        by_code = {s.code: s for s in Segment.objects.select_for_update().filter(code__in=list(match.codes.values()))}
        for cluster, code in match.codes.items():
            segments[cluster] = by_code[code]
        for cluster, code in zip(match.new, _next_codes(len(match.new)), strict=True):
            segments[cluster] = Segment(code=code)
        for cluster, segment in segments.items():
            w = words[cluster]
            segment.name_en, segment.name_zh = w.name_en, w.name_zh
            segment.description_en, segment.description_zh = w.description_en, w.description_zh
            segment.is_active = True
            segment.save()
        # Retired: the previous run's segments no cluster continues, and any other active segment not in this run.
        retired = Segment.objects.filter(is_active=True).exclude(pk__in=[s.pk for s in segments.values()]).update(
            is_active=False)

        write = progress("Writing memberships", clustering.k + 1) if progress is not None else None
        ids = np.asarray(population.customer_ids)
        # Only rows whose segment changes are written: a re-run on unchanged data updates no customer.
        Customer.objects.exclude(pk__in=population.customer_ids).filter(segment__isnull=False).update(segment=None)
        if write is not None:
            write(1)
        for cluster, segment in segments.items():
            members = [int(i) for i in ids[clustering.labels == cluster]]
            for start in range(0, len(members), 10_000):
                chunk = members[start:start + 10_000]
                Customer.objects.filter(pk__in=chunk).exclude(segment=segment).update(segment=segment)
            if write is not None:
                write(1)

        run = SegmentationRun.objects.create(
            started_at=started_at, finished_at=timezone.now(), seconds=round(time.monotonic() - clock, 3),
            customers=n, profiles_as_of=population.as_of, k=clustering.k, criterion=clustering.criterion,
            scores={str(k): v for k, v in clustering.scores.items()}, silhouette=clustering.silhouette,
            features=list(FEATURE_NAMES), scaler=scaler.to_json(), seed=seed, matched=len(match.codes),
            created=len(match.new), retired=retired, job_id=job_id,
        )
        SegmentSnapshot.objects.bulk_create([
            SegmentSnapshot(
                run=run, segment=segments[c], size=sizes[c], share=round(sizes[c] / n, 6),
                centroid=dict(zip(FEATURE_NAMES, map(float, raw_centroids[c]), strict=True)),
                averages={name: round(v, 6) for name, v in averages[c].items()},
                zscores={name: round(float(v), 6) for name, v in zip(FEATURE_NAMES, clustering.centroids[c],
                                                                     strict=True)},
                distance=round(match.distances[c], 6) if c in match.distances else None,
            )
            for c in range(clustering.k)
        ])
    return run
