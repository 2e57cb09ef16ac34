"""The served copy of a snapshot (risk/served.py): written by the first open, mapped by the
next, answering as the index computed from the snapshot does; made again when the snapshot
changes; a folder that cannot be written is served from memory."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import ApiCity

import risk.served
from risk.data_home import DataHome
from risk.served import KEY, SERVED, open_served, served_table
from risk.snapshot_index import SnapshotIndex


@pytest.fixture
def folder(api_city: ApiCity, tmp_path: Path) -> Path:
    """A copy of the city's saved snapshot, without a served copy."""
    source = DataHome(api_city.settings).snapshot_folder(api_city.scored)
    copy = tmp_path / source.name
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(SERVED))
    return copy


def _answers(index: SnapshotIndex) -> list[object]:
    """What the served lookups say for every firm with ties: holders, holdings, related
    firms with bad records, shared contacts, legal representatives, circles and a path."""
    rows = [r for r in range(0, index.n_enterprises, 7) if len(index.ties.reach([r], 1).node) > 1]
    assert len(rows) > 20
    out: list[object] = [index.circles]
    for row in rows[:300]:
        out += [
            index.node(str(index.ids[row])),
            index.holders(row),
            index.holdings(row),
            index.related_bad(row, 2),
            index.shared_contacts(row),
            index.legal_representatives(row),
            index.circle_of(row).summary if index.circle_of(row) else None,
            index.paths.paths(row, rows[0], 3),
        ]
    return out


def test_the_second_open_maps_the_copy_and_answers_as_the_computed_index(folder: Path) -> None:
    snapshot, _ = open_served(folder, None)
    assert (folder / SERVED / KEY).is_file()
    written = (folder / SERVED / KEY).stat().st_mtime_ns
    mapped, second = open_served(folder, None)
    assert (folder / SERVED / KEY).stat().st_mtime_ns == written
    assert isinstance(mapped.enterprises["id"].chunk(0).buffers()[1], pa.Buffer)
    assert not second.arrays()["ties.indptr"].flags.writeable  # mapped read-only
    computed = SnapshotIndex(snapshot)
    for name in ("enterprises", "persons", "records"):
        assert getattr(mapped, name).equals(getattr(snapshot, name))
    for rel_type, rel in snapshot.relations.items():
        assert np.array_equal(mapped.relations[rel_type].indices, rel.indices)
        assert mapped.relations[rel_type].properties.equals(rel.properties)
    assert _answers(second) == _answers(computed)


def test_a_snapshot_saved_again_is_copied_again(folder: Path) -> None:
    open_served(folder, None)
    key = (folder / SERVED / KEY).read_text()
    (folder / "manifest.json").touch()
    open_served(folder, None)
    assert (folder / SERVED / KEY).read_text() != key
    assert [p.name for p in folder.iterdir() if p.name.startswith(SERVED)] == [SERVED]


def test_a_served_table_is_built_once_per_input(folder: Path) -> None:
    open_served(folder, None)
    built: list[str] = []

    def build(value: str) -> pa.Table:
        built.append(value)
        return pa.table({"x": [value]})

    assert served_table(folder, "t", ["a"], lambda: build("a"))["x"].to_pylist() == ["a"]
    assert served_table(folder, "t", ["a"], lambda: build("a"))["x"].to_pylist() == ["a"]
    assert served_table(folder, "t", ["b"], lambda: build("b"))["x"].to_pylist() == ["b"]
    assert built == ["a", "b"]
    assert len(list((folder / SERVED).glob("t-*.arrow"))) == 1


def test_a_folder_that_cannot_be_written_is_served_from_memory(
    folder: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: Path, table: pa.Table) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(risk.served, "_write_table", full)
    snapshot, index = open_served(folder, None)
    assert [p.name for p in folder.iterdir() if p.name.startswith(SERVED)] == []
    assert index.n_enterprises == snapshot.n_enterprises
    assert "could not be written" in caplog.text
