"""Paths between two entities (risk/paths.py) on graphs built by hand: several paths, shortest
first, over the kinds asked for, each step with what the relation says; suspected steps with
their masked value and how many firms share it; hubs not walked through."""

from __future__ import annotations

import itertools
import json
import random
from datetime import date

import networkx as nx
import pytest
from conftest import ApiCity
from feature_graphs import SnapshotBuilder
from typer.testing import CliRunner

from cli.app import app
from risk.data_home import DataHome
from risk.features.context import HUB_PERSON_CAP
from risk.features.suspected import RARE_GROUP
from risk.paths import DEFAULT_KINDS, PathGraph, TiePath
from risk.snapshot_index import SnapshotIndex

PHONE = "13912345678"


def _city() -> SnapshotBuilder:
    """A to D: through person p (2 steps) and through B and C (3 steps); A shares a phone
    with E and more than RARE_GROUP others; hub h is officer of F, G and many more."""
    b = SnapshotBuilder().firms_named("A", "B", "C", "D", "F", "G").person("p", "h")
    b.firm("A", phone=PHONE).firm("E", phone=PHONE)
    for i in range(RARE_GROUP):
        b.firm(f"phone{i}", phone=PHONE)
    for i in range(HUB_PERSON_CAP):
        b.firm(f"agent{i}")
        b.tie("OFFICER", "h", f"agent{i}", role="supervisor")
    b.tie("LEGAL_REP", "p", "A", valid_from=date(2020, 1, 1))
    b.tie("OFFICER", "p", "D", role="director")
    b.tie("HOLDS_SHARES", "A", "B", share=0.4)
    b.tie("GUARANTEES", "C", "B", amount=2e6, currency="USD")
    b.tie("HOLDS_SHARES", "C", "D", share=0.6)
    return b.tie("OFFICER", "h", "F", role="manager").tie("OFFICER", "h", "G", role="manager")


@pytest.fixture(scope="module")
def city() -> tuple[SnapshotBuilder, PathGraph]:
    b = _city()
    return b, SnapshotIndex(b.build()).paths


def _names(b: SnapshotBuilder, path: TiePath) -> list[str]:
    every = [*b.firms, *b.people]
    return [every[n] for n in path.nodes]


def test_two_paths_of_different_lengths_shortest_first(city: tuple) -> None:
    b, graph = city
    paths = graph.paths(b.index("A"), b.index("D"), 4)
    assert [_names(b, p) for p in paths] == [["A", "p", "D"], ["A", "B", "C", "D"]]
    rep, officer = paths[0].steps
    assert (rep.relation, rep.kind, rep.forward) == ("LEGAL_REP", "legal_rep", False)
    assert rep.properties["valid_from"] == date(2020, 1, 1)
    assert (officer.relation, officer.properties["role"]) == ("OFFICER", "director")
    holds, guarantee, holds_d = paths[1].steps
    assert (holds.forward, holds.properties["share"]) == (True, 0.4)
    # C guarantees B: walked from B to C, against the stored direction.
    assert guarantee.forward is False and (guarantee.source, guarantee.target) == (
        b.index("C"),
        b.index("B"),
    )
    assert guarantee.properties["amount"] == 2e6 and guarantee.properties["currency"] == "USD"
    assert holds_d.properties["share"] == 0.6


def test_bounds_k_and_hops(city: tuple) -> None:
    b, graph = city
    assert len(graph.paths(b.index("A"), b.index("D"), 4, k=1)) == 1
    assert [_names(b, p) for p in graph.paths(b.index("A"), b.index("D"), 2)] == [["A", "p", "D"]]
    assert graph.paths(b.index("A"), b.index("D"), 1) == []
    with pytest.raises(ValueError, match="max_hops"):
        graph.paths(b.index("A"), b.index("D"), 7)
    with pytest.raises(ValueError, match="unknown path kinds"):
        graph.paths(b.index("A"), b.index("D"), 3, kinds=["phone"])


def test_a_kind_filter_removes_the_path_through_the_person(city: tuple) -> None:
    b, graph = city
    paths = graph.paths(b.index("A"), b.index("D"), 4, kinds=["shareholding", "guarantee"])
    assert [_names(b, p) for p in paths] == [["A", "B", "C", "D"]]
    assert graph.paths(b.index("A"), b.index("D"), 4, kinds=["shareholding"]) == []


