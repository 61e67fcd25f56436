"""The text embedding model on ONNX Runtime: the CPU path for short texts.

On a CPU, a chat message or a search query is a batch of one text of 10-20 tokens, and PyTorch spends most of
its time in the 37 small matrix products of MiniLM's forward pass (`addmm` on a 13 x 384 input: ~220 us each on one
thread). ONNX Runtime's kernels run the same graph 2.2-2.5x faster on one thread, with the same vectors (min cosine
0.9999998 to PyTorch's), and batches 1.4-1.9x faster (benchmarks/query_embed.py).

The graph is exported once from the model's own weights with PyTorch's exporter (`torch.onnx.export`, the
torch.export-based one) and kept under MODEL_ARTIFACT_DIR/onnx/<the weights' sha256>-<max length>/, written
atomically. An export is checked against PyTorch on probe texts (one alone, a padded batch, one at the model's
longest length) before it is kept; one that disagrees is thrown away and the caller stays on PyTorch. Every later
process (web workers, django-q2 workers) only loads the file. A GPU keeps PyTorch (bf16, large batches).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bank.registry import RegistryError, _atomic_dir, artifact_root, sha256_of

logger = logging.getLogger(__name__)

GRAPH_FILE = "model.onnx"
# Pooled vectors from ONNX Runtime and PyTorch differ by float rounding only (measured: under 1e-6); anything
# larger means the exported graph is not the model.
MAX_DIFFERENCE = 1e-4
PROBE_TEXTS = (
    "How do I activate my new card?",
    "I think someone used my card without my permission yesterday, what should I do?",
    "exchange rate",
)
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class ExportError(Exception):
    """The model could not be exported to ONNX, or its export does not give the model's vectors."""


def export_folder(model_path: Path, max_length: int) -> Path:
    """Where the export of these weights lives: keyed by the model folder's sha256 and the longest input."""
    return artifact_root() / "onnx" / f"{sha256_of(model_path)[:16]}-{max_length}"


def mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Unit vectors from token states: the mean over real tokens (as sentence-transformers pools), L2-normalised."""
    mask = attention_mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32) * mask).sum(axis=1)
    pooled = summed / np.maximum(mask.sum(axis=1), 1e-9)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return np.asarray(pooled / norms, dtype=np.float32)


class OnnxEncoder:
    """An ONNX Runtime session over the exported graph: token ids in, token states out."""

    def __init__(self, graph: Path, *, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        self.session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: np.asarray(batch[name], dtype=np.int64) for name in self.input_names}
        hidden: np.ndarray = self.session.run(None, feed)[0]
        return hidden


def load_or_export(model_path: Path, *, tokenizer: Any, max_length: int, threads: int) -> OnnxEncoder:
    """The model's ONNX encoder: the kept export, or a new one made, checked and kept now (about 10 s for MiniLM).

    Raises ExportError when the model cannot be exported, its export disagrees with PyTorch or a kept export does
    not load (damaged files), ImportError when onnxruntime (or, for an export, onnxscript) is not installed.
    """
    folder = export_folder(model_path, max_length)
    if not (folder / GRAPH_FILE).exists():
        _export(model_path, folder, tokenizer=tokenizer, max_length=max_length)
    try:
        return OnnxEncoder(folder / GRAPH_FILE, threads=threads)
    except ImportError:
        raise
    except Exception as error:  # onnxruntime's own exception types
        raise ExportError(f"the ONNX export in {folder} does not load ({_first_line(error)}); remove the folder and "
                          "the next process exports the model again") from error


def _first_line(error: BaseException) -> str:
    return next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)


def _probe_batches(tokenizer: Any, max_length: int) -> list[dict[str, np.ndarray]]:
    longest = " ".join(["savings"] * (max_length + 8))  # truncated to exactly max_length tokens
    batches = [[PROBE_TEXTS[0]], list(PROBE_TEXTS), [longest]]
    return [dict(tokenizer(texts, truncation=True, max_length=max_length, padding="longest", return_tensors="np"))
            for texts in batches]


@contextmanager
def _exporter_quiet() -> Iterator[None]:
    """The exporter logs every graph rewrite at INFO and warns about optional packages (torchvision); one line of
    ours says what happens, and a failure still raises."""
    loggers = [logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx")]
    levels = [each.level for each in loggers]
    try:
        for each in loggers:
            each.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


def _export(model_path: Path, folder: Path, *, tokenizer: Any, max_length: int) -> None:
    import onnxscript  # noqa: F401  # the exporter needs it; fail here with a clear ImportError, not deep inside
    import torch
    from transformers import AutoModel

    logger.info("exporting %s to ONNX (once; kept in %s)", model_path, folder)
    # A local folder (the packaged MiniLM or EMBEDDING_MODEL_PATH), never the Hub: local_files_only.
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()  # nosec B615  # local
    probes = _probe_batches(tokenizer, max_length)
    names = [name for name in INPUT_NAMES if name in probes[1]]

    class _TokenStates(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
            inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            states: torch.Tensor = self.model(**{k: v for k, v in inputs.items() if v is not None}).last_hidden_state
            return states

    example = tuple(torch.from_numpy(probes[1][name]) for name in names)
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length", max=max_length)
    try:
        with _atomic_dir(folder) as scratch, _exporter_quiet():
            torch.onnx.export(
                _TokenStates(model).eval(), example, str(scratch / GRAPH_FILE), input_names=names,
                output_names=["token_states"], dynamic_shapes={name: {0: batch, 1: length} for name in names},
                dynamo=True, external_data=True, verbose=False,
            )
            encoder = OnnxEncoder(scratch / GRAPH_FILE, threads=1)
            with torch.inference_mode():
                for probe in probes:
                    expected = model(**{name: torch.from_numpy(probe[name]) for name in names}).last_hidden_state
                    want = mean_pool(expected.numpy(), probe["attention_mask"])
                    got = mean_pool(encoder(probe), probe["attention_mask"])
                    difference = float(np.abs(got - want).max())
                    if not difference <= MAX_DIFFERENCE:
                        raise ExportError(f"the ONNX export of {model_path} differs from the model by {difference:.2g}")
    except RegistryError as error:
        # Another process kept its export first; theirs is the same graph, so use it. A folder without the graph
        # (emptied by hand) is not one: say so rather than guess.
        if not (folder / GRAPH_FILE).exists():
            raise ExportError(f"{folder} exists without {GRAPH_FILE}; remove it to export again") from error
    except ExportError:
        raise
    except Exception as error:  # the exporter raises many kinds; all mean "this model does not export"
        raise ExportError(f"could not export {model_path} to ONNX: {_first_line(error)}") from error
