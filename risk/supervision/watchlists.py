"""Watchlists: a bank or a regulator watches a set of enterprises and reads their warnings
(``list_warnings(watchlist=...)``). Stored in the supervision registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from graph_model.identifiers import enterprise_id_valid_array
from risk.supervision.registry import Registry, SupervisionError, timestamp

OWNER_KINDS = ("bank", "regulator")


@dataclass(frozen=True)
class Watchlist:
    """A named set of enterprises watched by its owner."""

    name: str
    owner: str
    owner_kind: str
    created_at: str
    members: tuple[str, ...]


def _id_of(registry: Registry, name: str) -> int:
    row = registry.connection.execute(
        "SELECT id FROM watchlists WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise SupervisionError(f"no watchlist {name!r}")
    return int(row[0])


def _checked_ids(ids: list[str]) -> list[str]:
    if not ids:
        raise SupervisionError("give at least one enterprise id")
    unique = list(dict.fromkeys(i.strip() for i in ids))
    valid = enterprise_id_valid_array(pa.array(unique, pa.string()))
    bad = [i for i, ok in zip(unique, valid, strict=True) if not ok]
    if bad:
        raise SupervisionError(
            f"not enterprise ids (USCC with a valid check character, or REG:, FOREIGN:, "
            f"SRC:): {', '.join(map(repr, bad))}"
        )
    return unique


def create_watchlist(
    registry: Registry, name: str, owner: str, owner_kind: str, at: datetime | None = None
) -> Watchlist:
    """A new, empty watchlist; names are unique."""
    if not name.strip() or not owner.strip():
        raise SupervisionError("a watchlist needs a name and an owner")
    if owner_kind not in OWNER_KINDS:
        raise SupervisionError(f"owner kind must be one of {', '.join(OWNER_KINDS)}")
    with registry.transaction() as conn:
        if conn.execute("SELECT 1 FROM watchlists WHERE name = ?", (name,)).fetchone():
            raise SupervisionError(f"a watchlist named {name!r} exists already")
        conn.execute(
            "INSERT INTO watchlists (name, owner, owner_kind, created_at) VALUES (?, ?, ?, ?)",
            (name, owner.strip(), owner_kind, timestamp(at)),
        )
    return show_watchlist(registry, name)


def add_members(registry: Registry, name: str, ids: list[str], at: datetime | None = None) -> int:
    """Add enterprises to a watchlist; returns how many were not on it yet. The caller checks
    that they exist (the store knows them)."""
    checked = _checked_ids(ids)
    when = timestamp(at)
    with registry.transaction() as conn:
        list_id = _id_of(registry, name)
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO watchlist_members (watchlist_id, enterprise_id, added_at)"
            " VALUES (?, ?, ?)",
            [(list_id, i, when) for i in checked],
        )
        return conn.total_changes - before


def remove_members(registry: Registry, name: str, ids: list[str]) -> int:
    """Remove enterprises from a watchlist; refuses ids that are not on it."""
    unique = list(dict.fromkeys(i.strip() for i in ids))
    if not unique:
        raise SupervisionError("give at least one enterprise id")
    with registry.transaction() as conn:
        list_id = _id_of(registry, name)
        members = set(show_watchlist(registry, name).members)
        absent = [i for i in unique if i not in members]
        if absent:
            raise SupervisionError(
                f"not on watchlist {name!r}: {', '.join(map(repr, absent))}; nothing removed"
            )
        conn.executemany(
            "DELETE FROM watchlist_members WHERE watchlist_id = ? AND enterprise_id = ?",
            [(list_id, i) for i in unique],
        )
    return len(unique)


def show_watchlist(registry: Registry, name: str) -> Watchlist:
    """A watchlist with its members, by id."""
    conn = registry.connection
    row = conn.execute(
        "SELECT id, name, owner, owner_kind, created_at FROM watchlists WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise SupervisionError(f"no watchlist {name!r}")
    members = conn.execute(
        "SELECT enterprise_id FROM watchlist_members WHERE watchlist_id = ? ORDER BY enterprise_id",
        (row[0],),
    ).fetchall()
    return Watchlist(row[1], row[2], row[3], row[4], tuple(m[0] for m in members))


def all_watchlists(registry: Registry) -> list[tuple[str, str, str, int]]:
    """(name, owner, owner kind, number of members) of every watchlist, by name."""
    rows = registry.connection.execute(
        "SELECT w.name, w.owner, w.owner_kind, count(m.enterprise_id) FROM watchlists w"
        " LEFT JOIN watchlist_members m ON m.watchlist_id = w.id GROUP BY w.id ORDER BY w.name"
    ).fetchall()
    return [(r[0], r[1], r[2], int(r[3])) for r in rows]
