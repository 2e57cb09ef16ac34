"""The feature catalog on Spark: the same table, column for column, as ``compute_features``.

Families run three ways (docs/scale.md says which and why); each family's Spark jobs carry
its name as their description, so the UI and the event log show what each one shuffled:

- ``own``, ``guarantees``, ``ownership``: the single-machine code on buckets of whole
  components (:mod:`risk.spark.local`); exact.
- ``people``, ``suspected`` and ``contagion``'s counts and shares: DataFrame joins over the
  relations, written here after the definitions of risk/features (catalog.yaml); exact.
  ``listed_pagerank``: the power iteration as joins (:mod:`risk.spark.graph`), within 1e-5.
- ``community``: by default the single machine's Leiden on the driver, over the
  related-enterprise graph the cluster builds (exact; the driver holds that graph: 16 bytes
  an edge, plus igraph's own); or, where the driver cannot, label propagation on the
  cluster (:func:`risk.spark.graph.label_propagation`), whose communities differ from
  Leiden's (docs/scale.md measures how far, and what that does to grades).

The result is written as Parquet, one row per enterprise with ``id`` and the catalog's
columns in catalog order, ordered by node index (the snapshot's order), with a
``_creditgraph.json`` holding the as-of date, the rates and the seconds per family.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from graph_model.identifiers import NAME_ONLY
from graph_model.rates import RateTable
from risk.features import FeatureMatrix
from risk.features.catalog import load_catalog
from risk.features.community import communities
from risk.features.context import HUB_PERSON_CAP
from risk.features.suspected import CONTACTS, RARE_GROUP
from risk.spark.graph import components, label_propagation, personalised_pagerank, undirected
from risk.spark.local import (
    BASE,
    BUCKET_ENTERPRISES,
    CONTROLLER,
    LOCAL_FAMILIES,
    run_local_family,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from risk.spark.tables import SparkSnapshot

MANIFEST = "_creditgraph.json"
"""The folder's own facts; a leading underscore keeps Spark and Arrow from reading it as data."""


@dataclass(frozen=True)
class _Inputs:
    """What the join families share: the snapshot, the per-enterprise facts of the ``own``
    pass, and the persons who may tie firms together."""

    snap: SparkSnapshot
    base: DataFrame
    ties: DataFrame

    @property
    def e(self) -> int:
        return self.snap.n_enterprises


def _pairs(frame: DataFrame, a: str, b: str) -> DataFrame:
    from pyspark.sql import functions as F

    return frame.select(F.col(a).alias("a"), F.col(b).alias("b"))


def _lead_pairs(inputs: _Inputs, types: tuple[str, ...]) -> DataFrame:
    """Distinct (person ``p``, enterprise ``f``) pairs of relations of ``types``."""
    from pyspark.sql import functions as F

    rels = inputs.snap.relations
    found = None
    for t in types:
        one = rels[t].select(F.col("src").alias("p"), F.col("dst").alias("f"))
        found = one if found is None else found.unionByName(one)
    assert found is not None
    return found.distinct()


