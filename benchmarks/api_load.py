"""Load benchmark of the HTTP API: a server in one process, the load from this one, on loopback.

Starts ``creditgraph serve`` over a data home (a 1M-enterprise city for the figures in
docs/benchmarks.md) and times it until ready, its peak memory (max RSS) then: a first start
(which writes the snapshot's served copy when there is none, risk/served.py) and a restart,
each against a raw floor measured in the same run (a bare uvicorn app with one route started
the same way: the interpreter, uvicorn and the HTTP round trip, none of our work). Then it
measures the restarted server with an asyncio client:

1. single screening (bank key, one USCC per request), one client: latency p50 / p99;
2. batch screening of 100 USCCs, one client: time per batch;
3. related parties within 2 hops (analyst key), one client: latency p50 / p99;
4. sustained load: ``--clients`` concurrent clients for ``--duration`` seconds, a mix of
   screening (50 %), related parties (30 %) and profiles (20 %): throughput, p50 / p99 and
   errors (any status other than 200, or a failed connection).

With ``--synthetic-grades``, a data home without stored scores gets a synthetic grading of
its snapshot's date (uniform scores, the default class mix, no reasons; model version
``synthetic-benchmark``) so that regulators' screening reads a grade as it would in
production; it says nothing about the model. Enterprises are drawn at random (seeded) from
the data home's latest snapshot. Prints the start-up figures, a Markdown table and the
server's memory.
Run: ``python -m benchmarks.api_load --home /path/to/home``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx2 as httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from graph_model.settings import Settings
from risk.model.grades import GradePolicy
from risk.model.scores import SCHEMA as SCORES_SCHEMA

KEYS = {
    "bench-regulator-key-0123456789abcdef": {"name": "bench regulator", "role": "regulator"},
    "bench-bank-key-0123456789abcdef0123": {"name": "bench bank", "role": "bank"},
    "bench-analyst-key-0123456789abcdef0": {"name": "bench analyst", "role": "analyst"},
}
REGULATOR = {"X-API-Key": "bench-regulator-key-0123456789abcdef"}
BANK = {"X-API-Key": "bench-bank-key-0123456789abcdef0123"}
ANALYST = {"X-API-Key": "bench-analyst-key-0123456789abcdef0"}


@dataclass
class Samples:
    """Latencies (ms) and errors of one scenario."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def row(self, name: str) -> str:
        lat = np.asarray(self.latencies)
        p50, p99 = (np.percentile(lat, q) if len(lat) else float("nan") for q in (50, 99))
        rate = len(lat) / self.seconds if self.seconds else 0.0
        return (
            f"| {name} | {len(lat):,} | {p50:.1f} ms | {p99:.1f} ms | {rate:,.1f}/s | "
            f"{self.errors} |"
        )


def _latest_snapshot(home: Path) -> Path:
    return sorted(p for p in (home / "snapshots").iterdir() if (p / "manifest.json").exists())[-1]


def _ids(home: Path, n: int, seed: int) -> list[str]:
    ids = pq.read_table(_latest_snapshot(home) / "enterprises.parquet", columns=["id"])["id"]
    return random.Random(seed).sample(ids.to_pylist(), n)


def _synthetic_grades(home: Path) -> None:
    """Store a synthetic grading of the snapshot's date unless one is stored (see above)."""
    folder = _latest_snapshot(home)
    day = date.fromisoformat(folder.name)
    target = home / "scores" / day.isoformat()
    if target.is_dir() and any(target.glob("*.parquet")):
        return
    ids = pq.read_table(folder / "enterprises.parquet", columns=["id"])["id"]
    score = np.random.default_rng(1).random(len(ids))
    settings = Settings(home=home)
    policy = GradePolicy.of(settings.grade_method, settings.grade_mix, settings.grade_bands)
    grades, _ = policy.assign(score)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(1, len(ids) + 1)
    version = "synthetic-benchmark"
    table = pa.table(
        {
            "id": ids,
            "as_of": pa.array([day] * len(ids), pa.date32()),
            "model_version": pa.array([version] * len(ids)),
            "score": score,
            "rank": rank,
            "grade": pa.array(grades.tolist(), pa.string()),
            "reasons": pa.nulls(len(ids), pa.string()),
        },
        schema=SCORES_SCHEMA,
    )
    meta = {
        "model_version": version,
        "as_of": day.isoformat(),
        "population": len(ids),
        "reasons": {"top_k": 3, "share": 0.0, "evidence_items": 5, "explained": 0},
    }
    target.mkdir(parents=True, exist_ok=True)
    table = table.replace_schema_metadata({b"creditgraph": json.dumps(meta)})
    pq.write_table(table, target / f"{version}.parquet")


def _memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's memory from /proc: ``VmRSS`` now, ``VmHWM`` its peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


_FLOOR_APP = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()
app.get("/health/ready")(lambda: {"ready": True})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _server_command(home: Path, port: int) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "CREDITGRAPH_HOME": str(home),
        "CREDITGRAPH_API_KEYS": json.dumps(KEYS),
    }
    # The console script beside this interpreter: the server is its own process.
    command = [
        str(Path(sys.executable).parent / "creditgraph"),
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return command, env


async def _wait_ready(
    client: httpx.AsyncClient, server: subprocess.Popen[bytes], started: float
) -> float:
    """Seconds from ``started`` until the server answers ready (polled every 50 ms)."""
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            response = await client.get("/health/ready")
            if response.status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)


