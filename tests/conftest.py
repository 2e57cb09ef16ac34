"""Shared fixtures: a fresh on-disk LadybugDB store, and valid identifiers made on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from graph_model.identifiers import resident_id_check_char, uscc_check_char
from graph_model.store.ladybug import LadybugStore
from graph_model.store.protocol import GraphStore

SALT = "test-salt"
_FAR = date(2999, 1, 1)


def make_uscc(serial: int, region: str = "330200") -> str:
    """A valid USCC (91 = enterprise, region ``region``) for enterprise number ``serial``."""
    body = f"91{region}MA{serial:07d}"
    return body + uscc_check_char(body)


def make_resident_id(serial: int, birth: str = "19800101", region: str = "330203") -> str:
    """A valid 18-character resident ID number for person number ``serial`` (0-999)."""
    body = f"{region}{birth}{serial:03d}"
    return body + resident_id_check_char(body)


def graph_state(store: GraphStore) -> dict[str, Any]:
    """Everything a store holds, comparable with ``==``: counts, every node with its
    properties and records, and every relation (with properties) seen from each node."""
    ids = [
        node_id
        for label in ("Enterprise", "Person")
        for page in store.export_nodes(label, _FAR, 1_000_000)
        for node_id in page["id"].to_pylist()
    ]
    return {
        "counts": store.counts(),
        "entities": {i: store.get_entity(i) for i in ids},
        "edges": {i: store.neighbours(i, limit=10_000).items for i in ids},
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadybugStore]:
    """An empty LadybugDB store in the test's temporary folder, closed afterwards."""
    with LadybugStore(tmp_path / "db") as s:
        yield s


@pytest.fixture
def write_files(tmp_path: Path) -> Callable[..., Path]:
    """``write_files(name, {"enterprises.csv": text, ...})`` → a new folder holding those files."""

    def write(name: str, files: dict[str, str | bytes]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for file_name, content in files.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            (folder / file_name).write_bytes(data)
        return folder

    return write
