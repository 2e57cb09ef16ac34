"""Snapshots taken from every backend: node numbering, one CSR per relation type, the as-of
rules (valid relations only, records that had started, later dates blanked), save and load."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from graph_model.snapshot import History, Snapshot, take_snapshot
from graph_model.store.protocol import GraphStore, WriteBatch

from . import (
    AS_OF,
    ENTERPRISES,
    RECORDS,
    REL_BY_KEY,
    REL_TYPES,
    RELS,
    E,
    P,
    Rel,
    rel,
    relation_table,
    uscc,
)

DAYS = [
    date(2018, 6, 1),
    date(2019, 6, 1),
    date(2021, 12, 31),
    AS_OF,
    date(2025, 6, 1),
    date(2027, 6, 1),
]


def node_ids(snap: Snapshot) -> list[str]:
    """Node key of every index: enterprises first, then persons."""
    return snap.enterprises["id"].to_pylist() + snap.persons["id"].to_pylist()


def edges(snap: Snapshot, rel_type: str) -> list[tuple[str, str]]:
    """(source key, target key) of every edge, in CSR order."""
    ids = node_ids(snap)
    arrays = snap.relations[rel_type]
    return [(ids[s], ids[d]) for s, d in zip(arrays.sources, arrays.indices, strict=True)]


def assert_same(a: Snapshot, b: Snapshot) -> None:
    assert a.as_of == b.as_of
    assert a.enterprises.equals(b.enterprises)
    assert a.persons.equals(b.persons)
    assert a.records.equals(b.records)
    assert set(a.relations) == set(b.relations)
    for rel_type, x in a.relations.items():
        y = b.relations[rel_type]
        np.testing.assert_array_equal(x.indptr, y.indptr)
        np.testing.assert_array_equal(x.indices, y.indices)
        assert x.properties.equals(y.properties), rel_type


def test_a_history_cuts_each_day_as_taken_on_that_day(graph: GraphStore) -> None:
    """One export up to the last day serves every earlier day: relations that ended in
    between, enterprises established later and records started later are left out of the
    earlier days as a snapshot taken on them leaves them out."""
    history = History.export(graph, DAYS[-1])
    for day in DAYS:
        assert_same(history.on(day), take_snapshot(graph, day))
    with pytest.raises(ValueError, match="history ends"):
        history.on(date(2028, 1, 1))


@pytest.mark.parametrize("day", DAYS)
def test_nodes_enterprises_first_then_persons(graph: GraphStore, day: date) -> None:
    snap = take_snapshot(graph, day)
    ents = snap.enterprises["id"].to_pylist()
    assert sorted(ents) == sorted(r["id"] for r in ENTERPRISES if r["established_on"] <= day)
    assert sorted(snap.persons["id"].to_pylist()) == sorted(P)
    assert snap.n_enterprises == len(ents)
    assert snap.n_nodes == len(ents) + len(P)
    ids = node_ids(snap)
    np.testing.assert_array_equal(snap.index_of(ids), np.arange(len(ids)))
    np.testing.assert_array_equal(snap.index_of([uscc(99), ids[-1]]), [-1, len(ids) - 1])
    assert "name" in snap.enterprises.column_names


@pytest.mark.parametrize("day", DAYS)
def test_csr_edges_are_the_relations_valid_on_the_day(graph: GraphStore, day: date) -> None:
    snap = take_snapshot(graph, day)
    ids = set(node_ids(snap))
    assert set(snap.relations) == set(REL_TYPES)
    for rel_type in REL_TYPES:
        arrays = snap.relations[rel_type]
        assert len(arrays.indptr) == snap.n_nodes + 1
        assert arrays.indptr[0] == 0
        assert (np.diff(arrays.indptr) >= 0).all()
        assert arrays.indptr[-1] == arrays.edge_count == arrays.properties.num_rows
        want = Counter(
            (r.source, r.target)
            for r in RELS
            if r.type == rel_type and r.valid_on(day) and {r.source, r.target} <= ids
        )
        assert Counter(edges(snap, rel_type)) == want, rel_type


@pytest.mark.parametrize("day", [date(2019, 6, 1), AS_OF, date(2025, 6, 1)])
def test_properties_are_in_csr_order(graph: GraphStore, day: date) -> None:
    snap = take_snapshot(graph, day)
    for rel_type in REL_TYPES:
        props = snap.relations[rel_type].properties
        expected = [REL_BY_KEY[k] for k in props["key"].to_pylist()]
        assert [(r.source, r.target) for r in expected] == edges(snap, rel_type)
        assert props["valid_from"].to_pylist() == [r.valid_from for r in expected]
        for name in ("share", "subscribed_amount", "amount", "contract_no", "role"):
            if name in props.column_names:
                assert props[name].to_pylist() == [r.props[name] for r in expected], name


def test_an_end_after_the_as_of_date_is_blanked(graph: GraphStore) -> None:
    # The abnormal-list entry ran 2021-03-01 .. 2022-03-01.
    during = take_snapshot(graph, date(2021, 12, 31))
    after = take_snapshot(graph, date(2022, 6, 1))
    ends = {
        s.as_of: dict(zip(s.records["id"].to_pylist(), s.records["end"].to_pylist(), strict=True))
        for s in (during, after)
    }
    assert ends[during.as_of]["abnormal_list:YC-1"] is None
    assert ends[after.as_of]["abnormal_list:YC-1"] == date(2022, 3, 1)


def test_relation_ends_and_defaults_after_the_as_of_date_are_blanked(graph: GraphStore) -> None:
    def props(snap: Snapshot, rel_type: str, source: str, target: str) -> dict:
        i = edges(snap, rel_type).index((source, target))
        return snap.relations[rel_type].properties.slice(i, 1).to_pylist()[0]

    # E5 -> E6 ends 2026-12-31: valid and open-ended as far as AS_OF knows, gone after.
    assert props(take_snapshot(graph, AS_OF), "GUARANTEES", E[5], E[6])["valid_to"] is None
    assert (E[5], E[6]) not in edges(take_snapshot(graph, date(2027, 6, 1)), "GUARANTEES")
    # E7 -> E8 defaulted on 2025-03-01.
    assert props(take_snapshot(graph, AS_OF), "GUARANTEES", E[7], E[8])["defaulted_on"] is None
    later = props(take_snapshot(graph, date(2025, 6, 1)), "GUARANTEES", E[7], E[8])
    assert later["defaulted_on"] == date(2025, 3, 1)
    # E0 held E8 until 2020-01-01.
    held = props(take_snapshot(graph, date(2019, 6, 1)), "HOLDS_SHARES", E[0], E[8])
    assert (held["share"], held["valid_to"]) == (0.4, None)
    assert (E[0], E[8]) not in edges(take_snapshot(graph, AS_OF), "HOLDS_SHARES")


@pytest.mark.parametrize("day", DAYS)
def test_no_date_after_the_as_of_date_survives(graph: GraphStore, day: date) -> None:
    snap = take_snapshot(graph, day)
    tables = [snap.enterprises, snap.persons, snap.records]
    tables += [r.properties for r in snap.relations.values()]
    for table in tables:
        for name, column in zip(table.column_names, table.columns, strict=True):
            if pa.types.is_date32(column.type):
                assert all(v is None or v <= day for v in column.to_pylist()), name


def test_deregistration_is_seen_only_from_its_date(graph: GraphStore) -> None:
    def e10(day: date) -> dict:
        snap = take_snapshot(graph, day)
        (row,) = [r for r in snap.enterprises.to_pylist() if r["id"] == E[10]]
        return row

    before = e10(date(2021, 12, 31))
    assert (before["status"], before["deregistered_on"]) == ("active", None)
    after = e10(AS_OF)
    assert (after["status"], after["deregistered_on"]) == ("deregistered", date(2022, 6, 30))


def test_enterprises_established_after_the_as_of_date_are_absent(graph: GraphStore) -> None:
    snap = take_snapshot(graph, AS_OF)
    assert E[11] not in node_ids(snap)
    assert snap.index_of([E[11]]).tolist() == [-1]
    assert E[11] in node_ids(take_snapshot(graph, date(2025, 6, 1)))
    # In 2018 E10 guaranteed E11, which did not exist yet: the edge is not in the snapshot.
    early = take_snapshot(graph, date(2018, 6, 1))
    assert rel("GUARANTEES", E[10], E[11]).valid_on(early.as_of)
    assert early.relations["GUARANTEES"].edge_count == 0


@pytest.mark.parametrize("day", DAYS)
def test_records_that_had_started(graph: GraphStore, day: date) -> None:
    snap = take_snapshot(graph, day)
    ids = snap.records["id"].to_pylist()
    assert sorted(ids) == sorted(r["id"] for r in RECORDS if r["start"] <= day)
    np.testing.assert_array_equal(
        snap.records["enterprise"].to_numpy(), snap.index_of(snap.records["enterprise_id"])
    )
    assert {"kind", "start", "end", "enterprise_id"} <= set(snap.records.column_names)


def test_closing_a_relation_shows_in_snapshots(graph: GraphStore) -> None:
    held = rel("HOLDS_SHARES", E[1], E[2])
    closed = Rel(
        held.type, held.source, held.target, held.key, held.valid_from, date(2022, 1, 1), held.props
    )
    graph.write(WriteBatch(relations={"HOLDS_SHARES": relation_table("HOLDS_SHARES", [closed])}))
    assert (E[1], E[2]) not in edges(take_snapshot(graph, AS_OF), "HOLDS_SHARES")
    before = take_snapshot(graph, date(2021, 12, 31))
    i = edges(before, "HOLDS_SHARES").index((E[1], E[2]))
    assert before.relations["HOLDS_SHARES"].properties["valid_to"][i].as_py() is None


def test_page_size_does_not_change_the_snapshot(graph: GraphStore) -> None:
    assert_same(take_snapshot(graph, AS_OF, batch_rows=2), take_snapshot(graph, AS_OF))


@pytest.mark.parametrize("day", [date(2018, 6, 1), AS_OF])
def test_save_load_round_trip(graph: GraphStore, tmp_path: Path, day: date) -> None:
    snap = take_snapshot(graph, day)
    folder = snap.save(tmp_path / "snap")
    assert_same(Snapshot.load(folder), snap)


def test_load_refuses_another_format(graph: GraphStore, tmp_path: Path) -> None:
    folder = take_snapshot(graph, AS_OF).save(tmp_path / "snap")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(dict(manifest, format=999)))
    with pytest.raises(ValueError, match="format"):
        Snapshot.load(folder)


def test_empty_store_snapshot(store: GraphStore, tmp_path: Path) -> None:
    snap = take_snapshot(store, AS_OF)
    assert snap.n_nodes == 0
    assert snap.records.num_rows == 0
    for rel_type in REL_TYPES:
        assert snap.relations[rel_type].indptr.tolist() == [0]
        assert snap.relations[rel_type].matrix().shape == (0, 0)
    assert_same(Snapshot.load(snap.save(tmp_path / "snap")), snap)


def test_matrix(graph: GraphStore) -> None:
    snap = take_snapshot(graph, AS_OF)
    n = snap.n_nodes
    index = {node: i for i, node in enumerate(node_ids(snap))}

    def expected(rel_type: str, weight: str | None) -> np.ndarray:
        dense = np.zeros((n, n))
        for r in RELS:
            if r.type == rel_type and r.valid_on(AS_OF):
                value = 1.0 if weight is None else (r.props[weight] or 0.0)
                dense[index[r.source], index[r.target]] += value
        return dense

    for rel_type, weight in [
        ("HOLDS_SHARES", "share"),
        ("HOLDS_SHARES", "subscribed_amount"),  # unknown amounts count as 0
        ("HOLDS_SHARES", None),
        ("GUARANTEES", "amount"),
        ("LEGAL_REP", None),
    ]:
        matrix = snap.relations[rel_type].matrix(weight)
        assert sp.issparse(matrix)
        assert matrix.shape == (n, n)
        np.testing.assert_allclose(matrix.toarray(), expected(rel_type, weight))

    shares = snap.relations["HOLDS_SHARES"].matrix("share")
    assert shares[index[E[0]], index[E[1]]] == 0.8  # row = holder, column = held
    assert shares[index[E[1]], index[E[0]]] == 0.0
    assert shares[index[P[0]], index[E[0]]] == 0.6
