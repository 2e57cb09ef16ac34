"""The command line, run in-process on a small city in a temporary data home."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(tmp_path / "home"))
    # These tests are about the embedded store, even where Neo4j is set up for the contract suite.
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)
    return tmp_path / "home"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_demo_loads_a_city_and_reports_the_store(home: Path) -> None:
    code, out = run("demo", "--enterprises", "500", "--seed", "3")
    assert code == 0, out
    assert "rejected" in out and "Enterprise" in out and "demo done" in out
    code, stats = run("stats")
    assert code == 0
    enterprises = next(line for line in stats.splitlines() if "Enterprise" in line)
    assert enterprises.split()[-1] == "500"
    # A second demo replaces its own store and gives the same counts.
    assert run("demo", "--enterprises", "500", "--seed", "3")[0] == 0
    assert run("stats")[1] == stats


def test_demo_refuses_to_replace_a_store_it_did_not_make(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "city"
    assert run("generate", "--out", str(data), "--enterprises", "300")[0] == 0
    assert run("load", str(data), "--quiet")[0] == 0
    code, out = run("demo", "--enterprises", "300")
    assert code == 2
    assert "not a demo" in out
    assert "Enterprise" in run("stats")[1]


def test_load_refusal_is_a_message_not_a_traceback(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "enterprises.csv").write_text("name\nfoo\n", encoding="utf-8")
    code, out = run("load", str(bad), "--quiet")
    assert code == 2
    assert "missing required column(s) id" in out
    assert "Traceback" not in out


def test_strict_load_prints_rejects_and_writes_nothing(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "enterprises.csv").write_text(
        "id,name\n91350100M000100Y43,ok\n91350100M000100Y44,bad check\n", encoding="utf-8"
    )
    code, out = run("load", str(bad), "--strict", "--quiet")
    assert code == 2
    assert "enterprises.csv line 3, id" in out and "nothing written" in out
    code, out = run("stats")
    enterprises = next(line for line in out.splitlines() if "Enterprise" in line)
    assert enterprises.split()[-1] == "0"


def test_stats_without_a_store_says_what_to_do(home: Path) -> None:
    code, out = run("stats")
    assert code == 2
    assert "creditgraph load" in out


def test_snapshot_writes_a_readable_folder(home: Path) -> None:
    from graph_model.snapshot import Snapshot

    assert run("demo", "--enterprises", "400")[0] == 0
    code, out = run("snapshot", "--as-of", "2023-06-30")
    assert code == 0, out
    snap = Snapshot.load(home / "snapshots" / "2023-06-30")
    assert 0 < snap.n_enterprises <= 400
    assert run("snapshot", "--as-of", "June")[0] != 0


def test_features_takes_the_snapshot_it_needs_and_saves_the_matrix(home: Path) -> None:
    from risk.features import FeatureMatrix
    from risk.features.catalog import load_catalog

    assert run("demo", "--enterprises", "400")[0] == 0
    code, out = run("features", "--as-of", "2024-06-30")
    assert code == 0, out
    assert "snapshot 2024-06-30" in out  # taken because none was saved
    assert "guarantees" in out and "community" in out  # time per family
    matrix = FeatureMatrix.load(home / "features" / "2024-06-30.parquet")
    assert matrix.names == load_catalog().names
    code, out = run("features", "--as-of", "2024-06-30", "--family", "own")
    assert code == 0 and "snapshot" not in out and "not saved" in out
    code, out = run("features", "--as-of", "2024-06-30", "--family", "tarot")
    assert code != 0 and "unknown --family" in out
