"""Neo4j beside the embedded store, in one run: load, snapshot and 2-hop related parties.

Run with ``.venv/bin/python -m benchmarks.neo4j --enterprises 300000`` after
``./dev neo4j start`` has fetched the jars once. It generates a city (seed 1), then for each
store runs the ``load``, ``snapshot`` and ``queries`` steps of ``benchmarks.run`` in a child
process (its own peak memory). Neo4j is a server of the benchmark's own (launcher of
``neo4j-server/``, heap ``--heap``, page cache ``--page-cache-mb``), empty at the start;
its peak resident memory and heap in use are read when the load is done.

The raw floor, measured on the same server in the same run: the enterprise and person rows
written by a bare ``UNWIND $rows AS row CREATE (n:Floor) SET n = row`` in the same statement
and transaction sizes, without validation, keys, constraints or relations. The load's rate is
reported as a ratio to it.

``--sweep`` instead loads the city into an emptied database once per pair of rows per
statement and rows per transaction, and reports each load's rate and the server's heap in use
after it (the figures behind the defaults in docs/neo4j.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import neo4j
import pyarrow.parquet as pq

from benchmarks.run import print_table

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("load", "snapshot", "queries")


def _step(step: str, work: Path, enterprises: int, env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--step", step, "--enterprises",
         str(enterprises), "--work", str(work)],
        check=True, capture_output=True, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    figures: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def _start_server(home: Path, heap: str, page_cache_mb: int) -> tuple[subprocess.Popen, str, str]:
    classes = ROOT / ".neo4j" / "classes"
    if not (classes / "Launcher.class").exists():
        sys.exit("run `./dev neo4j start` once first: it fetches Neo4j and builds the launcher")
    password = secrets.token_hex(12)
    log = home / "server.log"
    home.mkdir(parents=True)
    env = os.environ | {"NEO4J_PASSWORD": password, "NEO4J_PAGECACHE_MB": str(page_cache_mb)}
    process = subprocess.Popen(
        ["java", f"-Xmx{heap}", f"-Xms{heap}", "-cp", f"{classes}:{ROOT / '.neo4j' / 'lib'}/*",
         "Launcher", str(home / "db")],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    for _ in range(600):
        ready = [ln for ln in log.read_text().splitlines() if ln.startswith("READY ")]
        if ready:
            return process, ready[0].removeprefix("READY "), password
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    sys.exit(f"Neo4j did not start: {log.read_text()[-2000:]}")


def _server_memory(pid: int, driver: neo4j.Driver) -> dict[str, object]:
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM"))
    records = driver.execute_query(
        "CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
        "RETURN attributes.HeapMemoryUsage.value.properties.used AS used"
    ).records
    return {"server_peak_rss_mb": peak_kb // 1024, "heap_used_mb": records[0]["used"] // 2**20}


def _floor(driver: neo4j.Driver, data: Path, statement_rows: int, tx_rows: int) -> dict:
    """Rows/s of a bare CREATE of the enterprise and person rows (see the module docstring)."""
    rows = 0
    started = time.perf_counter()
    for name in ("enterprises.parquet", "persons.parquet"):
        table = pq.read_table(data / name)
        for tx_start in range(0, table.num_rows, tx_rows):
            part = table.slice(tx_start, tx_rows)

            def write(tx: neo4j.ManagedTransaction, part: object = part) -> None:
                for start in range(0, part.num_rows, statement_rows):  # type: ignore[attr-defined]
                    chunk = part.slice(start, statement_rows).to_pylist()  # type: ignore[attr-defined]
                    tx.run("UNWIND $rows AS row CREATE (n:Floor) SET n = row", rows=chunk).consume()

            with driver.session() as session:
                session.execute_write(write)
            rows += part.num_rows
    seconds = time.perf_counter() - started
    with driver.session() as session:
        session.run("MATCH (n:Floor) CALL (n) { DELETE n } IN TRANSACTIONS").consume()
    return {"floor_rows": rows, "floor_seconds": round(seconds, 1), "floor_rows_s": rows / seconds}


SWEEP = ((1_000, 100_000), (10_000, 10_000), (10_000, 100_000), (50_000, 100_000),
         (10_000, 1_000_000))  # fmt: skip


def _sweep(work: Path, enterprises: int, args: argparse.Namespace, base: dict) -> None:
    process, uri, password = _start_server(work / "sweep-server", args.heap, args.page_cache_mb)
    print(f"\n{enterprises:,} enterprises, heap {args.heap}, {date.today()}\n")
    print("| rows per statement | rows per transaction | load (s) | rows/s | heap in use (MB) |")
    print("|---|---|---|---|---|")
    try:
        with neo4j.GraphDatabase.driver(uri, auth=("neo4j", password)) as driver:
            for statement_rows, tx_rows in SWEEP:
                with driver.session() as session:
                    session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS").consume()
                env = base | {
                    "CREDITGRAPH_NEO4J_URI": uri,
                    "CREDITGRAPH_NEO4J_PASSWORD": password,
                    "CREDITGRAPH_LOAD_BATCH_ROWS": str(tx_rows),
                    "CREDITGRAPH_NEO4J_WRITE_BATCH_ROWS": str(statement_rows),
                }
                fig = _step("load", work, enterprises, env)
                heap = _server_memory(process.pid, driver)["heap_used_mb"]
                rate = float(fig["rows"]) / float(fig["seconds"])  # type: ignore[arg-type]
                print(f"| {statement_rows:,} | {tx_rows:,} | {fig['seconds']} | {rate:,.0f} "
                      f"| {heap} |", flush=True)  # fmt: skip
    finally:
        process.terminate()
        process.wait(120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=300_000)
    parser.add_argument("--work", type=Path, default=None, help="Working folder (default: temp)")
    parser.add_argument("--heap", default="4g", help="Neo4j heap (-Xmx)")
    parser.add_argument("--page-cache-mb", type=int, default=2048, help="Neo4j page cache")
    parser.add_argument("--tx-rows", type=int, default=100_000, help="Rows per transaction")
    parser.add_argument("--statement-rows", type=int, default=10_000, help="Rows per UNWIND")
    parser.add_argument("--sweep", action="store_true", help="Only the batch-size sweep")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="creditgraph-neo4j-bench-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREDITGRAPH_")}
    sys.stderr.write(f"generating {args.enterprises:,} enterprises in {work}\n")
    generated = _step("generate", work, args.enterprises, base)
    if args.sweep:
        _sweep(work, args.enterprises, args, base)
        return
    results: dict[str, dict[str, object]] = {"generate": generated}
    for step in STEPS:
        results[f"embedded {step}"] = _step(step, work, args.enterprises, base)
        sys.stderr.write(f"embedded {step}: {results[f'embedded {step}']}\n")

    side = work / "neo4j-side"
    side.mkdir(exist_ok=True)
    if not (side / "data").exists():
        (side / "data").symlink_to(work / "data")
    process, uri, password = _start_server(side / "server", args.heap, args.page_cache_mb)
    try:
        env = base | {
            "CREDITGRAPH_NEO4J_URI": uri,
            "CREDITGRAPH_NEO4J_PASSWORD": password,
            "CREDITGRAPH_LOAD_BATCH_ROWS": str(args.tx_rows),
            "CREDITGRAPH_NEO4J_WRITE_BATCH_ROWS": str(args.statement_rows),
        }
        with neo4j.GraphDatabase.driver(uri, auth=("neo4j", password)) as driver:
            results["neo4j floor"] = _floor(
                driver, work / "data", args.statement_rows, args.tx_rows
            )
            sys.stderr.write(f"neo4j floor: {results['neo4j floor']}\n")
            for step in STEPS:
                results[f"neo4j {step}"] = _step(step, side, args.enterprises, env)
                if step == "load":
                    results["neo4j load"] |= _server_memory(process.pid, driver)
                sys.stderr.write(f"neo4j {step}: {results[f'neo4j {step}']}\n")
    finally:
        process.terminate()
        process.wait(120)

    load = results["neo4j load"]
    rate = float(load["rows"]) / float(load["seconds"])  # type: ignore[arg-type]
    floor = float(results["neo4j floor"]["floor_rows_s"])  # type: ignore[arg-type]
    print(
        f"\n{args.enterprises:,} enterprises — {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Neo4j 5.26 heap {args.heap}, page cache "
        f"{args.page_cache_mb} MB, {args.tx_rows:,} rows per transaction, "
        f"{args.statement_rows:,} per statement, {date.today()}\n"
    )
    print_table(results)
    print(f"\nNeo4j load: {rate:,.0f} rows/s = {rate / floor:.2f} × the raw CREATE floor "
          f"({floor:,.0f} rows/s)")  # fmt: skip


if __name__ == "__main__":
    main()
