"""The snapshot of a day cut on the cluster from a store export, as Spark DataFrames.

:meth:`SparkSnapshot.cut` reads a folder written by :func:`risk.spark.export.export_history`
(the store's history up to a date, never held whole by the driver) and cuts the day as
:meth:`graph_model.snapshot.History.on` does on one machine, with the same result:

- the rules of the day, row by row, are the single machine's own functions
  (:func:`~graph_model.snapshot.enterprises_on`, :func:`~graph_model.snapshot.standing`,
  :func:`~graph_model.snapshot.blank_future_dates`, :func:`~graph_model.snapshot.records_on`),
  run on the executors over Arrow batches (``mapInArrow``);
- node indexes follow the single machine's order: enterprises ``0..E-1`` then persons
  ``E..``, each by id; an edge's ``edge`` is its position by key among the day's edges of
  its type (which breaks ties as on one machine). Both come from a distributed sort and
  the row count of each sorted partition (what ``zipWithIndex`` does), never from one
  partition holding every row;
- relation ends and record owners are joins on the day's node ids.

The frames hold: ``enterprises`` and ``persons`` with ``node`` and every node property;
``relations[<TYPE>]`` with ``src``, ``dst``, ``edge`` and every relation property;
``records`` with every record field and ``enterprise`` (its enterprise's node index).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from graph_model.snapshot import blank_future_dates, enterprises_on, records_on, standing
from risk.spark.export import ENDPOINTS, read_manifest, restore, spark_readable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

PARTITION_BITS = 33
"""``monotonically_increasing_id`` puts the partition above bit 33 and the row below it."""


def _rows_on(
    frame: DataFrame, schema: pa.Schema, rule: Callable[[pa.Table], pa.Table]
) -> DataFrame:
    """``frame`` with ``rule`` (a row-by-row function of a table in ``schema``'s types, which
    may drop rows) applied to every Arrow batch on the executors."""

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = rule(restore(pa.Table.from_batches([batch]), schema))
            yield from spark_readable(table).to_batches()

    return frame.mapInArrow(apply, frame.schema)


def _standing_on(as_of: date, table: pa.Table) -> pa.Table:
    return blank_future_dates(table.filter(pa.array(standing(table, as_of))), as_of)


def _numbered(frame: DataFrame, key: str, name: str, first: int = 0) -> tuple[DataFrame, int]:
    """``frame`` with ``name`` = ``first`` + its row's position by ``key``, and its rows.

    A distributed sort; each sorted partition's rows counted (one number per partition to
    the driver), then each row's position is its partition's offset plus its place in it.
    """
    from pyspark.sql import functions as F

    row_bits = (1 << PARTITION_BITS) - 1
    at = F.monotonically_increasing_id()
    ordered = (
        frame.orderBy(key)
        .withColumn("_part", F.shiftright(at, PARTITION_BITS))
        .withColumn("_row", at.bitwiseAND(F.lit(row_bits)))
        .localCheckpoint()
    )
    counts = sorted(
        (int(r["_part"]), int(r["count"])) for r in ordered.groupBy("_part").count().collect()
    )
    offsets, total = [], first
    for _, count in counts:
        offsets.append(total)
        total += count
    table = pa.table(
        {
            "_part": pa.array([p for p, _ in counts], pa.int64()),
            "_offset": pa.array(offsets, pa.int64()),
        }
    )
    starts = frame.sparkSession.createDataFrame(table)
    numbered = ordered.join(F.broadcast(starts), "_part").select(
        (F.col("_offset") + F.col("_row")).alias(name), *frame.columns
    )
    return numbered, total - first


@dataclass(frozen=True)
class SparkSnapshot:
    """The snapshot of a day as Spark DataFrames (see the module docstring)."""

    as_of: date
    n_enterprises: int
    n_nodes: int
    enterprises: DataFrame
    persons: DataFrame
    relations: dict[str, DataFrame]
    records: DataFrame
    schemas: dict[str, pa.Schema]
    """The snapshot's Arrow schemas by part: ``enterprises``, ``persons``, ``records``,
    ``rel:<TYPE>`` (properties only), without the index columns ``node``, ``src``, ``dst``
    and ``edge``."""

    @classmethod
    def cut(cls, spark: SparkSession, folder: Path, as_of: date) -> SparkSnapshot:
        """The snapshot of ``as_of`` from the export in ``folder`` (of a date on or after it)."""
        from pyspark.sql import functions as F

        upto, exported = read_manifest(folder)
        if as_of > upto:
            raise ValueError(f"the export in {folder} ends {upto}; it has no snapshot of {as_of}")

        def read(name: str) -> DataFrame:
            return spark.read.parquet(str(folder / name))

        schemas = {
            "enterprises": exported["enterprises"],
            "persons": exported["persons"],
            "records": exported["records"].append(pa.field("enterprise", pa.int64())),
        }
        firms = _rows_on(
            read("enterprises"), exported["enterprises"], partial(enterprises_on, as_of=as_of)
        )
        enterprises, e = _numbered(firms, "id", "node")
        persons, p = _numbered(read("persons"), "id", "node", first=e)
        nodes = enterprises.select("id", "node").unionByName(persons.select("id", "node"))

        relations = {}
        for name, schema in exported.items():
            if not name.startswith("relations/"):
                continue
            rel_type = name.removeprefix("relations/")
            properties = [f.name for f in schema if f.name not in ENDPOINTS]
            schemas[f"rel:{rel_type}"] = pa.schema([schema.field(c) for c in properties])
            edges = (
                _rows_on(read(name), schema, partial(_standing_on, as_of))
                .join(nodes.withColumnsRenamed({"id": "_from", "node": "src"}), "_from")
                .join(nodes.withColumnsRenamed({"id": "_to", "node": "dst"}), "_to")
                .select("src", "dst", *properties)
            )
            numbered, _ = _numbered(edges, "key", "edge")
            relations[rel_type] = numbered.select("src", "dst", "edge", *properties)

        owners = enterprises.select(
            F.col("id").alias("enterprise_id"), F.col("node").alias("enterprise")
        )
        columns = [f.name for f in schemas["records"]]
        records = _rows_on(
            read("records").join(owners, "enterprise_id").select(*columns),
            schemas["records"],
            partial(records_on, as_of=as_of),
        ).localCheckpoint()
        return cls(as_of, e, e + p, enterprises, persons, relations, records, schemas)
