"""Monitoring every new transaction: synchronously when it arrives through the API (`ingest_transaction`, which
answers accept / review / block), and in bulk for transactions posted by other systems (`monitor_new_transactions`,
which reads the table in id order behind a cursor). Both run the same engine (risk.monitoring.engine)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from bank.purge import delete_in_batches
from customers.models import Account, Customer, Transaction
from risk.models import Alert, Decision, IngestionRecord, Intervention, MonitoringCursor, Severity
from risk.monitoring.engine import Verdict, event_from_row, get_monitor

BATCH_CURSOR = "transactions"
BATCH_SIZE = 5000
# Ingestion records deleted per statement by the purge.
PURGE_BATCH_SIZE = 5000
AUTO_RESTRICT_RULE = "critical-alert-restriction"


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before by this caller with a different body."""


class DuplicateExternalRef(Exception):
    """A transaction with this external_ref was already posted (and this is not a replay of that request)."""


@dataclass(frozen=True)
class IngestionResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def _alert_from(verdict: Verdict, *, transaction_id: int | None, attempted: dict[str, Any]) -> Alert:
    return Alert(
        kind=Alert.Kind.TRANSACTION, customer_id=verdict.event.customer_id, transaction_id=transaction_id,
        attempted=attempted, decision=verdict.decision, severity=verdict.severity or Severity.LOW,
        anomaly_score=verdict.anomaly_score,
        reasons=[{"code": h.code, "kind": h.kind, "en": h.en, "zh": h.zh, "evidence": h.evidence,
                  "action": verdict.actions.get(h.code, "")} for h in verdict.hits],
        rule_codes=[h.code for h in verdict.hits],
        model_version_id=get_monitor().anomaly_version_id if verdict.anomaly_score is not None else None,
    )


def _body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def ingest_transaction(
    *, customer: Customer, account: Account, amount: Decimal, timestamp: datetime | None, category: str, channel: str,
    counterparty: str = "", merchant: str = "", description: str = "", external_ref: str | None = None,
    currency: str = "CNY", caller: str, idempotency_key: str = "",
) -> IngestionResult:
    """Judge a new transaction and answer accept / review / block.

    accept and review post the transaction (review holds it for an analyst: an alert says why); block posts
    nothing and records the attempt on the alert. Any rule that fired gives an alert with its reasons. With an
    `idempotency_key`, the same caller, key and body get the first answer again and nothing is written; the same
    key with another body raises IdempotencyConflict. Inputs must already be validated (the API's serializer);
    `timestamp` None means now."""
    if account.customer_id != customer.pk:
        raise ValueError("The account belongs to another customer.")
    body = {"customer": str(customer.public_id), "account": str(account.public_id), "amount": str(amount),
            "timestamp": timestamp.isoformat() if timestamp else None, "category": category, "channel": channel,
            "counterparty": counterparty, "merchant": merchant, "description": description,
            "external_ref": external_ref, "currency": currency}
    digest = _body_hash(body)
    if idempotency_key:
        replay = _replay(caller, idempotency_key, digest)
        if replay is not None:
            return replay
    if external_ref and Transaction.objects.filter(external_ref=external_ref).exists():
        raise DuplicateExternalRef(external_ref)
    # Defaulted after the replay check: a retry without a timestamp is the same request, not a later one.
    timestamp = timestamp or timezone.now()
    event = event_from_row(customer_id=customer.pk, account_id=account.pk, amount=amount, timestamp=timestamp,
                           category=category, channel=channel, counterparty=counterparty or merchant)
    verdict = get_monitor().evaluate_one(event)
    try:
        with transaction.atomic():
            posted = None
            if verdict.decision != Decision.BLOCK:
                posted = Transaction.objects.create(
                    account=account, customer=customer, amount=amount, currency=currency, timestamp=timestamp,
                    merchant=merchant, category=category, channel=channel, counterparty=counterparty,
                    description=description, external_ref=external_ref,
                )
            alert = None
            if verdict.alerting:
                alert = _alert_from(verdict, transaction_id=posted.pk if posted else None, attempted=body)
                alert.save()
                _after_alerts([alert])
            response = {
                "decision": verdict.decision,
                "transaction": posted.pk if posted else None,
                "alert": str(alert.public_id) if alert else None,
                "severity": Severity(verdict.severity).label.lower() if verdict.severity else None,
                "step_up_required": verdict.step_up_required,
                "reasons": [{"code": h.code, "en": h.en, "zh": h.zh} for h in verdict.hits],
                "anomaly_score": None if verdict.anomaly_score is None else round(verdict.anomaly_score, 4),
            }
            status_code = 201 if posted else 200
            if idempotency_key:
                IngestionRecord.objects.create(caller=caller, key=idempotency_key, body_sha256=digest,
                                               status_code=status_code, response=response)
    except IntegrityError:
        # A concurrent request with the same key (or the same external_ref) won the race: answer as it did.
        replay = _replay(caller, idempotency_key, digest) if idempotency_key else None
        if replay is not None:
            return replay
        if external_ref and Transaction.objects.filter(external_ref=external_ref).exists():
            raise DuplicateExternalRef(external_ref) from None
        raise
    return IngestionResult(status_code=status_code, body=response, replayed=False)


