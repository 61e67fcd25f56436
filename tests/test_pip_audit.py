"""The dependency-audit wrapper (.ci/pip_audit.py): what fails the build, and what only warns (loudly)."""

import importlib.util
import socket
import urllib.error
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("pip_audit_wrapper", Path(__file__).parents[1] / ".ci" / "pip_audit.py")
wrapper = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wrapper)


def test_a_vulnerability_and_an_unexplained_skip_fail_but_known_local_packages_do_not():
    report = {"dependencies": [
        {"name": "django", "version": "5.2.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["5.2.1"]}]},
        {"name": "numpy", "version": "2.0.0", "vulns": []},
        {"name": "torch", "skip_reason": "Dependency not found on PyPI and could not be audited: torch (2.13.0+cpu)"},
        {"name": "bank-platform", "skip_reason": "distribution marked as editable"},
        {"name": "sqlparse", "version": "0.5", "skip_reason": "Dependency not found on PyPI"},
    ]}

    vulnerable, unaudited, audited = wrapper.judge(report)

    assert vulnerable == ["django 5.2.0: PYSEC-1 (fixed in 5.2.1)"]
    assert unaudited == ["sqlparse 0.5: Dependency not found on PyPI"]
    assert audited == 2


def test_only_a_network_failure_counts_as_unreachable():
    assert wrapper._network_failure(urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))) == (
        "gaierror: [Errno -2] Name or service not known"
    )
    assert wrapper._network_failure(TimeoutError("timed out")) == "TimeoutError: timed out"
    assert wrapper._network_failure(urllib.error.HTTPError("https://pypi.org", 503, "down", {}, None)) is None
    assert wrapper._network_failure(urllib.error.URLError("unknown url type: htps")) is None


@pytest.mark.parametrize(("required", "status"), [(None, 0), ("1", 1)])
def test_no_reachable_service_is_a_loud_pass_unless_required(monkeypatch, capsys, required, status):
    def unreachable():
        raise wrapper.Unreachable("pypi.org: gaierror: [Errno -2] Name or service not known")

    monkeypatch.setattr(wrapper, "probe_pypi", unreachable)
    monkeypatch.setattr(wrapper, "probe_osv", unreachable)
    if required:
        monkeypatch.setenv("PIP_AUDIT_REQUIRED", required)
    else:
        monkeypatch.delenv("PIP_AUDIT_REQUIRED", raising=False)

    assert wrapper.main() == status
    assert "DEPENDENCY AUDIT DID NOT RUN" in capsys.readouterr().err