def _people(inputs: _Inputs) -> DataFrame:
    """The ``people`` family (risk/features/people.py) as joins."""
    from pyspark.sql import functions as F

    base = inputs.base.select(F.col("node").alias("f"), "bad", "black_recent")
    rep = _lead_pairs(inputs, ("LEGAL_REP",))
    off = _lead_pairs(inputs, ("OFFICER",))
    lead = rep.unionByName(off).distinct()
    per_person = (
        lead.join(base, "f")
        .groupBy("p")
        .agg(
            F.count("*").cast("double").alias("led"),
            F.sum("bad").alias("led_bad"),
            F.sum("black_recent").alias("led_black"),
        )
        .join(inputs.ties, "p")
    )

    def others(total: Column, own: Column) -> Column:
        return F.when(F.col("ties"), total - own).otherwise(F.lit(0.0))

    rep_side = (
        rep.join(per_person, "p")
        .join(base, "f")
        .groupBy("f")
        .agg(
            F.max(others(F.col("led"), F.lit(1.0))).alias("legal_rep_other_firms"),
            F.max(others(F.col("led_bad"), F.col("bad"))).alias("legal_rep_other_firms_bad"),
        )
    )
    off_side = (
        off.join(per_person, "p")
        .join(base, "f")
        .groupBy("f")
        .agg(
            F.count("*").cast("double").alias("officers"),
            F.sum(others(F.col("led"), F.lit(1.0))).alias("officers_other_firms"),
            F.sum(others(F.col("led_bad"), F.col("bad"))).alias("officers_other_firms_bad"),
        )
    )
    links = _lead_pairs(inputs, ("LEGAL_REP", "OFFICER", "HOLDS_SHARES")).where(
        F.col("p") >= inputs.e
    )
    leads_this = lead.withColumn("leads_this", F.lit(True))
    black = (
        links.join(leads_this, ["p", "f"], "left")
        .join(per_person, "p", "left")
        .join(base, "f")
        .withColumn(
            "other_black",
            F.when(
                F.coalesce("ties", F.lit(True)),
                F.coalesce("led_black", F.lit(0.0))
                - F.when(F.col("leads_this").isNotNull(), F.col("black_recent")).otherwise(0.0),
            ).otherwise(0.0),
        )
        .groupBy("f")
        .agg(F.sum((F.col("other_black") > 0).cast("double")).alias("people_black_listed_3y"))
    )
    return (
        inputs.base.select("node")
        .join(rep_side.withColumnRenamed("f", "node"), "node", "left")
        .join(off_side.withColumnRenamed("f", "node"), "node", "left")
        .join(black.withColumnRenamed("f", "node"), "node", "left")
        .fillna(0.0)
    )


def _suspected(inputs: _Inputs) -> DataFrame:
    """The ``suspected`` family (risk/features/suspected.py) as group-bys and joins."""
    from pyspark.sql import functions as F

    firms = inputs.snap.enterprises.select("node", *CONTACTS).join(
        inputs.base.select("node", "bad"), "node"
    )
    out = firms.select("node")
    weight = F.lit(0.0)
    pairs = None
    for contact in CONTACTS:
        groups = (
            firms.where(F.col(contact).isNotNull())
            .groupBy(contact)
            .agg(F.count("*").cast("double").alias("size"), F.sum("bad").alias("group_bad"))
        )
        sized = firms.join(groups, contact, "left")
        column = "firms_at_address" if contact == "address" else f"firms_sharing_{contact}"
        value = (
            F.col("size")
            if contact == "address"
            else F.greatest(F.coalesce(F.col("size") - 1, F.lit(0.0)), F.lit(0.0))
        )
        part = sized.select(
            "node",
            value.alias(column),
            F.when(F.col("size") > 1, (F.col("group_bad") - F.col("bad")) / F.col("size"))
            .otherwise(0.0)
            .alias(f"w_{contact}"),
        )
        out = out.join(part, "node")
        weight = weight + F.col(f"w_{contact}")
        rare = sized.where((F.col("size") >= 2) & (F.col("size") <= RARE_GROUP)).select(
            "node", contact
        )
        found = (
            rare.alias("x")
            .join(rare.alias("y"), contact)
            .where(F.col("x.node") != F.col("y.node"))
            .select(F.col("x.node").alias("a"), F.col("y.node").alias("b"))
        )
        pairs = found if pairs is None else pairs.unionByName(found)
    assert pairs is not None
    partners = pairs.distinct().groupBy(F.col("a").alias("node")).count()
    return out.join(partners, "node", "left").select(
        "node",
        "firms_at_address",
        "firms_sharing_phone",
        "firms_sharing_email",
        F.coalesce(F.col("count").cast("double"), F.lit(0.0)).alias("suspected_partners"),
        weight.alias("suspected_bad_weight"),
    )


