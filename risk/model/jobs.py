"""The model's jobs on a store and a data home: train, evaluate, score and explain.

The command line and the benchmarks call these; each takes the settings and an open store
(read only) and reports progress through a callback. Heavy work happens here, never in a
request handler.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.special import expit

from graph_model.csv_cells import write_safe_csv
from graph_model.rates import RatesError, read_rates
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot
from graph_model.store.protocol import GraphStore
from risk.data_home import DataHome
from risk.features.context import FeatureContext
from risk.model.artefact import (
    ModelArtefact,
    catalog_hash,
    library_versions,
    load_artefact,
    save_artefact,
)
from risk.model.dataset import (
    FOREIGN_PREFIX,
    Dataset,
    FeatureSource,
    Register,
    Rows,
    TimeSplit,
    build_dataset,
)
from risk.model.dates import shift_months
from risk.model.errors import ModelError
from risk.model.evaluation import ModelScores, Predictions, evaluate, lift
from risk.model.evidence import EvidenceFinder
from risk.model.grades import GradePolicy
from risk.model.label_file import LabelFile, read_label_file
from risk.model.labels import (
    DEFAULT_EVENTS,
    LabelDefinition,
    LabelEvents,
    label_source_lines,
    latest_record_start,
)
from risk.model.reasons import explain
from risk.model.report import render_report
from risk.model.scores import (
    GradeRecord,
    ReasonSettings,
    check_features,
    score_snapshot,
)
from risk.model.train import (
    BASELINE_MODEL,
    EARLY_STOPPING_ROUNDS,
    GRAPH_MODEL,
    MAX_ROUNDS,
    PARAMS,
    FittedModel,
    train_models,
)

Progress = Callable[[str], None]


_LAST_DAY = date(9999, 12, 31)
_PAGE_ROWS = 1_000_000


def _quiet(_message: str) -> None:
    """Progress callback that reports nothing."""


def _labels_said(events: LabelEvents) -> str:
    """Where the labels came from and how many, in one progress line."""
    return "labels: " + "; ".join(
        f"{title} {text}" for title, text in label_source_lines(_label_manifest(events))
    )


@dataclass(frozen=True)
class ModelConfig:
    """The model settings, read once from :class:`Settings`."""

    label: LabelDefinition
    train_months: int
    valid_months: int
    test_months: int
    negatives_per_positive: float
    seed: int
    threads: int
    feature_workers: int
    policy: GradePolicy
    reasons: ReasonSettings

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelConfig:
        return cls(
            label=LabelDefinition(
                settings.label_horizon_months, tuple(settings.label_events or DEFAULT_EVENTS)
            ),
            train_months=settings.train_months,
            valid_months=settings.valid_months,
            test_months=settings.test_months,
            negatives_per_positive=settings.train_negatives_per_positive,
            seed=settings.train_seed,
            # Recorded in the manifest: the same data, seed and thread count give the same model.
            threads=settings.train_threads or os.cpu_count() or 1,
            feature_workers=settings.feature_workers or os.cpu_count() or 1,
            policy=GradePolicy.of(settings.grade_method, settings.grade_mix, settings.grade_bands),
            reasons=ReasonSettings(
                settings.reasons_top_k, settings.reasons_share, settings.reasons_evidence_items
            ),
        )


def _predict(model: FittedModel, columns: list[int], x: np.ndarray) -> ModelScores:
    """Calibrated and uncalibrated scores of ``model`` on rows of ``x`` (its ``columns``)."""
    margin = model.margin(x[:, columns])
    return ModelScores(score=model.calibration(margin), raw=expit(margin))


def _predictions(
    windows: dict[str, Rows], models: tuple[FittedModel, ...], names: tuple[str, ...]
) -> Predictions:
    """Both models' scores on the rows of each window (window by window: no copy of all)."""
    parts = [
        Predictions(
            np.full(len(rows.y), window, dtype=object),
            rows.as_of,
            rows.y,
            {m.name: _predict(m, [names.index(f) for f in m.features], rows.x) for m in models},
        )
        for window, rows in windows.items()
    ]
    return _concat(parts)


