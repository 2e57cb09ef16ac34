"""Raw floors for the scale benchmark: what the engine alone takes for the same data.

- ``copy_floor``: LadybugDB's own ``COPY`` of the rows a validated load stored into a fresh
  database with the same schema, one COPY per table (and per label pair of a relation type),
  no checks, no transaction of ours. The rows are exported from the loaded store first,
  untimed, and fed as the store feeds them: Arrow tables in memory, in slices of
  ``COPY_ROWS`` rows (for the engine's hang on bigger COPYs:
  benchmarks/ladybug_copy_hang.py), one transaction per table (per label pair of a relation
  type), as the store writes. The COPY statements alone are timed, their commits and a
  final checkpoint included.
- ``export_floor``: the store's export queries of a snapshot's nodes, relations and records,
  untouched: what taking a snapshot reads before it sorts, numbers and masks.
"""

from __future__ import annotations

import itertools
import shutil
import time
from datetime import date
from pathlib import Path

import ladybug as lb
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.store import ladybug_cypher as cy
from graph_model.store.ladybug import COPY_ROWS, LadybugStore
from graph_model.store.layout import node_columns, relation_columns, relation_pairs
from graph_model.store.protocol import GraphStore

_FAR = date(9999, 12, 31)
_PAGE = 10_000_000


def _parts(table: pa.Table, query: str) -> list[tuple[str, pa.Table]]:
    """``table`` in slices of at most ``COPY_ROWS`` rows, with the COPY of each."""
    return [(query, table.slice(start, COPY_ROWS)) for start in range(0, table.num_rows, COPY_ROWS)]


def _export(store: GraphStore) -> list[tuple[str, pa.Table]]:
    """The stored rows in COPY column order, in slices, with the COPY of each."""
    domain = store.domain  # type: ignore[attr-defined]
    plan: list[tuple[str, pa.Table]] = []
    owners: list[pa.Table] = []
    for label in (*(n.label for n in domain.nodes), "Record"):
        columns = [f.name for f in node_columns(domain, label)]
        pages = (
            store.export_records(_FAR, _PAGE)
            if label == "Record"
            else store.export_nodes(label, _FAR, _PAGE)
        )
        table = pa.concat_tables(pages).select(columns)
        if label == "Record":
            owners.append(table.select(["enterprise_id", "id"]).rename_columns(["_from", "_to"]))
        plan += _parts(table, cy.copy_nodes(domain, label))
    for spec in domain.relations:
        table = pa.concat_tables(store.export_relations(spec.type, _FAR, _PAGE, ended=True))
        columns = ["_from", "_to", *(f.name for f in relation_columns(domain, spec.type))]
        for a, b in relation_pairs(domain, spec.type):
            pair = pc.and_(pc.equal(table["_from_label"], a), pc.equal(table["_to_label"], b))
            query = cy.copy_relations(domain, spec.type, a, b)
            plan += _parts(table.filter(pair).select(columns), query)
    query = cy.copy_relations(domain, "HAS_RECORD", "Enterprise", "Record")
    return plan + _parts(pa.concat_tables(owners), query)


def copy_floor(store_path: Path, work: Path) -> dict[str, object]:
    """Seconds of LadybugDB's COPY of the stored rows into a fresh database."""
    folder = work / "copy-floor"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with LadybugStore(store_path, read_only=True) as store:
        plan = _export(store)
    fresh = folder / "fresh.lbdb"
    with LadybugStore(fresh) as empty:
        empty.ensure_schema()
    db = lb.Database(str(fresh))
    conn = lb.Connection(db)
    started = time.perf_counter()
    for query, slices in itertools.groupby(plan, key=lambda step: step[0]):
        conn.execute(cy.BEGIN)
        for _, rows in slices:
            conn.execute(query, {"rows": rows})
        conn.execute(cy.COMMIT)
    conn.execute(cy.CHECKPOINT)
    conn.close()
    db.close()
    seconds = time.perf_counter() - started
    shutil.rmtree(folder)
    return {"copy_floor_s": round(seconds, 1), "copied_rows": sum(r.num_rows for _, r in plan)}


def export_floor(store: GraphStore, as_of: date) -> float:
    """Seconds of the store's raw export of a snapshot's tables on ``as_of``."""
    domain = store.domain  # type: ignore[attr-defined]
    started = time.perf_counter()
    for label in ("Enterprise", "Person"):
        pa.concat_tables(store.export_nodes(label, as_of, _PAGE))
    for spec in domain.relations:
        pa.concat_tables(store.export_relations(spec.type, as_of, _PAGE, ended=True))
    pa.concat_tables(store.export_records(as_of, _PAGE))
    return time.perf_counter() - started
