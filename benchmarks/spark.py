"""The feature catalog on Spark in local mode beside the embedded path, on one data home.

Runs ``creditgraph features --as-of D`` and ``creditgraph features --as-of D --engine spark``
as their users do, each in its own process, and samples every 0.2 s the memory of the whole
process tree (the Python driver and Spark's JVM with its Python workers), whose peak it
reports; then the seconds of each step and the bytes Spark read and shuffled in it (from its
event log, which the run turns on in the data home's ``spark-defaults.conf`` when the home
has none), and how far the two feature tables are apart, column by column::

    python -m benchmarks.spark --home /path/to/home --as-of 2025-12-31 --master 'local[2]'

The data home needs a store or the saved snapshot of the date (``./dev bench --steps
generate,load,snapshot --work W`` makes one in ``W/home``); with a trained model in it, the
scoring runs too, the same way. Figures go in docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

SAMPLE_SECONDS = 0.2


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        parent = int(text.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(stat.parent.name))
    return tree


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, in MB."""
    tree, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, ()))
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(x.split()[1]) for x in status.splitlines() if x[:6] == "VmRSS:"), 0)
    return total / 1024


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds, peak tree memory (MB) and output of ``command``."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(SAMPLE_SECONDS)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{out}")
    return time.perf_counter() - started, peak, out


def shuffled_bytes(event_logs: Path) -> dict[str, dict[str, int]]:
    """Bytes Spark read (files and its own cached and checkpointed blocks: a PageRank round
    reads the edges again) and wrote to and read from shuffles, from its event
    logs, per job description (the features' families, ``cut``, ``write``; ``score``'s jobs
    have none and count as its application's name)."""
    totals: dict[str, dict[str, int]] = {}
    for log in event_logs.rglob("events_*"):  # beside them: status files and checksums
        app, step_of = log.name, {}
        for line in log.read_text().splitlines():
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerApplicationStart":
                app = event.get("App Name", app)
            elif kind == "SparkListenerJobStart":
                step = (event.get("Properties") or {}).get("spark.job.description") or app
                step_of.update({stage: step for stage in event.get("Stage IDs", ())})
            elif kind == "SparkListenerTaskEnd":
                metrics = event.get("Task Metrics") or {}
                read = metrics.get("Shuffle Read Metrics", {})
                row = totals.setdefault(
                    step_of.get(event.get("Stage ID"), app),
                    {"input": 0, "shuffle_write": 0, "shuffle_read": 0},
                )
                row["input"] += metrics.get("Input Metrics", {}).get("Bytes Read", 0)
                row["shuffle_write"] += metrics.get("Shuffle Write Metrics", {}).get(
                    "Shuffle Bytes Written", 0
                )
                row["shuffle_read"] += read.get("Remote Bytes Read", 0) + read.get(
                    "Local Bytes Read", 0
                )
    return totals


def steps_table(home: Path, day: date, moved: dict[str, dict[str, int]]) -> list[str]:
    """Seconds of each feature family on both engines beside what Spark moved for it."""
    from risk.features import FeatureMatrix
    from risk.spark.features import read_spark_features

    one = FeatureMatrix.load(home / "features" / f"{day.isoformat()}.parquet").seconds
    two = read_spark_features(home / "spark" / "features" / day.isoformat()).seconds
    lines = [
        "| step | embedded (s) | Spark (s) | read (MB) | shuffle write (MB) | shuffle read (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for step in [*two, *(s for s in moved if s not in two)]:
        row = moved.get(step, {"input": 0, "shuffle_write": 0, "shuffle_read": 0})
        mb = [f"{row[k] / 1e6:,.1f}" for k in ("input", "shuffle_write", "shuffle_read")]
        seconds = [f"{table[step]:.1f}" if step in table else "" for table in (one, two)]
        lines.append(f"| {step} | " + " | ".join(seconds + mb) + " |")
    return lines


def compare(home: Path, day: date) -> list[str]:
    """How far the Spark features are from the embedded ones, column by column."""
    from risk.features import FeatureMatrix
    from risk.spark.features import read_spark_features

    one = FeatureMatrix.load(home / "features" / f"{day.isoformat()}.parquet")
    two = read_spark_features(home / "spark" / "features" / day.isoformat())
    lines = [f"same ids in the same order: {one.ids.equals(two.ids)}"]
    exact = [n for n in one.names if np.array_equal(one.column(n), two.column(n), equal_nan=True)]
    lines.append(f"columns exactly equal: {len(exact)} of {len(one.names)}")
    for name in one.names:
        if name not in exact:
            a, b = one.column(name), two.column(name)
            rows = int(np.sum(~np.isclose(a, b, rtol=0, atol=0, equal_nan=True)))
            gap = float(np.nanmax(np.abs(a - b)))
            lines.append(f"  {name}: {rows:,} rows differ, largest gap {gap:.3g}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--home",
        type=Path,
        required=True,
        help="A benchmark data home: its spark/ folder (exports, Spark features) is replaced",
    )
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--master", default="local[*]", help="Spark master (default local[*])")
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("creditgraph"))
    env = os.environ | {"CREDITGRAPH_HOME": str(args.home)}
    shutil.rmtree(args.home / "spark", ignore_errors=True)
    config = args.home / "spark-defaults.conf"
    event_logs = args.home / "spark-events"
    shutil.rmtree(event_logs, ignore_errors=True)
    event_logs.mkdir()
    ours = not config.exists()
    if ours:
        config.write_text(
            f"spark.eventLog.enabled true\nspark.eventLog.dir {event_logs}\n"
            "spark.eventLog.compress false\n"  # Spark 4 writes zstd by default
        )
    day = ["--as-of", args.as_of.isoformat()]
    jobs = ["features", "score"] if any((args.home / "models").glob("*")) else ["features"]
    print("| job | engine | time (s) | peak memory, process tree (MB) |")
    print("|---|---|---:|---:|")
    try:
        for job in jobs:
            for engine, extra in (
                ("embedded", []),
                (f"spark {args.master}", ["--engine", "spark", "--master", args.master]),
            ):
                seconds, peak, out = run_measured([cli, job, *day, *extra], env)
                print(f"| {job} | {engine} | {seconds:.1f} | {peak:,.0f} |", flush=True)
                sys.stderr.write(out)
    finally:
        # The event log was turned on for this run only: the home's settings are left as found.
        if ours:
            config.unlink()
    if not ours:
        print(f"\n{config} was the home's own: no event log turned on, no bytes moved shown")
    print("\n" + "\n".join(steps_table(args.home, args.as_of, shuffled_bytes(event_logs))))
    print("\n" + "\n".join(compare(args.home, args.as_of)))


if __name__ == "__main__":
    main()
