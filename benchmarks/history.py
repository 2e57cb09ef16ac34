"""What an enterprise's change history (risk/history.py) costs on a city-sized store.

The history reads every relation of the firm (ended ones too) and its records from the store,
then sorts the events. The raw floor, measured in the same run on the same firms, is those
reads alone (``neighbours`` paged to the end, and ``get_entity``): what the history adds on
top of it is its own cost. Firms: the ones with the most relations in a snapshot (hubs: the
worst case) and a seeded random sample (the usual case)::

    flock /tmp/bench.lock python -m benchmarks.history \\
        --store /work/bench1m/home/store/graph.lbdb \\
        --snapshot /work/bench1m/home/snapshots/2025-12-31

The store is opened read-only. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from graph_model.store.ladybug import LadybugStore
from graph_model.store.protocol import GraphStore
from risk.history import HISTORY_TYPES, PAGE, enterprise_history


def busiest(snapshot: Path, top: int) -> list[tuple[str, int]]:
    """The ``top`` enterprises with the most relations valid on the snapshot's day."""
    ids = pq.read_table(snapshot / "enterprises.parquet", columns=["id"]).column(0)
    degree = np.zeros(len(ids), np.int64)
    for rel_type in HISTORY_TYPES:
        ends = pq.read_table(snapshot / f"rel_{rel_type}.parquet", columns=["_src", "_dst"])
        for column in ends.columns:
            nodes = column.to_numpy()
            degree += np.bincount(nodes[nodes < len(ids)], minlength=len(ids))
    order = np.argsort(-degree, kind="stable")[:top]
    return [(str(ids[int(i)]), int(degree[i])) for i in order]


def _reads(store: GraphStore, firm: str) -> int:
    """The store reads the history makes, alone: the raw floor."""
    found, offset = 0, 0
    while offset is not None:
        page = store.neighbours(firm, HISTORY_TYPES, "both", PAGE, offset)
        found += len(page.items)
        offset = page.next_offset
    store.get_entity(firm)
    return found


def _timed(run: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="LadybugDB store path")
    parser.add_argument("--snapshot", type=Path, required=True, help="a snapshot folder")
    parser.add_argument("--hubs", type=int, default=5, help="busiest firms timed")
    parser.add_argument("--sample", type=int, default=300, help="random firms timed")
    parser.add_argument("--repeats", type=int, default=5, help="runs per hub")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    hubs = busiest(args.snapshot, args.hubs)
    ids = pq.read_table(args.snapshot / "enterprises.parquet", columns=["id"]).column(0)
    sample = [str(ids[i]) for i in random.Random(args.seed).sample(range(len(ids)), args.sample)]
    print(f"{len(ids):,} enterprises; seed {args.seed}")
    print("| firms | relations now | events | raw reads p50 / p99 ms | history p50 / p99 ms |")
    print("|---|---|---|---|---|")
    with LadybugStore(args.store, read_only=True) as store:
        _reads(store, sample[0])  # first query warms the store
        for rank, (firm, degree) in enumerate(hubs, 1):
            events = len(enterprise_history(store, firm))
            raw = _timed(lambda f=firm: _reads(store, f), args.repeats)
            full = _timed(lambda f=firm: enterprise_history(store, f), args.repeats)
            print(f"| hub {rank} ({firm}) | {degree:,} | {events:,} | {_p(raw)} | {_p(full)} |")
        raw, full, events = [], [], []
        for firm in sample:
            raw += _timed(lambda f=firm: _reads(store, f), 1)
            started = time.perf_counter()
            events.append(len(enterprise_history(store, firm)))
            full.append((time.perf_counter() - started) * 1000)
        median = int(np.median(events))
        print(f"| {len(sample)} random | | median {median} | {_p(raw)} | {_p(full)} |")


def _p(ms: list[float]) -> str:
    return f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 99):.1f}"


if __name__ == "__main__":
    main()
