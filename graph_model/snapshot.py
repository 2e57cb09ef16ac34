"""Snapshots: the graph as it stood on one date, as columnar arrays.

A snapshot numbers every node once: enterprises take indices ``0..E-1`` and
persons ``E..E+P-1``. Each relation type becomes a CSR over those indices
(``indptr``, ``indices``) with its properties in the same order. Only what was
known on the as-of date survives: relations valid on that day, records that
had started, and every date after the as-of date blanked (an end or a default
that had not happened yet is unknown on that day). Records count as the rules of
their kind say (graph_model/record_rules.py): ``end`` is the effective end (the
publicity window cuts a later or missing end), and records repaired or annulled by
an upheld objection by the as-of date are left out. Features read snapshots,
never the store, so the same snapshot always gives the same features.

The rules of a day are functions of rows (:func:`enterprises_on`, :func:`standing`,
:func:`records_on`, :func:`blank_future_dates`): :meth:`History.on` applies them to the
whole history, Spark (risk/spark/tables.py) to each batch of an export of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp

from graph_model.domain import load_domain
from graph_model.record_rules import effective_records
from graph_model.store.protocol import GraphStore

# 2: records carry repair and objection fields, and ``end`` is the effective end.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
PERSONS = "persons.parquet"
_ENDED_STATUSES = ("revoked", "deregistered", "moved_out")


@dataclass(frozen=True)
class RelationArrays:
    """One relation type as CSR: row ``i`` lists the targets of node ``i``."""

    indptr: np.ndarray
    indices: np.ndarray
    properties: pa.Table

    @classmethod
    def from_edges(
        cls, src: np.ndarray, dst: np.ndarray, properties: pa.Table, n: int
    ) -> RelationArrays:
        """CSR over ``n`` nodes from aligned source and target indices and property rows."""
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        order = np.lexsort((dst, src))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
        return cls(indptr, dst[order], properties.take(pa.array(order)))

    @property
    def edge_count(self) -> int:
        return len(self.indices)

    @property
    def sources(self) -> np.ndarray:
        """Source index of every edge, aligned with ``indices``."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))

    def matrix(self, weight: str | None = None) -> sp.csr_matrix:
        """The relation as a square sparse matrix, weighted by a numeric property or 1."""
        n = len(self.indptr) - 1
        if weight is None:
            data = np.ones(self.edge_count)
        else:
            data = self.properties[weight].to_numpy(zero_copy_only=False).astype(float)
            data = np.nan_to_num(data, nan=0.0)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(n, n))


