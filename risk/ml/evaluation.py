"""Evaluating credit models: discrimination (AUC, KS), calibration (Brier, ECE) and fairness (disparate impact).

`cross_validate(table, y, folds=5)` fits both models of risk.ml.model on each training split (stratified,
shuffled with the seed) and measures them on the held-out fold; every row is predicted exactly once, out of
fold, and those predictions are what the fairness report looks at.

Fairness: the decision is "approve" for the rows with the lowest PD, as many as the data's share of
non-defaults (a bank approving at its historical good rate). For each protected attribute the approval rate of
each group is divided by the highest group's rate; a ratio under 0.8 (the four-fifths rule) is flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold

from risk.ml.model import CreditModel
from risk.ml.tabular import CreditDataError, Table

ECE_BINS = 10
FOUR_FIFTHS = 0.8
AGE_BANDS = [(0, 25, "< 25"), (25, 35, "25–34"), (35, 45, "35–44"), (45, 55, "45–54"), (55, 65, "55–64"),
             (65, 200, "65+")]
MIN_GROUP = 20  # groups smaller than this are reported but never flagged: their rates are noise


def auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p))


def ks(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the score distributions of defaults and non-defaults."""
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def ece(y: np.ndarray, p: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """Expected calibration error: |mean PD − default rate| per equal-width PD bin, weighted by the bin's rows."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        rows = idx == b
        if rows.any():
            total += rows.mean() * abs(float(p[rows].mean()) - float(y[rows].mean()))
    return float(total)


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {"auc": round(auc(y, p), 4), "ks": round(ks(y, p), 4), "brier": round(brier(y, p), 4),
            "ece": round(ece(y, p), 4)}


def _mean(folds: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(float(np.mean([f[k] for f in folds])), 4) for k in ("auc", "ks", "brier", "ece")}


@dataclass
class CrossValidation:
    models: dict[str, dict[str, Any]]  # {"gbm": {"auc": mean, ..., "folds": [...]}, "scorecard": {...}}
    oof: dict[str, np.ndarray]  # out-of-fold PD per model
    y: np.ndarray


def cross_validate(
    table: Table, y: np.ndarray, *, folds: int = 5, seed: int = 0, progress: Any = None
) -> CrossValidation:
    if folds < 2:
        raise CreditDataError("--folds must be at least 2")
    if int(y.sum()) < folds or int((1 - y).sum()) < folds:
        raise CreditDataError(f"too few defaults or non-defaults for {folds} folds")
    oof = {"gbm": np.zeros(len(y)), "scorecard": np.zeros(len(y))}
    per_fold: dict[str, list[dict[str, float]]] = {"gbm": [], "scorecard": []}
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    advance = progress("Cross-validating the credit models", folds) if progress else None
    for fold, (train, test) in enumerate(split.split(np.zeros(len(y)), y), start=1):
        model = CreditModel.fit(table.take(train), y[train], seed=seed)
        scored = model.score(table.take(test))
        for name, p in (("gbm", scored.pd_gbm), ("scorecard", scored.pd_scorecard)):
            oof[name][test] = p
            per_fold[name].append({"fold": fold, **metrics(y[test], p)})
        if advance:
            advance(1)
    models = {name: {**_mean(f), "folds": f} for name, f in per_fold.items()}
    return CrossValidation(models=models, oof=oof, y=y)


# --- fairness ------------------------------------------------------------------------------------------

def age_band(age: float) -> str:
    if np.isnan(age):
        return "(missing)"
    return next(label for lo, hi, label in AGE_BANDS if lo <= age < hi)


def protected_groups(table: Table, column: str) -> np.ndarray:
    """The group of each row for a protected attribute: age bands for a numeric age column, the text before
    " : " for a categorical column like German Credit's "personal_status_and_sex" ("female : divorced/…"
    → "female"), the value itself otherwise."""
    values = table.column(column)
    if column in table.numeric:
        if "age" in column.lower():
            return np.array([age_band(float(v)) for v in values], dtype=object)
        edges = np.nanquantile(values, [0.25, 0.5, 0.75])
        return np.array([f"q{int(np.searchsorted(edges, v)) + 1}" if not np.isnan(v) else "(missing)"
                         for v in values], dtype=object)
    return np.array([re.split(r"\s+:\s+", str(v), maxsplit=1)[0] or "(missing)" for v in values], dtype=object)


def guess_protected(table: Table) -> list[str]:
    """Columns that look like age or sex/gender (used when the caller names none)."""
    return [c for c in table.columns if re.search(r"(^|_)(age|sex|gender)(_|$)", c.lower())]


def approvals(pd: np.ndarray, *, approve_share: float) -> np.ndarray:
    """Approve the `approve_share` of rows with the lowest PD (ties broken by position, deterministically)."""
    order = np.argsort(pd, kind="stable")
    approved = np.zeros(len(pd), dtype=bool)
    approved[order[: int(round(approve_share * len(pd)))]] = True
    return approved


def disparate_impact(groups: np.ndarray, approved: np.ndarray, pd: np.ndarray) -> dict[str, Any]:
    """Approval rate, mean PD and the ratio to the most-approved group, per group; flags under FOUR_FIFTHS."""
    names = sorted(set(groups.tolist()))
    rows: dict[str, dict[str, Any]] = {}
    for g in names:
        mask = groups == g
        rows[g] = {"n": int(mask.sum()), "approval_rate": round(float(approved[mask].mean()), 4),
                   "mean_pd": round(float(pd[mask].mean()), 4)}
    eligible = [r["approval_rate"] for r in rows.values() if r["n"] >= MIN_GROUP]
    best = max(eligible) if eligible else max(r["approval_rate"] for r in rows.values())
    flagged = []
    for g, r in rows.items():
        r["ratio"] = round(r["approval_rate"] / best, 4) if best > 0 else None
        r["flag"] = bool(r["n"] >= MIN_GROUP and r["ratio"] is not None and r["ratio"] < FOUR_FIFTHS)
        if r["flag"]:
            flagged.append(g)
    reference = next((g for g, r in rows.items() if r["n"] >= MIN_GROUP and r["approval_rate"] == best), None)
    return {"reference_group": reference, "groups": rows, "flagged": flagged,
            "min_ratio": min((r["ratio"] for r in rows.values() if r["n"] >= MIN_GROUP and r["ratio"] is not None),
                             default=None)}


def fairness_report(
    *, groups_by_attribute: dict[str, np.ndarray], pd_by_model: dict[str, np.ndarray], approve_share: float
) -> dict[str, Any]:
    report: dict[str, Any] = {"decision": f"approve the {approve_share:.0%} of rows with the lowest PD",
                              "threshold": FOUR_FIFTHS, "models": {}}
    for model, pd in pd_by_model.items():
        approved = approvals(pd, approve_share=approve_share)
        report["models"][model] = {
            attribute: disparate_impact(groups, approved, pd) for attribute, groups in groups_by_attribute.items()
        }
    return report
