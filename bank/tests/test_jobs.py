"""Background jobs: queued on commit, progress written while they run, an honest end, safe to redeliver."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from bank import registry
from bank.jobs import Part, fan_out, id_ranges, run_job, run_part, start_job
from bank.models import Job
from bank.roles import ADMINISTRATOR, COMPLIANCE_OFFICER
from customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: calls.append((func, a, kw)))
    return calls


def test_a_job_is_queued_only_when_its_transaction_commits(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_job(kind="Train x", task="app.tasks.train", ml=True, size=3)
    assert queued == []  # not before the commit

    for callback in callbacks:
        callback()

    assert queued == [("app.tasks.train", (), {"job_id": job.pk, "size": 3, "cluster": "ml"})]
    assert (job.state, job.requested_by) == (Job.State.QUEUED, None)


def test_progress_is_written_to_the_row_and_the_result_kept():
    job = Job.objects.create(kind="Count", task="t")
    seen = []

    def work(progress):
        advance = progress("counting rows", 10)
        for _ in range(10):
            advance(1)
        seen.append(Job.objects.values_list("state", "step", "done", "total").get(pk=job.pk))
        return {"rows": 10}

    finished = run_job(job.pk, kind="Count", task="t", work=work)

    assert seen == [(Job.State.RUNNING, "counting rows", 10, 10)]
    assert (finished.state, finished.result, finished.attempts, finished.step) == (Job.State.DONE, {"rows": 10}, 1,
                                                                                   "finished")
    assert finished.fraction == 1.0


def test_a_failure_is_recorded_and_raised_and_a_finished_job_never_runs_twice():
    job = Job.objects.create(kind="Break", task="t")

    def broken(progress):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_job(job.pk, kind="Break", task="t", work=broken)
    job.refresh_from_db()
    assert (job.state, job.error) == (Job.State.FAILED, "RuntimeError: disk full")

    calls = []
    again = run_job(job.pk, kind="Break", task="t", work=lambda progress: calls.append(1) or {})
    assert calls == [] and again.state == Job.State.FAILED


def test_scheduled_work_gets_a_job_of_its_own():
    job = run_job(None, kind="Nightly", task="t", work=lambda progress: {"ok": True})

    assert (job.kind, job.state, job.result) == ("Nightly", Job.State.DONE, {"ok": True})


def test_id_ranges_cut_the_filtered_rows_in_key_order_without_gaps_or_overlaps():
    jobs = [Job.objects.create(kind="Row", task="t", step=str(n % 3)) for n in range(26)]
    wanted = [job.pk for job in jobs if job.step != "0"]

    ranges = id_ranges(Job.objects.filter(kind="Row").exclude(step="0"), 5)

    assert [n for _, _, n in ranges] == [5, 5, 5, 2]
    covered = [pk for first, last, _ in ranges for pk in wanted if first <= pk <= last]
    assert covered == wanted  # each row in exactly one range, in order
    assert ranges[0][0] == wanted[0] and ranges[-1][1] == wanted[-1]
    assert id_ranges(Job.objects.filter(kind="nothing"), 5) == []
    with pytest.raises(ValueError):
        id_ranges(Job.objects.all(), 0)


def test_a_job_split_into_parts_counts_them_as_they_finish_and_closes_with_the_last(
        queued, django_capture_on_commit_callbacks):
    parts = [Part(key="a", size=3, kwargs={"n": 1}), Part(key="b", size=4, kwargs={"n": 2})]
    with django_capture_on_commit_callbacks(execute=True):
        job = fan_out(kind="Split", task="t", part_task="app.tasks.part", parts=parts, ml=True, extra="x")

    assert queued == [("app.tasks.part", (), {"job_id": job.pk, "part": "a", "size": 3, "n": 1, "extra": "x",
                                              "cluster": "ml"}),
                      ("app.tasks.part", (), {"job_id": job.pk, "part": "b", "size": 4, "n": 2, "extra": "x",
                                              "cluster": "ml"})]
    assert (job.state, job.done, job.total, job.result) == (Job.State.RUNNING, 0, 7, {"parts": 2})

    assert run_part(job.pk, key="b", size=4, work=lambda: {"rows": 40, "note": "slow"}) == {"rows": 40, "note": "slow"}
    job.refresh_from_db()
    assert (job.state, job.done, job.step) == (Job.State.RUNNING, 4, "1 of 2 parts done")

    run_part(job.pk, key="a", size=3, work=lambda: {"rows": 30, "note": "slow"})
    job.refresh_from_db()
    assert (job.state, job.done, job.step, job.result) == (
        Job.State.DONE, 7, "finished", {"parts": 2, "rows": 70, "note": ["slow"]})
    assert job.finished_at is not None

    ran = []
    assert run_part(job.pk, key="a", size=3, work=lambda: ran.append(1) or {}) == {}  # a redelivery
    with django_capture_on_commit_callbacks(execute=True):
        fan_out(kind="Split", task="t", part_task="app.tasks.part", parts=parts, job_id=job.pk)
    job.refresh_from_db()
    assert (ran, len(queued), job.done) == ([], 2, 7)


def test_a_failing_part_fails_the_job_with_its_name_and_an_empty_split_is_done_at_once(
        queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = fan_out(kind="Split", task="t", part_task="p", parts=[Part("a", 1), Part("b", 1)])

    def broken():
        raise OSError("disk full")

    with pytest.raises(OSError):
        run_part(job.pk, key="a", size=1, work=broken)
    run_part(job.pk, key="b", size=1, work=lambda: {"rows": 1})
    job.refresh_from_db()
    assert (job.state, job.error, job.done, job.result) == (
        Job.State.FAILED, "part a: OSError: disk full", 1, {"parts": 2, "failed": ["part a: OSError: disk full"],
                                                             "rows": 1})
    assert job.finished_at is not None

    empty = fan_out(kind="Split", task="t", part_task="p", parts=[])
    assert (empty.state, empty.total, empty.result, len(queued)) == (Job.State.DONE, 0, {"parts": 0}, 2)


def _staff(role, username):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_retrain_from_the_model_registry_queues_training_for_an_administrator_only(
    client, queued, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MODEL_ARTIFACT_DIR = tmp_path
    settings.MODEL_TRAINING_TASKS = {"advisor.recommender": "advisor.tasks.train_recommender_task"}
    trained = registry.register_artifact(name="advisor.recommender", write=lambda f: (f / "w").write_text("1"))
    external = registry.register_artifact(name="embedding.text", write=lambda f: (f / "w").write_text("1"))
    changelist = reverse("admin:bank_modelversion_changelist")
    action = {"action": "retrain_selected", "_selected_action": [trained.pk, external.pk]}

    client.force_login(_staff(COMPLIANCE_OFFICER, "compliance-jobs"))
    with django_capture_on_commit_callbacks(execute=True):
        denied = client.post(changelist, action)
    assert denied.status_code in (200, 302, 403) and Job.objects.count() == 0 and queued == []

    client.force_login(_staff(ADMINISTRATOR, "admin-jobs"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, action, follow=True)

    job = Job.objects.get()
    assert (job.kind, job.requested_by.username) == ("Train advisor.recommender", "admin-jobs")
    assert queued == [("advisor.tasks.train_recommender_task", (), {"job_id": job.pk, "cluster": "ml"})]
    said = [str(m) for m in response.context["messages"]]
    assert "embedding.text is not trained on this platform." in said
    listing = client.get(reverse("admin:bank_job_changelist")).content.decode()
    assert "Train advisor.recommender" in listing and 'http-equiv="refresh"' in listing