def _related(inputs: _Inputs) -> DataFrame:
    """The related-enterprise graph (:attr:`FeatureContext.related`): pairs ``(a, b)``."""
    from pyspark.sql import functions as F

    e = inputs.e
    links = _lead_pairs(inputs, ("LEGAL_REP", "OFFICER", "HOLDS_SHARES")).where(F.col("p") >= e)
    per_person = links.groupBy("p").agg(F.count("*").alias("firms"))
    kept = (
        links.join(per_person.where(F.col("firms") <= HUB_PERSON_CAP), "p")
        .join(inputs.ties.where("ties"), "p")
        .select("p", "f")
    )
    via_people = (
        kept.alias("x")
        .join(kept.alias("y"), "p")
        .select(F.col("x.f").alias("a"), F.col("y.f").alias("b"))
    )
    direct = [
        _pairs(inputs.snap.relations[t], "src", "dst").where((F.col("a") < e) & (F.col("b") < e))
        for t in ("HOLDS_SHARES", "GUARANTEES")
    ]
    return undirected(via_people.unionByName(direct[0]).unionByName(direct[1]))


def _contagion(inputs: _Inputs) -> DataFrame:
    """The ``contagion`` family (risk/features/contagion.py) as joins, PageRank iterated."""
    from pyspark.sql import functions as F

    e = inputs.e
    base = inputs.base
    related = _related(inputs).localCheckpoint()
    near_b = base.select(F.col("node").alias("b"), "bad", "enforced", "tax_violator")
    one_hop = (
        related.join(near_b, "b")
        .groupBy(F.col("a").alias("node"))
        .agg(
            F.count("*").cast("double").alias("related_1hop"),
            F.sum("bad").alias("near_bad"),
            F.sum("enforced").alias("related_1hop_enforced"),
            F.sum("tax_violator").alias("related_1hop_tax_violators"),
        )
    )
    two = (
        related.alias("x")
        .join(related.alias("y"), F.col("x.b") == F.col("y.a"))
        .select(F.col("x.a").alias("a"), F.col("y.b").alias("b"))
        .unionByName(related)
        .where(F.col("a") != F.col("b"))
        .distinct()
    )
    two_hop = (
        two.join(base.select(F.col("node").alias("b"), "bad", "latest_listing_day"), "b")
        .groupBy(F.col("a").alias("node"))
        .agg(
            F.count("*").cast("double").alias("related_2hop"),
            F.sum("bad").alias("far_bad"),
            F.max("latest_listing_day").alias("latest"),
        )
    )
    branches = _pairs(inputs.snap.relations["HAS_BRANCH"], "src", "dst").distinct()
    heads = (
        branches.join(near_b, "b")
        .groupBy(F.col("a").alias("node"))
        .agg(F.count("*").cast("double").alias("branches"), F.sum("bad").alias("branches_bad"))
    )
    head_listed = (
        branches.join(base.select(F.col("node").alias("a"), "listed"), "a")
        .groupBy(F.col("b").alias("node"))
        .agg((F.max("listed") > 0).cast("double").alias("head_office_listed"))
    )
    score = personalised_pagerank(_combined_nodes(inputs), _combined(inputs))
    as_of_days = float((inputs.snap.as_of - date(1970, 1, 1)).days)
    near, within = F.col("related_1hop"), F.col("related_2hop")
    return (
        base.select("node")
        .join(one_hop, "node", "left")
        .join(two_hop, "node", "left")
        .join(heads, "node", "left")
        .join(head_listed, "node", "left")
        .join(score, "node", "left")
        .fillna(0.0)
        .select(
            "node",
            "branches",
            "branches_bad",
            "head_office_listed",
            "related_1hop_enforced",
            "related_1hop_tax_violators",
            "related_1hop",
            F.when(near > 0, F.col("near_bad") / near).alias("related_1hop_bad_share"),
            "related_2hop",
            F.when(within > 0, F.col("far_bad") / within).alias("related_2hop_bad_share"),
            (F.col("score") * F.lit(float(inputs.snap.n_nodes))).alias("listed_pagerank"),
            F.when(F.col("latest") > 0, F.lit(as_of_days) - F.col("latest")).alias(
                "days_since_related_listing"
            ),
        )
        .where(F.col("node") < e)
    )


