"""A snapshot as partitioned Parquet for Spark, and read back as Spark DataFrames.

The folder holds one sub-folder per table, each split into files of at most
``rows_per_file`` rows, so that Spark reads them in parallel:

- ``enterprises/`` and ``persons/``: the node tables with their node index ``node``
  (enterprises ``0..E-1``, persons ``E..``, as in :class:`~graph_model.snapshot.Snapshot`);
- ``relations/<TYPE>/``: one folder per relation type: ``src`` and ``dst`` node indices,
  ``edge`` (its position in the snapshot's order, which breaks ties as on one machine) and
  every property the store knows, ``valid_from`` and ``valid_to`` included;
- ``records/``: the records as of the date, ``enterprise`` their enterprise's node index;
- ``manifest.json`` last: the as-of date, the counts and the relation types.

The snapshot comes from either store backend through ``take_snapshot`` (the store
protocol's paged export), so it is held in the memory of the machine that writes it; the
writing itself goes a file at a time.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from graph_model.snapshot import Snapshot

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FORMAT = "creditgraph-spark-snapshot/1"
MANIFEST = "manifest.json"
ROWS_PER_FILE = 1_000_000


def _write_parts(table: pa.Table, folder: Path, rows_per_file: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # Spark reads no all-null column type: such a column goes as strings (the schema in the
    # manifest gives the type back).
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, pa.nulls(table.num_rows, pa.string()))
    for number, start in enumerate(range(0, max(table.num_rows, 1), rows_per_file)):
        pq.write_table(table.slice(start, rows_per_file), folder / f"part-{number:05d}.parquet")


def export_snapshot(snapshot: Snapshot, folder: Path, rows_per_file: int = ROWS_PER_FILE) -> Path:
    """Write ``snapshot`` to ``folder`` for Spark (see the module docstring)."""
    e = snapshot.n_enterprises
    nodes = {
        "enterprises": (snapshot.enterprises, 0),
        "persons": (snapshot.persons, e),
    }
    for name, (table, first) in nodes.items():
        index = pa.array(np.arange(first, first + table.num_rows, dtype=np.int64))
        _write_parts(table.add_column(0, "node", index), folder / name, rows_per_file)
    for rel_type, rel in snapshot.relations.items():
        edges = rel.properties.add_column(0, "src", pa.array(rel.sources.astype(np.int64)))
        edges = edges.add_column(1, "dst", pa.array(rel.indices.astype(np.int64)))
        edges = edges.add_column(2, "edge", pa.array(np.arange(rel.edge_count, dtype=np.int64)))
        _write_parts(edges, folder / "relations" / rel_type, rows_per_file)
    _write_parts(snapshot.records, folder / "records", rows_per_file)
    schemas = {
        "enterprises": snapshot.enterprises.schema,
        "persons": snapshot.persons.schema,
        "records": snapshot.records.schema,
        **{f"rel:{t}": rel.properties.schema for t, rel in snapshot.relations.items()},
    }
    manifest = {
        "format": FORMAT,
        "schemas": {
            name: base64.b64encode(schema.remove_metadata().serialize().to_pybytes()).decode()
            for name, schema in schemas.items()
        },
        "as_of": snapshot.as_of.isoformat(),
        "enterprises": e,
        "nodes": snapshot.n_nodes,
        "relations": sorted(snapshot.relations),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


@dataclass(frozen=True)
class SparkSnapshot:
    """An exported snapshot as Spark DataFrames (read lazily, in parallel)."""

    as_of: date
    n_enterprises: int
    n_nodes: int
    enterprises: DataFrame
    persons: DataFrame
    relations: dict[str, DataFrame]
    records: DataFrame
    schemas: dict[str, pa.Schema]
    """The snapshot's Arrow schemas by part: ``enterprises``, ``persons``, ``records``,
    ``rel:<TYPE>`` (properties only), without the index columns of the export."""

    @classmethod
    def read(cls, spark: SparkSession, folder: Path) -> SparkSnapshot:
        """Open a folder written by :func:`export_snapshot`."""
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{folder}: not a snapshot exported for Spark ({FORMAT})")
        return cls(
            as_of=date.fromisoformat(manifest["as_of"]),
            n_enterprises=int(manifest["enterprises"]),
            n_nodes=int(manifest["nodes"]),
            enterprises=spark.read.parquet(str(folder / "enterprises")),
            persons=spark.read.parquet(str(folder / "persons")),
            relations={
                t: spark.read.parquet(str(folder / "relations" / t)) for t in manifest["relations"]
            },
            records=spark.read.parquet(str(folder / "records")),
            schemas={
                name: pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
                for name, text in manifest["schemas"].items()
            },
        )
