"""Shared fixtures: a fresh on-disk LadybugDB store, valid identifiers made on demand, and a
small city served by the API (loaded, trained, scored)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from neo4j_live import OwnServer

from access.settings import AccessSettings
from graph_model.identifiers import resident_id_check_char, uscc_check_char
from graph_model.snapshot import Snapshot
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
def own_server(tmp_path: Path) -> Iterator[OwnServer]:
    """A live Neo4j server of the test's own (not yet started), killed at the end."""
    server = OwnServer(tmp_path / "neo4j")
    try:
        yield server
    finally:
        server.kill()


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


API_KEYS = {
    "regulator-key": {"name": "宁波市市场监督管理局", "role": "regulator"},
    "bank-key": {"name": "甬城银行", "role": "bank"},
    "other-bank-key": {"name": "江北农商行", "role": "bank"},
    "analyst-key": {"name": "研究所", "role": "analyst"},
}
"""One key per role (and a second bank), by the header value tests send."""


@dataclass(frozen=True)
class ApiCity:
    """A small city served by the API: loaded, trained, scored, with warnings raised."""

    settings: AccessSettings
    scored: date
    model_version: str


@pytest.fixture(scope="session")
def api_city(tmp_path_factory: pytest.TempPathFactory) -> ApiCity:
    """A 6,000-firm city in a data home, once per session: store, a model trained on it,
    stored scores and snapshot of its last day, an inspector file, and warnings between
    that day and six months earlier (previous grades all A, so grades worsen)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from cities import loaded_city

    from graph_model.snapshot import take_snapshot
    from risk.model import jobs
    from risk.model.dates import shift_months
    from risk.supervision.registry import open_registry
    from risk.supervision.warning_registry import save_warnings
    from risk.supervision.warnings import compute_warnings

    root = tmp_path_factory.mktemp("api")
    settings = AccessSettings(home=root / "home", train_threads=2, api_keys=json.dumps(API_KEYS))
    loaded_city(root, settings, 6_000, 3)
    with LadybugStore(settings.embedded_store_path, read_only=True) as store:
        artefact = jobs.train_job(store, settings)
        day = jobs.observed_through(store, settings)
        path, _ = jobs.score_job(settings, store, day)
        before = shift_months(day, -6)
        earlier = take_snapshot(store, before)
    current = Snapshot.load(settings.snapshots_dir / day.isoformat())
    grades = pq.read_table(path, columns=["id", "grade", "score"])
    all_a = grades.set_column(1, "grade", pa.array(["A"] * grades.num_rows))
    table = compute_warnings(earlier, current, all_a, grades)
    with open_registry(settings.supervision_path) as registry:
        save_warnings(registry, table, day, before, 2, current)
    settings.inspectors_dir.mkdir(parents=True)
    rows = "\n".join(f"I{k:03d},检查员{k},,,200,," for k in range(40))
    (settings.inspectors_dir / "inspectors.csv").write_text(
        "inspector_id,name,id_number,region_code,capacity,former_employers,relatives\n" + rows,
        encoding="utf-8",
    )
    return ApiCity(settings, day, artefact.version)


@pytest.fixture(scope="session")
def api_client(api_city: ApiCity) -> Iterator[Any]:
    """A TestClient of the API over ``api_city``, started once per session."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(api_city.settings)) as client:
        yield client
