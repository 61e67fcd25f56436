"""The GPU benchmark kit (benchmarks/gpu/pack.sh) knows every runtime dependency: carried as a wheel, already in
the device image, or deliberately left behind. A dependency added to pyproject.toml and to none of them would
make the kit fail on the lent machine, where a session's few device minutes would go on finding out why."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _names(text: str) -> set[str]:
    return {re.sub(r"[-_.]+", "-", name).lower() for name in text.split()}


def _kit_lists() -> dict[str, set[str]]:
    script = (ROOT / "benchmarks" / "gpu" / "pack.sh").read_text()
    return {name: _names(value) for name, value in re.findall(r'^([A-Z_]+)="([^"]*)"', script, re.MULTILINE)}


def test_every_runtime_dependency_is_carried_present_or_left_behind_on_purpose():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    dependencies = {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0]).lower()
                    for spec in declared}
    kit = _kit_lists()

    placed = kit["PACKAGES"] | kit["DEVICE_HAS"] | kit["NOT_CARRIED"]
    assert dependencies - placed == set()
    assert not (kit["PACKAGES"] & kit["DEVICE_HAS"]) and not (kit["PACKAGES"] & kit["NOT_CARRIED"])
