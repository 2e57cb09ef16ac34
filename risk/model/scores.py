"""Scores and grades per enterprise and date, stored so that a grade can be explained later.

Scoring a date writes ``scores/<as-of>/<model version>.parquet`` in the data home: one row
per enterprise of the population with ``id``, ``as_of``, ``model_version``, ``score`` (the
calibrated probability of a bad outcome within the horizon), ``rank`` (1 = highest score),
``grade`` and ``reasons`` (JSON: the top reasons with their graph evidence; empty for
enterprises outside the worst ``reasons_share`` unless asked for). The file's metadata holds
the grade policy, the cut-offs it gave and the counts per grade. Files are never
overwritten by another model: each model version has its own, so "why was X graded D on
2025-03-31" is answered from what was stored that day, and an enterprise's history across
dates from every file (``risk.data_home.DataHome`` reads them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.snapshot import Snapshot
from risk.features import FeatureMatrix
from risk.features.context import FeatureContext
from risk.model.artefact import ModelArtefact
from risk.model.dataset import in_operation
from risk.model.errors import ModelError
from risk.model.evidence import EvidenceFinder
from risk.model.grades import GradePolicy
from risk.model.reasons import Reason, explain, reasons_json

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("as_of", pa.date32()),
        ("model_version", pa.string()),
        ("score", pa.float64()),
        ("rank", pa.int64()),
        ("grade", pa.string()),
        ("reasons", pa.string()),
    ]
)


@dataclass(frozen=True)
class ReasonSettings:
    """How many reasons, for which share of the worst scores, with how much evidence."""

    top_k: int = 3
    share: float = 0.05
    evidence_items: int = 5


@dataclass(frozen=True)
class GradeRecord:
    """An enterprise's stored score on one date: grade, rank among how many, reasons."""

    enterprise_id: str
    as_of: date
    model_version: str
    score: float
    rank: int
    population: int
    grade: str
    reasons: list[Reason] | None
    reason_settings: ReasonSettings


def check_features(snapshot: Snapshot, matrix: FeatureMatrix) -> None:
    """Refuse a feature matrix that was not computed on ``snapshot``."""
    if matrix.as_of != snapshot.as_of or not matrix.ids.equals(
        snapshot.enterprises["id"].combine_chunks()
    ):
        raise ModelError(
            f"the features of {matrix.as_of} were not computed on this snapshot of "
            f"{snapshot.as_of}; compute them again (creditgraph features --as-of …)"
        )


def population_rows(snapshot: Snapshot, matrix: FeatureMatrix) -> np.ndarray:
    """Snapshot rows of the enterprises to score (in operation on the date)."""
    check_features(snapshot, matrix)
    return np.flatnonzero(in_operation(snapshot.enterprises, snapshot.as_of))


def score_snapshot(
    artefact: ModelArtefact,
    snapshot: Snapshot,
    matrix: FeatureMatrix,
    policy: GradePolicy,
    reasons: ReasonSettings,
    explain_ids: tuple[str, ...] = (),
) -> pa.Table:
    """Score, grade and rank every enterprise in operation; reasons with evidence for the
    worst ``reasons.share`` and for ``explain_ids``."""
    rows = population_rows(snapshot, matrix)
    model = artefact.graph
    x = matrix.values[rows][:, artefact.columns(model)]
    return graded_table(
        artefact, snapshot, rows, model.score(x), lambda chosen: x[chosen], policy, reasons,
        explain_ids,
    )  # fmt: skip


def graded_table(
    artefact: ModelArtefact,
    snapshot: Snapshot,
    rows: np.ndarray,
    score: np.ndarray,
    features_of: Callable[[np.ndarray], np.ndarray],
    policy: GradePolicy,
    reasons: ReasonSettings,
    explain_ids: tuple[str, ...] = (),
) -> pa.Table:
    """The scores table of the population ``rows`` (snapshot rows) scored ``score``: grades,
    ranks, and reasons for the worst ``reasons.share`` and ``explain_ids``, whose model
    columns ``features_of`` gives (positions in ``rows``, in that order)."""
    model = artefact.graph
    grades, cutoffs = policy.assign(score)
    order = np.argsort(-score, kind="stable")
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(1, len(rows) + 1)

    ids = snapshot.enterprises["id"].combine_chunks().take(pa.array(rows))
    wanted = rank <= math.ceil(reasons.share * len(rows))
    if explain_ids:
        wanted |= pc.is_in(ids, value_set=pa.array(explain_ids, pa.string())).to_numpy(
            zero_copy_only=False
        )
    chosen = np.flatnonzero(wanted)
    finder = EvidenceFinder(FeatureContext(snapshot), reasons.evidence_items)
    explained = explain(model, features_of(chosen), rows[chosen], reasons.top_k, finder)
    texts: list[str | None] = [None] * len(rows)
    for i, found in zip(chosen, explained, strict=True):
        texts[i] = reasons_json(found)

    version = artefact.version
    table = pa.table(
        {
            "id": ids,
            "as_of": pa.array([snapshot.as_of] * len(rows), pa.date32()),
            "model_version": pa.array([version] * len(rows), pa.string()),
            "score": score,
            "rank": rank,
            "grade": pa.array(grades.tolist(), pa.string()),
            "reasons": pa.array(texts, pa.string()),
        },
        schema=SCHEMA,
    )
    counts = {g: int(np.sum(grades == g)) for g in policy.classes}
    meta = {
        "model_version": version,
        "as_of": snapshot.as_of.isoformat(),
        "grades": policy.to_dict(),
        # A class that takes everyone starts below every score: JSON has no -inf, say null.
        "cutoffs": {
            c: v if math.isfinite(v) else None
            for c, v in zip(policy.classes[1:], cutoffs, strict=True)
        },
        "counts": counts,
        "population": len(rows),
        "reasons": {
            "top_k": reasons.top_k,
            "share": reasons.share,
            "evidence_items": reasons.evidence_items,
            "explained": len(chosen),
        },
    }
    return table.replace_schema_metadata({b"creditgraph": json.dumps(meta)})
