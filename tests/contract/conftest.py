"""Fixtures of the store contract suite: one freshly emptied store per available backend.

Every test runs against both backends: the embedded LadybugDB in a temporary folder, and
the live Neo4j 5.26 server that ``./dev test`` starts (``tests/neo4j_live.py``), with the
driver injected into ``Neo4jStore`` and the database emptied before each test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from neo4j_live import shared_server

from graph_model.store.neo4j import Neo4jStore
from graph_model.store.protocol import GraphStore

from . import full_batch

Reopen = Callable[..., GraphStore]


@contextlib.contextmanager
def _ladybug(tmp_path: Path) -> Iterator[tuple[GraphStore, Reopen]]:
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
def _neo4j(tmp_path: Path) -> Iterator[tuple[GraphStore, Reopen]]:
    server = shared_server()
    server.empty()
    drivers = [server.driver()]
    opened = [Neo4jStore(drivers[0])]

    def reopen(read_only: bool = False) -> GraphStore:
        # A new driver and store on the same database, as the next command would open it.
        opened[-1].close()
        drivers.append(server.driver())
        opened.append(Neo4jStore(drivers[-1], read_only=read_only))
        return opened[-1]

    try:
        yield opened[0], reopen
    finally:
        for driver in drivers:
            driver.close()


_BACKENDS = {"ladybug": _ladybug, "neo4j": _neo4j}


@pytest.fixture(params=list(_BACKENDS))
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
    """``reopen(read_only=False)``: close the store and open its database again."""
    return backend[1]


@pytest.fixture
def graph(store: GraphStore) -> GraphStore:
    """The store holding the fixture graph (see this package's docstring)."""
    store.write(full_batch())
    return store