def _combined_nodes(inputs: _Inputs) -> DataFrame:
    """Every node with ``seed`` 1.0 where a listed enterprise."""
    from pyspark.sql import functions as F

    persons = inputs.snap.persons.select("node", F.lit(0.0).alias("seed"))
    return inputs.base.select("node", F.col("listed").alias("seed")).unionByName(persons)


def _combined(inputs: _Inputs) -> DataFrame:
    """All relations between all nodes, both ways, distinct, without persons who tie no
    firms (:attr:`FeatureContext.combined`)."""
    from pyspark.sql import functions as F

    rels = list(inputs.snap.relations.values())
    edges = _pairs(rels[0], "src", "dst")
    for more in rels[1:]:
        edges = edges.unionByName(_pairs(more, "src", "dst"))
    weak = inputs.ties.where(~F.col("ties")).select("p")
    edges = edges.join(weak.withColumnRenamed("p", "a"), "a", "left_anti").join(
        weak.withColumnRenamed("p", "b"), "b", "left_anti"
    )
    return undirected(edges).localCheckpoint()


def _leiden(inputs: _Inputs) -> DataFrame:
    """``(node, community)``: the single machine's Leiden communities, on the driver, of the
    related-enterprise graph built by the cluster (its edges collected: 16 bytes each)."""
    e = inputs.e
    pairs = _related(inputs).toArrow()
    a = pairs["a"].to_numpy().astype(np.int64)
    b = pairs["b"].to_numpy().astype(np.int64)
    graph = sp.csr_matrix((np.ones(len(a), dtype=np.float32), (a, b)), shape=(e, e))
    graph.sort_indices()
    membership = communities(graph)
    spark = inputs.base.sparkSession
    return spark.createDataFrame(
        pa.table({"node": np.arange(e, dtype=np.int64), "community": membership})
    )


def _community(inputs: _Inputs, method: str) -> DataFrame:
    """The ``community`` family's columns over Leiden communities (on the driver) or
    label-propagation ones (on the cluster), as the settings choose."""
    from pyspark.sql import functions as F

    found = (
        _leiden(inputs)
        if method == "leiden"
        else label_propagation(inputs.base.select("node"), _related(inputs))
    )
    members = found.join(inputs.base.select("node", "listed"), "node")
    sizes = members.groupBy("community").agg(
        F.count("*").cast("double").alias("community_size"), F.sum("listed").alias("listed_in")
    )
    others = F.col("community_size") - 1
    return members.join(sizes, "community").select(
        "node",
        "community_size",
        F.when(others > 0, (F.col("listed_in") - F.col("listed")) / others).alias(
            "community_listed_share"
        ),
    )


def _ties(snap: SparkSnapshot) -> DataFrame:
    """``(p, ties)`` per person: false for persons known by name only
    (:func:`risk.features.context.persons_tying_firms`)."""
    from pyspark.sql import functions as F

    persons = snap.persons
    if "identity" not in persons.columns:
        return persons.select(F.col("node").alias("p"), F.lit(True).alias("ties"))
    return persons.select(
        F.col("node").alias("p"),
        F.coalesce(F.col("identity") != F.lit(NAME_ONLY), F.lit(True)).alias("ties"),
    )


