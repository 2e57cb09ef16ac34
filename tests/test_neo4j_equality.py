"""The same demo city on both stores gives the same answers.

``creditgraph demo`` runs once on the embedded store and once with ``--neo4j`` on the live
Neo4j server of the test run; then the two data homes must hold the same store statistics,
the same feature tables (floats within 1e-9), the same grades and reasons, and the API over
each must give the same screening, related parties (2 hops, with paths) and extension checks
for a sample of 200 enterprises.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import API_KEYS
from fastapi.testclient import TestClient
from neo4j_live import USER, Server, shared_server
from typer.testing import CliRunner

from access.settings import AccessSettings
from api.app import create_app
from cli.app import app
from graph_model.store.open import open_store

ENTERPRISES = 6_000
SEED = 3
SAMPLE = 200
FAR = date(2999, 1, 1)
REGULATOR = {"X-API-Key": "regulator-key"}
BANK = {"X-API-Key": "bank-key"}


@dataclass(frozen=True)
class Demo:
    settings: AccessSettings
    output: str


def _demo(home: Path, server: Server | None) -> Demo:
    env = {
        "CREDITGRAPH_HOME": str(home),
        "CREDITGRAPH_TRAIN_THREADS": "2",
        "CREDITGRAPH_API_KEYS": json.dumps(API_KEYS),
    }
    args = ["demo", "--enterprises", str(ENTERPRISES), "--seed", str(SEED)]
    if server is not None:
        env |= {
            "CREDITGRAPH_NEO4J_URI": server.uri,
            "CREDITGRAPH_NEO4J_USER": USER,
            "CREDITGRAPH_NEO4J_PASSWORD": server.password,
        }
        args.append("--neo4j")
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    store: dict[str, Any] = (
        {} if server is None else {"neo4j_uri": server.uri, "neo4j_password": server.password}
    )
    settings = AccessSettings(home=home, api_keys=json.dumps(API_KEYS), **store)
    return Demo(settings, result.output)


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Demo, Demo]:
    """(embedded, Neo4j): the demo city on each store, in a data home of its own."""
    server = shared_server()
    server.empty(drop_schema=True)
    root = tmp_path_factory.mktemp("equality")
    return _demo(root / "embedded", None), _demo(root / "neo4j", server)


def test_the_demo_ran_on_each_store(demos: tuple[Demo, Demo]) -> None:
    embedded, neo4j = demos
    assert "Neo4j at neo4j://127.0.0.1" in neo4j.output
    assert "store: Neo4j at" in neo4j.output
    assert "Neo4j" not in embedded.output
    assert "model skipped" not in embedded.output + neo4j.output


def test_same_store_statistics(demos: tuple[Demo, Demo]) -> None:
    counts = []
    for demo in demos:
        with open_store(demo.settings, read_only=True) as store:
            counts.append(store.counts())
    assert counts[0] == counts[1]
    assert counts[0].nodes["Enterprise"] == ENTERPRISES


def _assert_tables_equal(a: pa.Table, b: pa.Table, what: str) -> None:
    assert a.schema == b.schema, what
    assert a.num_rows == b.num_rows, what
    for name in a.column_names:
        x, y = a[name], b[name]
        if pa.types.is_floating(x.type):
            assert pc.all(pc.equal(pc.is_null(x), pc.is_null(y))).as_py(), (what, name)
            both = pc.and_(pc.is_valid(x), pc.is_valid(y))
            gap = pc.max(pc.abs(pc.subtract(x.filter(both), y.filter(both)))).as_py()
            assert gap is None or gap <= 1e-9, (what, name, gap)
        else:
            assert x.equals(y), (what, name)


def test_same_feature_tables(demos: tuple[Demo, Demo]) -> None:
    embedded, neo4j = demos
    names = sorted(p.name for p in embedded.settings.features_dir.glob("*.parquet"))
    assert len(names) >= 12  # the training months, at least
    assert names == sorted(p.name for p in neo4j.settings.features_dir.glob("*.parquet"))
    for name in names:
        a = pq.read_table(embedded.settings.features_dir / name).sort_by("id")
        b = pq.read_table(neo4j.settings.features_dir / name).sort_by("id")
        _assert_tables_equal(a.replace_schema_metadata(), b.replace_schema_metadata(), name)


def test_same_grades_and_reasons(demos: tuple[Demo, Demo]) -> None:
    embedded, neo4j = demos
    files = sorted(p.relative_to(embedded.settings.scores_dir) for p in
                   embedded.settings.scores_dir.rglob("*.parquet"))  # fmt: skip
    assert files
    for name in files:
        a = pq.read_table(embedded.settings.scores_dir / name).sort_by("id")
        b = pq.read_table(neo4j.settings.scores_dir / name).sort_by("id")
        assert a.num_rows > 0 and pc.count(a["grade"]).as_py() > 0  # grades to compare
        _assert_tables_equal(a.replace_schema_metadata(), b.replace_schema_metadata(), str(name))


@pytest.fixture(scope="module")
def clients(demos: tuple[Demo, Demo]) -> Iterator[tuple[TestClient, TestClient]]:
    embedded, neo4j = demos
    with (
        TestClient(create_app(embedded.settings)) as a,
        TestClient(create_app(neo4j.settings)) as b,
    ):
        yield a, b


def _same(clients: tuple[TestClient, TestClient], path: str, headers: dict[str, str]) -> Any:
    answers = [c.get(path, headers=headers) for c in clients]
    assert answers[0].status_code == answers[1].status_code, path
    assert answers[0].json() == answers[1].json(), path
    return answers[0].json()


def test_the_api_answers_alike_for_200_enterprises(
    demos: tuple[Demo, Demo], clients: tuple[TestClient, TestClient]
) -> None:
    with open_store(demos[0].settings, read_only=True) as store:
        ids = [i for page in store.export_nodes("Enterprise", FAR, 100_000)
               for i in page["id"].to_pylist()]  # fmt: skip
    sample = random.Random(SEED).sample(sorted(ids), SAMPLE)
    found = screened = 0
    for enterprise in sample:
        screening = _same(clients, f"/v1/screening?q={enterprise}", BANK)
        related = _same(
            clients, f"/v1/enterprises/{enterprise}/related-parties?hops=2&limit=100", REGULATOR
        )
        found += len(related.get("items", []))
        screened += "level" in screening  # firms not operating on the day are not found
    assert found > SAMPLE  # the sample has related parties to compare, not only empty answers
    assert screened > SAMPLE // 2  # and screening levels, not only refusals
    checks = _same(clients, "/v1/extension-checks?limit=100", REGULATOR)
    assert checks["items"]
    black_listed = sorted({item["black_listed"]["id"] for item in checks["items"]})[:10]
    for enterprise in black_listed:
        _same(clients, f"/v1/extension-checks?black_listed={enterprise}&hops=3", REGULATOR)
