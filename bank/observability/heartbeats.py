"""Worker heartbeats: written by each django-q2 cluster's sentinel, read by the readiness probe and /metrics.

The sentinel saves its statistic every half second (django-q2's guard loop); a row is written at most every
HEARTBEAT_SECONDS (or at once when the cluster's status changes), so a cluster costs the database one upsert
every few seconds. The loop runs whether or not the workers are busy, so a heartbeat says "this cluster is alive
and supervising its workers", not "a worker is free": a long training job on the ml cluster never looks like
a dead cluster. Whether work moves is what queue depth and task latency (bank.observability.metrics) say.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from bank.observability.models import ClusterHeartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# A statistic older than this is a cluster that stopped (django-q2 caches its own for 3 s; ours are rarer).
STAT_TTL_SECONDS = 3 * HEARTBEAT_SECONDS
# Rows of clusters that stopped are kept a day (who ran where, for an incident review), then deleted.
KEEP_STOPPED = timedelta(days=1)

# Per process: key -> (monotonic time of the last write or failed try, status written).
_last_write: dict[str, tuple[float, str]] = {}
_last_purge = 0.0
_failing = False


def record_heartbeat(*, key: str, queue: str, pack: str) -> None:
    """Store the cluster statistic `pack` (signed, as django-q2 made it) under `key`, at most every
    HEARTBEAT_SECONDS unless the status changed. Never raises: a database outage must not kill the sentinel
    (it is logged once, and the readiness probe reports it)."""
    global _last_purge, _failing
    from django_q.signing import BadSignature, SignedPackage

    try:
        stat = SignedPackage.loads(pack)
    except BadSignature:
        logger.warning("Cluster statistic %s has a bad signature; not recorded", key)
        return
    now = time.monotonic()
    status = str(getattr(stat, "status", ""))[:20]
    last = _last_write.get(key)
    if last is not None and now - last[0] < HEARTBEAT_SECONDS and last[1] == status:
        return
    _last_write[key] = (now, status)
    beat = ClusterHeartbeat(
        key=key[:200], queue=queue[:100], host=str(getattr(stat, "host", ""))[:255],
        pid=int(getattr(stat, "pid", 0) or 0), status=status, workers=len(getattr(stat, "workers", []) or []),
        stat=pack, beat_at=timezone.now(),
    )
    try:
        # One INSERT … ON CONFLICT DO UPDATE: no read first, no transaction to hold.
        ClusterHeartbeat.objects.bulk_create(
            [beat], update_conflicts=True, unique_fields=["key"],
            update_fields=["queue", "host", "pid", "status", "workers", "stat", "beat_at"],
        )
        if now - _last_purge > 3600:
            _last_purge = now
            ClusterHeartbeat.objects.filter(beat_at__lt=timezone.now() - KEEP_STOPPED).delete()
    except DatabaseError:
        if not _failing:
            logger.warning("Could not record the heartbeat of cluster %s", queue, exc_info=True)
        _failing = True
        # The sentinel keeps its connection for ever; drop a broken one so the next try reconnects.
        connection.close()
        return
    if _failing:
        logger.info("Heartbeats of cluster %s recorded again", queue)
    _failing = False


def recent_stats(*, key_prefix: str) -> list[str]:
    """The signed statistics of clusters alive now whose key starts with `key_prefix` (for django-q2's
    Stat.get_all: `qinfo`, `qmonitor`)."""
    since = timezone.now() - timedelta(seconds=STAT_TTL_SECONDS)
    return list(
        ClusterHeartbeat.objects.filter(key__startswith=key_prefix, beat_at__gte=since).values_list("stat", flat=True)
    )


def stat_of(key: str) -> str | None:
    since = timezone.now() - timedelta(seconds=STAT_TTL_SECONDS)
    return ClusterHeartbeat.objects.filter(key=key, beat_at__gte=since).values_list("stat", flat=True).first()


@dataclass(frozen=True)
class QueueLiveness:
    queue: str
    alive: int  # clusters of this queue with a heartbeat within the window
    last_beat_age: float | None  # seconds since the freshest heartbeat of this queue; None if never seen


def queue_liveness(queues: list[str], *, within_seconds: float) -> list[QueueLiveness]:
    """For each queue (cluster name): how many clusters beat within `within_seconds`, and the freshest beat's age."""
    now = timezone.now()
    rows = ClusterHeartbeat.objects.filter(queue__in=queues).values_list("queue", "beat_at")
    ages: dict[str, list[float]] = {queue: [] for queue in queues}
    for queue, beat_at in rows:
        ages[queue].append(max(0.0, (now - beat_at).total_seconds()))
    return [
        QueueLiveness(queue=queue, alive=sum(1 for age in found if age <= within_seconds),
                      last_beat_age=min(found) if found else None)
        for queue, found in ages.items()
    ]


def expected_queues() -> list[str]:
    """The clusters a deployment runs: the default one (Q_CLUSTER name) and each of ALT_CLUSTERS ("ml")."""
    from django.conf import settings

    return [str(settings.Q_CLUSTER["name"]), *settings.Q_CLUSTER.get("ALT_CLUSTERS", {})]
