"""The live Neo4j 5.26 servers the tests use.

``./dev test`` starts one server for the whole run (``neo4j-server/Launcher.java``, a real
Neo4j Community server from Maven Central) and hands it over in ``CREDITGRAPH_TEST_NEO4J_URI``
and ``CREDITGRAPH_TEST_NEO4J_PASSWORD``; tests empty its database before use. Tests that
stop or kill a server start one of their own with ``own_server`` (the launcher is named by
``CREDITGRAPH_TEST_NEO4J_JAVA`` and ``CREDITGRAPH_TEST_NEO4J_CLASSPATH``).

Without those variables a Neo4j test fails, never skips: run the tests with ``./dev test``.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import neo4j
import pytest

USER = "neo4j"
_MISSING = "{} is not set: run the tests with `./dev test`, which starts a Neo4j server for them"


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(_MISSING.format(name), pytrace=False)
    return value


@dataclass(frozen=True)
class Server:
    """A running Neo4j server: its Bolt URI and the password of user ``neo4j``."""

    uri: str
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        return (USER, self.password)

    def driver(self) -> neo4j.Driver:
        return neo4j.GraphDatabase.driver(self.uri, auth=self.auth)

    def empty(self, *, drop_schema: bool = False) -> None:
        """Delete every node of the database ``neo4j``; its constraints and indexes too
        when asked (a store creates them again with ``ensure_schema``)."""
        with self.driver() as driver:
            with driver.session() as session:  # IN TRANSACTIONS needs an implicit transaction
                session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS").consume()
            if not drop_schema:
                return
            for kind, shown in (("CONSTRAINT", "CONSTRAINTS"), ("INDEX", "INDEXES")):
                names = driver.execute_query(
                    f"SHOW {shown} YIELD name, type WHERE type <> 'LOOKUP' RETURN name"
                ).records
                for record in names:
                    driver.execute_query(f"DROP {kind} `{record['name']}` IF EXISTS")


def shared_server() -> Server:
    """The run's server (``./dev test`` started it)."""
    return Server(_env("CREDITGRAPH_TEST_NEO4J_URI"), _env("CREDITGRAPH_TEST_NEO4J_PASSWORD"))


class OwnServer:
    """A Neo4j server of one test's own, in ``home``: started, stopped, killed at will.

    The port and password stay the same across restarts, as a real server's do.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.password = secrets.token_hex(12)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / "server.log"

    @property
    def server(self) -> Server:
        return Server(f"neo4j://127.0.0.1:{self.port}", self.password)

    def start(self) -> Server:
        java = _env("CREDITGRAPH_TEST_NEO4J_JAVA")
        classpath = _env("CREDITGRAPH_TEST_NEO4J_CLASSPATH")
        self.home.mkdir(parents=True, exist_ok=True)
        seen = self.log.stat().st_size if self.log.exists() else 0  # earlier runs' lines
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [java, "-Xmx512m", "-cp", classpath, "Launcher", str(self.home / "db")]
                + ([str(self.port)] if self.port else []),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NEO4J_PASSWORD": self.password},
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            lines = self.log.read_bytes()[seen:].decode(errors="replace").splitlines()
            ready = [ln for ln in lines if ln.startswith("READY ")]
            if ready:
                self.port = int(ready[-1].rsplit(":", 1)[1])
                return self.server
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"Neo4j did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """Kill the server outright (SIGKILL), as a crash or an OOM killer would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        """Shut the server down cleanly."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
