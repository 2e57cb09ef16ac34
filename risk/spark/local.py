"""Feature families computed by the single-machine code on buckets of whole components.

A family whose every column of an enterprise reads only a bounded part of the graph runs,
unchanged, on each piece of that part: the enterprise's own records (``own``), its
component of the guarantee graph (``guarantees``: circles, chains and DebtRank stay inside
it), or its component of the enterprise-to-enterprise holding graph with the persons who
hold shares in it (``ownership``: integrated stakes flow along holding chains). Spark finds
the components (:func:`risk.spark.graph.components`), deals them into buckets, moves each
bucket's rows to one task and runs the family there on a snapshot of that bucket alone. The
answer is the single-machine one, exactly; a component must fit one task's memory (the
largest at a million firms: 389 nodes of guarantees, docs/scale.md).

The ``own`` pass also returns what the graph families need of every enterprise (bad, listed,
latest listing, black-listed recently, enforced, tax violator), so that those are defined
once, by :class:`~risk.features.context.FeatureContext`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from graph_model.rates import RateTable
from graph_model.snapshot import RelationArrays, Snapshot
from risk.features.catalog import load_catalog
from risk.features.contagion import ENFORCED_KINDS, active_of
from risk.features.context import FeatureContext
from risk.features.guarantees import guarantee_features
from risk.features.own import own_features
from risk.features.ownership import ownership_by_firm
from risk.features.people import black_listed_recently
from risk.spark.export import restore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from risk.spark.tables import SparkSnapshot

BUCKET_ENTERPRISES = 50_000
"""Enterprises per bucket, about: one task's share of a local family."""

BASE = ("bad", "listed", "latest_listing_day", "black_recent", "enforced", "tax_violator")
"""Per-enterprise facts the graph families read, returned by the ``own`` pass."""

CONTROLLER = "controller"
"""Extra column of the ``ownership`` pass: the controller's node index, -1 when none."""

LOCAL_FAMILIES: dict[str, tuple[str, ...]] = {
    "own": (),
    "guarantees": ("GUARANTEES",),
    "ownership": ("HOLDS_SHARES",),
}
"""Families computed on buckets of whole components, and the relation types that join
enterprises into one component for them."""

Schemas = dict[str, pa.Schema]


def _base(ctx: FeatureContext) -> dict[str, np.ndarray]:
    return {
        "bad": ctx.bad.astype(float),
        "listed": ctx.listed.astype(float),
        "latest_listing_day": ctx.latest_listing_day,
        "black_recent": black_listed_recently(ctx),
        "enforced": active_of(ctx, ENFORCED_KINDS),
        "tax_violator": active_of(ctx, ("tax_violation",)),
    }


def _ownership(ctx: FeatureContext) -> dict[str, np.ndarray]:
    out, controller = ownership_by_firm(ctx)
    # Persons are numbered from 0 in the bucket: back to their node index in the bucket.
    return {**out, CONTROLLER: np.where(controller >= 0, controller + ctx.n_enterprises, -1)}


RUNS: dict[str, Callable[[FeatureContext], dict[str, np.ndarray]]] = {
    "own": lambda ctx: {**own_features(ctx), **_base(ctx)},
    "guarantees": guarantee_features,
    "ownership": _ownership,
}


def output_columns(family: str) -> list[str]:
    """Columns a local pass returns after ``node``: the family's catalog columns (the
    ownership pass without the controller's group size), then its extra ones."""
    names = [f.name for f in load_catalog().family(family).features]
    if family == "own":
        return names + list(BASE)
    if family == "ownership":
        return [n for n in names if n != "controller_group_size"] + [CONTROLLER]
    return names


def bucket_snapshot(
    as_of: date, parts: dict[str, pa.Table], schemas: Schemas
) -> tuple[Snapshot, np.ndarray]:
    """The snapshot of one bucket, and the global node index of each of its nodes.

    Nodes keep their relative order (enterprises, then persons, each by node index), and
    edges their snapshot order, so ties break as they do on the whole snapshot.
    """
    enterprises = parts["enterprises"].sort_by("node")
    persons = parts["persons"].sort_by("node")
    nodes = np.concatenate([enterprises["node"].to_numpy(), persons["node"].to_numpy()]).astype(
        np.int64
    )
    n = len(nodes)

    def local(column: pa.ChunkedArray) -> np.ndarray:
        return np.searchsorted(nodes, np.asarray(column.to_numpy(), dtype=np.int64))

    relations = {}
    for name, schema in schemas.items():
        if not name.startswith("rel:"):
            continue
        edges = parts[name].sort_by("edge")
        props = restore(edges.drop(["src", "dst", "edge"]), schema)
        relations[name[4:]] = RelationArrays.from_edges(
            local(edges["src"]), local(edges["dst"]), props, n
        )
    records = parts["records"]
    records = records.set_column(
        records.column_names.index("enterprise"),
        "enterprise",
        pa.array(local(records["enterprise"])),
    )
    snapshot = Snapshot(
        as_of,
        restore(enterprises.drop(["node"]), schemas["enterprises"]),
        restore(persons.drop(["node"]), schemas["persons"]),
        relations,
        restore(records, schemas["records"]),
    )
    return snapshot, nodes


