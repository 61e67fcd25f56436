"""Reading one message's intent with the active `chat.intents` version: the only way the assistant reaches it.

Loaded lazily, once per process (django-q2 forks workers: never at import), and reloaded when another
version becomes active (one indexed query per call notices it). A version whose files do not match their
sha256 is never loaded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bank.models import ModelVersion
from bank.registry import active_version, verify
from chat.ml.intents import IntentModel, IntentPrediction, encode
from chat.ml.training import MODEL_NAME


class IntentModelUnavailable(Exception):
    """No active intent model, or its files do not verify."""


@dataclass
class Classified:
    prediction: IntentPrediction
    model_version: ModelVersion


_lock = threading.Lock()
_loaded: tuple[int, ModelVersion, IntentModel] | None = None


def active_model() -> tuple[ModelVersion, IntentModel]:
    global _loaded
    version = active_version(MODEL_NAME)
    if version is None:
        raise IntentModelUnavailable(f"no active {MODEL_NAME} version: run `manage.py train_intents`")
    cached = _loaded
    if cached is not None and cached[0] == version.pk:
        return cached[1], cached[2]
    with _lock:
        if _loaded is None or _loaded[0] != version.pk:
            if not verify(version):
                raise IntentModelUnavailable(f"{version.label}: artifact missing or sha256 mismatch")
            _loaded = (version.pk, version, IntentModel.load(Path(version.artifact_path)))
        return _loaded[1], _loaded[2]


def classify(text: str) -> Classified:
    """The intent of `text` with its probability and the next two. Raises IntentModelUnavailable."""
    version, model = active_model()
    features = encode([text], multilingual_for_latin=model.latin_reads_multilingual)
    return Classified(prediction=model.predict(features)[0], model_version=version)


def forget_loaded_model() -> None:
    global _loaded
    with _lock:
        _loaded = None
