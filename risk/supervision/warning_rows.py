"""What a warning row is: its columns, and the pieces of evidence text every kind of warning
(:mod:`risk.supervision.warnings`, :mod:`risk.supervision.changes`) builds it from."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CIRCLE_MEMBERS_SHOWN = 10
"""Members of a guarantee circle listed in the evidence; the size is always given."""

SCHEMA = pa.schema(
    [
        ("type", pa.string()),
        ("enterprise_id", pa.string()),
        ("subject", pa.string()),
        ("event_on", pa.date32()),
        ("evidence", pa.string()),
        ("disputed", pa.bool_()),
    ]
)


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string columns and literals row by row."""
    return pc.binary_join_element_wise(*parts, "")


def warning_table(
    kind: str,
    enterprise: pa.Array,
    subject: pa.Array,
    event_on: pa.Array,
    evidence: pa.Array,
    marked: np.ndarray,
) -> pa.Table:
    """The warnings of one kind as rows of ``SCHEMA`` (``marked``: the record is disputed)."""
    return pa.table(
        {
            "type": pa.array([kind] * len(enterprise), pa.string()),
            "enterprise_id": enterprise,
            "subject": subject,
            "event_on": event_on,
            "evidence": evidence,
            "disputed": pa.array(marked, pa.bool_()),
        },
        schema=SCHEMA,
    )


def circle_text(
    labels: np.ndarray, sizes: np.ndarray, ids: pa.Array, wanted: np.ndarray
) -> pa.Array:
    """``circle of N: a, b, …`` for each label in ``wanted`` (members by id, the first few)."""
    if len(wanted) == 0:
        return pa.array([], pa.string())
    members = np.flatnonzero(np.isin(labels, wanted))
    table = pa.table({"label": labels[members], "id": pc.take(ids, members)})
    table = table.sort_by([("label", "ascending"), ("id", "ascending")])
    label = table["label"].to_numpy()
    names = table["id"].to_pylist()
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    texts = {}
    for start, end in zip(starts, np.r_[starts[1:], len(label)], strict=True):
        shown = ", ".join(names[start : min(end, start + CIRCLE_MEMBERS_SHOWN)])
        rest = end - start - CIRCLE_MEMBERS_SHOWN
        more = f", … (+{rest})" if rest > 0 else ""
        texts[int(label[start])] = f"circle of {sizes[label[start]]}: {shown}{more}"
    return pa.array([texts[int(w)] for w in wanted], pa.string())
