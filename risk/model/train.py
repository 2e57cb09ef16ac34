"""Training: LightGBM with and without graph features, early stopping and calibration.

Both models use the same parameters, rows and seed; the baseline sees only the catalog's
``graph: false`` features (the enterprise's own records). Class imbalance (about 2 % bad on
the demo city) is handled in three places: training keeps every bad enterprise and at most
``negatives_per_positive`` good ones per date (see ``dataset.sample_negatives``); early
stopping watches ROC-AUC on the validation window, which does not depend on the class mix;
and the scores are re-calibrated on the full, unsampled validation window.

Calibration is Platt scaling of the model's log-odds, p = 1 / (1 + exp(-(a·m + b))), fitted
on the validation window. It is strictly increasing, so the ranking (and every rank metric)
stays that of the model, and equal scores mean equal log-odds; isotonic regression would
fit closer but gives whole ranges of enterprises the same score, which a ranked inspection
list cannot use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from risk.features.catalog import load_catalog
from risk.model.dataset import Dataset, sample_negatives
from risk.model.errors import ModelError

PARAMS: dict[str, object] = {
    "objective": "binary",
    "metric": "auc",
    "learning_rate": 0.05,
    # Small trees with large leaves: monthly snapshots repeat each firm, and deeper trees
    # learn the firms (capital and age identify one) instead of the risk.
    "num_leaves": 15,
    "min_child_samples": 200,
    "lambda_l2": 10.0,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "max_bin": 255,
    "deterministic": True,
    "force_col_wise": True,
    "verbosity": -1,
}
MAX_ROUNDS = 1000
EARLY_STOPPING_ROUNDS = 50

GRAPH_MODEL = "graph"
BASELINE_MODEL = "no_graph"


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of log-odds: ``p = expit(slope · m + intercept)``."""

    slope: float
    intercept: float

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        return np.asarray(expit(self.slope * np.asarray(margin, dtype=np.float64) + self.intercept))

    @classmethod
    def fit(cls, margin: np.ndarray, y: np.ndarray) -> Calibration:
        """Minimise the log-loss of ``y`` given ``margin`` (two parameters, exact gradient)."""
        m = np.asarray(margin, dtype=np.float64)
        t = np.asarray(y, dtype=np.float64)

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            z = params[0] * m + params[1]
            # log(1 + e^z) − t·z, written to stay finite for large |z|.
            value = float(np.mean(np.logaddexp(0.0, z) - t * z))
            residual = expit(z) - t
            return value, np.array([np.mean(residual * m), np.mean(residual)])

        result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="BFGS")
        slope, intercept = (float(v) for v in result.x)
        if slope <= 0:
            raise ModelError(
                "the model does not rank the validation window (its calibration slope is "
                f"{slope:.3f}): the data hold too little signal or too few bad enterprises"
            )
        return cls(slope, intercept)


@dataclass(frozen=True)
class FittedModel:
    """One booster (best iteration only), the features it reads and its calibration."""

    name: str
    features: tuple[str, ...]
    booster: lgb.Booster
    calibration: Calibration
    best_iteration: int
    valid_auc: float

    def margin(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of the model (before calibration) for rows of ``x`` (these features)."""
        return np.asarray(self.booster.predict(x, raw_score=True), dtype=np.float64)

    def score(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability of a bad outcome."""
        return self.calibration(self.margin(x))


def feature_columns(names: tuple[str, ...], graph: bool) -> list[int]:
    """Columns of ``names`` a model reads: all of them, or only the non-graph ones."""
    catalog = load_catalog()
    return [i for i, n in enumerate(names) if graph or not catalog.feature(n).graph]


def fit_model(
    name: str,
    dataset: Dataset,
    columns: list[int],
    stopping: np.ndarray,
    seed: int,
    threads: int,
    progress: Callable[[str], None] | None = None,
) -> FittedModel:
    """Train one LightGBM model on the training window, stopped early on the ``stopping``
    rows of the validation window and calibrated on all of them."""
    features = tuple(dataset.names[i] for i in columns)
    params = {**PARAMS, "seed": seed, "num_threads": threads}

    def data(x: np.ndarray, y: np.ndarray, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(
            x[:, columns],
            label=y.astype(np.float64),
            feature_name=list(features),
            reference=reference,
            free_raw_data=True,
        )

    train = data(dataset.train.x, dataset.train.y)
    valid = data(dataset.valid.x[stopping], dataset.valid.y[stopping], reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[valid],
        valid_names=["valid"],
        callbacks=[
            lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False),
        ],
    )
    best = booster.best_iteration or booster.current_iteration()
    # Keep only the trees up to the best iteration: the saved model is the one evaluated.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    valid_x = dataset.valid.x[:, columns]
    margin = np.asarray(booster.predict(valid_x, raw_score=True), dtype=np.float64)
    calibration = Calibration.fit(margin, dataset.valid.y)
    auc = float(roc_auc_score(dataset.valid.y, margin))
    if progress is not None:
        progress(f"{name}: {best} trees, validation ROC-AUC {auc:.3f}")
    return FittedModel(name, features, booster, calibration, best, auc)


def train_models(
    dataset: Dataset,
    negatives_per_positive: float,
    seed: int,
    threads: int,
    progress: Callable[[str], None] | None = None,
) -> tuple[FittedModel, FittedModel]:
    """The graph model (all features) and the no-graph baseline, same rows and seed.

    Early stopping reads ROC-AUC every round on the validation window with its good rows
    sampled like the training months' (ROC-AUC does not depend on the class mix, and
    sorting millions of rows every round would cost more than the trees); calibration and
    every reported metric use the whole window.
    """
    stopping = sample_negatives(
        dataset.valid.y, negatives_per_positive, seed, dataset.split.valid[-1]
    )
    graph = fit_model(
        GRAPH_MODEL,
        dataset,
        feature_columns(dataset.names, True),
        stopping,
        seed,
        threads,
        progress,
    )
    baseline = fit_model(
        BASELINE_MODEL,
        dataset,
        feature_columns(dataset.names, False),
        stopping,
        seed,
        threads,
        progress,
    )
    return graph, baseline