def _concat(parts: list[Predictions]) -> Predictions:
    models = list(parts[0].models)
    return Predictions(
        np.concatenate([p.window for p in parts]),
        np.concatenate([p.as_of for p in parts]),
        np.concatenate([p.y for p in parts]),
        {
            m: ModelScores(
                np.concatenate([p.models[m].score for p in parts]),
                np.concatenate([p.models[m].raw for p in parts]),
            )
            for m in models
        },
    )


def _predictions_table(preds: Predictions, ids: pa.Array) -> pa.Table:
    columns: dict[str, object] = {
        "window": pa.array(preds.window.tolist(), pa.string()),
        "as_of": pa.array(preds.as_of.astype("datetime64[D]"), pa.date32()),
        "id": ids,
        "label": preds.y,
    }
    for name, s in preds.models.items():
        columns[f"{name}_score"] = s.score
        columns[f"{name}_raw"] = s.raw
    return pa.table(columns)


def _table_predictions(table: pa.Table, models: tuple[str, ...]) -> Predictions:
    return Predictions(
        window=np.asarray(table["window"].to_numpy(zero_copy_only=False), dtype=object),
        as_of=table["as_of"].to_numpy(zero_copy_only=False).astype("datetime64[D]"),
        y=np.asarray(table["label"].to_numpy(zero_copy_only=False), dtype=bool),
        models={
            m: ModelScores(table[f"{m}_score"].to_numpy(), table[f"{m}_raw"].to_numpy())
            for m in models
        },
    )


def observed_through(
    store: GraphStore, settings: Settings, labels: LabelFile | None = None
) -> date:
    """The last day the data are complete for: the ``data_through`` setting, else with a
    labels file the latest event date in it (the store need hold no records), else the
    latest record start in the store. Scoring defaults to it; label windows must end by it."""
    if settings.data_through is not None:
        return settings.data_through
    if labels is not None:
        return labels.latest
    latest = latest_record_start(store)
    if latest is None:
        raise ModelError("the store holds no records: load data before training")
    return latest


def _version(dataset: Dataset, config: ModelConfig, observed: date, label: LabelDefinition) -> str:
    """Same data and configuration, same version: the last test date and a hash."""
    basis = {
        "fingerprint": dataset.fingerprint,
        "features": dataset.names,
        "params": PARAMS,
        "seed": config.seed,
        "threads": config.threads,
        "negatives_per_positive": config.negatives_per_positive,
        "label": label.to_dict(),
        "observed_through": observed.isoformat(),
    }
    if label.from_file:
        basis["labels_from_file"] = True
    digest = hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()
    return f"{dataset.split.test[-1]:%Y%m%d}-{digest[:8]}"


def _no_nan(value: Any) -> Any:
    """JSON has no NaN: write it as null."""
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def plan_windows(
    store: GraphStore,
    settings: Settings,
    last_test: date | None = None,
    labels: LabelFile | None = None,
) -> tuple[TimeSplit, date]:
    """The training, validation and test dates (the test window ending ``last_test``, by
    default the latest fully observed month-end) and the last day the data are complete for."""
    config = ModelConfig.from_settings(settings)
    observed = observed_through(store, settings, labels)
    horizon = config.label.horizon_months
    split = TimeSplit.plan(
        last_test or shift_months(observed, -horizon),
        horizon,
        config.train_months,
        config.valid_months,
        config.test_months,
    )
    return split, observed


def _feature_source(
    settings: Settings, store: GraphStore | None, reuse: bool, progress: Progress
) -> FeatureSource:
    """Feature matrices of the data home, amounts converted with its rate table."""
    try:
        rates = read_rates(settings.rates_path)
    except RatesError as exc:
        raise ModelError(f"the currency rate table is refused: {exc}") from None
    return FeatureSource(
        store, settings.features_dir, settings.snapshots_dir, reuse, progress, rates
    )


