"""The django-q2 brokers of the platform: django-q2's own, plus a heartbeat row for each cluster.

Selected in settings with Q_CLUSTER["broker_class"] (a documented django-q2 option). The sentinel of every cluster
calls `set_stat` twice a second; these brokers also hand the statistic to bank.observability.heartbeats, which
writes it to the database every few seconds. With the ORM broker the statistics are also *read* from there, so
django-q2's `qinfo` / `qmonitor` (with the optional `blessed` package) see every cluster; django-q2 would otherwise
keep them in Django's per-process memory cache, invisible to any other process. The Redis broker keeps its own
statistics in Redis as well.
"""

from __future__ import annotations

from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf

from bank.observability import heartbeats


class _HeartbeatMixin:
    def set_stat(self, key: str, value: str, timeout: int) -> None:
        super().set_stat(key, value, timeout)  # type: ignore[misc]
        # The sentinel's broker serves its own cluster: Conf.CLUSTER_NAME is that cluster's queue.
        heartbeats.record_heartbeat(key=key, queue=Conf.CLUSTER_NAME, pack=value)


class OrmBroker(_HeartbeatMixin, ORM):
    """The database as the queue (the default)."""

    def get_stat(self, key: str) -> str | None:
        return heartbeats.stat_of(key)

    def get_stats(self, pattern: str) -> list[str]:
        # django-q2 asks for "django_q:<name>:cluster:*".
        return heartbeats.recent_stats(key_prefix=pattern.rstrip("*"))


class RedisBroker(_HeartbeatMixin, Redis):
    """Redis as the queue (Q_BROKER_URL=redis://…): the scale-out path."""
