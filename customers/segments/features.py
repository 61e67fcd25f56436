"""The feature matrix segments are found in: pure functions, no database.

A customer is described by their latest profile snapshot (`ProfileSnapshot.features`, see `customers.profiles`)
plus their age on the snapshot's day (age, not "today", so that re-running on unchanged data gives the same
matrix). Money and counts are log-scaled (a salary of ¥80,000 is not 8× as different from ¥10,000 as ¥10,000 is
from ¥1,250), rates are clipped to a sane range, then every column is standardised: each feature weighs the same
and a centroid's coordinates read directly as z-scores against the whole population.

Each feature carries the words used to describe a segment that is high or low on it (`customers.segments.describe`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    transform: str  # "log" (log1p of a non-negative amount), "clip", "none"
    unit: str  # how a value reads: "years", "money", "share", "count", "flag"
    high_en: str
    low_en: str
    high_zh: str
    low_zh: str
    lower: float = -math.inf
    upper: float = math.inf
    # Features of one theme (debt and card use, say) move together; a segment's name takes one of each theme.
    theme: str = ""


def _share(name: str, en: str, zh: str) -> FeatureSpec:
    return FeatureSpec(f"spend_share_{name}", "none", "share", f"much spent on {en}", f"little spent on {en}",
                       f"{zh}消费占比高", f"{zh}消费占比低")


def _holds(name: str, en: str, zh: str) -> FeatureSpec:
    theme = {"credit_card": "credit", "loan": "credit", "insurance": "insurance"}.get(name, "investing")
    return FeatureSpec(f"holds_{name}", "none", "flag", f"{en} holders", f"no {en}", f"持有{zh}", f"未持有{zh}",
                       theme=theme)


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("age", "none", "years", "older", "young", "年龄偏大", "年轻"),
    FeatureSpec("income_monthly", "log", "money", "high income", "low income", "高收入", "低收入",
                theme="income"),
    FeatureSpec("income_months_share", "none", "share", "salaried", "irregular income", "收入稳定", "收入不规律"),
    FeatureSpec("spend_monthly", "log", "money", "high spending", "low spending", "消费高", "消费低",
                theme="spending"),
    FeatureSpec("savings_rate", "clip", "share", "high savings", "low savings", "储蓄率高", "储蓄率低",
                lower=-2.0, upper=1.0),
    FeatureSpec("transactions_per_month", "log", "count", "very active", "rarely active", "交易活跃", "交易很少",
                theme="spending"),
    FeatureSpec("assets_total", "log", "money", "large balances", "small balances", "存款余额高", "存款余额低"),
    FeatureSpec("debt_total", "log", "money", "high debt", "little debt", "负债高", "负债少", theme="credit"),
    FeatureSpec("credit_utilisation", "clip", "share", "high card use", "low card use", "信用卡额度使用率高",
                "信用卡额度使用率低", lower=0.0, upper=1.5, theme="credit"),
    FeatureSpec("holdings_value", "log", "money", "large investments", "small investments", "理财投资多",
                "理财投资少", theme="investing"),
    _share("groceries", "groceries", "日常买菜"),
    _share("dining", "dining", "餐饮"),
    _share("travel", "travel", "旅行"),
    _share("shopping", "shopping", "购物"),
    _share("housing", "housing", "住房"),
    _share("education", "education", "教育"),
    _share("health", "health", "医疗健康"),
    _share("entertainment", "entertainment", "娱乐"),
    _holds("credit_card", "credit card", "信用卡"),
    _holds("loan", "loan", "贷款"),
    _holds("deposit", "term deposit", "定期存款"),
    _holds("wealth", "wealth product", "理财产品"),
    _holds("fund", "fund", "基金"),
    _holds("insurance", "insurance", "保险"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
BY_NAME: dict[str, FeatureSpec] = {f.name: f for f in FEATURES}


def transform(spec: FeatureSpec, value: float) -> float:
    """One raw feature value to the unit it is clustered in (before standardising)."""
    value = float(value) if value is not None and math.isfinite(float(value)) else 0.0
    if spec.transform == "log":
        return math.log1p(max(value, 0.0))
    return min(max(value, spec.lower), spec.upper)


def in_own_units(matrix: np.ndarray) -> np.ndarray:
    """A clustered matrix back in the features' own units (yuan, years, shares), for averages people can read."""
    out = matrix.copy()
    for i, spec in enumerate(FEATURES):
        if spec.transform == "log":
            out[:, i] = np.expm1(matrix[:, i])
    return out


def feature_row(features: Mapping[str, float], *, age: float) -> list[float]:
    """One customer's row. A feature missing from an older snapshot counts as 0 (none of it)."""
    values = {**features, "age": age}
    return [transform(spec, values.get(spec.name, 0.0)) for spec in FEATURES]


def feature_matrix(rows: Sequence[tuple[Mapping[str, float], float]]) -> np.ndarray:
    """(features, age) per customer → an (n, d) float matrix in the order of FEATURES."""
    if not rows:
        return np.zeros((0, len(FEATURES)))
    return np.asarray([feature_row(features, age=age) for features, age in rows], dtype=float)


@dataclass(frozen=True)
class Scaler:
    """Standardisation fitted on one run's population; kept on the run so later runs can compare centroids."""

    mean: np.ndarray
    scale: np.ndarray

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        return (matrix - self.mean) / self.scale

    def to_json(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale]}


def fit_scaler(matrix: np.ndarray) -> Scaler:
    """Mean and population standard deviation per column; a constant column gets scale 1 (it stays all zeros
    after centring, so it neither distorts distances nor divides by zero)."""
    mean = matrix.mean(axis=0)
    std = matrix.std(axis=0)
    return Scaler(mean=mean, scale=np.where(std > 1e-12, std, 1.0))
