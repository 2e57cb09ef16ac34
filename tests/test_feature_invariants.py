"""Invariants of the graph features on seeded random graphs, checked against networkx or
brute force, and the rule that nothing after the as-of date changes a feature."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import SALT
from feature_graphs import SnapshotBuilder

from graph_model.snapshot import take_snapshot
from graph_model.store.ladybug import LadybugStore
from graph_model.walk import shortest_cycle
from loaders.generator import generate_city
from loaders.load import load_folder
from risk.features import compute_features
from risk.features.context import FeatureContext
from risk.features.guarantees import (
    MAX_CYCLE_LENGTH,
    circle_labels,
    cycle_lengths,
    guarantee_circles,
    guarantee_graph,
)
from risk.features.ownership import integrated_stakes

SEEDS = range(6)


def random_guarantees(seed: int, n: int = 60, m: int = 110) -> SnapshotBuilder:
    rng = np.random.default_rng(seed)
    b = SnapshotBuilder().firms_named(*(f"F{i}" for i in range(n)))
    for _ in range(m):
        s, t = rng.integers(0, n, 2)
        if s != t:
            b.tie(
                "GUARANTEES", f"F{s}", f"F{t}", amount=float(rng.integers(1, 100)), currency="CNY"
            )
    return b


def as_networkx(ctx: FeatureContext) -> nx.DiGraph:
    graph = guarantee_graph(ctx)
    g = nx.DiGraph()
    g.add_nodes_from(range(ctx.n_enterprises))
    g.add_edges_from(zip(graph.src.tolist(), graph.dst.tolist(), strict=True))
    return g


@pytest.mark.parametrize("seed", SEEDS)
def test_circles_are_the_strong_components_and_every_cycle_is_real(seed: int) -> None:
    ctx = FeatureContext(random_guarantees(seed).build())
    g = as_networkx(ctx)
    expected = {frozenset(c) for c in nx.strongly_connected_components(g) if len(c) > 1}
    circles = guarantee_circles(ctx)
    assert {frozenset(c.members.tolist()) for c in circles} == expected
    assert [c.amount for c in circles] == sorted((c.amount for c in circles), reverse=True)

    graph = guarantee_graph(ctx)
    labels, sizes = circle_labels(graph)
    lengths = cycle_lengths(graph, labels, sizes)
    rel = ctx.snapshot.relations["GUARANTEES"]  # the CSR the evidence searches
    for circle in circles:
        members = set(circle.members.tolist())
        assert all(
            s in members and t in members for s, t in zip(circle.src, circle.dst, strict=True)
        )
        for node in members:
            cycle = shortest_cycle(rel.indptr, rel.indices, node, MAX_CYCLE_LENGTH)
            # networkx: the shortest way back to the node, over any of its guarantors.
            back = min(
                nx.shortest_path_length(g, node, u) + 1
                for u in g.predecessors(node)
                if u in members
            )
            if back > MAX_CYCLE_LENGTH:
                assert cycle is None and np.isnan(lengths[node])
                continue
            assert cycle is not None and cycle[0] == node
            steps = list(itertools.pairwise([*cycle, node]))
            assert all(g.has_edge(s, t) for s, t in steps), "a reported cycle uses a real edge"
            assert set(cycle) <= members, "a cycle stays within its circle"
            assert len(set(cycle)) == len(cycle), "a cycle repeats no enterprise"
            assert len(cycle) == back == lengths[node]
    outside = [n for n in g if not any(n in c.members for c in circles)]
    assert all(np.isnan(lengths[n]) for n in outside if not g.has_edge(n, n))


def test_cycle_search_respects_its_length_bound() -> None:
    b = SnapshotBuilder().firms_named(*(f"F{i}" for i in range(10)))
    for i in range(10):
        b.tie("GUARANTEES", f"F{i}", f"F{(i + 1) % 10}", amount=1.0, currency="CNY")
    ctx = FeatureContext(b.build())
    graph = guarantee_graph(ctx)
    rel = ctx.snapshot.relations["GUARANTEES"]
    assert shortest_cycle(rel.indptr, rel.indices, 0, 9) is None
    assert shortest_cycle(rel.indptr, rel.indices, 0, 10) == list(range(10))
    labels, sizes = circle_labels(graph)
    assert np.isnan(cycle_lengths(graph, labels, sizes)).all()  # 10 > MAX_CYCLE_LENGTH


def random_ownership(seed: int, acyclic: bool, n: int = 25, persons: int = 6) -> SnapshotBuilder:
    rng = np.random.default_rng(seed)
    b = SnapshotBuilder().firms_named(*(f"F{i}" for i in range(n)))
    b.person(*(f"p{i}" for i in range(persons)))
    for target in range(n):
        holders = rng.choice(n + persons, size=rng.integers(1, 4), replace=False)
        shares = rng.dirichlet(np.ones(len(holders) + 1))[:-1]  # part held by outsiders
        for h, share in zip(holders, shares, strict=True):
            if h < n and (h == target or (acyclic and h > target)):
                continue  # keep the DAG ordered (holders before held) or skip self-holdings
            name = f"F{h}" if h < n else f"p{h - n}"
            b.tie("HOLDS_SHARES", name, f"F{target}", share=float(share))
    return b


@pytest.mark.parametrize("seed", SEEDS)
def test_integrated_ownership_is_the_path_sum_on_acyclic_graphs(seed: int) -> None:
    b = random_ownership(seed, acyclic=True)
    snap = b.build()
    ctx = FeatureContext(snap)
    stakes = integrated_stakes(ctx).integrated.toarray()
    g = nx.DiGraph()
    rel = snap.relations["HOLDS_SHARES"]
    for s, t, share in zip(
        rel.sources, rel.indices, rel.properties["share"].to_pylist(), strict=True
    ):
        g.add_edge(int(s), int(t), share=share)
    assert nx.is_directed_acyclic_graph(g)
    for holder, target in itertools.product(g.nodes, range(ctx.n_enterprises)):
        if holder == target or target not in g:
            continue
        brute = sum(
            np.prod([g.edges[u, v]["share"] for u, v in itertools.pairwise(path)])
            for path in nx.all_simple_paths(g, holder, target)
        )
        assert stakes[holder, target] == pytest.approx(brute, abs=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_integrated_ownership_converges_to_the_closed_form_with_cycles(seed: int) -> None:
    snap = random_ownership(seed, acyclic=False).build()
    ctx = FeatureContext(snap)
    stakes = integrated_stakes(ctx)
    direct = stakes.direct.toarray()
    between = direct[: ctx.n_enterprises]
    assert not nx.is_directed_acyclic_graph(nx.DiGraph(between > 0)), "the graph has cycles"
    # Σ D Sᵏ = D (I − S)⁻¹ when the series converges (every stake < 1 leaks to outsiders).
    walks = direct @ np.linalg.inv(np.eye(ctx.n_enterprises) - between)
    # An enterprise holder's stake excludes walks through itself: divide by 1 + its returns.
    returns = np.zeros(len(walks))
    returns[: ctx.n_enterprises] = np.diag(walks[: ctx.n_enterprises])
    closed = walks / (1 + returns)[:, None]
    np.fill_diagonal(closed[: ctx.n_enterprises], 0.0)
    assert stakes.terms > 2
    np.testing.assert_allclose(stakes.integrated.toarray(), closed, atol=1e-4)
    assert stakes.integrated.max() <= 1.0


# -- nothing after the as-of date changes a feature ------------------------------------------

AS_OF = date(2023, 6, 30)
_DATE_COLUMNS = ("end", "valid_to", "defaulted_on", "deregistered_on")
_START_COLUMNS = ("start", "valid_from", "established_on")


def _forget_the_future(src: Path, out: Path) -> None:
    """The same city as it was known on AS_OF: rows that start later are dropped, and dates
    after AS_OF (ends, defaults, deregistrations) are blanked."""
    out.mkdir()
    day = pa.scalar(AS_OF, pa.date32())
    for path in src.glob("*.parquet"):
        table = pq.read_table(path)
        for col in _START_COLUMNS:
            if col in table.column_names:
                table = table.filter(pc.fill_null(pc.less_equal(table[col], day), True))
        if "deregistered_on" in table.column_names:
            later = pc.fill_null(pc.greater(table["deregistered_on"], day), False)
            status = pc.if_else(later, "active", table["status"])
            table = table.set_column(table.column_names.index("status"), "status", status)
        for col in _DATE_COLUMNS:
            if col in table.column_names:
                later = pc.fill_null(pc.greater(table[col], day), False)
                blank = pc.if_else(later, pa.scalar(None, pa.date32()), table[col])
                table = table.set_column(table.column_names.index(col), col, blank)
        pq.write_table(table, out / path.name)


def _features_of(folder: Path, db: Path) -> tuple[list[str], np.ndarray]:
    with LadybugStore(db) as store:
        load_folder(store, folder, salt=SALT, rejects_dir=db.parent / "rejects", strict=True)
        snap = take_snapshot(store, AS_OF)
    matrix = compute_features(snap)
    order = np.argsort(matrix.ids.to_numpy(zero_copy_only=False))
    return matrix.ids.to_numpy(zero_copy_only=False)[order].tolist(), matrix.values[order]


def test_features_ignore_everything_after_the_as_of_date(tmp_path: Path) -> None:
    city = tmp_path / "city"
    generate_city(city, 3_000, seed=11)
    past = tmp_path / "past"
    _forget_the_future(city, past)
    assert sum(pq.read_metadata(p).num_rows for p in past.glob("*")) < sum(
        pq.read_metadata(p).num_rows for p in city.glob("*")
    ), "the city must have a future to forget"

    ids, full = _features_of(city, tmp_path / "full" / "db")
    ids_past, known = _features_of(past, tmp_path / "known" / "db")
    assert ids == ids_past
    assert (full != 0).any(axis=0).sum() > 50, "most features vary on this city"
    np.testing.assert_array_equal(full, known)