async def _start(
    client: httpx.AsyncClient, command: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], float, float]:
    """A server started with ``command``, its seconds to ready and its peak RSS (MB) then."""
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env)
    try:
        ready = await _wait_ready(client, server, started)
    except BaseException:
        server.terminate()
        raise
    return server, ready, _memory_mb(server.pid, "VmHWM")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


async def _start_up(client: httpx.AsyncClient, home: Path, port: int) -> subprocess.Popen[bytes]:
    """Time a first start and a restart against the raw floor; the restarted server is
    left running (module docstring)."""
    floor_server, floor, floor_peak = await _start(
        client, [sys.executable, "-c", _FLOOR_APP, str(port)]
    )
    _stop(floor_server)
    copied = not any(home.glob("snapshots/*/served/key"))
    command, env = _server_command(home, port)
    first, first_ready, first_peak = await _start(client, command, env)
    _stop(first)
    server, ready, peak = await _start(client, command, env)
    print("| start | ready after | × floor | peak memory (max RSS) |")
    print("|---|---:|---:|---:|")
    print(f"| raw floor: a bare uvicorn app | {floor:.2f} s | 1.0 | {floor_peak:,.0f} MB |")
    what = "first start, served copy written" if copied else "first start, served copy found"
    print(f"| {what} | {first_ready:.2f} s | {first_ready / floor:.1f} | {first_peak:,.0f} MB |")
    print(f"| restart | {ready:.2f} s | {ready / floor:.1f} | {peak:,.0f} MB |", flush=True)
    return server


async def _timed(samples: Samples, call: Callable[[], Awaitable[httpx.Response]]) -> None:
    started = time.perf_counter()
    try:
        response = await call()
        ok = response.status_code == 200
    except httpx.TransportError:
        ok = False
    samples.latencies.append((time.perf_counter() - started) * 1000)
    samples.errors += not ok


async def _sequential(
    count: int, make: Callable[[int], Callable[[], Awaitable[httpx.Response]]]
) -> Samples:
    samples = Samples()
    started = time.perf_counter()
    for i in range(count):
        await _timed(samples, make(i))
    samples.seconds = time.perf_counter() - started
    return samples


async def _sustained(
    client: httpx.AsyncClient, ids: list[str], clients: int, duration: float
) -> Samples:
    samples = Samples()
    deadline = time.perf_counter() + duration
    rng = random.Random(11)

    def request() -> Callable[[], Awaitable[httpx.Response]]:
        firm = rng.choice(ids)
        draw = rng.random()
        if draw < 0.5:
            return lambda: client.get("/v1/screening", params={"q": firm}, headers=BANK)
        if draw < 0.8:
            return lambda: client.get(f"/v1/enterprises/{firm}/related-parties", headers=ANALYST)
        return lambda: client.get(f"/v1/enterprises/{firm}", headers=ANALYST)

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await _timed(samples, request())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    samples.seconds = time.perf_counter() - started
    return samples


async def run(
    home: Path, port: int, clients: int, duration: float, requests: int, grades: bool
) -> None:
    if grades:
        _synthetic_grades(home)
    ids = _ids(home, 5_000, seed=7)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
    ) as client:
        server = await _start_up(client, home, port)
        try:
            # Warm-up: first queries compile plans and fill the buffer pool.
            await _sequential(
                50, lambda i: lambda: client.get(f"/v1/screening?q={ids[i]}", headers=BANK)
            )
            single = await _sequential(
                requests,
                lambda i: lambda: client.get("/v1/screening", params={"q": ids[i]}, headers=BANK),
            )
            regulator = await _sequential(
                requests,
                lambda i: (
                    lambda: client.get(
                        "/v1/screening", params={"q": ids[-1 - i]}, headers=REGULATOR
                    )
                ),
            )
            batch = await _sequential(
                max(requests // 20, 5),
                lambda i: (
                    lambda: client.post(
                        "/v1/screening/batch",
                        json={"queries": ids[(i * 100) % 4_900 : (i * 100) % 4_900 + 100]},
                        headers=BANK,
                    )
                ),
            )
            related = await _sequential(
                requests,
                lambda i: (
                    lambda: client.get(
                        f"/v1/enterprises/{ids[-1 - i]}/related-parties?hops=2", headers=ANALYST
                    )
                ),
            )
            sustained = await _sustained(client, ids, clients, duration)
            rss = _memory_mb(server.pid)
        finally:
            _stop(server)
    print("| scenario | requests | p50 | p99 | throughput | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    print(single.row("single screening (bank), 1 client"))
    print(regulator.row("single screening (regulator, with grade), 1 client"))
    print(batch.row("batch of 100 USCCs, 1 client"))
    print(related.row("related parties, 2 hops, 1 client"))
    print(sustained.row(f"mix, {clients} clients, {duration:.0f} s"))
    print(f"server memory after the run: {rss:,.0f} MB RSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="Data home to serve")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--requests", type=int, default=500, help="Per sequential scenario")
    parser.add_argument(
        "--synthetic-grades", action="store_true", help="Store a synthetic grading if none"
    )
    args = parser.parse_args()
    asyncio.run(
        run(
            args.home,
            args.port,
            args.clients,
            args.duration,
            args.requests,
            args.synthetic_grades,
        )
    )


if __name__ == "__main__":
    main()
