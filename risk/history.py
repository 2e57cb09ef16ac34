"""An enterprise's change history: its relations and records as dated events, newest first.

Every relation has a validity period (``valid_from`` up to, not including, ``valid_to``) and
every record a ``start`` and an ``end``; a relation that began gives an ``…_in`` or
``…_opened`` event on ``valid_from``, one that ended an ``…_out`` or ``…_closed`` event on
``valid_to``. The store's ``neighbours`` returns ended relations too, with their properties,
and ``get_entity`` the records, so the history reads the same from every backend.

An empty ``valid_from`` is a beginning of unknown date: its event has no day (shown as "date
unknown", never as a made-up day) and sorts after every dated one. Ends later than ``until``
(planned, not yet happened) give no event; the beginning's details keep ``valid_to``.

Cost: one page read per 1,000 relations of the enterprise (one hop, linear in its degree)
and one read of its records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from graph_model.store.protocol import Edge, GraphStore, NodeRef
from risk.screening import record_statuses

HISTORY_TYPES = ("HOLDS_SHARES", "LEGAL_REP", "OFFICER", "GUARANTEES", "HAS_BRANCH")
"""Relations whose beginnings and ends make the history."""

PAGE = 1_000
"""Neighbours read per store call."""

_KINDS: dict[tuple[str, bool], tuple[str, str]] = {
    # (relation type, the enterprise is the relation's target): (began, ended)
    ("HOLDS_SHARES", True): ("shareholder_in", "shareholder_out"),
    ("HOLDS_SHARES", False): ("holding_in", "holding_out"),
    ("LEGAL_REP", True): ("legal_rep_in", "legal_rep_out"),
    ("OFFICER", True): ("officer_in", "officer_out"),
    ("GUARANTEES", False): ("guarantee_given_opened", "guarantee_given_closed"),
    ("GUARANTEES", True): ("guarantee_received_opened", "guarantee_received_closed"),
    ("HAS_BRANCH", False): ("branch_opened", "branch_closed"),
    ("HAS_BRANCH", True): ("head_office_in", "head_office_out"),
}
EVENT_KINDS = (
    *(kind for pair in _KINDS.values() for kind in pair),
    "record_start",
    "record_end",
)
"""Every kind of event, relations' then records'."""

_NOT_DETAILS = ("key", "valid_from")
_RECORD_HEAD = ("id", "enterprise_id", "start", "end")


@dataclass(frozen=True)
class Change:
    """One event of the history: its day (None when unknown), kind, the other party (None
    for records) and details (the relation's properties, or the record's fields)."""

    day: date | None
    kind: str
    counterpart: NodeRef | None
    details: dict[str, Any] = field(default_factory=dict)


def enterprise_history(
    store: GraphStore,
    enterprise_id: str,
    since: date | None = None,
    until: date | None = None,
) -> list[Change]:
    """The changes of the enterprise between ``since`` and ``until`` (both included; default
    every day up to today), newest first, events of unknown date last (left out when
    ``since`` is given: they cannot be shown to be after it). Same day: by kind, counterpart
    id, then relation key."""
    last = until or date.today()
    found: list[tuple[Change, str]] = []
    offset: int | None = 0
    while offset is not None:
        page = store.neighbours(enterprise_id, HISTORY_TYPES, "both", PAGE, offset)
        for item in page.items:
            found += _relation_events(enterprise_id, item.node, item.edge)
        offset = page.next_offset
    entity = store.get_entity(enterprise_id)
    for status in record_statuses(entity.records if entity is not None else (), last):
        found += _record_events(status.record)
    kept = [
        (c, key)
        for c, key in found
        if (c.day is None and since is None)
        or (c.day is not None and c.day <= last and (since is None or c.day >= since))
    ]
    kept.sort(key=_order)
    return [c for c, _ in kept]


def _order(event: tuple[Change, str]) -> tuple[bool, int, str, str, str]:
    change, key = event
    newest_first = -change.day.toordinal() if change.day is not None else 0
    other = change.counterpart.id if change.counterpart is not None else ""
    return (change.day is None, newest_first, change.kind, other, key)


def _relation_events(enterprise_id: str, other: NodeRef, edge: Edge) -> list[tuple[Change, str]]:
    """The beginning and (once it came) the end of one relation, keyed by the relation."""
    kinds = _KINDS.get((edge.type, edge.target == enterprise_id))
    if kinds is None:
        return []
    details = {k: v for k, v in edge.properties.items() if k not in _NOT_DETAILS and v is not None}
    key = str(edge.properties.get("key", ""))
    began, ended = kinds
    out = [(Change(edge.properties.get("valid_from"), began, other, details), key)]
    end = edge.properties.get("valid_to")
    if end is not None:
        out.append((Change(end, ended, other, details), key))
    return out


def _record_events(record: dict[str, Any]) -> list[tuple[Change, str]]:
    """A record's start and (once it came) end, keyed by its id."""
    details = {k: v for k, v in record.items() if k not in _RECORD_HEAD and v is not None}
    out = [(Change(record.get("start"), "record_start", None, details), record["id"])]
    if record.get("end") is not None:
        out.append((Change(record["end"], "record_end", None, details), record["id"]))
    return out
