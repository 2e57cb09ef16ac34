"""A minimal reproduction of a LadybugDB COPY that never returns, kept until the engine is fixed.

The store writes new rows with ``COPY`` in slices of 100,000 rows
(graph_model/store/ladybug.py ``COPY_ROWS``) because one COPY of more rows with non-ASCII
(Chinese) keys sat idle, never returning, in LadybugDB 0.22 here, while the same number of
rows with ASCII keys took two seconds. This script needs nothing of the project: it makes a
node table with a STRING primary key and a few record-shaped columns, writes ``--rows`` rows
to Parquet, and runs one ``COPY`` in a child process that it kills after ``--timeout``
seconds, for ASCII and for non-ASCII keys, from the Parquet file and from an Arrow table::

    python -m benchmarks.ladybug_copy_hang --rows 131072 262144 1000000

It prints one line per case: finished in N s, or hung (killed after the timeout). When every
case finishes on a new LadybugDB, ``COPY_ROWS`` can go. Status here (LadybugDB 0.22.0,
Debian 12, 2026-12-05): this minimal form did NOT hang at 131,072 and 262,144 rows, ASCII or
Chinese, Parquet or Arrow; the hang was seen with the full record Parquet of the 1M city. It
is therefore not yet a reproduction fit to report upstream (their issue template asks for the
version, the OS and a script that reproduces): the next step is the 1M row count and the
full record schema.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

SCHEMA = (
    "CREATE NODE TABLE Record(id STRING, kind STRING, enterprise_id STRING, "
    "start DATE, authority STRING, amount DOUBLE, PRIMARY KEY (id))"
)


def _table(rows: int, chinese: bool) -> object:
    """Record-shaped rows: ``kind:number`` keys, Chinese or ASCII."""
    import pyarrow as pa

    mark = "京市监罚〔2024〕" if chinese else "BJ-SJ-2024-"
    first = date(2020, 1, 1)
    return pa.table(
        {
            "id": [
                f"penalty:{mark}{i}号" if chinese else f"penalty:{mark}{i}" for i in range(rows)
            ],
            "kind": ["penalty"] * rows,
            "enterprise_id": [f"91110000{i:010d}" for i in range(rows)],
            "start": [first + timedelta(days=i % 1500) for i in range(rows)],
            "authority": ["市场监督管理局" if chinese else "AMR"] * rows,
            "amount": [float(i % 997) for i in range(rows)],
        }
    )


def _copy(folder: str, rows: int, chinese: bool, source: str) -> None:
    """Child process: a fresh database, one COPY of the rows."""
    import ladybug as lb
    import pyarrow.parquet as pq

    table = _table(rows, chinese)
    db = lb.Database(str(Path(folder) / "db.lbdb"))
    conn = lb.Connection(db)
    conn.execute(SCHEMA)
    if source == "parquet":
        path = Path(folder) / "records.parquet"
        pq.write_table(table, path)
        conn.execute(f"COPY Record FROM '{path}'")
    else:
        conn.execute("COPY Record FROM $rows", {"rows": table})
    conn.close()
    db.close()


def run_case(rows: int, chinese: bool, source: str, timeout: float) -> str:
    """One COPY in a child process: ``finished in N s``, ``hung …`` or ``failed …``."""
    with tempfile.TemporaryDirectory(prefix="lbdb-copy-") as folder:
        child = multiprocessing.get_context("spawn").Process(
            target=_copy, args=(folder, rows, chinese, source)
        )
        started = time.perf_counter()
        child.start()
        child.join(timeout)
        seconds = time.perf_counter() - started
        if child.is_alive():
            child.kill()
            child.join()
            return f"hung (killed after {timeout:.0f} s)"
        if child.exitcode != 0:
            return f"failed (exit code {child.exitcode})"
        return f"finished in {seconds:.1f} s"


def main() -> None:
    import ladybug as lb

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[131_072, 262_144])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--sources", nargs="+", default=["parquet", "arrow"])
    args = parser.parse_args()
    print(f"LadybugDB {lb.__version__}")
    print("| rows | keys | from | result |")
    print("|---|---|---|---|")
    for rows in args.rows:
        for chinese in (False, True):
            for source in args.sources:
                result = run_case(rows, chinese, source, args.timeout)
                keys = "Chinese" if chinese else "ASCII"
                print(f"| {rows:,} | {keys} | {source} | {result} |", flush=True)


if __name__ == "__main__":
    main()
