"""The monitoring engine: rules, active restrictions and the anomaly model applied to a transaction, in memory.

    monitor = get_monitor()                      # one per process, built lazily (never at import)
    verdicts = monitor.evaluate_many(events)     # the batch path: in order, state updated as it goes
    verdict = monitor.evaluate_one(event)        # the API path: state refreshed from the database first

Why it is fast: the per-customer state (risk.monitoring.state) lives in this process and is updated in place;
a customer's history is read once (`warm` reads many customers in one query); rules, restrictions and the
anomaly model are reloaded only when a cheap stamp query says they changed, at most every REFRESH_SECONDS.
The anomaly model scores a whole batch at once (risk.monitoring.anomaly.FlatForest).

Cross-process consistency: `evaluate_one` first reads the customer's transactions posted since the state last
saw one (by id, one indexed query), so web workers that each keep their own state still see each other's
postings; the batch path is one consumer reading the table in id order, so its state is complete by itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from risk.monitoring.anomaly import FlatForest, features_of
from risk.monitoring.rules import CHECKS, CompiledRule, Hit
from risk.monitoring.state import CustomerState, Event, normalise_counterparty

logger = logging.getLogger(__name__)

ANOMALY_MODEL = "risk.anomaly"
HISTORY_DAYS = 180
HISTORY_ROWS = 2000  # per customer, newest first: enough for every rule's statistics
REFRESH_SECONDS = 5.0
MAX_CUSTOMERS = 200_000
ACTION_RANK = {"alert": 1, "review": 2, "block": 3}
RESTRICTION_CODE = "intervention-restriction"


@dataclass(frozen=True)
class Restriction:
    intervention_id: int
    kind: str  # "restrict" | "step_up"
    account_id: int | None
    categories: frozenset[str]
    channels: frozenset[str]
    amount_over: float

    def applies(self, e: Event) -> bool:
        if self.account_id is not None and self.account_id != e.account_id:
            return False
        if not e.is_out:
            return False
        if self.kind == "step_up":
            return -e.amount >= self.amount_over
        return (not self.categories or e.category in self.categories) and (
            not self.channels or e.channel in self.channels
        )


@dataclass
class Verdict:
    event: Event
    decision: str  # accept | review | block
    hits: list[Hit] = field(default_factory=list)
    severity: int = 0
    actions: dict[str, str] = field(default_factory=dict)  # rule code -> action
    severities: dict[str, int] = field(default_factory=dict)
    anomaly_score: float | None = None
    step_up_required: bool = False
    restricted_by: list[int] = field(default_factory=list)  # intervention ids

    @property
    def alerting(self) -> bool:
        return bool(self.hits)


def event_from_row(
    *, customer_id: int, account_id: int, amount: Any, timestamp: datetime, category: str, channel: str,
    counterparty: str = "", transaction_id: int | None = None, zone: ZoneInfo | None = None,
) -> Event:
    zone = zone or ZoneInfo(settings.TIME_ZONE)
    return Event(
        customer_id=customer_id, account_id=account_id, amount=float(amount), ts=timestamp.timestamp(),
        hour=timestamp.astimezone(zone).hour, category=category, channel=channel,
        counterparty=normalise_counterparty(counterparty), transaction_id=transaction_id,
    )


class Monitor:
    def __init__(self, *, max_customers: int = MAX_CUSTOMERS, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.max_customers = max_customers
        self.refresh_seconds = refresh_seconds
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.states: OrderedDict[int, CustomerState] = OrderedDict()
        self.rules: list[CompiledRule] = []
        self.anomaly_rules: list[CompiledRule] = []
        self.restrictions: dict[int, list[Restriction]] = {}
        self.forest: FlatForest | None = None
        self.anomaly_version_id: int | None = None
        self._stamp: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self._lock = threading.RLock()

    # --- configuration (rules, restrictions, model) -------------------------------------------------------
    def refresh_configuration(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < self.refresh_seconds:
            return
        with connection.cursor() as cur:
            cur.execute(
                "SELECT (SELECT count(*) FROM risk_monitoringrule),"
                " (SELECT max(updated_at) FROM risk_monitoringrule),"
                " (SELECT max(updated_at) FROM risk_intervention),"
                " (SELECT id FROM bank_modelversion WHERE name = %s AND status = 'active')",
                [ANOMALY_MODEL],
            )
            stamp = tuple(cur.fetchone())
        self._checked_at = now
        if stamp == self._stamp and not force:
            return
        with self._lock:
            self._load_rules()
            self._load_restrictions()
            self._load_anomaly(stamp[3])
            self._stamp = stamp

    def _load_rules(self) -> None:
        from risk.models import MonitoringRule
        from risk.monitoring.rules import validate_params

        compiled = []
        for rule in MonitoringRule.objects.filter(enabled=True).order_by("code"):
            try:
                params = validate_params(rule.kind, rule.params)
            except ValueError as error:  # saved around the admin's validation: skip it loudly, never crash
                logger.error("monitoring rule %s skipped: %s", rule.code, error)
                continue
            compiled.append(CompiledRule(rule.pk, rule.code, rule.kind, params, int(rule.severity), rule.action,
                                         CHECKS[rule.kind]))
        self.rules = [r for r in compiled if r.kind != "anomaly"]
        self.anomaly_rules = [r for r in compiled if r.kind == "anomaly"]

    def _load_restrictions(self) -> None:
        from risk.models import Intervention

        found: dict[int, list[Restriction]] = {}
        active = Intervention.objects.filter(
            status=Intervention.Status.ACTIVE, kind__in=[Intervention.Kind.RESTRICT, Intervention.Kind.STEP_UP]
        ).values_list("pk", "customer_id", "account_id", "kind", "params")
        for pk, customer_id, account_id, kind, params in active:
            found.setdefault(customer_id, []).append(Restriction(
                intervention_id=pk, kind=kind, account_id=account_id,
                categories=frozenset(params.get("categories", [])), channels=frozenset(params.get("channels", [])),
                amount_over=float(params.get("amount_over", 0) or 0),
            ))
        self.restrictions = found

    def _load_anomaly(self, version_id: int | None) -> None:
        if version_id == self.anomaly_version_id:
            return
        self.forest, self.anomaly_version_id = None, None
        if version_id is None:
            return
        from bank.models import ModelVersion
        from bank.registry import verify

        version = ModelVersion.objects.get(pk=version_id)
        if not verify(version):
            logger.error("%s: artifact missing or sha256 mismatch; monitoring runs without the anomaly model",
                         version.label)
            return
        self.forest = FlatForest.load(Path(version.artifact_path))
        self.anomaly_version_id = version_id

    # --- state -------------------------------------------------------------------------------------------
    def state_of(self, customer_id: int, *, now: datetime | None = None) -> CustomerState:
        state = self.states.get(customer_id)
        if state is None:
            self.warm([customer_id], now=now)
            state = self.states[customer_id]
        else:
            self.states.move_to_end(customer_id)
        return state

    def warm(self, customer_ids: Iterable[int], *, before_id: int | None = None, now: datetime | None = None) -> None:
        """Build the state of every customer in `customer_ids` not yet known, from their history (one query):
        their last HISTORY_ROWS transactions of the HISTORY_DAYS before `now` (the time of the transactions about
        to be judged; default the clock). `before_id` reads only transactions up to that id (the batch path
        replays what came after itself)."""
        missing = [c for c in dict.fromkeys(customer_ids) if c not in self.states]
        if not missing:
            return
        since = (now or timezone.now()) - timedelta(days=HISTORY_DAYS)
        params: list[Any] = [missing, since]
        extra = ""
        if before_id is not None:
            extra = " AND id <= %s"
            params.append(before_id)
        params.append(HISTORY_ROWS)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT customer_id, account_id, amount, timestamp, category, channel, counterparty, id FROM ("  # nosec B608  # the only interpolation is a fixed ' AND id <= %s'; values are bound parameters
                "  SELECT t.*, row_number() OVER (PARTITION BY customer_id ORDER BY timestamp DESC, id DESC) AS k"
                "  FROM customers_transaction t WHERE customer_id = ANY(%s) AND timestamp >= %s" + extra +
                ") recent WHERE k <= %s ORDER BY customer_id, timestamp, id",
                params,
            )
            rows = cur.fetchall()
        fresh = {c: CustomerState(c) for c in missing}
        zone = self.zone
        for customer_id, account_id, amount, ts, category, channel, counterparty, pk in rows:
            fresh[customer_id].update(Event(
                customer_id, account_id, float(amount), ts.timestamp(), ts.astimezone(zone).hour, category,
                channel, normalise_counterparty(counterparty), pk,
            ))
        with self._lock:
            self.states.update(fresh)
            while len(self.states) > self.max_customers:
                self.states.popitem(last=False)

    def catch_up(self, state: CustomerState) -> None:
        """Apply the customer's transactions posted since the state last saw one (by any process)."""
        with connection.cursor() as cur:
            cur.execute(
                "SELECT account_id, amount, timestamp, category, channel, counterparty, id"
                " FROM customers_transaction WHERE customer_id = %s AND id > %s ORDER BY timestamp, id",
                [state.customer_id, state.last_transaction_id],
            )
            for account_id, amount, ts, category, channel, counterparty, pk in cur.fetchall():
                state.update(Event(state.customer_id, account_id, float(amount), ts.timestamp(),
                                   ts.astimezone(self.zone).hour, category, channel,
                                   normalise_counterparty(counterparty), pk))

    def forget(self, customer_ids: Iterable[int] | None = None) -> None:
        with self._lock:
            if customer_ids is None:
                self.states.clear()
            else:
                for c in customer_ids:
                    self.states.pop(c, None)

    # --- evaluation --------------------------------------------------------------------------------------
    def _judge(self, state: CustomerState, e: Event) -> tuple[Verdict, list[float] | None]:
        verdict = Verdict(event=e, decision="accept")
        for restriction in self.restrictions.get(e.customer_id, ()):
            if restriction.applies(e):
                if restriction.kind == "step_up":
                    verdict.step_up_required = True
                else:
                    verdict.restricted_by.append(restriction.intervention_id)
        if verdict.restricted_by:
            verdict.hits.append(Hit(
                RESTRICTION_CODE, "restriction",
                "Blocked: this kind of payment is restricted on the account", "已拦截：该账户限制此类交易",
                {"interventions": verdict.restricted_by, "category": e.category, "channel": e.channel},
            ))
            verdict.actions[RESTRICTION_CODE] = "block"
            verdict.severities[RESTRICTION_CODE] = 3
        for rule in self.rules:
            hit = rule.run(state, e, None)
            if hit is not None:
                verdict.hits.append(hit)
                verdict.actions[rule.code] = rule.action
                verdict.severities[rule.code] = rule.severity
        features = features_of(state, e) if (self.forest is not None and self.anomaly_rules) else None
        return verdict, features

    def _finish(self, verdict: Verdict, anomaly: float | None) -> Verdict:
        if anomaly is not None and self.forest is not None:
            verdict.anomaly_score = float(anomaly)
            for rule in self.anomaly_rules:
                # min_score 0 (the default) means "the model's own threshold".
                params = {**rule.params, "min_score": rule.params["min_score"] or self.forest.threshold_score}
                found = rule.check(params, CustomerState(0), verdict.event, float(anomaly))
                if found is not None:
                    en, zh, evidence = found
                    verdict.hits.append(Hit(rule.code, rule.kind, en, zh, evidence))
                    verdict.actions[rule.code] = rule.action
                    verdict.severities[rule.code] = rule.severity
        rank = max((ACTION_RANK[a] for a in verdict.actions.values()), default=0)
        if rank == 3:
            verdict.decision = "block"
        elif rank == 2 or verdict.step_up_required:
            verdict.decision = "review"
        verdict.severity = max(verdict.severities.values(), default=0)
        return verdict

    def evaluate_many(self, events: Sequence[Event], *, update: bool = True) -> list[Verdict]:
        """Judge `events` in order; each sees the ones before it (velocity, structuring) when `update`."""
        self.refresh_configuration()
        judged: list[tuple[Verdict, list[float] | None]] = []
        for e in events:
            state = self.states.get(e.customer_id) or self.state_of(e.customer_id)
            judged.append(self._judge(state, e))
            if update:
                state.update(e)
        rows = [f for _, f in judged if f is not None]
        scores = iter(self.forest.score(np.array(rows)) if rows and self.forest is not None else [])
        return [self._finish(v, next(scores) if f is not None else None) for v, f in judged]

    def evaluate_one(self, event: Event) -> Verdict:
        """Judge one new transaction against the latest state in the database (the synchronous API path).
        The state is not updated here: the posted transaction is read back by the next call's catch-up."""
        self.refresh_configuration()
        state = self.state_of(event.customer_id, now=datetime.fromtimestamp(event.ts, tz=self.zone))
        self.catch_up(state)
        verdict, features = self._judge(state, event)
        score = None
        if features is not None and self.forest is not None:
            score = float(self.forest.score(np.array([features]))[0])
        return self._finish(verdict, score)


_monitor: Monitor | None = None
_monitor_lock = threading.Lock()


def get_monitor() -> Monitor:
    """The process's monitor (created on first use, never at import: django-q2 forks workers)."""
    global _monitor
    if _monitor is None:
        with _monitor_lock:
            if _monitor is None:
                _monitor = Monitor()
    return _monitor


def reset_monitor() -> None:
    """Forget the process's monitor (tests; after bulk changes to the data it remembers)."""
    global _monitor
    with _monitor_lock:
        _monitor = None
