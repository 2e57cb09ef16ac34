"""Extension checks (延伸检查): the related firms of black-listed enterprises.

For every enterprise with an active black-list entry on the as-of date, the
enterprises reached within ``hops`` through its legal representatives, officers
and shareholders (persons or firms) and their other holdings and roles, each with
the path that ties it, ranked by risk score (highest first). Hub persons (more
than ``HUB_PERSON_CAP`` firms) are reached but not walked through.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.snapshot import Snapshot
from risk.supervision.walk import Adjacency

TIE_TYPES = ("LEGAL_REP", "OFFICER", "HOLDS_SHARES")

SCHEMA = pa.schema(
    [
        ("black_listed_id", pa.string()),
        ("black_listed_name", pa.string()),
        ("related_id", pa.string()),
        ("related_name", pa.string()),
        ("hops", pa.int8()),
        ("grade", pa.string()),
        ("score", pa.float64()),
        ("path", pa.string()),
    ]
)


def black_listed(snapshot: Snapshot) -> np.ndarray:
    """Indices of enterprises with a black-list entry in force on the as-of date, sorted."""
    rec = snapshot.records
    active = pc.and_(pc.equal(rec["kind"], "black_list"), pc.is_null(rec["end"]))
    owners = rec["enterprise"].to_numpy()[
        pc.fill_null(active, False).to_numpy(zero_copy_only=False)
    ]
    return np.unique(owners)


def extension_checks(
    snapshot: Snapshot,
    grading: pa.Table | None,
    hops: int = 2,
    targets: np.ndarray | None = None,
) -> pa.Table:
    """One row per (black-listed firm, related firm) with hops, grade, score and the path.

    Rows are ranked over the whole list by score, highest first, then by hops and ids;
    ``targets`` restricts the check to some black-listed enterprises (indices); by default
    every one on the black list. Without a grading, grade and score are empty and rows are
    ranked by hops then id.
    """
    if not 1 <= hops <= 4:
        raise ValueError(f"hops must be within 1..4, got {hops}")
    sources = black_listed(snapshot) if targets is None else np.asarray(targets)
    adjacency = Adjacency(snapshot, TIE_TYPES)
    names = snapshot.enterprises["name"].to_numpy(zero_copy_only=False)
    n = snapshot.n_enterprises
    grade = np.full(n, None, dtype=object)
    score = np.full(n, np.nan)
    if grading is not None:
        found = pc.index_in(snapshot.enterprises["id"], value_set=grading["id"])
        rows = found.to_numpy(zero_copy_only=False).astype(float)
        has = ~np.isnan(rows)
        take = rows[has].astype(np.int64)
        grade[has] = grading["grade"].to_numpy(zero_copy_only=False)[take]
        score[has] = grading["score"].to_numpy(zero_copy_only=False)[take]

    # One search per black-listed firm, all at once; the related enterprises it reaches.
    reached = adjacency.reach(sources, hops)
    kept = np.flatnonzero((reached.hops > 0) & (reached.node < n))
    source, node = reached.source[kept], reached.node[kept]
    columns = {
        "black_listed_id": adjacency.ids[source],
        "black_listed_name": names[source],
        "related_id": adjacency.ids[node],
        "related_name": names[node],
        "hops": reached.hops[kept],
        "grade": grade[node],
        "score": pa.array(score[node], mask=np.isnan(score[node])),
        "path": [
            json.dumps([[s.source, s.type, s.target] for s in adjacency.path(reached, r)])
            for r in kept.tolist()
        ],
    }
    # One ranking over the whole list, not per black-listed firm: the riskiest first.
    return pa.table(columns, schema=SCHEMA).sort_by(
        [
            ("score", "descending", "at_end"),
            ("hops", "ascending", "at_end"),
            ("related_id", "ascending", "at_end"),
            ("black_listed_id", "ascending", "at_end"),
        ]
    )
