"""Case management: alerts grouped into cases, assignment, notes, investigation, and closing with an outcome that
is written back onto every alert of the case as its label (what rule precision and the anomaly model's
evaluation learn from)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from risk.models import Alert, Case, CaseNote

TRUE_POSITIVE_OUTCOMES = {
    Case.Outcome.FRAUD_CONFIRMED, Case.Outcome.SUSPICIOUS_REPORTED, Case.Outcome.CREDIT_RISK_CONFIRMED,
}


class CaseError(ValueError):
    """The case cannot change as asked."""


def open_case(*, alerts: Iterable[Alert], by: Any, title: str = "", assign_to: Any = None) -> Case:
    """Group `alerts` (one customer's, none already in a case) into a new open case."""
    with transaction.atomic():
        rows = list(Alert.objects.select_for_update().filter(pk__in=[a.pk for a in alerts]).order_by("created_at"))
        if not rows:
            raise CaseError("Select at least one alert.")
        customers = {a.customer_id for a in rows}
        customer_id = customers.pop() if len(customers) == 1 else None
        if customer_id is None:
            raise CaseError("A case is about one customer: select alerts of a single customer.")
        if any(a.case_id for a in rows):
            raise CaseError("Some of these alerts are already in a case.")
        case = Case.objects.create(
            customer_id=customer_id, opened_by=by, assigned_to=assign_to,
            title=title or f"{len(rows)} alert(s): " + ", ".join(sorted({c for a in rows for c in a.rule_codes}))[:150],
        )
        Alert.objects.filter(pk__in=[a.pk for a in rows]).update(case=case, status=Alert.Status.IN_CASE)
        CaseNote.objects.create(case=case, author=by, text=f"Case opened with {len(rows)} alert(s).")
    return case


def add_alerts_to_case(*, case: Case, alerts: Iterable[Alert], by: Any) -> int:
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status == Case.Status.CLOSED:
            raise CaseError("The case is closed.")
        rows = list(Alert.objects.select_for_update().filter(pk__in=[a.pk for a in alerts]))
        if any(a.customer_id != locked.customer_id for a in rows):
            raise CaseError("These alerts are about another customer.")
        if any(a.case_id and a.case_id != locked.pk for a in rows):
            raise CaseError("Some of these alerts are in another case.")
        n = Alert.objects.filter(pk__in=[a.pk for a in rows]).update(case=locked, status=Alert.Status.IN_CASE)
        CaseNote.objects.create(case=locked, author=by, text=f"{n} alert(s) added.")
    return n


def assign_case(*, case: Case, to: Any, by: Any) -> Case:
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.assigned_to = to
        locked.save(update_fields=["assigned_to", "updated_at"])
        CaseNote.objects.create(case=locked, author=by,
                                text=f"Assigned to {to.get_username() if to else 'nobody'}.")
    return locked


def add_case_note(*, case: Case, author: Any, text: str) -> CaseNote:
    if not text.strip():
        raise CaseError("A note needs some text.")
    return CaseNote.objects.create(case=case, author=author, text=text.strip())


def start_investigation(*, case: Case, by: Any) -> Case:
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status != Case.Status.OPEN:
            raise CaseError("Only an open case can move to investigating.")
        locked.status = Case.Status.INVESTIGATING
        locked.assigned_to = locked.assigned_to or by
        locked.save(update_fields=["status", "assigned_to", "updated_at"])
        CaseNote.objects.create(case=locked, author=by, text="Investigation started.")
    return locked


def close_case(*, case: Case, outcome: str, by: Any, note: str = "") -> Case:
    """Close with an outcome; every alert of the case is labelled (true positive for fraud, a report or confirmed
    credit risk; false positive for genuine activity) and closed; the customer's grade is refreshed."""
    from risk.services.grades import refresh_risk_grades

    if outcome not in Case.Outcome.values or outcome == Case.Outcome.NONE:
        raise CaseError("Say how the case ended.")
    label = Alert.Label.TRUE_POSITIVE if outcome in TRUE_POSITIVE_OUTCOMES else Alert.Label.FALSE_POSITIVE
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status == Case.Status.CLOSED:
            raise CaseError("The case is already closed.")
        locked.status = Case.Status.CLOSED
        locked.outcome = outcome
        locked.closed_by = by
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "outcome", "closed_by", "closed_at", "updated_at"])
        labelled = Alert.objects.filter(case=locked).update(label=label, status=Alert.Status.CLOSED)
        CaseNote.objects.create(case=locked, author=by, text=(
            f"Closed: {locked.get_outcome_display()}; {labelled} alert(s) labelled {label}."
            + (f" {note}" if note else "")
        ))
        refresh_risk_grades(customer_ids=[locked.customer_id])
    return locked
