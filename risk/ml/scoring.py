"""The active credit model, loaded once per process (lazily: django-q2 forks workers) and reloaded when another
version becomes active (one indexed query per call notices it). A version whose files no longer match their
sha256 is never loaded."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bank.models import ModelVersion
from bank.registry import active_version, verify
from risk.ml.model import CreditModel
from risk.ml.training import CREDIT_MODEL

logger = logging.getLogger(__name__)


@dataclass
class LoadedCreditModel:
    version: ModelVersion
    model: CreditModel
    reference: dict[str, Any]

    @property
    def feature_days(self) -> int:
        return int(self.version.params.get("feature_days", 90))


_lock = threading.Lock()
_loaded: LoadedCreditModel | None = None


def active_credit_model() -> LoadedCreditModel | None:
    global _loaded
    version = active_version(CREDIT_MODEL)
    if version is None:
        return None
    cached = _loaded
    if cached is not None and cached.version.pk == version.pk:
        return cached
    with _lock:
        if _loaded is None or _loaded.version.pk != version.pk:
            if not verify(version):
                logger.error("%s: artifact missing or sha256 mismatch; not loading it", version.label)
                return None
            folder = Path(version.artifact_path)
            _loaded = LoadedCreditModel(
                version=version, model=CreditModel.load(folder),
                reference=json.loads((folder / "reference.json").read_text(encoding="utf-8")),
            )
        return _loaded


def forget_loaded_model() -> None:
    global _loaded
    with _lock:
        _loaded = None
