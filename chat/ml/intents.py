"""Intent recognition for the assistant: Banking77's 77 intents plus the assistant's own, in English and Chinese.

The model: each text is embedded by both encoders the platform has -- the configured text model (MiniLM,
English) and the multilingual one (multilingual-e5-small, `query: ` side) -- the two unit vectors are
concatenated, and a multinomial logistic regression reads the intent. MiniLM carries English (frozen MiniLM +
logistic regression is ~93 % on Banking77); e5 carries Chinese and lets the English training data teach the
Chinese side too (an English-trained classifier on e5 vectors already recognises most Chinese questions, and
the Chinese examples in chat/data close the gap). Training is minutes on a CPU, so the CPU path is real, and
probabilities come out calibrated enough to ask instead of guess when the best one is low.

Artifacts are plain arrays and JSON (no pickle): `coef.npy`, `intercept.npy`, `meta.json`.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bank.embeddings import multilingual_embedder, text_embedder

Progress = Callable[[str, int], Callable[[int], None]] | None

# The intents the assistant acts on itself; everything else is a Banking77 question answered from the
# knowledge base.
ACTION_INTENTS = (
    "check_balance", "recent_transactions", "freeze_card", "unfreeze_card", "transfer_own_accounts",
    "product_advice", "talk_to_human", "greeting", "goodbye", "out_of_scope",
)
EMBED_BATCH = 256


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    source: str  # which file it came from (for the training-data summary)


class IntentDataError(ValueError):
    """A training or evaluation file is missing, empty or malformed (the message names file and line)."""


def read_examples(path: Path, *, source: str | None = None) -> list[Example]:
    """`text,category` rows of a CSV file. Raises IntentDataError naming the file and line of a bad row."""
    if not path.exists():
        raise IntentDataError(f"{path}: no such file")
    examples = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "category"} - set(reader.fieldnames or [])
        if missing:
            raise IntentDataError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}; expected text,category")
        for line, row in enumerate(reader, start=2):
            text, intent = (row.get("text") or "").strip(), (row.get("category") or "").strip()
            if not text or not intent:
                raise IntentDataError(f"{path}:{line}: empty text or category")
            examples.append(Example(text=text, intent=intent, source=source or path.name))
    if not examples:
        raise IntentDataError(f"{path}: no rows")
    return examples


def encode(texts: Sequence[str], *, progress: Progress = None) -> np.ndarray:
    """(n, d_text + d_multilingual) float32 features: both encoders' unit vectors side by side."""
    texts = list(texts)
    text_model, multilingual = text_embedder(), multilingual_embedder()
    bar = progress("embedding texts", len(texts)) if progress is not None else None
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        chunk = texts[start:start + EMBED_BATCH]
        english = text_model.embed_documents(chunk)
        # e5 is trained with "query: " for short questions: intents are read from questions.
        e5 = multilingual.embed_queries(chunk)
        parts.append(np.hstack([english, e5]).astype(np.float32))
        if bar is not None:
            bar(len(chunk))
    if not parts:
        return np.zeros((0, 0), np.float32)
    return np.vstack(parts)


@dataclass
class IntentPrediction:
    intent: str
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # the next best, most likely first


class IntentModel:
    """Multinomial logistic regression over the two encoders' vectors."""

    def __init__(self, *, classes: list[str], coef: np.ndarray, intercept: np.ndarray, meta: dict[str, Any]):
        self.classes = classes
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.meta = meta

    @classmethod
    def fit(cls, features: np.ndarray, labels: Sequence[str], *, c: float = 8.0, seed: int = 0) -> IntentModel:
        from sklearn.linear_model import LogisticRegression

        # C from a sweep on a held-out part of Banking77 train (2, 4, 8, 16, 32: 8 best, 16 within noise).
        classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        classifier.fit(features, list(labels))
        return cls(
            classes=[str(c) for c in classifier.classes_], coef=classifier.coef_, intercept=classifier.intercept_,
            meta={"C": c, "features": int(features.shape[1]), "examples": int(features.shape[0])},
        )

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        logits = features @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, features: np.ndarray, *, alternatives: int = 2) -> list[IntentPrediction]:
        probabilities = self.probabilities(features)
        out = []
        for row in probabilities:
            order = np.argsort(-row)[: 1 + alternatives]
            out.append(IntentPrediction(
                intent=self.classes[order[0]], confidence=float(row[order[0]]),
                alternatives=[(self.classes[j], float(row[j])) for j in order[1:]],
            ))
        return out

    def save(self, folder: Path) -> None:
        np.save(folder / "coef.npy", self.coef)
        np.save(folder / "intercept.npy", self.intercept)
        (folder / "meta.json").write_text(json.dumps({**self.meta, "classes": self.classes}, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> IntentModel:
        meta = json.loads((folder / "meta.json").read_text())
        classes = meta.pop("classes")
        return cls(classes=classes, coef=np.load(folder / "coef.npy"), intercept=np.load(folder / "intercept.npy"),
                   meta=meta)


@dataclass
class IntentReport:
    accuracy: float
    macro_f1: float
    n: int
    seconds: float
    # Share of texts answered at once (confidence ≥ threshold) and how often those were right.
    coverage: float = 1.0
    accuracy_answered: float = 0.0
    confusions: list[tuple[str, str, int]] = field(default_factory=list)  # (true, predicted, count), worst first

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4), "n": self.n,
                "coverage": round(self.coverage, 4), "accuracy_answered": round(self.accuracy_answered, 4)}


def evaluate(model: IntentModel, examples: Sequence[Example], *, threshold: float = 0.0,
             features: np.ndarray | None = None, progress: Progress = None) -> IntentReport:
    """Accuracy and macro-F1 of `model` on `examples` (macro over the intents present in `examples`)."""
    from sklearn.metrics import f1_score

    started = time.perf_counter()
    if features is None:
        features = encode([e.text for e in examples], progress=progress)
    predictions = model.predict(features, alternatives=0)
    truth = [e.intent for e in examples]
    predicted = [p.intent for p in predictions]
    right = np.array([t == p for t, p in zip(truth, predicted, strict=True)])
    answered = np.array([p.confidence >= threshold for p in predictions])
    confusions: dict[tuple[str, str], int] = {}
    for t, p in zip(truth, predicted, strict=True):
        if t != p:
            confusions[(t, p)] = confusions.get((t, p), 0) + 1
    return IntentReport(
        accuracy=float(right.mean()),
        macro_f1=float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0)),
        n=len(examples),
        seconds=round(time.perf_counter() - started, 2),
        coverage=float(answered.mean()),
        accuracy_answered=float(right[answered].mean()) if answered.any() else 0.0,
        confusions=sorted(((t, p, n) for (t, p), n in confusions.items()), key=lambda x: -x[2])[:20],
    )