def _known_enterprises(store: GraphStore) -> pa.Array:
    """Ids of every enterprise the store holds, whenever established."""
    pages = [p.select(["id"]) for p in store.export_nodes("Enterprise", _LAST_DAY, _PAGE_ROWS)]
    if not pages:
        return pa.array([], pa.string())
    return pa.concat_tables(pages)["id"].combine_chunks().cast(pa.string())


def label_events(
    store: GraphStore,
    label: LabelDefinition,
    first_as_of: date,
    observed: date,
    labels: LabelFile | None = None,
) -> LabelEvents:
    """The outcomes after ``first_as_of`` up to ``observed``: the labels file's when there
    is one (enterprises of the store only), else the store's events of ``label``."""
    if labels is None:
        return LabelEvents.from_store(store, label, first_as_of, observed)
    return labels.events(_known_enterprises(store), label.horizon_months, first_as_of, observed)


def _label_manifest(events: LabelEvents) -> dict[str, object]:
    """The manifest's label section: definition, where the labels came from, how many."""
    return {
        **events.definition.to_dict(),
        "observed_through": events.observed_through.isoformat(),
        "source": dict(events.source),
        "counts": events.counts(),
    }


def train_job(
    store: GraphStore,
    settings: Settings,
    last_test: date | None = None,
    reuse: bool = True,
    progress: Progress = _quiet,
    labels: Path | None = None,
) -> ModelArtefact:
    """Build the dataset, train both models, evaluate them on the test window and save the
    artefact as the current model. With ``labels`` (a labels file, see
    :mod:`risk.model.label_file`), the outcomes are the file's instead of the store's."""
    config = ModelConfig.from_settings(settings)
    given = read_label_file(labels) if labels is not None else None
    split, observed = plan_windows(store, settings, last_test, given)
    progress(
        f"windows: train {split.train[0]}…{split.train[-1]}, validation "
        f"{split.valid[0]}…{split.valid[-1]}, test {split.test[0]}…{split.test[-1]} "
        f"(data complete through {observed})"
    )
    events = label_events(store, config.label, split.train[0], observed, given)
    progress(_labels_said(events))
    register = Register.from_store(store, split.test[-1])
    source = _feature_source(settings, store, reuse, progress)
    source.prepare(split.dates, config.feature_workers)
    dataset = build_dataset(
        source, events, register, split, config.negatives_per_positive, config.seed, progress
    )
    models = train_models(
        dataset, config.negatives_per_positive, config.seed, config.threads, progress
    )
    preds = _predictions({"valid": dataset.valid, "test": dataset.test}, models, dataset.names)
    evaluation = evaluate(preds, config.policy)
    metrics = evaluation["models"]
    assert isinstance(metrics, dict)
    gain = lift(metrics[GRAPH_MODEL], metrics[BASELINE_MODEL])
    version = _version(dataset, config, observed, events.definition)
    importance = {
        m.name: dict(
            zip(m.features, (float(v) for v in m.booster.feature_importance("gain")), strict=True)
        )
        for m in models
    }
    manifest = {
        "model_version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": list(dataset.names),
        "catalog_sha256": catalog_hash(),
        "libraries": library_versions(),
        "training_data": {
            "fingerprint": dataset.fingerprint,
            "split": split.to_dict(),
            "dates": list(dataset.summary),
            "negatives_per_positive": config.negatives_per_positive,
            "training_rows": len(dataset.train.y),
            "population": "enterprises in operation on the as-of date, not foreign "
            f"({FOREIGN_PREFIX}…)",
        },
        "seed": config.seed,
        "threads": config.threads,
        "label": _label_manifest(events),
        "grades": config.policy.to_dict(),
        "lightgbm": {
            "params": PARAMS,
            "max_rounds": MAX_ROUNDS,
            "early_stopping_rounds": EARLY_STOPPING_ROUNDS,
        },
        "models": {name: {"importance_gain": imp} for name, imp in importance.items()},
        "metrics": evaluation,
        "lift": gain,
    }
    ids = pa.concat_arrays([dataset.valid.ids, dataset.test.ids])
    artefact = save_artefact(
        settings.models_dir, _no_nan(manifest), models, _predictions_table(preds, ids)
    )
    progress(
        f"model {version}: test ROC-AUC {metrics[GRAPH_MODEL].get('roc_auc', float('nan')):.3f} "
        f"(no graph {metrics[BASELINE_MODEL].get('roc_auc', float('nan')):.3f}) → {artefact.folder}"
    )
    return artefact


