"""The platform's schedules: nightly work is first due at night in the bank's time zone, not at registration."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django_q.models import Schedule

from bank.schedules import SCHEDULES, ensure_schedules

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 2026-12-08, 14:20 in Shanghai.
NOW = datetime(2026, 12, 8, 6, 20, tzinfo=UTC)


def _next_runs() -> dict[str, datetime]:
    return {s.name: s.next_run.astimezone(SHANGHAI) for s in Schedule.objects.all()}


def test_a_new_deployment_runs_the_nightly_work_at_night_and_the_light_work_at_once(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    ensure_schedules(now=NOW)

    runs = _next_runs()
    assert len(runs) == len(SCHEDULES)
    assert runs["Recompute customer profiles"] == datetime(2026, 12, 9, 1, 0, tzinfo=SHANGHAI)
    assert runs["Review investment portfolios"] == datetime(2026, 12, 9, 1, 30, tzinfo=SHANGHAI)
    assert runs["Refresh everyone's recommendations"] == datetime(2026, 12, 9, 3, 0, tzinfo=SHANGHAI)
    # Weekly work: the coming Sunday night.
    assert runs["Re-segment customers"] == datetime(2026, 12, 13, 2, 0, tzinfo=SHANGHAI)
    assert runs["Retrain the recommender"] == datetime(2026, 12, 13, 2, 30, tzinfo=SHANGHAI)
    assert runs["Monitor new transactions"] == NOW
    assert runs["Purge API rate-limit counters"] == NOW


def test_what_reads_the_profiles_runs_after_them_and_every_daily_or_weekly_job_has_a_time():
    timed = {entry.name: entry.at for entry in SCHEDULES if entry.at is not None}
    assert {entry.name for entry in SCHEDULES if entry.schedule_type in (Schedule.DAILY, Schedule.WEEKLY)} == set(timed)
    profiles = timed["Recompute customer profiles"]
    assert all(timed[name] > profiles for name in ("Re-segment customers", "Refresh everyone's recommendations"))
    assert timed["Measure credit model drift"] > timed["Rescore customers' credit risk"]


def test_on_a_sunday_after_the_hour_weekly_work_waits_a_week(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    ensure_schedules(now=datetime(2026, 12, 12, 20, 0, tzinfo=UTC))  # Sunday 2026-12-13, 04:00 in Shanghai

    runs = _next_runs()
    assert runs["Re-segment customers"] == datetime(2026, 12, 20, 2, 0, tzinfo=SHANGHAI)
    assert runs["Recompute customer profiles"] == datetime(2026, 12, 14, 1, 0, tzinfo=SHANGHAI)


def test_registering_again_keeps_each_next_run_and_updates_the_task(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    ensure_schedules(now=NOW)
    moved = datetime(2026, 12, 9, 0, 15, tzinfo=SHANGHAI)  # an operator moved it
    Schedule.objects.filter(name="Recompute customer profiles").update(next_run=moved, func="old.path", cluster="x")

    ensure_schedules(now=datetime(2026, 12, 10, 6, 0, tzinfo=UTC))

    profiles = Schedule.objects.get(name="Recompute customer profiles")
    assert (profiles.next_run, profiles.func, profiles.cluster) == (
        moved, "customers.tasks.compute_profiles_task", None)
    assert Schedule.objects.count() == len(SCHEDULES)


def test_the_demo_queues_the_first_nights_review_and_drift_only_until_they_have_run(
        monkeypatch, django_capture_on_commit_callbacks):
    from decimal import Decimal

    from advisor.investing.models import PortfolioValuation
    from bank.management.commands.demo import Command
    from bank.models import Job
    from customers.tests.factories import CustomerFactory

    queued: list[tuple[str, dict]] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: queued.append((func, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        Command()._queue_first_night()
    review = Job.objects.get(kind="Review portfolios")
    assert queued == [("advisor.tasks.review_portfolios_task", {"job_id": review.pk}),
                      ("risk.tasks.credit_drift_task", {"cluster": "ml"})]

    queued.clear()
    PortfolioValuation.objects.create(customer=CustomerFactory(), as_of="2026-12-08", value=Decimal("1000"),
                                      weights={"cash": 1.0})
    with django_capture_on_commit_callbacks(execute=True):
        Command()._queue_first_night()
    assert [func for func, _ in queued] == ["risk.tasks.credit_drift_task"]
    assert Job.objects.filter(kind="Review portfolios").count() == 1


@pytest.mark.model
def test_a_later_demo_start_the_same_day_recomputes_no_profile():
    from bank.management.commands.demo import customers_without_todays_profile
    from customers.services import compute_profiles
    from customers.tests.factories import CustomerFactory

    profiled, waiting = CustomerFactory(), CustomerFactory()
    CustomerFactory(consent_profiling=False)
    assert customers_without_todays_profile() == [profiled.pk, waiting.pk]
    compute_profiles(customer_ids=[profiled.pk])
    assert customers_without_todays_profile() == [waiting.pk]