@dataclass(frozen=True)
class Snapshot:
    """Node tables, one CSR per relation type, and the records, as of a date."""

    as_of: date
    enterprises: pa.Table
    persons: pa.Table
    relations: dict[str, RelationArrays]
    records: pa.Table

    @property
    def n_enterprises(self) -> int:
        return int(self.enterprises.num_rows)

    @property
    def n_nodes(self) -> int:
        return int(self.enterprises.num_rows + self.persons.num_rows)

    @cached_property
    def node_ids(self) -> pa.Array:
        """The id of every node in index order: enterprise ids, then person keys."""
        return self._node_column("id")

    @cached_property
    def node_names(self) -> pa.Array:
        """The name of every node in index order (null where none is known)."""
        return self._node_column("name")

    @cached_property
    def former_names(self) -> pa.Array:
        """The enterprises' ``former_names`` field (曾用名), in row order; all null in a
        snapshot saved before the field existed."""
        ent = self.enterprises
        if "former_names" not in ent.column_names:
            return pa.nulls(ent.num_rows, pa.string())
        return ent["former_names"].combine_chunks()

    def _node_column(self, name: str) -> pa.Array:
        return pa.concat_arrays(
            [self.enterprises[name].combine_chunks(), self.persons[name].combine_chunks()]
        )

    def index_of(self, ids: pa.Array | list[str]) -> np.ndarray:
        """Node index of each id (enterprise id or person key); -1 when absent."""
        found = pc.index_in(pa.array(ids, pa.string()), value_set=self.node_ids)
        return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64))

    @staticmethod
    def saved_in(folder: Path, *, readable: bool = False) -> bool:
        """Whether ``folder`` holds a whole saved snapshot (its manifest is written last);
        ``readable``: in the format this version reads."""
        manifest = folder / MANIFEST
        if not manifest.is_file():
            return False
        return not readable or json.loads(manifest.read_text())["format"] == FORMAT_VERSION

    def save(self, folder: Path) -> Path:
        """Write the snapshot to ``folder`` (Parquet files, then the manifest)."""
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(self.enterprises, folder / "enterprises.parquet")
        pq.write_table(self.persons, folder / PERSONS)
        pq.write_table(self.records, folder / "records.parquet")
        for rel_type, rel in self.relations.items():
            edges = rel.properties.append_column("_src", pa.array(rel.sources)).append_column(
                "_dst", pa.array(rel.indices)
            )
            pq.write_table(edges, folder / f"rel_{rel_type}.parquet")
        manifest = {
            "format": FORMAT_VERSION,
            "as_of": self.as_of.isoformat(),
            "relations": sorted(self.relations),
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return folder

    @classmethod
    def load(cls, folder: Path) -> Snapshot:
        """Read a snapshot written by :meth:`save`."""
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest["format"] != FORMAT_VERSION:
            raise ValueError(f"{folder}: snapshot format {manifest['format']} is not supported")
        enterprises = pq.read_table(folder / "enterprises.parquet")
        persons = pq.read_table(folder / PERSONS)
        n = enterprises.num_rows + persons.num_rows
        relations = {}
        for rel_type in manifest["relations"]:
            edges = pq.read_table(folder / f"rel_{rel_type}.parquet")
            src = edges["_src"].to_numpy()
            dst = edges["_dst"].to_numpy()
            relations[rel_type] = RelationArrays.from_edges(
                src, dst, edges.drop(["_src", "_dst"]), n
            )
        return cls(
            as_of=date.fromisoformat(manifest["as_of"]),
            enterprises=enterprises,
            persons=persons,
            relations=relations,
            records=pq.read_table(folder / "records.parquet"),
        )


def blank_future_dates(table: pa.Table, as_of: date) -> pa.Table:
    """Dates after the as-of date were unknown on it: make them null."""
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if pa.types.is_date32(col.type):
            future = pc.fill_null(pc.greater(col, pa.scalar(as_of, pa.date32())), False)
            table = table.set_column(i, name, pc.if_else(future, pa.nulls(1, col.type)[0], col))
    return table


def established(enterprises: pa.Table, as_of: date) -> np.ndarray:
    """Enterprises established on or before ``as_of`` (or on an unknown day)."""
    return _on_or_before(enterprises["established_on"], as_of)


def enterprises_on(enterprises: pa.Table, as_of: date) -> pa.Table:
    """The enterprise rows of a history as they stood on ``as_of``: those established by
    then, with the status of that day and the later dates blanked. Row by row: any slice of
    the rows gives its part of the answer."""
    enterprises = enterprises.filter(pa.array(established(enterprises, as_of)))
    # An enterprise deregistered after the as-of date was still active on it; one with an
    # ended status but no date keeps its status (when it ended is unknown).
    not_yet = pc.fill_null(pc.greater(enterprises["deregistered_on"], as_of), False)
    status = pc.if_else(
        pc.and_(pc.is_in(enterprises["status"], pa.array(_ENDED_STATUSES)), not_yet),
        "active",
        enterprises["status"],
    )
    at = enterprises.column_names.index("status")
    return blank_future_dates(enterprises.set_column(at, "status", status), as_of)


def standing(relations: pa.Table, as_of: date) -> np.ndarray:
    """Relations (rows with ``valid_from`` and ``valid_to``) begun and not ended on ``as_of``."""
    day = pa.scalar(as_of, pa.date32())
    ended = pc.fill_null(pc.less_equal(relations["valid_to"], day), False)
    going = ~np.asarray(ended.to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(_on_or_before(relations["valid_from"], as_of) & going)


def records_on(records: pa.Table, as_of: date) -> pa.Table:
    """The records of a history as they count on ``as_of``: those started by then, by the
    rules of their kind (:func:`~graph_model.record_rules.effective_records`), with the later
    dates blanked. Row by row: any slice of the rows gives its part of the answer."""
    started = records.filter(pa.array(_on_or_before(records["start"], as_of)))
    return blank_future_dates(effective_records(started, as_of, load_domain()), as_of)


def _concat(pages: list[pa.Table], key: str) -> pa.Table:
    """The pages as one table sorted by ``key``: a snapshot's order (node indexes, edge order,
    hence every tie broken by order downstream) is the same from every backend."""
    table = pa.concat_tables(pages)
    return table.take(pc.sort_indices(table[key])).combine_chunks()


def _on_or_before(column: pa.ChunkedArray | pa.Array, as_of: date) -> np.ndarray:
    """Rows whose date is empty or not after ``as_of``."""
    begun = pc.fill_null(pc.less_equal(column, pa.scalar(as_of, pa.date32())), True)
    return np.asarray(begun.to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True)
class Edges:
    """One relation type as aligned source and target node indexes, plus its properties (in
    a snapshot: the snapshot's indexes; in a :class:`History`: the history's, in key order)."""

    src: np.ndarray
    dst: np.ndarray
    properties: pa.Table


@dataclass(frozen=True)
class History:
    """The graph up to a date, read from the store once, from which the snapshot of any day
    up to it is cut without asking the store again.

    Enterprises are those established by ``upto``, relations every one that had begun by then
    (ended ones too, with their ``valid_to``), records every one started by then; node indexes
    are those of the whole history. :meth:`on` keeps what stood on a day and renumbers.
    """

    upto: date
    enterprises: pa.Table
    persons: pa.Table
    relations: dict[str, Edges]
    records: pa.Table
    record_owner: np.ndarray

    @classmethod
    def export(cls, store: GraphStore, upto: date, batch_rows: int = 1_000_000) -> History:
        """Read the graph up to ``upto`` from any store backend, in one pass per table."""
        domain = load_domain()
        enterprises = _concat(list(store.export_nodes("Enterprise", upto, batch_rows)), "id")
        persons = _concat(list(store.export_nodes("Person", upto, batch_rows)), "id")
        edges = {
            spec.type: _concat(
                list(store.export_relations(spec.type, upto, batch_rows, ended=True)), "key"
            )
            for spec in domain.relations
        }
        records = _concat(list(store.export_records(upto, batch_rows)), "id")
        # Every endpoint looked up in one pass: one hash of the node ids serves them all.
        node_ids = pa.concat_arrays(
            [enterprises["id"].combine_chunks(), persons["id"].combine_chunks()]
        )
        ends = [t[c].combine_chunks() for t in edges.values() for c in ("_from", "_to")]
        ends.append(records["enterprise_id"].combine_chunks())
        found = pc.index_in(pa.concat_arrays(ends), value_set=node_ids)
        at = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        bounds = np.cumsum([0, *(len(e) for e in ends)])
        parts = np.split(at, bounds[1:-1])
        relations = {
            rel_type: Edges(
                parts[2 * i],
                parts[2 * i + 1],
                table.drop(["_from", "_from_label", "_to", "_to_label"]),
            )
            for i, (rel_type, table) in enumerate(edges.items())
        }
        return cls(upto, enterprises, persons, relations, records, parts[-1])

    def on(self, as_of: date) -> Snapshot:
        """The snapshot of ``as_of`` (a day up to :attr:`upto`)."""
        if as_of > self.upto:
            raise ValueError(f"the history ends {self.upto}; it has no snapshot of {as_of}")
        present_firms = established(self.enterprises, as_of)
        enterprises = enterprises_on(self.enterprises, as_of)
        # History index → index on the day (-1: not there yet); persons always are.
        present = np.r_[present_firms, np.ones(self.persons.num_rows, dtype=bool)]
        renumber = np.where(present, np.cumsum(present) - 1, -1)
        n = int(present.sum())

        relations = {}
        for rel_type, edges in self.relations.items():
            props = edges.properties
            src = np.where(edges.src >= 0, renumber[edges.src], -1)
            dst = np.where(edges.dst >= 0, renumber[edges.dst], -1)
            # Edges to enterprises not yet established on the as-of date are not part of it.
            keep = standing(props, as_of) & (src >= 0) & (dst >= 0)
            kept = blank_future_dates(props.filter(pa.array(keep)), as_of)
            relations[rel_type] = RelationArrays.from_edges(src[keep], dst[keep], kept, n)

        owner = np.where(self.record_owner >= 0, renumber[self.record_owner], -1)
        records = self.records.append_column("enterprise", pa.array(owner))
        records = records_on(records.filter(pa.array(owner >= 0)), as_of)
        return Snapshot(as_of, enterprises, self.persons, relations, records)


def take_snapshot(store: GraphStore, as_of: date, batch_rows: int = 1_000_000) -> Snapshot:
    """Export the graph as it stood on ``as_of`` from any store backend."""
    return History.export(store, as_of, batch_rows).on(as_of)
