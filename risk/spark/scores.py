"""The trained model applied across the cluster; grades, ranks and reasons as on one machine.

Each executor gets the model once (a broadcast variable) and scores its share of the
feature rows in Arrow batches (``mapInArrow``): the part that grows with the number of
enterprises. The driver then collects one score per enterprise (8 bytes each: 400 MB at
50M) and makes the table with :func:`risk.model.scores.graded_table`, the single machine's
own code: the grade policy's cut-offs over the whole population, ranks, and reasons with
graph evidence for the worst ``reasons_share`` and the ids asked for, whose feature rows
only are fetched from the cluster. Training stays on one machine (docs/scale.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from graph_model.snapshot import Snapshot
from risk.model.artefact import ModelArtefact
from risk.model.dataset import in_operation
from risk.model.errors import ModelError
from risk.model.grades import GradePolicy
from risk.model.scores import ReasonSettings, graded_table
from risk.spark.features import MANIFEST

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_scores(
    spark: SparkSession,
    artefact: ModelArtefact,
    snapshot: Snapshot,
    features: Path,
    policy: GradePolicy,
    reasons: ReasonSettings,
    explain_ids: tuple[str, ...] = (),
) -> pa.Table:
    """Score every enterprise in operation on the snapshot's date from the Spark feature
    folder ``features`` (risk/spark/features.py); the same table as ``score_snapshot``."""
    from pyspark.sql import functions as F

    computed = json.loads((features / MANIFEST).read_text())["as_of"]
    if computed != snapshot.as_of.isoformat():
        raise ModelError(
            f"the Spark features in {features} are of {computed}, not of {snapshot.as_of}"
        )
    model = artefact.graph
    names = [model.features[i] for i in range(len(model.features))]
    shared = spark.sparkContext.broadcast(model)
    frame = spark.read.parquet(str(features))

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        fitted = shared.value
        for batch in batches:
            x = np.column_stack(
                [batch.column(n).to_numpy(zero_copy_only=False) for n in names]
            ).astype(np.float32)
            values = fitted.score(x) if len(x) else np.zeros(0)
            yield pa.record_batch({"id": batch.column("id"), "score": pa.array(values)})

    scored = frame.select("id", *names).mapInArrow(score, "id string, score double").toArrow()
    ids = snapshot.enterprises["id"].combine_chunks()
    position = snapshot.index_of(scored["id"].combine_chunks())
    if len(position) != snapshot.n_enterprises or (position < 0).any():
        raise ModelError(
            f"the Spark features in {features} were not computed on the snapshot of "
            f"{snapshot.as_of}; compute them again (creditgraph features --engine spark)"
        )
    by_row = np.empty(snapshot.n_enterprises)
    by_row[position] = scored["score"].to_numpy()
    rows = np.flatnonzero(in_operation(snapshot.enterprises, snapshot.as_of))

    def features_of(chosen: np.ndarray) -> np.ndarray:
        wanted = ids.take(pa.array(rows[chosen]))
        picked = (
            frame.join(F.broadcast(spark.createDataFrame(pa.table({"id": wanted}))), "id")
            .select("id", *names)
            .toArrow()
        )
        at = {key: i for i, key in enumerate(picked["id"].to_pylist())}
        order = np.array([at[key] for key in wanted.to_pylist()], dtype=np.int64)
        x = np.column_stack([picked[n].to_numpy() for n in names]).astype(np.float32)
        return x[order] if len(order) else x[:0]

    return graded_table(
        artefact, snapshot, rows, by_row[rows], features_of, policy, reasons, explain_ids
    )
