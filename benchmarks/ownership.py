"""How long an ownership tree (risk/ownership_tree.py) takes on a saved snapshot: the tree up
(holders) and down (holdings) to 3 layers, and the actual controller with its chain.

The firms asked are drawn at random (seeded) among those with a holder, plus the firms
with the most holders and the holders with the most holdings (the widest trees). The
floor, measured in the same run, is the least any tree must cost: one CSR row slice of the
direct stakes for every node the tree expanded. The API's whole answer (tree up, controller,
beneficial owners, names masked for an analyst, as JSON) is timed too.

    python -m benchmarks.ownership /work/bench1m/home/snapshots/2025-12-31
    python -m benchmarks.ownership SNAPSHOT --firms 200 --depth 3 --children 10
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from access.keyring import Caller
from api.schemas.graph import OwnershipTreeOut
from graph_model.snapshot import Snapshot
from risk.ownership_tree import (
    DEFAULT_CHILDREN,
    DEFAULT_DEPTH,
    Direction,
    TreeNode,
    actual_controller,
    ownership_tree,
)
from risk.snapshot_index import SnapshotIndex


def expanded(node: TreeNode) -> Iterator[int]:
    """The nodes of a tree whose stakes were read (those with children shown or summed)."""
    if node.children or node.more:
        yield node.node
    for child in node.children:
        yield from expanded(child)


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def firms_to_ask(index: SnapshotIndex, count: int, widest: int, seed: int) -> list[int]:
    """``count`` firms with a holder at random, and the ``widest`` firms by holders and by
    holdings."""
    n = index.n_enterprises
    holders = np.array([len(index.direct_holders(r)[0]) for r in range(n)])
    holdings = np.array([len(index.direct_holdings(r)[0]) for r in range(n)])
    rng = random.Random(seed)
    held = np.flatnonzero(holders > 0).tolist()
    chosen = rng.sample(held, min(count, len(held)))
    top = np.argsort(-holders, kind="stable")[:widest].tolist()
    top += np.argsort(-holdings, kind="stable")[:widest].tolist()
    return list(dict.fromkeys(chosen + top))


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path, help="a saved snapshot folder")
    parser.add_argument("--firms", type=int, default=200, help="firms drawn at random")
    parser.add_argument("--widest", type=int, default=10, help="widest firms added, per side")
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    parser.add_argument("--children", type=int, default=DEFAULT_CHILDREN)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    snapshot = Snapshot.load(args.snapshot)
    index = SnapshotIndex(snapshot)
    print(
        f"{index.n_enterprises:,} enterprises of {index.as_of}; index built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    firms = firms_to_ask(index, args.firms, args.widest, args.seed)
    print(f"{len(firms)} firms (seed {args.seed}), depth {args.depth}, {args.children} per node")
    print("what            p50 ms   p99 ms   max ms   floor p50 ms   nodes p50/max")
    for direction in ("up", "down"):
        way: Direction = "up" if direction == "up" else "down"
        took, floors, sizes = [], [], []
        read = index.direct_holders if way == "up" else index.direct_holdings
        for row in firms:
            started = time.perf_counter()
            tree = ownership_tree(index, row, way, args.depth, args.children)
            took.append(time.perf_counter() - started)
            sizes.append(tree.nodes)
            visited = list(expanded(tree.root))
            started = time.perf_counter()
            for node in visited:
                read(node)
            floors.append(time.perf_counter() - started)
        p50, p99 = percentiles(took)
        floor, _ = percentiles(floors)
        print(
            f"tree {direction:<6}  {p50 * 1e3:>8.2f} {p99 * 1e3:>8.2f} {max(took) * 1e3:>8.2f}"
            f"   {floor * 1e3:>12.3f}   {sorted(sizes)[len(sizes) // 2]}/{max(sizes)}"
        )
    took = [timed(lambda r=row: actual_controller(index, r)) for row in firms]  # type: ignore[misc]
    p50, p99 = percentiles(took)
    print(f"controller    {p50 * 1e3:>8.2f} {p99 * 1e3:>8.2f} {max(took) * 1e3:>8.2f}")
    analyst = Caller("benchmark", "analyst")
    took = [
        timed(
            lambda r=row: OwnershipTreeOut.of(  # type: ignore[misc]
                index, r, "up", args.depth, args.children, analyst, "zh"
            ).model_dump_json()
        )
        for row in firms
    ]
    p50, p99 = percentiles(took)
    print(f"API answer    {p50 * 1e3:>8.2f} {p99 * 1e3:>8.2f} {max(took) * 1e3:>8.2f}")


if __name__ == "__main__":
    main()
