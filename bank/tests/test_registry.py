import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError
from django.utils import timezone

from bank import registry
from bank.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def artifact_dir(settings, tmp_path):
    settings.MODEL_ARTIFACT_DIR = tmp_path / "models"
    return settings.MODEL_ARTIFACT_DIR


def _write(text: str):
    def write(folder: Path) -> None:
        (folder / "weights.txt").write_text(text)

    return write


def test_register_writes_artifact_atomically_and_records_sha(artifact_dir):
    version = registry.register_artifact(name="demo.model", write=_write("a"), metrics={"auc": 0.8})

    assert version.version == 1
    assert version.status == ModelVersion.Status.READY
    assert Path(version.artifact_path).parent == artifact_dir / "demo.model"
    assert Path(version.artifact_path).name.startswith("v1-")
    assert (Path(version.artifact_path) / "weights.txt").read_text() == "a"
    assert version.sha256 == registry.sha256_of(Path(version.artifact_path))
    # No scratch folder is left behind.
    assert [p.name for p in (artifact_dir / "demo.model").iterdir()] == [Path(version.artifact_path).name]


def test_failed_write_leaves_no_artifact_and_a_failed_row(artifact_dir):
    def broken(folder: Path) -> None:
        (folder / "weights.txt").write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        registry.register_artifact(name="demo.model", write=broken)

    assert list((artifact_dir / "demo.model").iterdir()) == []
    assert ModelVersion.objects.get(name="demo.model").status == ModelVersion.Status.FAILED


def test_activate_retires_previous_and_rollback_restores_it():
    v1 = registry.activate(registry.register_artifact(name="m", write=_write("1")))
    v2 = registry.activate(registry.register_artifact(name="m", write=_write("2")))

    v1.refresh_from_db()
    assert (v1.status, v2.status) == (ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE)

    restored = registry.rollback("m")

    v2.refresh_from_db()
    assert restored.pk == v1.pk
    assert restored.status == ModelVersion.Status.ACTIVE
    assert v2.status == ModelVersion.Status.RETIRED
    assert registry.active_version("m").pk == v1.pk


def test_tampered_artifact_cannot_become_active():
    version = registry.register_artifact(name="m", write=_write("good"))
    (Path(version.artifact_path) / "weights.txt").write_text("tampered")

    with pytest.raises(registry.RegistryError, match="sha256"):
        registry.activate(version)

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.READY
    assert registry.active_version("m") is None


def test_rollback_without_history_is_refused():
    registry.activate(registry.register_artifact(name="m", write=_write("1")))
    with pytest.raises(registry.RegistryError, match="no previously active"):
        registry.rollback("m")


def test_database_allows_only_one_active_version_per_name():
    ModelVersion.objects.create(name="x", version=1, status=ModelVersion.Status.ACTIVE)
    with pytest.raises(IntegrityError):
        ModelVersion.objects.create(name="x", version=2, status=ModelVersion.Status.ACTIVE)


def test_register_external_is_idempotent(tmp_path):
    folder = tmp_path / "pretrained"
    folder.mkdir()
    (folder / "config.json").write_text("{}")

    first = registry.register_external(name="embedding.text", path=folder)
    again = registry.register_external(name="embedding.text", path=folder)

    assert first.pk == again.pk
    assert again.status == ModelVersion.Status.ACTIVE
    assert ModelVersion.objects.filter(name="embedding.text").count() == 1


def test_two_databases_sharing_an_artifact_folder_never_overwrite_each_other(artifact_dir):
    first = registry.register_artifact(name="shared.model", write=_write("bank"))
    # Another database (a benchmark's) registers its own v1 in the same folder.
    ModelVersion.objects.filter(pk=first.pk).delete()
    second = registry.register_artifact(name="shared.model", write=_write("bench"))

    assert (first.version, second.version) == (1, 1)
    assert first.artifact_path != second.artifact_path
    assert registry.verify(first) and (Path(first.artifact_path) / "weights.txt").read_text() == "bank"


def test_a_version_left_in_training_without_a_scratch_folder_is_failed_by_the_next_registration(artifact_dir):
    # Its writer died after creating the row and before the scratch folder: no file of it exists anywhere, not
    # even the model's folder.
    stuck = ModelVersion.objects.create(name="demo.model", version=1)
    ModelVersion.objects.filter(pk=stuck.pk).update(
        created_at=timezone.now() - registry.ORPHANED_TRAINING_AFTER - timedelta(seconds=1))

    version = registry.register_artifact(name="demo.model", write=_write("a"))

    stuck.refresh_from_db()
    assert stuck.status == ModelVersion.Status.FAILED
    assert stuck.notes == ("Still in training 30 minutes after it was created, and no scratch folder was found: its "
                           "writer stopped before writing any file (or after writing, before registering them).")
    assert (version.version, version.status) == (2, ModelVersion.Status.READY)


