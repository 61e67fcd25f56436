"""The text model on ONNX Runtime (bank.onnx_encoder): the same vectors as PyTorch, exported once and reused, and
PyTorch whenever an export cannot be trusted."""

import csv
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from bank import onnx_encoder
from bank.embeddings import TextEmbedder, _resolve_runtime, text_embedder, text_model_path
from bank.onnx_encoder import GRAPH_FILE, ExportError, export_folder

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def kept_export(tmp_path_factory):
    """One real export for the module: the folder it was kept in and the artifact root that holds it."""
    from django.conf import settings

    root = tmp_path_factory.mktemp("onnx-models")
    previous, settings.MODEL_ARTIFACT_DIR = settings.MODEL_ARTIFACT_DIR, root
    try:
        embedder = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")
        assert embedder.runtime == "onnx"
        yield root, export_folder(text_model_path(), embedder.max_length)
    finally:
        settings.MODEL_ARTIFACT_DIR = previous


@pytest.fixture
def in_kept_root(kept_export, settings):
    settings.MODEL_ARTIFACT_DIR = kept_export[0]
    return kept_export[1]


def _torch_embedder(settings):
    settings.EMBEDDING_RUNTIME = "torch"
    embedder = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")
    settings.EMBEDDING_RUNTIME = "auto"
    assert embedder.runtime == "torch" and embedder.onnx is None
    return embedder


def _copy_the_kept_graph(source: Path):
    """A stand-in for torch.onnx.export that writes the graph the module's real export kept (a second export of
    the same weights would take ~10 s and give the same file)."""

    def export(module, args, path, **kwargs):
        for file in source.iterdir():
            shutil.copy(file, Path(path).parent / file.name)

    return export


def test_onnx_runtime_gives_pytorchs_vectors_on_banking77(in_kept_root, settings):
    with (Path(settings.BANKING77_DIR) / "test.csv").open() as handle:
        texts = [row["text"] for row in csv.DictReader(handle)][:200]
    texts += ["Pay abroad with no foreign exchange fee. " * 60, "?"]  # truncated at 256 tokens; one token
    onnx = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")
    torch = _torch_embedder(settings)

    ours, reference = onnx.embed_documents(texts), torch.embed_documents(texts)

    assert onnx.runtime == "onnx" and onnx.model is None  # PyTorch's copy of the weights is never loaded
    assert ours.shape == reference.shape == (202, 384) and ours.dtype == np.float32
    assert float(np.abs(ours - reference).max()) < 1e-5
    assert float((ours * reference).sum(axis=1).min()) > 0.99999
    # A query alone (no padding) and inside a padded batch give the same vector.
    assert np.abs(onnx.embed_query(texts[3]) - ours[3]).max() < 1e-5
    # The same model either way: the runtime is not part of what a stored vector records.
    assert onnx.params == torch.params
    settings.ML_CPU_THREADS = 1
    assert (onnx.runtime_label, torch.runtime_label) == ("ONNX Runtime (cpu, 1 thread)", "PyTorch (cpu, float32)")


def test_the_production_embedder_runs_on_onnx_runtime_on_a_cpu():
    assert text_embedder().runtime == "onnx"


def test_a_kept_export_is_loaded_not_made_again(in_kept_root, monkeypatch):
    import torch

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(torch.onnx, "export", no_export)

    embedder = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")

    assert embedder.runtime == "onnx"
    assert sorted(p.name for p in in_kept_root.iterdir()) == [GRAPH_FILE, f"{GRAPH_FILE}.data"]


