"""How fast the paths between two enterprises are found (risk/paths.py) on a saved snapshot.

Pairs are drawn with a seed: half are tied (the target is reached from the source by a random
walk of 2 to 4 steps over the tie graph, not through hubs), half are two firms drawn at
random (at 1M, nearly always not within 4 steps). Each pair is asked for up to ``--k`` paths
of at most ``--hops`` steps over ``--kinds`` (default: as ``GET /v1/paths``); the 50th and
99th percentiles are reported beside a raw floor measured in the same run: two levels of
plain neighbour expansion from each end with scipy's CSR row slicing (what a meet-in-the-
middle search of 4 hops must at least touch, without hubs, kinds, paths or steps).

    python -m benchmarks.paths /work/bench1m/home/snapshots/2025-12-31 --pairs 300
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from graph_model.snapshot import Snapshot
from risk.paths import DEFAULT_KINDS, PathGraph
from risk.snapshot_index import SnapshotIndex


def _tied_pairs(index: SnapshotIndex, rng: random.Random, count: int) -> list[tuple[int, int]]:
    """Pairs of enterprises a random walk of 2-4 steps (not through hubs) joins."""
    ties = index.ties
    out: list[tuple[int, int]] = []
    while len(out) < count:
        start = node = rng.randrange(index.n_enterprises)
        for _ in range(rng.randint(2, 4)):
            lo, hi = int(ties.indptr[node]), int(ties.indptr[node + 1])
            if lo == hi or (node != start and ties.hub[node]):
                break
            node = int(ties.neighbour[rng.randrange(lo, hi)])
        if node != start and node < index.n_enterprises:
            out.append((start, node))
    return out


def _floor(graph: sp.csr_matrix, a: int, b: int) -> bool:
    """Two levels of neighbours from each end, then whether they meet: the raw floor."""
    sides = []
    for end in (a, b):
        seen = frontier = np.array([end])
        for _ in range(2):
            frontier = np.unique(graph[frontier].indices)
            seen = np.union1d(seen, frontier)
        sides.append(seen)
    return bool(np.intersect1d(*sides).size)


def _percentiles(times: list[float]) -> str:
    p50, p99 = np.percentile(np.array(times) * 1000, [50, 99])
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path, help="A saved snapshot folder")
    parser.add_argument("--pairs", type=int, default=300, help="Pairs asked (half tied)")
    parser.add_argument("--hops", type=int, default=4, help="Steps a path may take")
    parser.add_argument("--k", type=int, default=5, help="Paths asked per pair")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the pairs drawn")
    parser.add_argument(
        "--kinds", default=",".join(DEFAULT_KINDS), help="Relation kinds, comma-separated"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    snapshot = Snapshot.load(args.snapshot)
    loaded = time.perf_counter()
    index = SnapshotIndex(snapshot)
    built = time.perf_counter()
    print(
        f"{snapshot.n_enterprises:,} enterprises, {snapshot.n_nodes:,} nodes of {snapshot.as_of}: "
        f"loaded in {loaded - started:.1f} s, index with path graph built in {built - loaded:.1f} s"
    )
    again = time.perf_counter()
    graph = PathGraph(snapshot, index.ties.hub)
    print(f"path graph alone built in {time.perf_counter() - again:.1f} s")
    kinds = args.kinds.split(",")
    print(
        f"path graph: {len(graph.ties.neighbour):,} adjacency entries over {graph.kinds()}, "
        f"{int(graph.ties.hub.sum()):,} hubs"
    )
    rng = random.Random(args.seed)
    half = args.pairs // 2
    pairs = _tied_pairs(index, rng, half)
    pairs += [
        (rng.randrange(index.n_enterprises), rng.randrange(index.n_enterprises))
        for _ in range(args.pairs - half)
    ]
    times, floor_times, found = [], [], 0
    adjacency = sp.csr_matrix(
        (
            np.ones(len(graph.ties.neighbour), dtype=np.int8),
            graph.ties.neighbour,
            graph.ties.indptr,
        ),
        shape=(graph.ties.n, graph.ties.n),
    )
    for a, b in pairs:
        t0 = time.perf_counter()
        paths = graph.paths(a, b, args.hops, kinds, args.k)
        t1 = time.perf_counter()
        _floor(adjacency, a, b)
        t2 = time.perf_counter()
        times.append(t1 - t0)
        floor_times.append(t2 - t1)
        found += bool(paths)
    tied = times[:half]
    print(f"{len(pairs)} pairs (seed {args.seed}), {found} with a path of <= {args.hops} steps")
    print(f"paths (k={args.k}, max_hops={args.hops}, {args.kinds}): {_percentiles(times)}")
    print(f"  tied pairs: {_percentiles(tied)}; random pairs: {_percentiles(times[half:])}")
    print(f"raw floor (2 levels from each end, scipy CSR slicing): {_percentiles(floor_times)}")


if __name__ == "__main__":
    main()