def test_a_suspected_step_is_masked_counted_and_weak(city: tuple) -> None:
    b, graph = city
    assert graph.paths(b.index("A"), b.index("E"), 3) == []
    (path,) = graph.paths(b.index("A"), b.index("E"), 3, kinds=["suspected"], k=1)
    (step,) = path.steps
    assert (step.relation, step.kind) == ("SHARES_PHONE", "suspected")
    assert step.properties["value"] == "139******78"
    assert PHONE not in str(step.properties)
    assert step.properties["firms"] == RARE_GROUP + 2 and step.weak


def test_a_hub_is_not_walked_through_but_may_be_an_end(city: tuple) -> None:
    b, graph = city
    assert graph.paths(b.index("F"), b.index("G"), 4) == []
    (path,) = graph.paths(b.index("h"), b.index("F"), 2)
    assert _names(b, path) == ["h", "F"]


def test_the_same_node_is_one_empty_path(city: tuple) -> None:
    b, graph = city
    assert graph.paths(b.index("A"), b.index("A"), 3) == [TiePath((b.index("A"),), ())]


def test_the_paths_command_tells_each_step_and_refuses_unknown_kinds(
    api_city: ApiCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITGRAPH_HOME", str(api_city.settings.home))
    index = SnapshotIndex(DataHome(api_city.settings).snapshot(api_city.scored))
    person = next(
        p
        for p in range(index.n_enterprises, index.ties.n)
        if len(index.ties.reach([p], 1).node) >= 3
    )
    a, b = index.ties.reach([person], 1).node[1:3].tolist()
    runner = CliRunner()
    result = runner.invoke(app, ["paths", str(index.ids[a]), str(index.ids[b]), "--max-hops", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:3] == [
        "1. 2 step(s)",
        f"   {index.ids[a]} {index.names[a]}",
    ]
    assert str(index.names[person]) not in result.output
    result = runner.invoke(
        app,
        [
            "paths",
            str(index.ids[a]),
            str(index.ids[b]),
            "--json",
            "--k",
            "2",
            "--kinds",
            "officer,legal_rep,shareholding",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["as_of"] == api_city.scored.isoformat() and 1 <= len(body["paths"]) <= 2
    for path in body["paths"]:
        assert {s["kind"] for s in path["steps"]} <= {"officer", "legal_rep", "shareholding"}
        assert all("name" not in n for n in path["nodes"] if n["label"] == "Person")
    result = runner.invoke(app, ["paths", str(index.ids[a]), str(index.ids[b]), "--kinds", "phone"])
    assert result.exit_code == 2 and "unknown kinds phone" in result.output


@pytest.mark.parametrize("seed", range(8))
def test_on_random_graphs_paths_are_real_simple_and_the_first_is_shortest(seed: int) -> None:
    rng = random.Random(seed)
    b = SnapshotBuilder()
    firms = [f"f{i}" for i in range(30)]
    b.firms_named(*firms)
    b.person(*[f"p{i}" for i in range(10)])
    kinds = {"LEGAL_REP": "legal_rep", "OFFICER": "officer", "HOLDS_SHARES": "shareholding"}
    g: dict[str, nx.Graph] = {k: nx.Graph() for k in ("officer", "all")}
    for _ in range(45):
        rel = rng.choice([*kinds, "GUARANTEES"])
        a = rng.choice(b.people if rel in ("LEGAL_REP", "OFFICER") else firms)
        t = rng.choice(firms)
        b.tie(rel, a, t, role="director") if rel == "OFFICER" else b.tie(rel, a, t)
        for name in ("all", kinds.get(rel, "guarantee")):
            if name in g:
                g[name].add_edge(b.index(a), b.index(t))
    graph = SnapshotIndex(b.build()).paths
    tied = 0
    for kind, chosen in (("all", DEFAULT_KINDS), ("officer", ("officer",))):
        nx_graph = g[kind]
        for _ in range(15):
            s, t = (b.index(f) for f in rng.sample(firms, 2))
            found = graph.paths(s, t, 5, chosen, k=4)
            try:
                shortest = nx.shortest_path_length(nx_graph, s, t)
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                shortest = None
            if shortest is None or shortest > 5:
                assert found == []
                continue
            tied += 1
            assert found and found[0].length == shortest
            assert [p.length for p in found] == sorted(p.length for p in found)
            assert len({p.nodes for p in found}) == len(found)
            for path in found:
                assert path.nodes[0] == s and path.nodes[-1] == t
                assert len(set(path.nodes)) == len(path.nodes) <= 6
                for (x, y), step in zip(itertools.pairwise(path.nodes), path.steps, strict=True):
                    assert nx_graph.has_edge(x, y) and step.kind in chosen
                    assert (step.source, step.target) == ((x, y) if step.forward else (y, x))
    assert tied >= 5
