"""The store's history streamed out for Spark (risk/spark/export.py) from every backend: one
part file per page, each written before the next page is asked for, and the folder holding
what the single machine's history holds."""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graph_model.snapshot import History
from graph_model.store.protocol import GraphStore
from risk.spark.export import ENDPOINTS, export_history, exported, read_manifest, restore

from . import AS_OF, REL_TYPES

PAGE = 2


class _Watched:
    """The store's export, each page checked when the next is asked for: the page before it
    is on disk by then and no earlier page is still held by anyone."""

    def __init__(self, store: GraphStore, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self.pages: dict[str, int] = {}

    def _watch(self, name: str, pages: Iterator[pa.Table]) -> Iterator[pa.Table]:
        held: list[weakref.ref[pa.Table]] = []
        for page in pages:
            if held:
                assert (self.folder / name / f"part-{len(held) - 1:05d}.parquet").is_file()
                assert all(ref() is None for ref in held[:-1]), f"{name}: pages kept"
            assert page.num_rows <= PAGE
            held.append(weakref.ref(page))
            self.pages[name] = len(held)
            yield page
            del page

    def export_nodes(self, label: str, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        name = {"Enterprise": "enterprises", "Person": "persons"}[label]
        return self._watch(name, self.store.export_nodes(label, as_of, batch_rows))

    def export_relations(
        self, rel_type: str, as_of: date, batch_rows: int, *, ended: bool = False
    ) -> Iterator[pa.Table]:
        pages = self.store.export_relations(rel_type, as_of, batch_rows, ended=ended)
        return self._watch(f"relations/{rel_type}", pages)

    def export_records(self, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        return self._watch("records", self.store.export_records(as_of, batch_rows))


def _read(folder: Path, name: str, schema: pa.Schema, key: str) -> pa.Table:
    table = restore(pq.read_table(folder / name), schema)
    return table.sort_by(key)


def test_each_page_is_written_as_it_comes_and_the_folder_is_the_history(
    graph: GraphStore, tmp_path: Path
) -> None:
    folder = tmp_path / "history"
    watched = _Watched(graph, folder)
    export_history(watched, AS_OF, folder, batch_rows=PAGE)  # type: ignore[arg-type]
    assert exported(folder)
    upto, schemas = read_manifest(folder)
    assert upto == AS_OF
    assert set(schemas) == {
        "enterprises",
        "persons",
        "records",
        *(f"relations/{t}" for t in REL_TYPES),
    }

    history = History.export(graph, AS_OF)
    expected = {
        "enterprises": (history.enterprises, "id"),
        "persons": (history.persons, "id"),
        "records": (history.records, "id"),
    }
    for name, (table, key) in expected.items():
        got = _read(folder, name, schemas[name], key)
        assert got.equals(table), name
        assert watched.pages[name] == max(1, math.ceil(table.num_rows / PAGE)), name
        assert len(list((folder / name).glob("part-*.parquet"))) == watched.pages[name]
    for rel_type in REL_TYPES:
        name = f"relations/{rel_type}"
        got = _read(folder, name, schemas[name], "key")
        assert got.drop(list(ENDPOINTS)).equals(history.relations[rel_type].properties), name
        assert watched.pages[name] == max(1, math.ceil(got.num_rows / PAGE)), name


def test_an_unfinished_export_is_not_taken_for_one(graph: GraphStore, tmp_path: Path) -> None:
    folder = export_history(graph, AS_OF, tmp_path / "history")
    (folder / "manifest.json").unlink()
    assert not exported(folder)
    with pytest.raises(ValueError, match="no whole store export"):
        read_manifest(folder)
    (folder / "enterprises" / "part-00099.parquet").write_bytes(b"left over")
    export_history(graph, AS_OF, folder)
    assert exported(folder)
    assert not (folder / "enterprises" / "part-00099.parquet").exists()