def test_an_export_that_disagrees_with_pytorch_is_thrown_away(kept_export, settings, monkeypatch, caplog):
    import torch

    monkeypatch.setattr(torch.onnx, "export", _copy_the_kept_graph(kept_export[1]))
    monkeypatch.setattr(onnx_encoder, "MAX_DIFFERENCE", -1.0)  # no difference, not even none, is small enough

    with caplog.at_level(logging.WARNING, logger="bank.embeddings"):
        embedder = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")

    assert embedder.runtime == "torch" and embedder.onnx is None and embedder.model is not None
    assert "differs from the model" in caplog.text
    onnx_root = Path(settings.MODEL_ARTIFACT_DIR) / "onnx"
    assert [p for p in onnx_root.rglob("*") if p.is_file()] == []  # nothing kept, no scratch left behind
    assert embedder.embed_documents(["card"]).shape == (1, 384)


def test_a_model_that_does_not_export_falls_back_to_pytorch(settings, monkeypatch, caplog):
    import torch

    def broken(*args, **kwargs):
        raise RuntimeError("Failed to export the model with torch.export.\nmany more lines")

    monkeypatch.setattr(torch.onnx, "export", broken)

    with caplog.at_level(logging.WARNING, logger="bank.embeddings"):
        embedder = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")

    assert embedder.runtime == "torch"
    assert "could not export" in caplog.text and "many more lines" not in caplog.text


def test_asking_for_onnx_explicitly_raises_instead_of_falling_back(settings, monkeypatch):
    import torch

    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no")))
    settings.EMBEDDING_RUNTIME = "onnx"

    with pytest.raises(ExportError, match="could not export"):
        TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")


def test_when_another_process_kept_its_export_first_that_one_is_used(kept_export, settings, monkeypatch):
    import torch

    copy = _copy_the_kept_graph(kept_export[1])
    final = export_folder(text_model_path(), 256)

    def export_while_another_process_finishes(module, args, path, **kwargs):
        copy(module, args, path)
        final.mkdir(parents=True)  # the other process renames its folder into place first
        copy(module, args, final / GRAPH_FILE)

    monkeypatch.setattr(torch.onnx, "export", export_while_another_process_finishes)

    embedder = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")

    assert embedder.runtime == "onnx"
    assert [p.name for p in final.parent.iterdir()] == [final.name]  # our scratch copy is gone


def test_a_damaged_kept_export_falls_back_to_pytorch_and_says_how_to_repair_it(kept_export, settings, caplog):
    final = export_folder(text_model_path(), 256)
    final.mkdir(parents=True)
    for file in kept_export[1].iterdir():
        (final / file.name).write_bytes(file.read_bytes()[:4096])  # cut short, as by a full disk

    with caplog.at_level(logging.WARNING, logger="bank.embeddings"):
        embedder = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")

    assert embedder.runtime == "torch" and embedder.embed_documents(["card"]).shape == (1, 384)
    assert "does not load" in caplog.text and "remove the folder" in caplog.text


def test_a_kept_folder_without_its_graph_falls_back_to_pytorch(settings, caplog):
    export_folder(text_model_path(), 256).mkdir(parents=True)  # emptied by hand

    with caplog.at_level(logging.WARNING, logger="bank.embeddings"):
        embedder = TextEmbedder(path=text_model_path(), batch_size=16, device="cpu")

    assert embedder.runtime == "torch"
    assert "exists without model.onnx" in caplog.text


@pytest.mark.parametrize(
    ("wanted", "device", "runtime"),
    [("auto", "cpu", "onnx"), ("onnx", "cpu", "onnx"), ("torch", "cpu", "torch"), ("auto", "cuda", "torch"),
     ("torch", "cuda", "torch"), ("AUTO", "cpu", "onnx")],
)
def test_the_runtime_follows_the_setting_and_the_device(settings, wanted, device, runtime):
    settings.EMBEDDING_RUNTIME = wanted
    assert _resolve_runtime(device) == runtime


def test_a_wrong_runtime_setting_is_refused(settings):
    settings.EMBEDDING_RUNTIME = "tensorrt"
    with pytest.raises(ValueError, match="auto, onnx or torch"):
        _resolve_runtime("cpu")
    settings.EMBEDDING_RUNTIME = "onnx"
    with pytest.raises(ValueError, match="runs on the CPU"):
        _resolve_runtime("cuda")
