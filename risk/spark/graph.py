"""Graph algorithms as iterated DataFrame joins: components, PageRank, label propagation.

Each round is a join of the edges with the current labels or scores and a group-by; the
result is checkpointed (``localCheckpoint``) so that the plan does not grow with the
rounds. Costs, with M edges and N nodes: one round shuffles O(M + N) rows.

- :func:`components`: weakly connected components by min-label propagation (every node
  takes the least label among itself and its neighbours until none changes): rounds are
  bounded by the longest shortest path from a component's least node, at most
  ``MAX_COMPONENT_ROUNDS``. Exact: the label is the component's least node index.
- :func:`personalised_pagerank`: the power iteration of
  :func:`risk.features.contagion.personalised_pagerank`, round for round (same damping,
  rounds and stopping rule); sums in another order, so equal within 1e-5 relative.
- :func:`label_propagation`: communities by synchronous label propagation (Raghavan et al.
  2007): each node takes the label most frequent among its neighbours and itself, ties to the
  least label, for ``LPA_ROUNDS`` rounds or until none changes. It is not Leiden (the single
  machine's method, risk/features/community.py, which Spark does not run): docs/scale.md
  says how far the two agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from risk.features.contagion import DAMPING, PAGERANK_ROUNDS, PAGERANK_TOLERANCE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

MAX_COMPONENT_ROUNDS = 1_000
LPA_ROUNDS = 20


def undirected(edges: DataFrame) -> DataFrame:
    """Distinct pairs ``(a, b)`` both ways, no self loops, from ``(a, b)`` pairs."""
    from pyspark.sql import functions as F

    both = edges.unionByName(edges.select(F.col("b").alias("a"), F.col("a").alias("b")))
    return both.where(F.col("a") != F.col("b")).distinct()


def components(nodes: DataFrame, edges: DataFrame) -> DataFrame:
    """``(node, component)``: the least node index of each node's weakly connected component.

    ``nodes`` has ``node``; ``edges`` has ``a`` and ``b`` among those nodes.
    """
    from pyspark.sql import functions as F

    pairs = undirected(edges).localCheckpoint()
    labels = nodes.select("node", F.col("node").alias("component")).localCheckpoint()
    for _ in range(MAX_COMPONENT_ROUNDS):
        offered = (
            pairs.join(labels.withColumnRenamed("node", "a"), "a")
            .groupBy(F.col("b").alias("node"))
            .agg(F.min("component").alias("offer"))
        )
        nxt = (
            labels.join(offered, "node", "left")
            .select(
                "node",
                F.least("component", F.coalesce("offer", "component")).alias("component"),
                (F.col("offer") < F.col("component")).alias("changed"),
            )
            .localCheckpoint()
        )
        labels = nxt.select("node", "component")
        if nxt.where("changed").isEmpty():
            return labels
    raise RuntimeError(f"components did not settle in {MAX_COMPONENT_ROUNDS} rounds")


def personalised_pagerank(nodes: DataFrame, edges: DataFrame) -> DataFrame:
    """``(node, score)``: PageRank over the undirected ``edges`` (``a``, ``b``, both ways
    and distinct already) restarting at the nodes whose ``seed`` is 1.0; zeros when none."""
    from pyspark.sql import functions as F

    degree = edges.groupBy(F.col("a").alias("node")).agg(F.count("*").alias("degree"))
    state = nodes.join(degree, "node", "left").select(
        "node", "seed", F.coalesce("degree", F.lit(0)).alias("degree")
    )
    seeds = state.agg(F.sum("seed")).first()
    total = float(seeds[0] or 0.0) if seeds is not None else 0.0
    if total == 0.0:
        return nodes.select("node", F.lit(0.0).alias("score"))
    state = state.withColumn("restart", F.col("seed") / F.lit(total))
    state = state.withColumn("score", F.col("restart")).localCheckpoint()
    for _ in range(PAGERANK_ROUNDS):
        spread = (
            edges.join(
                state.where("degree > 0").select(
                    F.col("node").alias("a"), (F.col("score") / F.col("degree")).alias("share")
                ),
                "a",
            )
            .groupBy(F.col("b").alias("node"))
            .agg(F.sum("share").alias("spread"))
        )
        dangling = state.where("degree = 0").agg(F.sum("score")).first()
        lost = float(dangling[0] or 0.0) if dangling is not None else 0.0
        nxt = (
            state.join(spread, "node", "left")
            .withColumn(
                "next",
                F.lit(DAMPING) * (F.coalesce("spread", F.lit(0.0)) + F.lit(lost) * F.col("restart"))
                + F.lit(1 - DAMPING) * F.col("restart"),
            )
            .withColumn("moved", F.abs(F.col("next") - F.col("score")))
            .select("node", "seed", "degree", "restart", F.col("next").alias("score"), "moved")
            .localCheckpoint()
        )
        moved = nxt.agg(F.sum("moved")).first()
        state = nxt.drop("moved")
        if moved is not None and float(moved[0] or 0.0) < PAGERANK_TOLERANCE:
            break
    return state.select("node", "score")


def label_propagation(nodes: DataFrame, edges: DataFrame) -> DataFrame:
    """``(node, community)`` by label propagation over the undirected ``edges`` (both ways,
    distinct); a node without edges is a community of its own."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    labels = nodes.select("node", F.col("node").alias("community")).localCheckpoint()
    best = Window.partitionBy("node").orderBy(F.desc("votes"), F.asc("community"))
    for _ in range(LPA_ROUNDS):
        heard = edges.join(labels.withColumnRenamed("node", "a"), "a").select(
            F.col("b").alias("node"), "community"
        )
        votes = (
            heard.unionByName(labels)
            .groupBy("node", "community")
            .agg(F.count("*").alias("votes"))
            .withColumn("rank", F.row_number().over(best))
            .where("rank = 1")
            .select("node", F.col("community").alias("next"))
        )
        nxt = (
            labels.join(votes, "node")
            .select(
                "node",
                F.col("next").alias("community"),
                (F.col("next") != F.col("community")).alias("changed"),
            )
            .localCheckpoint()
        )
        labels = nxt.select("node", "community")
        if nxt.where("changed").isEmpty():
            break
    return labels
