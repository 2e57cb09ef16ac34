"""The warnings in the supervision registry (SQLite): storing a run's warnings once each,
closing those whose cause was repaired or annulled, their states and who changed them, and
listing, counting and filtering them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.snapshot import Snapshot
from risk.features.context import (
    flags,
)
from risk.supervision.registry import Registry, SupervisionError, timestamp
from risk.supervision.warnings import STATES, TRANSITIONS, WARNING_TYPES

_WITHDRAWABLE = ("related_bad_record", "person_tied_to_listed")
"""Warnings caused by a record: closed when the record is repaired or annulled."""


SYSTEM = "system"
"""Actor of the state changes the system makes itself."""


_INSERT_ROWS = 50_000


@dataclass(frozen=True)
class RunSummary:
    """What one raise did: warnings found, newly stored (the others were known), closed."""

    run_id: int
    found: int
    added: int
    closed: int
    by_type: dict[str, int]


@dataclass(frozen=True)
class StoredWarning:
    """A stored warning."""

    id: int
    type: str
    enterprise_id: str
    subject: str
    event_on: str
    as_of: str
    evidence: str
    disputed: bool
    state: str


@dataclass(frozen=True)
class StateChange:
    """One change of a warning's state: when, by whom, from and to, why."""

    at: str
    actor: str
    from_state: str
    to_state: str
    note: str | None


_COLUMNS = "id, type, enterprise_id, subject, event_on, as_of, evidence, disputed, state"


def _warning(row: tuple[Any, ...]) -> StoredWarning:
    return StoredWarning(
        id=row[0],
        type=row[1],
        enterprise_id=row[2],
        subject=row[3],
        event_on=row[4],
        as_of=row[5],
        evidence=row[6],
        disputed=bool(row[7]),
        state=row[8],
    )


def _rows(table: pa.Table, as_of: date, run_id: int) -> Iterator[tuple[Any, ...]]:
    for start in range(0, table.num_rows, _INSERT_ROWS):
        part = table.slice(start, _INSERT_ROWS)
        columns = [
            part["type"].to_pylist(),
            part["enterprise_id"].to_pylist(),
            part["subject"].to_pylist(),
            pc.cast(part["event_on"], pa.string()).to_pylist(),
            part["evidence"].to_pylist(),
            part["disputed"].to_pylist(),
        ]
        day = as_of.isoformat()
        for t, e, subject, event_on, evidence, marked in zip(*columns, strict=True):
            yield t, e, subject, event_on, day, evidence, int(marked), run_id


def save_warnings(
    registry: Registry,
    warnings: pa.Table,
    as_of: date,
    previous_as_of: date,
    hops: int,
    current: Snapshot,
    at: datetime | None = None,
) -> RunSummary:
    """Store a run's warnings (those already known, same type, enterprise and subject, are
    kept as they are) and close the open warnings whose record no longer counts on the
    current snapshot (:func:`close_withdrawn`), in one transaction."""
    when = timestamp(at)
    with registry.transaction() as conn:
        run_id = conn.execute(
            "INSERT INTO warning_runs (as_of, previous_as_of, hops, ran_at, found, added, closed)"
            " VALUES (?, ?, ?, ?, ?, 0, 0)",
            (as_of.isoformat(), previous_as_of.isoformat(), hops, when, warnings.num_rows),
        ).lastrowid
        assert run_id is not None
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO warnings (type, enterprise_id, subject, event_on, as_of,"
            " evidence, disputed, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _rows(warnings, as_of, run_id),
        )
        added = conn.total_changes - before
        closed = close_withdrawn(conn, current, when)
        conn.execute(
            "UPDATE warning_runs SET added = ?, closed = ? WHERE id = ?", (added, closed, run_id)
        )
    counts = pc.value_counts(warnings["type"]).to_pylist()
    by_type = {t: 0 for t in WARNING_TYPES} | {c["values"]: c["counts"] for c in counts}
    return RunSummary(run_id, warnings.num_rows, added, closed, by_type)


def close_withdrawn(conn: sqlite3.Connection, current: Snapshot, when: str) -> int:
    """Close open record warnings whose record is no longer in the current snapshot though
    it had started: it was repaired or annulled by an upheld objection, and stops counting
    at once (DOMAIN.md, repair). Returns how many were closed."""
    marks = ", ".join("?" * len(_WITHDRAWABLE))
    open_rows = conn.execute(
        f"SELECT id, subject FROM warnings WHERE state != 'closed' AND type IN ({marks})"
        " AND event_on <= ?",
        (*_WITHDRAWABLE, current.as_of.isoformat()),
    ).fetchall()
    if not open_rows:
        return 0
    subjects = pa.array([r[1] for r in open_rows], pa.string())
    gone = ~flags(pc.is_in(subjects, value_set=current.records["id"]))
    ids = [open_rows[i][0] for i in np.flatnonzero(gone)]
    note = f"the record no longer counts on {current.as_of} (repaired or objection upheld)"
    for warning_id in ids:
        _change(conn, warning_id, "closed", SYSTEM, note, when)
    return len(ids)


