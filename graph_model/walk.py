"""Bounded breadth-first search over a graph held as CSR arrays, with the way back to every
node it reaches.

Every breadth-first search over a snapshot's arrays runs here: recusal, extension checks and
the served related firms and paths (the tie graph of :mod:`risk.supervision.walk`),
related-party and guarantee-circle warnings (:mod:`risk.supervision.warnings`), and the paths
and cycles of model evidence (:mod:`risk.model.evidence`).

A graph is a CSR pair as in ``scipy.sparse``: the edges leaving node ``u`` are the positions
``indptr[u]:indptr[u + 1]`` of ``indices``, which hold their targets. Edges are directed (an
undirected graph stores each edge both ways); parallel edges and self-loops are allowed.
Every search is bounded by a number of hops and, when asked, by the edges it looks at and the
nodes it reaches, so that a hub or a giant component costs no more than the bounds allow.

Searches go level by level, vectorised with NumPy: one step looks at the edges of every node
of the last level of every search at once. Within a step the order is the classic queue
order of breadth-first search: a level's nodes are walked in the order they were
discovered, each node's edges in CSR order, and a node is reached through the first edge
that finds it. So among several shortest paths to a node, the one kept goes through the
parent discovered first (the paths networkx's ``single_source_shortest_path`` returns when
the adjacency lists are in CSR order, and the predecessors of scipy's
``breadth_first_order``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Reach:
    """The rows of a search: one per (source, node reached), at the node's distance.

    Rows come level by level (sources first, at ``hops`` 0), and within a level by source,
    then in order of discovery. ``parent`` is the row one hop closer to the source and
    ``edge`` the CSR position of the edge from the parent's node to this one (both -1 for the
    sources): with them a caller rebuilds each path, and the type and direction of each of its
    edges from arrays aligned with ``indices``.
    """

    source: np.ndarray
    node: np.ndarray
    hops: np.ndarray
    parent: np.ndarray
    edge: np.ndarray

    def path(self, row: int) -> list[int]:
        """The rows from the source to ``row``, both included: ``node`` of them are the
        nodes of a shortest path, ``edge`` of all but the first its edges. Cost: O(hops)."""
        rows = [row]
        while (up := int(self.parent[rows[-1]])) >= 0:
            rows.append(up)
        return rows[::-1]


class Search:
    """A breadth-first search from each of ``sources`` separately, one level at a time.

    Each source is its own search (a node is reached once per source); repeated sources are
    searched once. :meth:`advance` reaches one more level; :attr:`found` holds every row
    reached so far. :func:`reach` runs a search to a number of hops; a caller that decides
    between levels when to stop (enough found, two searches meeting) advances it itself.

    Bounds, each applying to every source's search on its own:

    - ``hubs``: a mask of nodes that are reached but not walked through (agents with
      hundreds of firms); a source is walked through even when it is one.
    - ``max_scan``: from each node, only its first ``max_scan`` edges (in CSR order).
    - ``max_level_scan``: in each level, only the first ``max_level_scan`` edges of all its
      nodes together (in row order).
    - ``max_visited``: no level starts once the search has reached this many nodes (its
      source included); the level that passes the bound is kept whole.
    - ``revisit_sources``: a source is not marked as reached at the start, so a walk may come
      back to it once, closing a cycle (see :func:`shortest_cycle`).
    - ``edge_filter``: given the CSR positions of the edges a level looks at (after the scan
      bounds), a mask of those that may be walked (paths over some relation kinds only).

    Cost of a level: O(S log(S + V) + V) time and O(S + V) memory, where S is the number of
    edges it looks at (within the bounds) and V the rows reached so far (sorting the edges'
    targets, looking them up among the nodes reached, merging the new ones in). A whole
    search of h levels: O(E log(E + V) + h·V) for the E edges looked at, memory O(S_max + V)
    for its largest level. A level also costs some tens of µs of NumPy calls however small it
    is: many small searches are cheapest run as one search of many sources.
    """

    def __init__(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        sources: Sequence[int] | np.ndarray,
        *,
        hubs: np.ndarray | None = None,
        max_scan: int | None = None,
        max_level_scan: int | None = None,
        max_visited: int | None = None,
        revisit_sources: bool = False,
        edge_filter: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self._indptr = indptr
        self._indices = indices
        self._n = len(indptr) - 1
        self._hubs = hubs
        self._max_scan = max_scan
        self._max_level_scan = max_level_scan
        self._max_visited = max_visited
        self._edge_filter = edge_filter
        self._roots = np.unique(np.asarray(sources, dtype=np.int64))
        k = len(self._roots)
        search = np.arange(k, dtype=np.int64)
        # Per level: each row's search (its source's position in ``_roots``), node, parent row
        # and edge. (search, node) keys mark the nodes each search has reached, kept sorted.
        self._search = [search]
        self._node = [self._roots]
        self._parent = [np.full(k, -1, dtype=np.int64)]
        self._edge = [self._parent[0]]
        self._seen = np.zeros(0, np.int64) if revisit_sources else search * self._n + self._roots
        self._reached = np.ones(k, dtype=np.int64)
        self._level = slice(0, k)
        self._found: Reach | None = None

    @property
    def hops(self) -> int:
        """Levels that reached something: the distance of the farthest node found."""
        return len(self._node) - 1

    @property
    def level(self) -> slice:
        """The rows of :attr:`found` reached by the last level: the sources at first, none
        once the search is over."""
        return self._level

    @property
    def level_nodes(self) -> np.ndarray:
        """The nodes of the last level (``found.node[level]``, without gathering ``found``)."""
        return self._node[-1]

    @property
    def found(self) -> Reach:
        """Every row reached so far."""
        if self._found is None:
            sizes = [len(level) for level in self._node]
            self._found = Reach(
                self._roots[np.concatenate(self._search)],
                np.concatenate(self._node),
                np.repeat(np.arange(len(sizes)), sizes),
                np.concatenate(self._parent),
                np.concatenate(self._edge),
            )
        return self._found

    def advance(self) -> bool:
        """Reach one more level; False when it reaches nothing new (the search is over).
        Cost: O(S log(S + V) + V) for the S edges looked at and V rows reached before."""
        lo, hi = self._level.start, self._level.stop
        if lo == hi:
            return False
        node, search = self._node[-1], self._search[-1]
        keep = None
        if lo > 0 and self._hubs is not None:  # past the sources
            keep = ~self._hubs[node]
        if self._max_visited is not None:
            room = self._reached[search] < self._max_visited
            keep = room if keep is None else keep & room
        walked = None  # the level's nodes walked from, by position; None: all of them
        if keep is not None:
            walked = np.flatnonzero(keep)
            node, search = node[walked], search[walked]
        starts = self._indptr[node]
        counts = self._indptr[node + 1] - starts
        if self._max_scan is not None:
            counts = np.minimum(counts, self._max_scan)
        if self._max_level_scan is not None:
            counts = _cap_per_search(counts, search, self._max_level_scan)
        ends = np.cumsum(counts)
        total = int(ends[-1]) if len(ends) else 0
        if total == 0:
            return self._done()
        which = np.repeat(np.arange(len(node)), counts)
        pos = np.arange(total) + np.repeat(starts - (ends - counts), counts)
        if self._edge_filter is not None:
            walkable = self._edge_filter(pos)
            which, pos = which[walkable], pos[walkable]
            total = len(pos)
        nxt = self._indices[pos].astype(np.int64)
        keys = search[which] * self._n + nxt
        seen = self._seen
        if len(seen):
            at = np.minimum(np.searchsorted(seen, keys), len(seen) - 1)
            fresh = np.flatnonzero(seen[at] != keys)
        else:
            fresh = np.arange(total)
        new_keys, first = np.unique(keys[fresh], return_index=True)
        if len(new_keys) == 0:
            return self._done()
        self._seen = np.sort(np.concatenate([seen, new_keys]))
        # np.unique sorts by key: put the new nodes back in order of discovery.
        by_discovery = fresh[np.sort(first)]
        parent = which[by_discovery]
        level_search = search[parent]
        self._search.append(level_search)
        self._node.append(nxt[by_discovery])
        self._parent.append(lo + (parent if walked is None else walked[parent]))
        self._edge.append(pos[by_discovery])
        if self._max_visited is not None:
            self._reached += np.bincount(level_search, minlength=len(self._reached))
        self._level = slice(hi, hi + len(by_discovery))
        self._found = None
        return True

    def _done(self) -> bool:
        """End the search: the last level reached nothing new."""
        self._level = slice(self._level.stop, self._level.stop)
        return False


def _cap_per_search(counts: np.ndarray, search: np.ndarray, cap: int) -> np.ndarray:
    """Cut ``counts`` (rows grouped by ``search``) so that each search's total stays within
    ``cap``, the first rows first."""
    before = np.cumsum(counts) - counts
    starts = np.r_[True, search[1:] != search[:-1]] if len(search) else np.zeros(0, bool)
    used = before - np.maximum.accumulate(np.where(starts, before, 0))
    return np.asarray(np.clip(cap - used, 0, counts))


def reach(
    indptr: np.ndarray,
    indices: np.ndarray,
    sources: Sequence[int] | np.ndarray,
    max_hops: int,
    *,
    hubs: np.ndarray | None = None,
    max_scan: int | None = None,
    max_level_scan: int | None = None,
    max_visited: int | None = None,
) -> Reach:
    """Every node within ``max_hops`` of each source, each with one shortest path back to it
    (bounds and order as in :class:`Search`).

    Cost: O(E log(E + V) + h·V) time for the E edges looked at (those of the nodes reached
    before the last level, within the bounds), the V rows reached and h = ``max_hops``
    levels; O(S_max + V) memory, S_max the edges looked at by the largest level.
    """
    search = Search(
        indptr,
        indices,
        sources,
        hubs=hubs,
        max_scan=max_scan,
        max_level_scan=max_level_scan,
        max_visited=max_visited,
    )
    while search.hops < max_hops and search.advance():
        pass
    return search.found


def shortest_cycle(
    indptr: np.ndarray,
    indices: np.ndarray,
    node: int,
    max_length: int,
    *,
    max_scan: int | None = None,
    max_visited: int | None = None,
) -> list[int] | None:
    """A shortest directed cycle through ``node`` of at most ``max_length`` edges: its nodes in
    edge order, ``node`` first (the last has an edge back to ``node``); None when there is
    none within the bounds (``max_scan`` and ``max_visited`` as in :class:`Search`). A
    self-loop is a cycle of one.

    One breadth-first search from ``node`` that may come back to it, stopped at the first
    level that does: the cycle closed by the first such edge in search order. Cost: that of
    :func:`reach` to ``max_length`` hops, the search ending as soon as a cycle is found.
    """
    search = Search(
        indptr,
        indices,
        [node],
        max_scan=max_scan,
        max_visited=max_visited,
        revisit_sources=True,
    )
    while search.hops < max_length and search.advance():
        back = np.flatnonzero(search.level_nodes == node)
        if len(back):
            found = search.found
            rows = found.path(search.level.start + int(back[0]))
            return [int(v) for v in found.node[rows[:-1]]]
    return None
