"""Escalations due by the record rules: an abnormal-list entry still in force three years after
its start moves to the black list (DOMAIN.md; ``escalation`` in domain.yaml).

The move is a decision of the listing authority, so it is reported here as a list of due
escalations, never written as an invented black-list record. The snapshot has already
applied the record windows, repairs and upheld objections, so a cured or repaired entry is
not due.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import load_domain
from graph_model.record_rules import add_months, as_days, disputed, to_dates
from graph_model.snapshot import Snapshot

_SCHEMA = pa.schema(
    [
        ("enterprise_id", pa.string()),
        ("name", pa.string()),
        ("record_id", pa.string()),
        ("listed_on", pa.date32()),
        ("due_on", pa.date32()),
        ("days_overdue", pa.int64()),
        ("to", pa.string()),
        ("reason", pa.string()),
        ("disputed", pa.bool_()),
    ]
)


def due_escalations(snapshot: Snapshot) -> pa.Table:
    """Records in force on the snapshot's date whose escalation is due and not yet done.

    An escalation counts as done when the enterprise has a record of the target kind that
    started on or after the due day. One row per due record: enterprise, record, listing and
    due days, days overdue, target list, reason, disputed; oldest due first.
    """
    records = snapshot.records
    as_of = np.datetime64(snapshot.as_of, "D")
    kind = np.asarray(records["kind"].to_numpy(zero_copy_only=False), dtype=object)
    start = as_days(records["start"])
    in_force = np.asarray(pc.is_null(records["end"]).to_numpy(zero_copy_only=False), dtype=bool)
    owner = records["enterprise"].to_numpy()
    marked = disputed(records)
    parts = []
    for spec in load_domain().records:
        rule = spec.rules.escalation
        if rule is None:
            continue
        rows = np.flatnonzero((kind == spec.kind) & in_force)
        due_on = add_months(start[rows], rule.after.months)
        rows, due_on = rows[due_on <= as_of], due_on[due_on <= as_of]
        # Latest start of a target-kind record per enterprise: done if on or after the due day.
        target = kind == rule.to
        latest = np.full(snapshot.n_enterprises, np.iinfo(np.int64).min)
        np.maximum.at(latest, owner[target], start[target].astype(np.int64))
        done = latest[owner[rows]] >= due_on.astype(np.int64)
        rows, due_on = rows[~done], due_on[~done]
        taken = records.take(pa.array(rows, pa.int64()))
        names = snapshot.enterprises["name"].take(pa.array(owner[rows], pa.int64()))
        parts.append(
            pa.table(
                {
                    "enterprise_id": taken["enterprise_id"],
                    "name": names,
                    "record_id": taken["id"],
                    "listed_on": taken["start"],
                    "due_on": to_dates(due_on),
                    "days_overdue": pa.array((as_of - due_on).astype(np.int64)),
                    "to": pa.array([rule.to] * len(rows), pa.string()),
                    "reason": taken["reason"].cast(pa.string()),
                    "disputed": pa.array(marked[rows]),
                },
                schema=_SCHEMA,
            )
        )
    table = pa.concat_tables(parts) if parts else _SCHEMA.empty_table()
    return table.sort_by([("due_on", "ascending"), ("enterprise_id", "ascending")])
