"""Small snapshots built by hand for feature tests: name the firms, people and ties, get arrays.

Enterprises and persons are referred to by short names; ``SnapshotBuilder.build()`` numbers
them the way a real snapshot does (enterprises first, then persons) and fills every column
the feature families read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from graph_model.snapshot import RelationArrays, Snapshot

AS_OF = date(2025, 6, 30)

_RELATION_COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "LEGAL_REP": {"valid_from": pa.date32(), "valid_to": pa.date32()},
    "OFFICER": {"role": pa.string()},
    "HOLDS_SHARES": {"share": pa.float64()},
    "GUARANTEES": {"amount": pa.float64(), "currency": pa.string(), "defaulted_on": pa.date32()},
    "HAS_BRANCH": {},
}
_RECORD_COLUMNS: dict[str, pa.DataType] = {
    "kind": pa.string(),
    "start": pa.date32(),
    "end": pa.date32(),
    "reason": pa.string(),
    "severity": pa.string(),
    "kept": pa.bool_(),
    "finding": pa.string(),
    "amount": pa.float64(),
    "role": pa.string(),
    "event": pa.string(),
}


@dataclass
class SnapshotBuilder:
    """Collects firms, people, relations and records, then builds a :class:`Snapshot`."""

    as_of: date = AS_OF
    firms: dict[str, dict[str, Any]] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)
    edges: dict[str, list[tuple[str, str, dict[str, Any]]]] = field(
        default_factory=lambda: {t: [] for t in _RELATION_COLUMNS}
    )
    records: list[dict[str, Any]] = field(default_factory=list)

    def firm(self, name: str, **fields: Any) -> SnapshotBuilder:
        row = {
            "region_code": "330203",
            "industry": "C",
            "registered_capital": 1_000_000.0,
            "paid_in_capital": None,
            "established_on": date(2015, 1, 1),
            "deregistered_on": None,
            "status": "active",
            "address": None,
            "phone": None,
            "email": None,
        }
        row.update(fields)
        self.firms[name] = row
        return self

    def firms_named(self, *names: str) -> SnapshotBuilder:
        for name in names:
            self.firm(name)
        return self

    def person(self, *names: str) -> SnapshotBuilder:
        self.people.extend(n for n in names if n not in self.people)
        return self

    def tie(self, rel_type: str, source: str, target: str, **props: Any) -> SnapshotBuilder:
        self.edges[rel_type].append((source, target, props))
        return self

    def record(self, firm: str, kind: str, start: date, **fields: Any) -> SnapshotBuilder:
        self.records.append({"firm": firm, "kind": kind, "start": start, **fields})
        return self

    def index(self, name: str) -> int:
        names = [*self.firms, *self.people]
        return names.index(name)

    def build(self) -> Snapshot:
        names = list(self.firms)
        enterprises = pa.table(
            {
                "id": pa.array(names, pa.string()),
                "name": pa.array(names, pa.string()),
                **{
                    col: pa.array([self.firms[n][col] for n in names], typ)
                    for col, typ in (
                        ("region_code", pa.string()),
                        ("industry", pa.string()),
                        ("registered_capital", pa.float64()),
                        ("paid_in_capital", pa.float64()),
                        ("established_on", pa.date32()),
                        ("deregistered_on", pa.date32()),
                        ("status", pa.string()),
                        ("address", pa.string()),
                        ("phone", pa.string()),
                        ("email", pa.string()),
                    )
                },
            }
        )
        persons = pa.table(
            {"id": pa.array(self.people, pa.string()), "name": pa.array(self.people, pa.string())}
        )
        n = len(names) + len(self.people)
        relations = {}
        for rel_type, columns in _RELATION_COLUMNS.items():
            rows = self.edges[rel_type]
            props = pa.table(
                {
                    "key": pa.array([f"{s}>{t}" for s, t, _ in rows], pa.string()),
                    **{
                        col: pa.array([p.get(col) for *_, p in rows], typ)
                        for col, typ in columns.items()
                    },
                }
            )
            src = np.array([self.index(s) for s, _, _ in rows], dtype=np.int64)
            dst = np.array([self.index(t) for _, t, _ in rows], dtype=np.int64)
            relations[rel_type] = RelationArrays.from_edges(src, dst, props, n)
        records = pa.table(
            {
                "id": pa.array([f"{r['kind']}:{i}" for i, r in enumerate(self.records)]),
                "enterprise_id": pa.array([r["firm"] for r in self.records], pa.string()),
                **{
                    col: pa.array([r.get(col) for r in self.records], typ)
                    for col, typ in _RECORD_COLUMNS.items()
                },
                "enterprise": pa.array([self.index(r["firm"]) for r in self.records], pa.int64()),
            }
        )
        return Snapshot(self.as_of, enterprises, persons, relations, records)
