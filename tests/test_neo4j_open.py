"""Choosing the Neo4j backend from the settings: the opener, its connection check and
messages, and the command line on Neo4j (with a driver double, or a real driver pointed at a
port where no server listens)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import neo4j
import pytest
import yaml
from neo4j.exceptions import AuthError
from pydantic import ValidationError
from typer.testing import CliRunner

from cli.app import app
from graph_model.domain import load_domain
from graph_model.settings import Settings
from graph_model.store import neo4j_cypher as cy
from graph_model.store import open as opener
from graph_model.store.ladybug import LadybugStore
from graph_model.store.neo4j import Neo4jAuthError, Neo4jStore, Neo4jUnavailableError
from graph_model.store.protocol import StoreError

PASSWORD = "s3cret-pw"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port with nothing listening on it (bound, never listened to, while in use)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def fake_driver(monkeypatch: pytest.MonkeyPatch) -> MagicMock:
    """The driver ``open_store`` makes: a double that connects and finds an empty database."""
    driver = MagicMock(spec=neo4j.Driver)
    driver.execute_query.return_value = neo4j.EagerResult([], MagicMock(), [])
    made = MagicMock(return_value=driver)
    monkeypatch.setattr(opener.GraphDatabase, "driver", made)
    driver.made = made
    return driver


def neo4j_settings(**kwargs: Any) -> Settings:
    values = {"neo4j_uri": "neo4j://graph.example:7687", "neo4j_password": PASSWORD} | kwargs
    return Settings(**values)


def test_without_a_uri_the_embedded_store_opens(tmp_path: Path) -> None:
    with opener.open_store(Settings(home=tmp_path)) as store:
        assert isinstance(store, LadybugStore)


def test_with_a_uri_the_opener_hands_its_driver_to_a_neo4j_store(fake_driver: MagicMock) -> None:
    settings = neo4j_settings(
        neo4j_user="loader", neo4j_database="credit", neo4j_write_batch_rows=500
    )
    store = opener.open_store(settings)
    assert isinstance(store, Neo4jStore)
    fake_driver.made.assert_called_once()
    assert fake_driver.made.call_args.args == ("neo4j://graph.example:7687",)
    assert fake_driver.made.call_args.kwargs["auth"] == ("loader", PASSWORD)
    fake_driver.verify_connectivity.assert_called_once_with()
    assert (store.database, store.write_batch_rows, store.read_only) == ("credit", 500, False)
    fake_driver.execute_query.assert_not_called()  # a writer creates its schema when it loads
    store.close()
    fake_driver.close.assert_called_once_with()  # the store owns the opener's driver


def test_a_read_only_store_checks_the_database_holds_creditgraph_data(
    fake_driver: MagicMock,
) -> None:
    with pytest.raises(StoreError, match="creditgraph load"):
        opener.open_store(neo4j_settings(), read_only=True)
    (call,) = fake_driver.execute_query.call_args_list
    assert call.args[0] == cy.GET_META
    fake_driver.close.assert_called_once_with()  # a failed open leaks no driver


def test_refused_credentials_say_what_to_check(fake_driver: MagicMock) -> None:
    refused = neo4j.exceptions.Neo4jError._hydrate_neo4j(
        code="Neo.ClientError.Security.Unauthorized", message="unauthorized"
    )
    assert isinstance(refused, AuthError)
    fake_driver.verify_connectivity.side_effect = refused
    with pytest.raises(Neo4jAuthError) as raised:
        opener.open_store(neo4j_settings())
    assert "neo4j://graph.example:7687" in str(raised.value)
    assert "CREDITGRAPH_NEO4J_PASSWORD" in str(raised.value)
    assert PASSWORD not in str(raised.value)
    fake_driver.close.assert_called_once_with()


def test_an_unreachable_server_is_named_without_the_password(closed_port: int) -> None:
    # A real driver, a real refused connection: the message names the URI and what to check.
    uri = f"bolt://127.0.0.1:{closed_port}"
    with pytest.raises(Neo4jUnavailableError) as raised:
        opener.open_store(neo4j_settings(neo4j_uri=uri))
    message = str(raised.value)
    assert uri in message and "server is running" in message
    assert PASSWORD not in message


@pytest.mark.parametrize(
    "uri", ["http://graph.example:7474", "graph.example:7687", "bolt://ops:hunter2@graph.example"]
)
def test_a_uri_that_is_not_bolt_is_refused(uri: str) -> None:
    with pytest.raises(StoreError, match="not a Neo4j Bolt URI") as raised:
        opener.open_store(neo4j_settings(neo4j_uri=uri))
    assert "hunter2" not in str(raised.value)


def test_a_uri_needs_a_password() -> None:
    with pytest.raises(ValidationError, match="CREDITGRAPH_NEO4J_PASSWORD"):
        Settings(neo4j_uri="neo4j://graph.example:7687")
    assert Settings().neo4j_uri is None


def test_the_password_is_kept_secret() -> None:
    settings = neo4j_settings()
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())


# -- the command line on Neo4j -----------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def neo4j_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREDITGRAPH_NEO4J_URI", "neo4j://graph.example:7687")
    monkeypatch.setenv("CREDITGRAPH_NEO4J_PASSWORD", PASSWORD)
    return tmp_path / "home"


def test_stats_reports_the_neo4j_database(neo4j_env: Path, fake_driver: MagicMock) -> None:
    domain = load_domain()
    layout = Neo4jStore(MagicMock(spec=neo4j.Driver))._fingerprint()

    def answer(query: str, params: dict[str, Any] | None = None, **_: Any) -> neo4j.EagerResult:
        if query == cy.GET_META:
            rows = [{"value": layout}]  # as in a database the store loaded
        elif query == cy.count_nodes(domain, "Enterprise"):
            rows = [{"n": 1234}]
        elif "RETURN count(" in query:
            rows = [{"n": 0}]
        else:
            rows = []
        return neo4j.EagerResult([neo4j.Record(r) for r in rows], MagicMock(), [])

    fake_driver.execute_query.side_effect = answer
    code, out = run("stats")
    assert code == 0, out
    assert "store: Neo4j at neo4j://graph.example:7687, database neo4j" in out
    enterprises = next(line for line in out.splitlines() if "Enterprise" in line)
    assert enterprises.split()[-1] == "1,234"
    assert "on disk" not in out


def test_load_into_an_unreachable_neo4j_is_a_message(
    neo4j_env: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    uri = f"bolt://127.0.0.1:{closed_port}"
    monkeypatch.setenv("CREDITGRAPH_NEO4J_URI", uri)
    (tmp_path / "city").mkdir()
    code, out = run("load", str(tmp_path / "city"), "--quiet")
    assert code == 2
    assert f"cannot reach Neo4j at {uri}" in out
    assert "Traceback" not in out and PASSWORD not in out


def test_the_demo_never_writes_to_neo4j(neo4j_env: Path, fake_driver: MagicMock) -> None:
    code, out = run("demo", "--enterprises", "100")
    assert code == 0, out
    assert "embedded store" in out
    fake_driver.made.assert_not_called()
    assert (neo4j_env / "store" / "DEMO").exists()


# -- what a user follows -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_docker_compose_starts_neo4j_5_with_a_health_check() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["neo4j"]
    assert service["image"].startswith("neo4j:5.")
    assert "7687:7687" in service["ports"]
    check = service["healthcheck"]
    assert "cypher-shell" in " ".join(check["test"]) and check["retries"] >= 10
    # The password the README tells users to export is the one the server starts with.
    password = service["environment"]["NEO4J_AUTH"].split(":-")[1].rstrip("}")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"export CREDITGRAPH_NEO4J_PASSWORD={password}" in readme
    assert len(password) >= 8  # Neo4j 5 refuses shorter passwords


def test_every_neo4j_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "neo4j.md").read_text(encoding="utf-8")
    names = [name for name in Settings.model_fields if name.startswith("neo4j_")]
    assert len(names) == 5
    for name in names:
        variable = f"`CREDITGRAPH_{name.upper()}`"
        assert variable in readme and variable in guide, variable


def test_load_transactions_are_sized_for_the_store() -> None:
    # Neo4j holds a transaction's change set in its heap: a tenth of the embedded default.
    assert Settings().load_batch_rows == 1_000_000
    assert neo4j_settings().load_batch_rows == 100_000
    assert neo4j_settings(load_batch_rows=5_000).load_batch_rows == 5_000