def _replay(caller: str, key: str, digest: str) -> IngestionResult | None:
    earlier = IngestionRecord.objects.filter(caller=caller, key=key).first()
    if earlier is None:
        return None
    if earlier.body_sha256 != digest:
        raise IdempotencyConflict("This Idempotency-Key was already used with a different request.")
    return IngestionResult(status_code=earlier.status_code, body=earlier.response, replayed=True)


def purge_old_ingestion_records(*, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete the ingestion records older than settings.IDEMPOTENCY_KEY_RETENTION_DAYS, `batch_size` rows per
    statement; returns how many. Safe to run at any time and twice.

    Only the records go: the transactions and alerts they answered for stay. A retry after its key was purged is
    a new request (the API's own key expired long before, see bank.api.idempotency); one that carries the same
    external_ref is still refused as a duplicate."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.IDEMPOTENCY_KEY_RETENTION_DAYS)
    return delete_in_batches(IngestionRecord.objects.filter(created_at__lt=cutoff), batch_size=batch_size)


def _after_alerts(alerts: list[Alert]) -> None:
    """What follows an alert: the customers' grades, and for a critical one a proposed restriction (by rule)."""
    from risk.services.grades import refresh_risk_grades
    from risk.services.interventions import propose_intervention

    refresh_risk_grades(customer_ids=sorted({a.customer_id for a in alerts if a.customer_id}))
    for alert in alerts:
        if alert.severity < Severity.CRITICAL or alert.customer_id is None:
            continue
        attempted = alert.attempted or {}
        category = attempted.get("category")
        channel = attempted.get("channel")
        pending = Intervention.objects.filter(
            customer_id=alert.customer_id, kind=Intervention.Kind.RESTRICT,
            status__in=[Intervention.Status.PROPOSED, Intervention.Status.ACTIVE],
        ).exists()
        if pending or not category:
            continue
        propose_intervention(
            customer=Customer.objects.get(pk=alert.customer_id), kind=Intervention.Kind.RESTRICT,
            reason=Intervention.Reason.UNUSUAL_ACTIVITY,
            params={"categories": [category], "channels": [channel] if channel else []},
            rationale=f"Critical alert {alert.public_id}: " + "; ".join(r["en"] for r in alert.reasons),
            evidence={"alert": str(alert.public_id), "rules": alert.rule_codes}, rule_code=AUTO_RESTRICT_RULE,
        )


def monitor_new_transactions(*, limit: int | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Run the monitor on transactions posted since the last run (in id order), store alerts, move the cursor.

    The first run starts at the newest transaction: history is the baseline, not something to alert on now.
    Each batch is one transaction, with the cursor row locked, so two workers never judge the same rows and a
    crash repeats at most the batch it was in. Returns counts."""
    monitor = get_monitor()
    done = alerts = 0
    while limit is None or done < limit:
        with transaction.atomic():
            cursor = MonitoringCursor.objects.select_for_update().filter(name=BATCH_CURSOR).first()
            if cursor is None:
                newest = Transaction.objects.aggregate(m=Max("id"))["m"] or 0
                MonitoringCursor.objects.create(name=BATCH_CURSOR, last_transaction_id=newest)
                return {"transactions": 0, "alerts": 0, "started_at": newest}
            size = batch_size if limit is None else min(batch_size, limit - done)
            rows = list(Transaction.objects.filter(id__gt=cursor.last_transaction_id).order_by("id").values_list(
                "id", "customer_id", "account_id", "amount", "timestamp", "category", "channel", "counterparty",
            )[:size])
            if not rows:
                break
            monitor.warm({r[1] for r in rows}, before_id=cursor.last_transaction_id, now=max(r[4] for r in rows))
            events = [event_from_row(customer_id=c, account_id=a, amount=amt, timestamp=ts, category=cat,
                                     channel=ch, counterparty=cp, transaction_id=pk, zone=monitor.zone)
                      for pk, c, a, amt, ts, cat, ch, cp in rows]
            verdicts = monitor.evaluate_many(events)
            new_alerts = [
                _alert_from(v, transaction_id=v.event.transaction_id, attempted={
                    "transaction": v.event.transaction_id, "amount": f"{v.event.amount:.2f}",
                    "category": v.event.category, "channel": v.event.channel,
                }) for v in verdicts if v.alerting
            ]
            Alert.objects.bulk_create(new_alerts)
            if new_alerts:
                _after_alerts(new_alerts)
            cursor.last_transaction_id = rows[-1][0]
            cursor.save(update_fields=["last_transaction_id", "updated_at"])
        done += len(rows)
        alerts += len(new_alerts)
    return {"transactions": done, "alerts": alerts}