def test_the_sweep_leaves_in_training_a_young_version_and_one_whose_scratch_folder_is_being_written(artifact_dir):
    old = timezone.now() - registry.ORPHANED_TRAINING_AFTER - timedelta(minutes=5)
    young = ModelVersion.objects.create(name="demo.model", version=1)
    writing_here = ModelVersion.objects.create(name="demo.model", version=2)
    writing_elsewhere = ModelVersion.objects.create(name="demo.model", version=3)
    ModelVersion.objects.filter(pk__in=[writing_here.pk, writing_elsewhere.pk]).update(created_at=old)
    folder = artifact_dir / "demo.model"
    host = registry._host_tag()
    other_host = "f" * 8 if host != "f" * 8 else "e" * 8
    # A long write in progress in this process (alive), and one on another host (its pid means nothing here).
    (folder / f".v2-0a1b2c3d.{host}-{os.getpid()}.x2").mkdir(parents=True)
    (folder / f".v3-0a1b2c3d.{other_host}-1.x3").mkdir()

    assert registry.sweep_orphaned_scratch("demo.model") == []

    statuses = dict(ModelVersion.objects.filter(pk__in=[young.pk, writing_here.pk, writing_elsewhere.pk])
                    .values_list("version", "status"))
    assert statuses == {1: ModelVersion.Status.TRAINING, 2: ModelVersion.Status.TRAINING,
                        3: ModelVersion.Status.TRAINING}


# --- quality floors ------------------------------------------------------------------------------------


def _below_floor(name: str = "m"):
    return registry.register_artifact(
        name=name, write=_write("weak"),
        metrics={"auc": 0.43, "quality": registry.quality_checks([("auc", 0.428, 0.65), ("ks", 0.5, 0.2)])},
    )


def test_quality_checks_record_each_floor_and_whether_all_passed():
    block = registry.quality_checks([("auc", 0.7512345, 0.65), ("ks", 0.1, 0.2)])

    assert block == {"passed": False, "checks": [
        {"metric": "auc", "value": 0.7512, "floor": 0.65, "passed": True},
        {"metric": "ks", "value": 0.1, "floor": 0.2, "passed": False},
    ]}
    assert registry.quality_checks([("auc", 0.65, 0.65)])["passed"] is True  # the floor itself passes


def test_a_version_below_its_floor_is_refused_and_nothing_changes():
    from bank.models import AuditEvent

    good = registry.activate(registry.register_artifact(name="m", write=_write("1")))
    weak = _below_floor()
    events = AuditEvent.objects.count()

    with pytest.raises(registry.RegistryError, match=r"below its quality floor \(auc 0.428 < 0.65\)"):
        registry.activate(weak)
    with pytest.raises(registry.RegistryError):
        registry.activate(weak, override_reason="   ")  # blank is no reason

    good.refresh_from_db()
    weak.refresh_from_db()
    assert (good.status, weak.status) == (ModelVersion.Status.ACTIVE, ModelVersion.Status.READY)
    assert AuditEvent.objects.count() == events
    assert registry.quality_failures(weak) == ["auc 0.428 < 0.65"]
    assert registry.quality_failures(good) == []  # records no floor: nothing to miss


def test_a_recorded_reason_activates_it_and_the_audit_keeps_the_reason_and_a_rollback_is_never_blocked():
    from bank.models import AuditEvent

    weak = registry.activate(_below_floor(), override_reason="validated on the Q3 holdout by model risk")
    registry.activate(registry.register_artifact(name="m", write=_write("2")))

    event = AuditEvent.objects.filter(action="model.activated", subject=f"model:{weak.label}").get()
    assert event.detail["below_quality_floor"] == ["auc 0.428 < 0.65"]
    assert event.detail["override_reason"] == "validated on the Q3 holdout by model risk"
    assert registry.rollback("m").pk == weak.pk  # it served before: the way back is open
    assert AuditEvent.objects.filter(action="model.activated", subject=f"model:{weak.label}").latest("pk").detail[
        "override_reason"] == "rollback to the previously active version"


def test_activate_model_command_refuses_below_the_floor_and_takes_a_reason():
    from io import StringIO

    from django.core.management import CommandError, call_command

    weak = _below_floor("risk.credit")

    with pytest.raises(CommandError, match="below its quality floor"):
        call_command("activate_model", weak.label)
    weak.refresh_from_db()
    assert weak.status == ModelVersion.Status.READY
    for label in ("risk.credit", "risk.credit@v9", "risk.credit@vx"):
        with pytest.raises(CommandError):
            call_command("activate_model", label)

    out = StringIO()
    call_command("activate_model", weak.label, override_reason="signed off by the CRO", stdout=out)
    weak.refresh_from_db()
    assert weak.status == ModelVersion.Status.ACTIVE
    assert out.getvalue().strip() == (
        "risk.credit@v1 is now active (below its quality floor: auc 0.428 < 0.65; reason recorded)"
    )


def test_the_admin_shows_the_floor_and_its_activate_action_refuses_a_version_below_it(client):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from bank.roles import ADMINISTRATOR
    from customers.tests.factories import UserFactory

    good = registry.activate(registry.register_artifact(
        name="risk.credit", write=_write("1"),
        metrics={"quality": registry.quality_checks([("auc_gbm", 0.78, 0.65)])}))
    weak = _below_floor("risk.credit")
    admin_user = UserFactory(username="admin-floor", is_staff=True)
    admin_user.groups.add(Group.objects.get(name=ADMINISTRATOR))
    client.force_login(admin_user)
    changelist = reverse("admin:bank_modelversion_changelist")

    listing = client.get(changelist).content.decode()
    response = client.post(changelist, {"action": "activate_selected", "_selected_action": [weak.pk]}, follow=True)

    assert "below: auc 0.428 &lt; 0.65" in listing and "passed" in listing
    said = [str(m) for m in response.context["messages"]]
    assert len(said) == 1 and said[0].startswith("Not activated: risk.credit@v2 is below its quality floor")
    good.refresh_from_db()
    weak.refresh_from_db()
    assert (good.status, weak.status) == (ModelVersion.Status.ACTIVE, ModelVersion.Status.READY)
