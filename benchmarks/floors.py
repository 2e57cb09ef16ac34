"""Raw floors for the scale benchmark: what the engine alone takes for the same data.

- ``copy_floor``: LadybugDB's own ``COPY`` of the rows a validated load stored, from Parquet
  files into a fresh database with the same schema, one COPY per table (and per label pair of
  a relation type), no checks, no transaction of ours. The rows are exported from the loaded
  store first, untimed, as files of ``COPY_ROWS`` rows (the slices the store copies too, for
  the engine's hang on bigger COPYs: benchmarks/ladybug_copy_hang.py); the COPY statements
  alone are timed, their checkpoints included.
- ``export_floor``: the store's export queries of a snapshot's nodes, relations and records,
  untouched: what taking a snapshot reads before it sorts, numbers and masks.
"""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

import ladybug as lb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from graph_model.store import ladybug_cypher as cy
from graph_model.store.ladybug import COPY_ROWS, LadybugStore
from graph_model.store.layout import node_columns, relation_columns, relation_pairs
from graph_model.store.protocol import GraphStore

_FAR = date(9999, 12, 31)
_PAGE = 10_000_000


def _parts(table: pa.Table, stem: Path, query: str) -> list[tuple[str, Path]]:
    """``table`` as Parquet files of at most ``COPY_ROWS`` rows, with the COPY of each."""
    plan = []
    for number, start in enumerate(range(0, table.num_rows, COPY_ROWS)):
        path = stem.with_name(f"{stem.name}-{number:04d}.parquet")
        pq.write_table(table.slice(start, COPY_ROWS), path)
        plan.append((query.replace("$rows", f"'{path}'"), path))
    return plan


def _export(store: GraphStore, folder: Path) -> list[tuple[str, Path]]:
    """The stored rows as Parquet files in COPY column order, with the COPY of each."""
    domain = store.domain  # type: ignore[attr-defined]
    plan: list[tuple[str, Path]] = []
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
        plan += _parts(table, folder / label, cy.copy_nodes(domain, label))
    for spec in domain.relations:
        table = pa.concat_tables(store.export_relations(spec.type, _FAR, _PAGE, ended=True))
        columns = ["_from", "_to", *(f.name for f in relation_columns(domain, spec.type))]
        for a, b in relation_pairs(domain, spec.type):
            pair = pc.and_(pc.equal(table["_from_label"], a), pc.equal(table["_to_label"], b))
            query = cy.copy_relations(domain, spec.type, a, b)
            plan += _parts(
                table.filter(pair).select(columns), folder / f"{spec.type}-{a}-{b}", query
            )
    query = cy.copy_relations(domain, "HAS_RECORD", "Enterprise", "Record")
    return plan + _parts(pa.concat_tables(owners), folder / "HAS_RECORD", query)


def copy_floor(store_path: Path, work: Path) -> dict[str, object]:
    """Seconds of LadybugDB's COPY of the stored rows into a fresh database."""
    folder = work / "copy-floor"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with LadybugStore(store_path, read_only=True) as store:
        plan = _export(store, folder)
    fresh = folder / "fresh.lbdb"
    with LadybugStore(fresh) as empty:
        empty.ensure_schema()
    db = lb.Database(str(fresh))
    conn = lb.Connection(db)
    started = time.perf_counter()
    for query, _ in plan:
        conn.execute(query)
    conn.close()
    db.close()
    seconds = time.perf_counter() - started
    rows = sum(pq.read_metadata(path).num_rows for _, path in plan)
    shutil.rmtree(folder)
    return {"copy_floor_s": round(seconds, 1), "copied_rows": rows}


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
