"""gunicorn's settings file (gunicorn reads ./gunicorn.conf.py by itself): the request metrics of all workers.

Every other setting stays on the command line (docs/runbook.md). With several workers, each keeps its own
request counters; prometheus_client's multiprocess mode makes each write them to files in
PROMETHEUS_MULTIPROC_DIR, and whichever worker answers /metrics sums them all (bank.observability.metrics). The
folder must be empty when gunicorn starts: an operator's folder is emptied here, and without one a private
temporary folder is made and removed on exit. Set before any worker is forked, so all of them inherit it.
See https://prometheus.github.io/client_python/multiprocess/.
"""

from __future__ import annotations

import os as _os
import shutil as _shutil
import tempfile as _tempfile
from pathlib import Path as _Path
from typing import Any

_created: str | None = None
if not _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _created = _tempfile.mkdtemp(prefix="bank-prometheus-")
    _os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created


def on_starting(server: Any) -> None:
    folder = _Path(_os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # a previous run's counters
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _created:
        _shutil.rmtree(_created, ignore_errors=True)