def export_labels_job(
    store: GraphStore, settings: Settings, out: Path, since: date | None = None
) -> LabelEvents:
    """Write the store's outcome events (``CREDITGRAPH_LABEL_EVENTS``) to ``out`` as a
    labels file (CSV or Parquet by its suffix): those training would read, after the first
    training as-of date (or ``since``) through the day the data are complete for."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ModelError(f"{out.name}: a labels file is written as .csv or .parquet")
    config = ModelConfig.from_settings(settings)
    if since is None:
        split, observed = plan_windows(store, settings)
        since = split.train[0]
    else:
        observed = observed_through(store, settings)
    events = LabelEvents.from_store(store, config.label, since, observed)
    table = events.to_table()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        write_safe_csv(table, out)
    else:
        pq.write_table(table, out)
    return events


def evaluate_job(
    settings: Settings,
    version: str | None = None,
    as_of: tuple[date, ...] = (),
    store: GraphStore | None = None,
    out: Path | None = None,
    progress: Progress = _quiet,
    labels: Path | None = None,
) -> tuple[Path, dict[str, object]]:
    """Write the HTML evaluation report of a model (default: the current one).

    Without dates, the report covers the model's own test window, as saved at training.
    With dates (fully observed month-ends after training), the model is tested on them:
    features and labels are computed for those dates, the training validation window stays
    the reference for stability. Their labels are the store's events the model learnt, or
    those of ``labels`` (a labels file), which a model that learnt from a file needs.
    """
    config = ModelConfig.from_settings(settings)
    artefact = load_artefact(settings.models_dir, version)
    models = (GRAPH_MODEL, BASELINE_MODEL)
    saved = _table_predictions(artefact.predictions(), models)
    tested: LabelEvents | None = None
    if as_of:
        if store is None:
            raise ModelError("evaluating on new dates needs the store for their labels")
        given = read_label_file(labels) if labels is not None else None
        fresh, tested = _new_predictions(store, settings, artefact, as_of, progress, given)
        preds = _concat([saved.where(saved.window == "valid"), fresh])
    elif labels is not None:
        raise ModelError(
            "--labels tests a model on other dates (--as-of): its own test window keeps the "
            "labels it was trained with"
        )
    else:
        preds = saved
    evaluation = evaluate(preds, config.policy)
    if tested is not None:
        evaluation["labels"] = _label_manifest(tested)
    path = out or artefact.folder / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(artefact.manifest, evaluation, preds), encoding="utf-8")
    return path, evaluation


def _new_predictions(
    store: GraphStore,
    settings: Settings,
    artefact: ModelArtefact,
    dates: tuple[date, ...],
    progress: Progress,
    labels: LabelFile | None = None,
) -> tuple[Predictions, LabelEvents]:
    """Both models' scores and the labels on new as-of dates (the 'test' window), and the
    events read; the labels follow the definition the model was trained with, or come
    from ``labels``."""
    trained_label = artefact.manifest["label"]
    trained_source = trained_label.get("source") or {"kind": "store"}
    if labels is None and trained_source["kind"] == "file":
        raise ModelError(
            f"model {artefact.version} learnt from the labels file {trained_source['path']}: "
            "give --labels FILE (that file or a newer one) to test it on other dates"
        )
    horizon = trained_label["horizon_months"]
    label = (
        LabelDefinition(horizon, tuple(trained_label["events"]))
        if labels is None
        else LabelDefinition(horizon, labels.names, from_file=True)
    )
    observed = observed_through(store, settings, labels)
    first = min(dates)
    events = label_events(store, label, first, observed, labels)
    register = Register.from_store(store, max(dates))
    source = _feature_source(settings, store, True, progress)
    parts: list[Predictions] = []
    for day in sorted(dates):
        events.check_observed(day)
        matrix = source.matrix(day)
        member = pc.is_in(matrix.ids, value_set=register.population(day))
        rows = np.flatnonzero(member.to_numpy(zero_copy_only=False))
        x = matrix.values[rows]
        y = events.labels(day, matrix.ids.take(pa.array(rows)))
        parts.append(
            Predictions(
                np.full(len(rows), "test", dtype=object),
                np.full(len(rows), np.datetime64(day, "D")),
                y,
                {
                    m.name: _predict(m, artefact.columns(m), x)
                    for m in (artefact.graph, artefact.baseline)
                },
            )
        )
    return _concat(parts), events


def _scoring_inputs(
    settings: Settings, store: GraphStore | None, day: date, progress: Progress
) -> tuple[Snapshot, FeatureSource]:
    """The snapshot of ``day`` (saved in the data home: explanations read it later)."""
    source = _feature_source(settings, store, True, progress)
    home = DataHome(settings)
    if home.has_snapshot(day):
        return home.snapshot(day), source
    snapshot = source.snapshot(day)
    home.save_snapshot(snapshot)
    return snapshot, source


def score_job(
    settings: Settings,
    store: GraphStore | None,
    as_of: date,
    version: str | None = None,
    explain_ids: tuple[str, ...] = (),
    progress: Progress = _quiet,
) -> tuple[Path, pa.Table]:
    """Score, grade and explain every enterprise in operation on ``as_of``; store the result."""
    config = ModelConfig.from_settings(settings)
    artefact = load_artefact(settings.models_dir, version)
    snapshot, source = _scoring_inputs(settings, store, as_of, progress)
    matrix = source.matrix(as_of, snapshot)
    table = score_snapshot(artefact, snapshot, matrix, config.policy, config.reasons, explain_ids)
    return DataHome(settings).save_scores(table), table


def explain_job(
    settings: Settings,
    store: GraphStore | None,
    enterprise_id: str,
    as_of: date,
    version: str | None = None,
) -> GradeRecord:
    """The stored grade of an enterprise on a date, with its reasons; reasons not stored
    (the enterprise was outside the worst share) are computed from the same model, snapshot
    and features, so they are the ones scoring would have stored."""
    record = DataHome(settings).read_grade(enterprise_id, as_of, version)
    if record is None:
        raise ModelError(
            f"no stored grade of {enterprise_id} on {as_of}: the date was not scored with that "
            "model (creditgraph score --as-of …) or the enterprise was not in operation then"
        )
    if record.reasons is not None:
        return record
    artefact = load_artefact(settings.models_dir, record.model_version)
    snapshot, source = _scoring_inputs(settings, store, as_of, _quiet)
    matrix = source.matrix(as_of, snapshot)
    check_features(snapshot, matrix)
    row = snapshot.index_of([enterprise_id])
    model = artefact.graph
    # The reason settings of the day it was scored, not today's: the same reasons it would
    # have stored.
    used = record.reason_settings
    finder = EvidenceFinder(FeatureContext(snapshot), used.evidence_items)
    x = matrix.values[row][:, artefact.columns(model)]
    (found,) = explain(model, x, row, used.top_k, finder)
    return replace(record, reasons=found)
