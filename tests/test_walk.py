"""The bounded breadth-first search (graph_model/walk.py): paths on hand-made graphs, hubs,
several sources, the bounds, and networkx as the oracle on seeded random graphs."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graph_model.walk import Reach, Search, reach, shortest_cycle


def csr(n: int, edges: list[tuple[int, int]], undirected: bool = False) -> sp.csr_matrix:
    """A CSR graph whose rows list the targets in the order the edges are given."""
    if undirected:
        edges = [e for a, b in edges for e in ((a, b), (b, a))]
    order = sorted(range(len(edges)), key=lambda i: edges[i][0])  # stable: given order per row
    src = np.array([edges[i][0] for i in order], dtype=np.int64)
    dst = np.array([edges[i][1] for i in order], dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return sp.csr_matrix((np.ones(len(dst)), dst, indptr), shape=(n, n))


def rows_of(found: Reach, source: int) -> dict[int, int]:
    """{node: row} of one source's search."""
    return {int(found.node[r]): r for r in np.flatnonzero(found.source == source)}


def path_nodes(found: Reach, row: int) -> list[int]:
    return [int(found.node[r]) for r in found.path(row)]


def assert_real_edges(g: sp.csr_matrix, found: Reach) -> None:
    """Every row but a source's came over a real edge from its parent's node."""
    for row in np.flatnonzero(found.parent >= 0):
        up, pos = found.node[found.parent[row]], found.edge[row]
        assert g.indptr[up] <= pos < g.indptr[up + 1], "the edge leaves the parent"
        assert g.indices[pos] == found.node[row], "and ends at the node"
        assert found.hops[row] == found.hops[found.parent[row]] + 1
        assert found.source[row] == found.source[found.parent[row]]


# 0 - 1 - 3 - 5        a small undirected graph; 1 and 2 both lead to 3, 1 found first
#  \     /   \
#   2 --+     4 - 6
SMALL = [(0, 1), (0, 2), (1, 3), (2, 3), (3, 5), (3, 4), (4, 6)]


def test_paths_are_rebuilt_with_their_edges() -> None:
    g = csr(7, SMALL, undirected=True)
    found = reach(g.indptr, g.indices, [0], 3)
    assert_real_edges(g, found)
    at = rows_of(found, 0)
    assert {n: int(found.hops[r]) for n, r in at.items()} == {
        0: 0, 1: 1, 2: 1, 3: 2, 4: 3, 5: 3
    }  # fmt: skip
    assert 6 not in at, "4 hops away"
    # The first parent discovered wins: 3 through 1, not 2; then 5 before 4 (edge order of 3).
    assert path_nodes(found, at[3]) == [0, 1, 3]
    assert path_nodes(found, at[4]) == [0, 1, 3, 4]
    assert found.node[found.hops == 3].tolist() == [5, 4]
    assert found.path(at[0]) == [at[0]]
    assert found.edge[at[0]] == -1 and found.parent[at[0]] == -1


def test_hubs_are_reached_but_not_walked_through_unless_a_source() -> None:
    # 0 - H - 2 - 3, H a hub: from 0, H is reached and 2 is not.
    g = csr(4, [(0, 1), (1, 2), (2, 3)], undirected=True)
    hubs = np.array([False, True, False, False])
    from_zero = reach(g.indptr, g.indices, [0], 4, hubs=hubs)
    assert sorted(from_zero.node.tolist()) == [0, 1]
    from_hub = reach(g.indptr, g.indices, [1], 4, hubs=hubs)
    assert sorted(from_hub.node.tolist()) == [0, 1, 2, 3], "a source hub is walked through"


def test_each_source_is_searched_on_its_own() -> None:
    g = csr(7, SMALL, undirected=True)
    both = reach(g.indptr, g.indices, np.array([6, 0, 6]), 2)
    assert_real_edges(g, both)
    assert both.source[both.hops == 0].tolist() == [0, 6], "sources once, in order"
    for source in (0, 6):
        alone = reach(g.indptr, g.indices, [source], 2)
        mine = both.source == source
        assert both.node[mine].tolist() == alone.node.tolist()
        assert both.hops[mine].tolist() == alone.hops.tolist()
        assert both.edge[mine].tolist() == alone.edge.tolist()
    # A node reached by both searches has a row in each.
    assert np.sum(both.node == 3) == 2
    assert both.hops.tolist() == sorted(both.hops.tolist()), "rows level by level"


def test_an_edge_filter_keeps_the_search_off_the_edges_it_refuses() -> None:
    # 0-1-3 is short but 0-1 is refused: 3 is reached the long way, 0-2-4-3.
    g = csr(5, [(0, 1), (1, 3), (0, 2), (2, 4), (4, 3)], undirected=True)
    refused = {(0, 1), (1, 0)}
    rows = np.repeat(np.arange(5), np.diff(g.indptr))
    ok = np.array([(int(a), int(b)) not in refused for a, b in zip(rows, g.indices, strict=True)])
    search = Search(g.indptr, g.indices, [0], edge_filter=lambda pos: ok[pos])
    while search.advance():
        pass
    found = search.found
    assert path_nodes(found, rows_of(found, 0)[3]) == [0, 2, 4, 3]
    assert 1 in rows_of(found, 0) and found.hops[rows_of(found, 0)[1]] == 4
    assert_real_edges(g, found)


