"""gunicorn.conf.py: each web worker loads the embedding models as it starts, and a failure to does not stop it."""

import runpy
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


@pytest.fixture
def conf(monkeypatch, tmp_path):
    # Loading the file sets these when unset; set here, monkeypatch puts the test process's own values back.
    for name in ("ML_CPU_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("WEB_WARM_MODELS", raising=False)
    return runpy.run_path(str(CONF))


def _worker():
    return SimpleNamespace(log=mock.Mock())


def test_a_worker_loads_both_embedders_as_it_starts(conf):
    with mock.patch("bank.embeddings.text_embedder") as text, \
            mock.patch("bank.embeddings.multilingual_embedder") as multilingual:
        conf["post_worker_init"](_worker())
    text.assert_called_once_with()
    multilingual.assert_called_once_with()


def test_web_warm_models_0_leaves_them_to_first_use(conf, monkeypatch):
    monkeypatch.setenv("WEB_WARM_MODELS", "0")
    with mock.patch("bank.embeddings.text_embedder") as text:
        conf["post_worker_init"](_worker())
    text.assert_not_called()


def test_a_model_that_fails_to_load_is_logged_and_the_worker_serves_anyway(conf):
    worker = _worker()
    with mock.patch("bank.embeddings.text_embedder", side_effect=OSError("no model folder")):
        conf["post_worker_init"](worker)  # no exception: gunicorn would otherwise stop booting workers
    worker.log.exception.assert_called_once()
