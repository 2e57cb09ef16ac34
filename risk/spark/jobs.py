"""The Spark jobs the command line runs: ``features --engine spark`` and ``score --engine
spark``, over the data home's ``spark/`` folder (``history/<date>/``: the store's history up
to the date, streamed out for Spark; ``features/<date>/``: the feature table Spark wrote).

The features job reads the store only through that export, so the driver never holds the
graph; the score job takes the day's :class:`~graph_model.snapshot.Snapshot`, whose node
and record tables the reasons with graph evidence read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from graph_model.rates import RateTable
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot
from graph_model.store.open import open_store
from risk.data_home import DataHome
from risk.model.artefact import load_artefact
from risk.model.errors import ModelError
from risk.model.jobs import ModelConfig
from risk.spark.export import export_history, exported
from risk.spark.features import MANIFEST, spark_features
from risk.spark.scores import spark_scores
from risk.spark.session import find_java, spark_session
from risk.spark.tables import SparkSnapshot


def spark_home(settings: Settings) -> Path:
    """The data home's folder of Spark inputs and outputs."""
    return settings.home / "spark"


def features_folder(settings: Settings, day: date) -> Path:
    """Where ``features --engine spark`` writes the features of ``day``."""
    return spark_home(settings) / "features" / day.isoformat()


def history_folder(settings: Settings, upto: date) -> Path:
    """Where the store's history up to ``upto`` is exported for Spark."""
    return spark_home(settings) / "history" / upto.isoformat()


def spark_history(settings: Settings, upto: date) -> Path:
    """The store's history up to ``upto`` exported for Spark: streamed from the store the
    first time, reused afterwards."""
    folder = history_folder(settings, upto)
    if not exported(folder):
        with open_store(settings, read_only=True) as store:
            export_history(store, upto, folder)
    return folder


@dataclass(frozen=True)
class SparkFeaturesRun:
    """What ``features --engine spark`` made: the folder of the features and the size of
    the snapshot they were computed on."""

    folder: Path
    enterprises: int
    persons: int


def spark_features_job(
    settings: Settings,
    day: date,
    rates: RateTable,
    progress: Callable[[str, float], None] | None = None,
) -> SparkFeaturesRun:
    """Compute the features of ``day`` on Spark from the store's history up to it (exported
    once, :func:`spark_history`), the snapshot cut on the cluster."""
    with spark_session(settings, "creditgraph-features") as spark:
        spark.sparkContext.setJobDescription("cut")
        snap = SparkSnapshot.cut(spark, spark_history(settings, day), day)
        out = spark_features(
            snap, rates, features_folder(settings, day), settings.spark_community, progress
        )
    return SparkFeaturesRun(out, snap.n_enterprises, snap.n_nodes - snap.n_enterprises)


def spark_score_job(
    settings: Settings,
    snapshot: Snapshot,
    version: str | None = None,
    explain_ids: tuple[str, ...] = (),
) -> tuple[Path, pa.Table]:
    """Score ``snapshot``'s enterprises on Spark from the features Spark computed; store
    the table as ``score`` does."""
    find_java()  # the engine before the data: a machine without Java is told so first
    features = features_folder(settings, snapshot.as_of)
    if not (features / MANIFEST).is_file():
        raise ModelError(
            f"no Spark features of {snapshot.as_of}: run creditgraph features --engine spark "
            f"--as-of {snapshot.as_of} first"
        )
    config = ModelConfig.from_settings(settings)
    artefact = load_artefact(settings.models_dir, version)
    with spark_session(settings, "creditgraph-score") as spark:
        table = spark_scores(
            spark, artefact, snapshot, features, config.policy, config.reasons, explain_ids
        )
    return DataHome(settings).save_scores(table), table
