"""Failure paths against real Neo4j servers: a wrong password, a server that is not running,
a server killed in the middle of a load, a database of another domain layout.

Each command runs as a user runs it, as a process of its own; messages must name the server
(never the password), say what to check, and carry no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from neo4j_live import USER, OwnServer, Server, shared_server

from graph_model.settings import Settings
from graph_model.store.ladybug import LadybugStore
from graph_model.store.neo4j import Neo4jStore
from graph_model.store.protocol import SchemaMismatchError, StoreCounts
from loaders.generator import generate_city
from loaders.load import load_folder

CLI = [str(Path(sys.executable).parent / "creditgraph")]


def _environ(server: Server, home: Path, password: str | None = None, **env: str) -> dict:
    """A user's environment pointing the command line at ``server``."""
    inherited = os.environ.items()
    return {k: v for k, v in inherited if not k.startswith(("CREDITGRAPH_", "NEO4J_"))} | {
        "CREDITGRAPH_HOME": str(home),
        "CREDITGRAPH_NEO4J_URI": server.uri,
        "CREDITGRAPH_NEO4J_USER": USER,
        "CREDITGRAPH_NEO4J_PASSWORD": password or server.password,
        **env,
    }


def _run(
    args: list[str], server: Server, home: Path, password: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = _environ(server, home, password, **env)
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=environ, timeout=600, check=False
    )


def _assert_clear(result: subprocess.CompletedProcess[str], server: Server, *words: str) -> str:
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    assert server.uri in out, out
    assert server.password not in out, out
    for word in words:
        assert word in out, out
    return out


def test_a_wrong_password_names_the_server_and_what_to_check(tmp_path: Path) -> None:
    server = shared_server()
    wrong = "not-the-password-" + server.password[:4]
    result = _run(["stats"], server, tmp_path, password=wrong)
    out = _assert_clear(result, server, "CREDITGRAPH_NEO4J_PASSWORD")
    assert wrong not in out


def test_a_server_that_is_not_running_is_named(own_server: OwnServer, tmp_path: Path) -> None:
    server = own_server.start()
    own_server.stop()
    result = _run(["load", str(tmp_path)], server, tmp_path / "home")
    _assert_clear(result, server, "cannot reach")


def _expected_counts(data: Path, tmp_path: Path) -> StoreCounts:
    """What a complete load of ``data`` holds: the same files loaded into the embedded store."""
    settings = Settings(home=tmp_path / "embedded")
    with LadybugStore(settings.embedded_store_path) as store:
        load_folder(
            store, data, salt=settings.person_id_salt, rejects_dir=settings.rejects_dir,
            strict=True,
        )  # fmt: skip
        return store.counts()


def _counts(server: Server) -> StoreCounts:
    with server.driver() as driver:
        return Neo4jStore(driver).counts()


def test_a_load_survives_a_server_killed_midway(own_server: OwnServer, tmp_path: Path) -> None:
    data = tmp_path / "city"
    generate_city(data, 3_000, seed=5)
    expected = _expected_counts(data, tmp_path)
    server = own_server.start()
    home = tmp_path / "home"
    # Small transactions, so that the load is still going when the server dies.
    env = {"CREDITGRAPH_LOAD_BATCH_ROWS": "500", "CREDITGRAPH_NEO4J_WRITE_BATCH_ROWS": "100"}
    loading = subprocess.Popen(
        [*CLI, "load", str(data), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environ(server, home, **env),
    )
    deadline = time.monotonic() + 120
    while sum(_counts(server).nodes.values()) == 0:  # wait for the first committed batch
        assert loading.poll() is None, loading.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    own_server.kill()
    out, _ = loading.communicate(timeout=300)
    failed = subprocess.CompletedProcess(loading.args, loading.returncode, out, "")
    _assert_clear(failed, server, "cannot reach")

    own_server.start()  # same home, port and password
    partial = _counts(server)
    assert partial != expected  # the kill came in the middle
    # The store says the load did not finish: readers refuse, stats warns.
    unfinished = _run(["snapshot", "--as-of", "2024-12-31"], server, home)
    assert unfinished.returncode == 2 and "did not finish" in unfinished.stderr
    assert "did not finish" in _run(["stats"], server, home).stderr
    rerun = _run(["load", str(data), "--quiet"], server, home, **env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _counts(server) == expected  # completed, nothing twice
    assert "did not finish" not in _run(["stats"], server, home).stderr


def test_a_database_of_another_domain_layout_is_refused(tmp_path: Path) -> None:
    server = shared_server()
    server.empty()
    with server.driver() as driver:
        Neo4jStore(driver).ensure_schema()
        driver.execute_query(
            "MATCH (m:CreditGraphMeta {name: 'schema'}) SET m.value = 'an-older-layout'"
        )
        with pytest.raises(SchemaMismatchError, match="another domain layout"):
            Neo4jStore(driver).ensure_schema()
    result = _run(["stats"], server, tmp_path)
    _assert_clear(result, server, "another domain layout")
    server.empty()
