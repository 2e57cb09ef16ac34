"""Fixtures of the store contract suite: one freshly emptied store per available backend.

The embedded LadybugDB backend always runs. The Neo4j backend runs when
``CREDITGRAPH_NEO4J_URI`` is set (with ``CREDITGRAPH_NEO4J_USER``,
``CREDITGRAPH_NEO4J_PASSWORD`` and ``CREDITGRAPH_NEO4J_DATABASE``, defaults
``neo4j``); it expects ``graph_model.store.neo4j.Neo4jStore(driver, database=...)``
with the driver injected, and the whole database is emptied before each test.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph_model.store.protocol import GraphStore

from . import full_batch

NEO4J_ENV = "CREDITGRAPH_NEO4J_URI"

Reopen = Callable[..., GraphStore]


@contextlib.contextmanager
def _ladybug(tmp_path: Path) -> Iterator[tuple[GraphStore, Reopen | None]]:
    from graph_model.store.ladybug import LadybugStore

    opened = [LadybugStore(tmp_path / "db")]

    def reopen(read_only: bool = False) -> GraphStore:
        opened[-1].close()
        opened.append(LadybugStore(tmp_path / "db", read_only=read_only))
        return opened[-1]

    try:
        yield opened[0], reopen
    finally:
        opened[-1].close()


@contextlib.contextmanager
def _neo4j(tmp_path: Path) -> Iterator[tuple[GraphStore, Reopen | None]]:
    try:
        module = importlib.import_module("graph_model.store.neo4j")
        missing = None
    except ImportError as exc:
        missing = str(exc)
    if missing is not None:  # failed outside the except block, so without a chained traceback
        pytest.fail(
            f"{NEO4J_ENV} is set but the Neo4j backend graph_model.store.neo4j cannot be "
            f"imported ({missing}); unset {NEO4J_ENV} to test the embedded backend only",
            pytrace=False,
        )
    import neo4j

    auth = (
        os.environ.get("CREDITGRAPH_NEO4J_USER", "neo4j"),
        os.environ.get("CREDITGRAPH_NEO4J_PASSWORD", "neo4j"),
    )
    database = os.environ.get("CREDITGRAPH_NEO4J_DATABASE", "neo4j")
    with neo4j.GraphDatabase.driver(os.environ[NEO4J_ENV], auth=auth) as driver:
        # Test set-up, not store code: empty the test database before each test.
        driver.execute_query("MATCH (n) DETACH DELETE n", database_=database)
        store = module.Neo4jStore(driver, database=database)
        try:
            yield store, None
        finally:
            store.close()


_BACKENDS = {"ladybug": _ladybug, "neo4j": _neo4j}


@pytest.fixture(
    params=[
        "ladybug",
        pytest.param(
            "neo4j",
            marks=pytest.mark.skipif(not os.environ.get(NEO4J_ENV), reason=f"{NEO4J_ENV} not set"),
        ),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple]:
    """(store with its schema, reopen function or None) for each available backend."""
    with _BACKENDS[request.param](tmp_path) as (store, reopen):
        store.ensure_schema()
        yield store, reopen


@pytest.fixture
def store(backend: tuple) -> GraphStore:
    """An empty store (schema created) of each available backend."""
    return backend[0]


@pytest.fixture
def reopen(backend: tuple) -> Reopen:
    """``reopen(read_only=False)``: close the store and open its database again.

    Only embedded backends have a database path to reopen; others skip the test.
    """
    if backend[1] is None:
        pytest.skip("reopening a database path applies to embedded backends only")
    return backend[1]


@pytest.fixture
def graph(store: GraphStore) -> GraphStore:
    """The store holding the fixture graph (see this package's docstring)."""
    store.write(full_batch())
    return store