def test_max_hops_and_nothing_more_to_reach() -> None:
    g = csr(7, SMALL, undirected=True)
    assert reach(g.indptr, g.indices, [0], 0).node.tolist() == [0]
    assert len(reach(g.indptr, g.indices, [0], 1).node) == 3
    assert len(reach(g.indptr, g.indices, [0], 10).node) == 7
    search = Search(g.indptr, g.indices, [0])
    while search.advance():
        pass
    assert search.hops == 4 and search.level.start == search.level.stop == 7
    assert not search.advance()


def test_the_bounds_cut_edges_per_node_per_level_and_levels_after_enough_nodes() -> None:
    # A star: 0 -> 1..6, and each of those -> 7..12 (one each).
    edges = [(0, i) for i in range(1, 7)] + [(i, i + 6) for i in range(1, 7)]
    g = csr(13, edges)
    assert reach(g.indptr, g.indices, [0], 2, max_scan=2).node.tolist() == [0, 1, 2, 7, 8]
    # Four edges per level: 1..4 at the first, then the edges of 1..4 at the second.
    assert reach(g.indptr, g.indices, [0], 2, max_level_scan=4).node.tolist() == [
        0, 1, 2, 3, 4, 7, 8, 9, 10
    ]  # fmt: skip
    # The level that passes max_visited is kept whole; no level starts after it.
    capped = reach(g.indptr, g.indices, [0], 2, max_visited=3)
    assert capped.node.tolist() == list(range(7))
    assert len(reach(g.indptr, g.indices, [0], 2, max_visited=8).node) == 13
    # Per source: a second source's search has its own count.
    two = reach(g.indptr, g.indices, [0, 1], 2, max_level_scan=1)
    assert two.node[two.source == 0].tolist() == [0, 1, 7]
    assert two.node[two.source == 1].tolist() == [1, 7]


def random_graph(seed: int, n: int = 60, m: int = 150) -> tuple[sp.csr_matrix, nx.DiGraph]:
    """A seeded random directed graph (no parallel edges) and the same in networkx, whose
    adjacency lists follow the CSR order."""
    rng = np.random.default_rng(seed)
    pairs = list(dict.fromkeys((int(a), int(b)) for a, b in rng.integers(0, n, (m, 2))))
    g = csr(n, pairs)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for u in range(n):
        graph.add_edges_from((u, int(v)) for v in g.indices[g.indptr[u] : g.indptr[u + 1]])
    return g, graph


@pytest.mark.parametrize("seed", range(8))
def test_distances_and_paths_are_networkx_s(seed: int) -> None:
    g, graph = random_graph(seed)
    sources = [0, 7, 7, 31]
    for max_hops in (1, 3, 60):
        found = reach(g.indptr, g.indices, sources, max_hops)
        assert_real_edges(g, found)
        for source in sorted(set(sources)):
            at = rows_of(found, source)
            lengths = nx.single_source_shortest_path_length(graph, source, cutoff=max_hops)
            assert {n: int(found.hops[r]) for n, r in at.items()} == lengths
            # The same tie-break: the parent discovered first.
            paths = nx.single_source_shortest_path(graph, source, cutoff=max_hops)
            assert {n: path_nodes(found, r) for n, r in at.items()} == paths


@pytest.mark.parametrize("seed", range(8))
def test_hubs_match_networkx_without_their_onward_edges(seed: int) -> None:
    g, graph = random_graph(seed)
    hubs = np.zeros(g.shape[0], dtype=bool)
    hubs[np.argsort(-np.diff(g.indptr), kind="stable")[:6]] = True
    for source in (0, int(np.flatnonzero(hubs)[0])):
        cut = graph.copy()
        cut.remove_edges_from([e for e in graph.edges if hubs[e[0]] and e[0] != source])
        found = reach(g.indptr, g.indices, [source], 4, hubs=hubs)
        at = rows_of(found, source)
        assert {n: int(found.hops[r]) for n, r in at.items()} == (
            nx.single_source_shortest_path_length(cut, source, cutoff=4)
        )


@pytest.mark.parametrize("seed", range(8))
def test_shortest_cycles_are_real_and_shortest(seed: int) -> None:
    g, graph = random_graph(seed, n=30, m=60)
    for node in range(30):
        cycle = shortest_cycle(g.indptr, g.indices, node, 30)
        back = [
            nx.shortest_path_length(graph, node, u) + 1
            for u in graph.predecessors(node)
            if nx.has_path(graph, node, u)
        ]
        if not back:
            assert cycle is None
            continue
        assert cycle is not None and cycle[0] == node
        assert all(graph.has_edge(a, b) for a, b in itertools.pairwise([*cycle, node]))
        assert len(set(cycle)) == len(cycle) == min(back)
        shorter = shortest_cycle(g.indptr, g.indices, node, len(cycle) - 1)
        assert shorter is None, "the length bound holds"


def test_a_self_loop_is_a_cycle_of_one_and_bounds_apply() -> None:
    g = csr(4, [(0, 0), (0, 1), (1, 2), (2, 3), (3, 1)])
    assert shortest_cycle(g.indptr, g.indices, 0, 5) == [0]
    assert shortest_cycle(g.indptr, g.indices, 1, 3) == [1, 2, 3]
    assert shortest_cycle(g.indptr, g.indices, 1, 2) is None
    # No level starts once max_visited nodes are reached: 1, 2 and 3 stop the third.
    assert shortest_cycle(g.indptr, g.indices, 1, 3, max_visited=3) is None
    assert shortest_cycle(g.indptr, g.indices, 1, 3, max_visited=4) == [1, 2, 3]
    # Node 0's edges beyond the first are not looked at: the self-loop comes first.
    assert shortest_cycle(g.indptr, g.indices, 0, 5, max_scan=1) == [0]