def _buckets(snap: SparkSnapshot, family: str) -> DataFrame:
    """``(node, bucket)`` of every enterprise for a local family: whole components of the
    family's enterprise-to-enterprise relations, dealt into buckets."""
    from pyspark.sql import functions as F

    e = snap.n_enterprises
    count = max(1, math.ceil(e / BUCKET_ENTERPRISES))
    nodes = snap.enterprises.select("node")
    types = LOCAL_FAMILIES[family]
    if not types:
        return nodes.select("node", (F.col("node") % count).alias("bucket"))
    edges = None
    for t in types:
        one = _pairs(snap.relations[t], "src", "dst").where((F.col("a") < e) & (F.col("b") < e))
        edges = one if edges is None else edges.unionByName(one)
    assert edges is not None
    found = components(nodes, edges)
    return found.select("node", (F.col("component") % count).alias("bucket"))


def spark_features(
    snap: SparkSnapshot,
    rates: RateTable,
    out: Path,
    community: str = "leiden",
    progress: Callable[[str, float], None] | None = None,
) -> Path:
    """Compute the whole catalog on ``snap`` and write it to the folder ``out`` (see the
    module docstring); communities by ``community`` (``leiden`` or ``label_propagation``,
    the setting ``spark_community``); ``progress`` gets each family's name and seconds."""
    from pyspark.sql import functions as F

    catalog = load_catalog()
    seconds: dict[str, float] = {}
    frames: dict[str, DataFrame] = {}

    context = snap.enterprises.sparkSession.sparkContext

    def timed(name: str, make: Callable[[], DataFrame]) -> DataFrame:
        context.setJobDescription(name)  # the Spark jobs (and event log) named by family
        started = time.perf_counter()
        frame = make().localCheckpoint()
        seconds[name] = round(time.perf_counter() - started, 3)
        if progress is not None:
            progress(name, seconds[name])
        return frame

    def local(family: str) -> Callable[[], DataFrame]:
        return lambda: run_local_family(snap, family, _buckets(snap, family), snap.schemas, rates)

    for family in LOCAL_FAMILIES:
        frames[family] = timed(family, local(family))
    inputs = _Inputs(snap, frames["own"].select("node", *BASE), _ties(snap).localCheckpoint())
    groups = (
        frames["ownership"]
        .where(F.col(CONTROLLER) >= 0)
        .groupBy(CONTROLLER)
        .agg(F.count("*").cast("double").alias("controller_group_size"))
    )
    frames["ownership"] = (
        frames["ownership"]
        .join(groups, CONTROLLER, "left")
        .fillna(0.0, ["controller_group_size"])
        .drop(CONTROLLER)
    )
    joins: dict[str, Callable[[_Inputs], DataFrame]] = {
        "people": _people,
        "contagion": _contagion,
        "suspected": _suspected,
        "community": lambda inputs: _community(inputs, community),
    }
    for name, make in joins.items():
        frames[name] = timed(name, functools.partial(make, inputs))

    table = snap.enterprises.select("node", "id")
    for spec in catalog.families:
        columns = [f.name for f in spec.features]
        table = table.join(frames[spec.name].select("node", *columns), "node", "left")
    names = list(catalog.names)
    ordered = table.select(
        "node", "id", *[F.col(n).cast("double").alias(n) for n in names]
    ).orderBy("node")
    context.setJobDescription("write")
    ordered.drop("node").write.mode("overwrite").parquet(str(out))
    manifest = {"as_of": snap.as_of.isoformat(), "seconds": seconds, "rates": rates.on(snap.as_of)}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return out


def read_spark_features(folder: Path) -> FeatureMatrix:
    """A folder written by :func:`spark_features` as a :class:`FeatureMatrix` (in memory:
    for comparing and for a city, not for a nation)."""
    manifest = json.loads((folder / MANIFEST).read_text())
    table = pq.read_table(folder)
    names = tuple(load_catalog().names)
    values = np.column_stack([table[n].to_numpy(zero_copy_only=False) for n in names])
    return FeatureMatrix(
        as_of=date.fromisoformat(manifest["as_of"]),
        ids=table["id"].combine_chunks().cast(pa.string()),
        names=names,
        values=values.astype(np.float32),
        seconds=manifest["seconds"],
        rates={str(k): float(v) for k, v in manifest["rates"].items()},
    )
