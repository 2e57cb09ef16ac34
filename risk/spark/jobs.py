"""The Spark jobs the command line runs: ``features --engine spark`` and ``score --engine
spark``, over the data home's ``spark/`` folder (``snapshots/<date>/``: the snapshot exported
for Spark; ``features/<date>/``: the feature table Spark wrote)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa

from graph_model.rates import RateTable
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot
from risk.data_home import DataHome
from risk.model.artefact import load_artefact
from risk.model.errors import ModelError
from risk.model.jobs import ModelConfig
from risk.spark.features import MANIFEST, spark_features
from risk.spark.scores import spark_scores
from risk.spark.session import spark_session
from risk.spark.tables import MANIFEST as EXPORTED
from risk.spark.tables import SparkSnapshot, export_snapshot


def spark_home(settings: Settings) -> Path:
    """The data home's folder of Spark inputs and outputs."""
    return settings.home / "spark"


def features_folder(settings: Settings, day: date) -> Path:
    """Where ``features --engine spark`` writes the features of ``day``."""
    return spark_home(settings) / "features" / day.isoformat()


def spark_features_job(
    settings: Settings,
    snapshot: Snapshot,
    rates: RateTable,
    progress: Callable[[str, float], None] | None = None,
) -> Path:
    """Export ``snapshot`` for Spark (once per date) and compute its features there."""
    exported = spark_home(settings) / "snapshots" / snapshot.as_of.isoformat()
    if not (exported / EXPORTED).is_file():
        export_snapshot(snapshot, exported)
    out = features_folder(settings, snapshot.as_of)
    with spark_session(settings, "creditgraph-features") as spark:
        snap = SparkSnapshot.read(spark, exported)
        return spark_features(snap, rates, out, settings.spark_community, progress)


def spark_score_job(
    settings: Settings,
    snapshot: Snapshot,
    version: str | None = None,
    explain_ids: tuple[str, ...] = (),
) -> tuple[Path, pa.Table]:
    """Score ``snapshot``'s enterprises on Spark from the features Spark computed; store
    the table as ``score`` does."""
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