def _packer(name: str) -> Callable[[tuple[pa.Scalar, ...], pa.Table], pa.Table]:
    """A grouped-Arrow function: one bucket's rows of part ``name`` as one IPC blob."""

    def pack(key: tuple[pa.Scalar, ...], table: pa.Table) -> pa.Table:
        body = _blob(table.drop(["bucket"]))
        return pa.table({"bucket": [key[0].as_py()], "part": [name], "blob": [body]})

    return pack


def _blob(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _unblob(blobs: Iterable[bytes]) -> pa.Table:
    return pa.concat_tables([pa.ipc.open_stream(b).read_all() for b in blobs])


def run_local_family(
    snap: SparkSnapshot,
    family: str,
    buckets: DataFrame,
    schemas: Schemas,
    rates: RateTable,
) -> DataFrame:
    """``family`` on every bucket: a DataFrame of ``node`` and :func:`output_columns`.

    ``buckets`` gives each enterprise's bucket (``node``, ``bucket``); an edge of the
    family's types goes to its enterprise end's bucket (the holder's end when both are
    enterprises: both are in one component), a person to every bucket of its edges.
    """
    from pyspark.sql import functions as F

    e = snap.n_enterprises
    types = LOCAL_FAMILIES[family]
    tagged: dict[str, DataFrame] = {
        "enterprises": snap.enterprises.join(buckets, "node"),
        "records": snap.records.join(buckets.withColumnRenamed("node", "enterprise"), "enterprise"),
    }
    edge_buckets = []
    for rel_type, edges in snap.relations.items():
        if rel_type in types:
            end = F.when(F.col("src") < e, F.col("src")).otherwise(F.col("dst"))
            tagged[f"rel:{rel_type}"] = edges.join(
                buckets.withColumnRenamed("node", "_end"), end == F.col("_end")
            ).drop("_end")
        else:
            tagged[f"rel:{rel_type}"] = edges.limit(0).withColumn("bucket", F.lit(0))
        edge_buckets.append(tagged[f"rel:{rel_type}"].select(F.col("src").alias("node"), "bucket"))
        edge_buckets.append(tagged[f"rel:{rel_type}"].select(F.col("dst").alias("node"), "bucket"))
    person_buckets = edge_buckets[0]
    for more in edge_buckets[1:]:
        person_buckets = person_buckets.unionByName(more)
    tagged["persons"] = snap.persons.join(
        person_buckets.where(F.col("node") >= e).distinct(), "node"
    )

    packed = None
    for name, frame in tagged.items():
        one = frame.groupBy("bucket").applyInArrow(
            _packer(name), "bucket long, part string, blob binary"
        )
        packed = one if packed is None else packed.unionByName(one)
    assert packed is not None

    columns = output_columns(family)
    as_of = snap.as_of
    run = RUNS[family]

    def compute(table: pa.Table) -> pa.Table:
        parts: dict[str, pa.Table] = {}
        part_names = table["part"].to_pylist()
        for name in schemas:
            mine = [
                b for b, p in zip(table["blob"].to_pylist(), part_names, strict=True) if p == name
            ]
            parts[name] = _unblob(mine) if mine else _empty(name, schemas[name])
        bucket, nodes = bucket_snapshot(as_of, parts, schemas)
        result = run(FeatureContext(bucket, rates))
        e_local = bucket.n_enterprises
        out = {"node": nodes[:e_local]}
        for column in columns:
            values = np.asarray(result[column], dtype=np.float64)
            out[column] = values if column != CONTROLLER else _to_global(values, nodes)
        return pa.table(out)

    fields = ", ".join(f"`{c}` double" for c in columns)
    return packed.groupBy("bucket").applyInArrow(compute, f"node long, {fields}")


def _to_global(local: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    index = local.astype(np.int64)
    return np.where(index >= 0, nodes[np.maximum(index, 0)], -1).astype(np.float64)


def _empty(name: str, schema: pa.Schema) -> pa.Table:
    """No rows of one part, with the index columns the export adds to it."""
    if name.startswith("rel:"):
        index = ["src", "dst", "edge"]
    elif name == "records":
        index = []
    else:
        index = ["node"]
    fields = [pa.field(c, pa.int64()) for c in index] + list(schema)
    return pa.schema(fields).empty_table()
