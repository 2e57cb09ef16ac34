"""The store's history up to a date, streamed out as partitioned Parquet for Spark.

:func:`export_history` reads the store through the protocol's paged export (either backend:
the embedded one, Neo4j) and writes each page as it arrives, as one Parquet part file:

- ``enterprises/`` and ``persons/``: the node rows that exist up to the date;
- ``relations/<TYPE>/``: every relation of the type begun by the date, ended ones too,
  with ``_from``, ``_from_label``, ``_to``, ``_to_label`` (the store's string ids) and every
  property, ``valid_from`` and ``valid_to`` included;
- ``records/``: every record started by the date;
- ``manifest.json`` last: the format, the date, each table's Arrow schema (as the store
  gives it) and row and part counts. A folder without it is an export that did not finish.

This side holds one page (``batch_rows`` rows) whatever the size of the store: a page is
written and let go before the next one is asked for. Neo4j reads each page as a read of its
own (keyset paging), so the whole export stays at one page; the embedded store computes one
table's query result whole before it hands out pages (LadybugDB materialises a result), so
there the bound is the largest table, as in any embedded use. Nothing is cut, renumbered or sorted
here; :meth:`risk.spark.tables.SparkSnapshot.cut` does that on the cluster, for any day up
to the date.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from graph_model.domain import load_domain
from graph_model.store.protocol import GraphStore

FORMAT = "creditgraph-spark-history/1"
MANIFEST = "manifest.json"
BATCH_ROWS = 1_000_000
"""Rows per page asked of the store, hence per part file: the export's memory bound."""

ENDPOINTS = ("_from", "_from_label", "_to", "_to_label")
"""The columns of an exported relation that name its ends (the rest are its properties)."""


def _tables(
    store: GraphStore, upto: date, batch_rows: int
) -> dict[str, Callable[[], Iterator[pa.Table]]]:
    """Each table of the export and how to ask the store for its pages."""
    tables: dict[str, Callable[[], Iterator[pa.Table]]] = {
        "enterprises": partial(store.export_nodes, "Enterprise", upto, batch_rows),
        "persons": partial(store.export_nodes, "Person", upto, batch_rows),
        "records": partial(store.export_records, upto, batch_rows),
    }
    for spec in load_domain().relations:
        tables[f"relations/{spec.type}"] = partial(
            store.export_relations, spec.type, upto, batch_rows, ended=True
        )
    return tables


def spark_readable(table: pa.Table) -> pa.Table:
    """``table`` with its all-null-typed columns as strings: Spark reads no null type (the
    manifest's schema gives the type back, :func:`restore`)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, pa.nulls(table.num_rows, pa.string()))
    return table


def restore(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The columns of ``schema`` from ``table`` (read back through Spark), in its types."""
    columns = [
        pa.nulls(table.num_rows)
        if pa.types.is_null(field.type)
        else table[field.name].cast(field.type)
        for field in schema
    ]
    return pa.table(columns, schema=schema)


def _write_pages(pages: Iterator[pa.Table], folder: Path) -> tuple[pa.Schema, int, int]:
    """Each page as the next part file of ``folder``; the first page's schema (every page
    is cast to it), the rows and the parts."""
    folder.mkdir(parents=True)
    schema: pa.Schema | None = None
    rows = parts = 0
    for page in pages:
        if schema is None:
            schema = page.schema.remove_metadata()
        pq.write_table(spark_readable(page.cast(schema)), folder / f"part-{parts:05d}.parquet")
        rows += page.num_rows
        parts += 1
    if schema is None:
        raise ValueError(f"the store gave no page for {folder.name}, not even an empty one")
    return schema, rows, parts


def _encode(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode()


def export_history(
    store: GraphStore, upto: date, folder: Path, batch_rows: int = BATCH_ROWS
) -> Path:
    """Stream the store's history up to ``upto`` into ``folder`` (see the module docstring);
    what the folder held before is removed first."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    schemas: dict[str, str] = {}
    counts: dict[str, dict[str, int]] = {}
    for name, pages in _tables(store, upto, batch_rows).items():
        schema, rows, parts = _write_pages(pages(), folder / name)
        schemas[name] = _encode(schema)
        counts[name] = {"rows": rows, "parts": parts}
    manifest = {"format": FORMAT, "upto": upto.isoformat(), "schemas": schemas, "counts": counts}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


def exported(folder: Path) -> bool:
    """Whether ``folder`` holds a whole export in this format (its manifest is written last)."""
    manifest = folder / MANIFEST
    return manifest.is_file() and json.loads(manifest.read_text()).get("format") == FORMAT


def read_manifest(folder: Path) -> tuple[date, dict[str, pa.Schema]]:
    """The date of an export and the Arrow schema of each of its tables."""
    if not exported(folder):
        raise ValueError(f"{folder}: no whole store export for Spark ({FORMAT}) there")
    manifest = json.loads((folder / MANIFEST).read_text())
    schemas = {
        name: pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
        for name, text in manifest["schemas"].items()
    }
    return date.fromisoformat(manifest["upto"]), schemas
