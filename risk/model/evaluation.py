"""Evaluation of scores against labels, for the model and its no-graph baseline side by side.

Metrics on the test window (pooled over its dates, and per date):

- ROC-AUC, and PR-AUC (average precision), which with ~2 % positives says more;
- KS, the largest gap between the score distributions of bad and good enterprises (the
  credit industry's habit), in points of cumulative share;
- recall in the top K with K the number of bad enterprises: the share of them an
  inspection of the K worst-scored firms would meet (equal to precision at K);
- Brier score before and after calibration, and a calibration table (ten bins of equal
  size, mean score against observed rate);
- PSI (population stability index) of the score distribution between the validation window
  and each test date, and between consecutive test dates: below 0.1 stable, 0.1–0.25 worth a
  look, above 0.25 shifted;
- per grade: share of firms and observed bad rate, grades cut on each date by the policy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve

from risk.model.grades import GradePolicy

PSI_BINS = 10
CALIBRATION_BINS = 10
_PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class ModelScores:
    """One model's scores on the evaluated rows: calibrated and before calibration."""

    score: np.ndarray
    raw: np.ndarray


@dataclass(frozen=True)
class Predictions:
    """Rows of the validation and test windows with their labels and both models' scores."""

    window: np.ndarray
    as_of: np.ndarray
    y: np.ndarray
    models: dict[str, ModelScores]

    def where(self, mask: np.ndarray) -> Predictions:
        return Predictions(
            self.window[mask],
            self.as_of[mask],
            self.y[mask],
            {k: ModelScores(v.score[mask], v.raw[mask]) for k, v in self.models.items()},
        )


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    """Largest difference between the true and false positive rates over all cut-offs."""
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def recall_at_k(y: np.ndarray, score: np.ndarray, k: int | None = None) -> float:
    """Share of the positives among the ``k`` highest scores (default k = positives).

    Ties at the cut are broken by row order (stable sort), so the figure is reproducible.
    """
    positives = int(np.sum(y))
    k = positives if k is None else k
    if positives == 0 or k == 0:
        return float("nan")
    top = np.argsort(-np.asarray(score), kind="stable")[:k]
    return float(np.sum(np.asarray(y)[top]) / positives)


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index of ``actual`` against ``expected``, on deciles of
    ``expected`` (empty bins floored at 0.01 %)."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    e_share = np.maximum(e / max(len(expected), 1), _PSI_FLOOR)
    a_share = np.maximum(a / max(len(actual), 1), _PSI_FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def calibration_table(
    y: np.ndarray, score: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, float]]:
    """Mean score and observed rate in ``bins`` groups of equal size, lowest scores first."""
    order = np.argsort(score, kind="stable")
    out = []
    for part in np.array_split(order, bins):
        if len(part):
            out.append(
                {
                    "mean_score": float(np.mean(score[part])),
                    "observed": float(np.mean(y[part])),
                    "n": len(part),
                }
            )
    return out


def binary_metrics(y: np.ndarray, scores: ModelScores) -> dict[str, float]:
    """The rank and calibration metrics of one model on one set of rows."""
    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return {"rows": len(y), "positives": int(y.sum())}
    return {
        "rows": len(y),
        "positives": int(y.sum()),
        "base_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, scores.score)),
        "pr_auc": float(average_precision_score(y, scores.score)),
        "ks": ks_statistic(y, scores.score),
        "recall_at_k": recall_at_k(y, scores.score),
        "brier": float(brier_score_loss(y, scores.score)),
        "brier_uncalibrated": float(brier_score_loss(y, scores.raw)),
    }


def grade_table(
    policy: GradePolicy, preds: Predictions, model: str
) -> list[dict[str, float | str]]:
    """Share of enterprises and observed bad rate per class, cut on each date separately."""
    grades = np.empty(len(preds.y), dtype=object)
    for day in np.unique(preds.as_of):
        mask = preds.as_of == day
        grades[mask], _ = policy.assign(preds.models[model].score[mask])
    out: list[dict[str, float | str]] = []
    for name in policy.classes:
        mask = grades == name
        n = int(mask.sum())
        out.append(
            {
                "grade": name,
                "rows": n,
                "share": n / max(len(grades), 1),
                "bad_rate": float(preds.y[mask].mean()) if n else float("nan"),
            }
        )
    return out


def _day(value: np.datetime64) -> str:
    return str(value.astype("datetime64[D]"))


def evaluate(preds: Predictions, policy: GradePolicy) -> dict[str, object]:
    """Every metric of the module docstring for each model, as plain JSON-able values."""
    test = preds.where(preds.window == "test")
    valid = preds.where(preds.window == "valid")
    models = list(preds.models)
    out: dict[str, object] = {
        "rows": len(test.y),
        "positives": int(test.y.sum()),
        "base_rate": float(test.y.mean()) if len(test.y) else float("nan"),
        "dates": [_day(d) for d in np.unique(test.as_of)],
        "models": {m: binary_metrics(test.y, test.models[m]) for m in models},
        "calibration": {m: calibration_table(test.y, test.models[m].score) for m in models},
        "policy": policy.to_dict(),
        "grades": {m: grade_table(policy, test, m) for m in models},
    }
    by_date = []
    for day in np.unique(test.as_of):
        part = test.where(test.as_of == day)
        by_date.append(
            {"as_of": _day(day), **{m: binary_metrics(part.y, part.models[m]) for m in models}}
        )
    out["by_date"] = by_date
    stability: dict[str, list[dict[str, object]]] = {m: [] for m in models}
    days = np.unique(test.as_of)
    for m in models:
        if len(valid.y):
            for day in days:
                stability[m].append(
                    {
                        "from": "validation",
                        "to": _day(day),
                        "psi": psi(valid.models[m].score, test.models[m].score[test.as_of == day]),
                    }
                )
        for before, after in itertools.pairwise(days):
            stability[m].append(
                {
                    "from": _day(before),
                    "to": _day(after),
                    "psi": psi(
                        test.models[m].score[test.as_of == before],
                        test.models[m].score[test.as_of == after],
                    ),
                }
            )
    out["psi"] = stability
    return out


def lift(model: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    """What the graph adds: the rank metrics of the model minus those of the baseline."""
    keys = ("roc_auc", "pr_auc", "ks", "recall_at_k")
    return {k: model[k] - baseline[k] for k in keys if k in model and k in baseline}