def _change(
    conn: sqlite3.Connection, warning_id: int, state: str, actor: str, note: str | None, when: str
) -> None:
    (before,) = conn.execute("SELECT state FROM warnings WHERE id = ?", (warning_id,)).fetchone()
    conn.execute("UPDATE warnings SET state = ? WHERE id = ?", (state, warning_id))
    conn.execute(
        "INSERT INTO warning_events (warning_id, at, actor, from_state, to_state, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (warning_id, when, actor, before, state, note),
    )


def set_state(
    registry: Registry,
    warning_id: int,
    state: str,
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
) -> StoredWarning:
    """Move a warning to ``seen`` or ``closed``, recording who did it and when."""
    if state not in STATES:
        raise SupervisionError(f"unknown state {state!r}; choose from {', '.join(STATES)}")
    if not actor.strip():
        raise SupervisionError("say who changes the state (an empty actor is not recorded)")
    with registry.transaction() as conn:
        row = conn.execute("SELECT state FROM warnings WHERE id = ?", (warning_id,)).fetchone()
        if row is None:
            raise SupervisionError(f"no warning {warning_id}")
        if state not in TRANSITIONS[row[0]]:
            allowed = ", ".join(TRANSITIONS[row[0]]) or "none (it is final)"
            raise SupervisionError(
                f"warning {warning_id} is {row[0]}: it cannot become {state}; allowed: {allowed}"
            )
        _change(conn, warning_id, state, actor.strip(), note, timestamp(at))
    return get_warning(registry, warning_id)[0]


def get_warning(registry: Registry, warning_id: int) -> tuple[StoredWarning, list[StateChange]]:
    """A warning and the history of its state."""
    conn = registry.connection
    row = conn.execute(f"SELECT {_COLUMNS} FROM warnings WHERE id = ?", (warning_id,)).fetchone()
    if row is None:
        raise SupervisionError(f"no warning {warning_id}")
    history = conn.execute(
        "SELECT at, actor, from_state, to_state, note FROM warning_events"
        " WHERE warning_id = ? ORDER BY id",
        (warning_id,),
    ).fetchall()
    return _warning(row), [StateChange(*h) for h in history]


def list_warnings(
    registry: Registry,
    *,
    state: str | None = None,
    watchlist: str | None = None,
    type_: str | None = None,
    enterprise_id: str | None = None,
    as_of: date | None = None,
    hidden_types: tuple[str, ...] = (),
    limit: int = 100,
    offset: int = 0,
) -> list[StoredWarning]:
    """Stored warnings, newest run first, filtered; ``watchlist`` keeps its members',
    ``hidden_types`` drops warnings of those types (what a role may not read). Pages by
    ``limit`` and ``offset`` in that order."""
    if limit < 1 or offset < 0:
        raise SupervisionError(f"limit must be at least 1 and offset 0 or more, got {limit}")
    clause, params = _filter(registry, state, watchlist, type_, enterprise_id, as_of, hidden_types)
    rows = registry.connection.execute(
        f"SELECT {_COLUMNS} FROM warnings{clause} ORDER BY run_id DESC, id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ).fetchall()
    return [_warning(r) for r in rows]


def count_warnings(
    registry: Registry,
    *,
    state: str | None = None,
    watchlist: str | None = None,
    type_: str | None = None,
    enterprise_id: str | None = None,
    as_of: date | None = None,
    hidden_types: tuple[str, ...] = (),
) -> int:
    """How many stored warnings pass the filters of :func:`list_warnings` (all of them, where
    a list stops at its limit)."""
    clause, params = _filter(registry, state, watchlist, type_, enterprise_id, as_of, hidden_types)
    found = registry.connection.execute(f"SELECT count(*) FROM warnings{clause}", params)
    return int(found.fetchone()[0])


def _filter(
    registry: Registry,
    state: str | None,
    watchlist: str | None,
    type_: str | None,
    enterprise_id: str | None,
    as_of: date | None,
    hidden_types: tuple[str, ...] = (),
) -> tuple[str, list[object]]:
    """The WHERE clause (empty without filters) and its parameters for a warnings filter."""
    if state is not None and state not in STATES:
        raise SupervisionError(f"unknown state {state!r}; choose from {', '.join(STATES)}")
    if type_ is not None and type_ not in WARNING_TYPES:
        raise SupervisionError(f"unknown type {type_!r}; choose from {', '.join(WARNING_TYPES)}")
    conn = registry.connection
    where: list[str] = []
    params: list[object] = []
    if watchlist is not None:
        found = conn.execute("SELECT id FROM watchlists WHERE name = ?", (watchlist,)).fetchone()
        if found is None:
            raise SupervisionError(f"no watchlist {watchlist!r}")
        where.append(
            "enterprise_id IN (SELECT enterprise_id FROM watchlist_members WHERE watchlist_id = ?)"
        )
        params.append(found[0])
    for column, value in (
        ("state", state),
        ("type", type_),
        ("enterprise_id", enterprise_id),
        ("as_of", as_of.isoformat() if as_of else None),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if hidden_types:
        where.append(f"type NOT IN ({', '.join('?' * len(hidden_types))})")
        params.extend(hidden_types)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params
