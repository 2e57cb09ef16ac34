"""How long one enterprise's report (risk/report.py) takes on a saved snapshot.

The snapshot is read and its :class:`~risk.snapshot_index.SnapshotIndex` built once (what
the API does when it starts, the board on its first report of a date); then the report of
each chosen firm is made for a regulator (every section) and timed: the firms with the most
ties, the most holders and the most records, then a seeded sample up to ``--firms``. The raw
floor, measured in the same run, is the template alone filled with each firm's precomputed
data: what the report costs beyond putting its page together.

    python -m benchmarks.report /work/bench1m/home/snapshots/2025-12-31 --firms 50

No stored grade is given (a face reads it from memory: the API's GradeBook, the board's
cache); the grade section then says "not graded".
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from access.keyring import Caller
from graph_model.snapshot import Snapshot
from risk.report import Source, render, report_context
from risk.snapshot_index import SnapshotIndex

READER = Caller("benchmark", "regulator")
SOURCE = Source("LadybugDB (embedded)")


def chosen_firms(index: SnapshotIndex, snapshot: Snapshot, count: int, seed: int) -> list[int]:
    """The most tied, most held and most recorded firms (5 each), then a seeded sample."""
    n = index.n_enterprises
    ties = np.diff(index.ties.indptr)[:n]
    holders = np.bincount(snapshot.relations["HOLDS_SHARES"].indices, minlength=n)[:n]
    records = np.bincount(snapshot.records["enterprise"].to_numpy(), minlength=n)[:n]
    picked: list[int] = []
    for measure in (ties, holders, records):
        for row in np.argsort(-measure, kind="stable")[:5].tolist():
            if row not in picked:
                picked.append(row)
    rng = random.Random(seed)
    while len(picked) < count:
        row = rng.randrange(n)
        if row not in picked:
            picked.append(row)
    return picked[:count]


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p99 and the largest, in milliseconds."""
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return ordered[len(ordered) // 2] * 1000, p99 * 1000, ordered[-1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path, help="a saved snapshot's folder")
    parser.add_argument("--firms", type=int, default=50, help="reports timed (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sample (default 1)")
    args = parser.parse_args()
    started = time.perf_counter()
    snapshot = Snapshot.load(args.snapshot)
    index = SnapshotIndex(snapshot)
    built = time.perf_counter() - started
    firms = chosen_firms(index, snapshot, args.firms, args.seed)
    took, floor, sizes = [], [], []
    for row in firms:
        eid = str(index.ids[row])
        started = time.perf_counter()
        context = report_context(index, snapshot, eid, READER, grade=None, source=SOURCE)
        assert context is not None
        page = render(context)
        took.append(time.perf_counter() - started)
        started = time.perf_counter()
        render(context)
        floor.append(time.perf_counter() - started)
        sizes.append(len(page.encode("utf-8")))
    p50, p99, worst = percentiles(took)
    f50, f99, _ = percentiles(floor)
    print(
        f"snapshot {snapshot.as_of}: {index.n_enterprises:,} enterprises; read and indexed "
        f"in {built:.1f} s\n"
        f"{len(firms)} reports: p50 {p50:.0f} ms, p99 {p99:.0f} ms, largest {worst:.0f} ms "
        f"(budget 2,000 ms); pages {min(sizes) // 1024}-{max(sizes) // 1024} KB\n"
        f"raw floor (the template alone): p50 {f50:.1f} ms, p99 {f99:.1f} ms"
    )


if __name__ == "__main__":
    main()
