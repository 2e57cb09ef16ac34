"""Bounded walks on a snapshot's graph, with the path that explains every node reached.

Recusal (an inspector tied to an enterprise) and extension checks (firms tied to a
black-listed one) both ask "what is within k hops of these nodes, and through
what?". The neighbourhoods are small once hub persons are not walked through, so a
breadth-first walk per question, over CSR arrays, is fast and gives the paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from graph_model.snapshot import Snapshot
from risk.features.context import HUB_PERSON_CAP, persons_tying_firms


@dataclass(frozen=True)
class Step:
    """One relation on a path, as stored: ``source`` -[``type``]-> ``target`` (node ids)."""

    type: str
    source: str
    target: str


@dataclass(frozen=True)
class Reached:
    """A node reached by a walk: how many hops away and the relations that lead there."""

    node: int
    hops: int
    path: tuple[Step, ...]


class Adjacency:
    """Undirected adjacency over some relation types of a snapshot, with each entry's type.

    Nodes with more than ``hub_cap`` relations of these types (agents, nominees) are reached
    but not walked through: 500 firms of one registration agent are not related to each
    other, and a walk through them would touch the whole city. Nor are persons known by name
    only: a shared name is no tie between two firms.
    """

    def __init__(
        self, snapshot: Snapshot, rel_types: Iterable[str], hub_cap: int = HUB_PERSON_CAP
    ) -> None:
        self.rel_types = tuple(rel_types)
        src, dst, kind = [], [], []
        for code, rel_type in enumerate(self.rel_types):
            rel = snapshot.relations[rel_type]
            src.append(rel.sources)
            dst.append(rel.indices)
            kind.append(np.full(rel.edge_count, code, dtype=np.int8))
        s, d, k = np.concatenate(src), np.concatenate(dst), np.concatenate(kind)
        # Both directions; ``forward`` says whether the stored relation points this way.
        a = np.concatenate([s, d])
        b = np.concatenate([d, s])
        forward = np.concatenate([np.ones(len(s), bool), np.zeros(len(s), bool)])
        order = np.argsort(a, kind="stable")
        self.n = snapshot.n_nodes
        self.indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=self.n), out=self.indptr[1:])
        self.neighbour = b[order]
        self.type_code = np.concatenate([k, k])[order]
        self.forward = forward[order]
        degree = np.diff(self.indptr)
        self.hub = degree > hub_cap
        self.hub[snapshot.n_enterprises :] |= ~persons_tying_firms(snapshot.persons)
        self.ids = np.concatenate(
            [
                snapshot.enterprises["id"].to_numpy(zero_copy_only=False),
                snapshot.persons["id"].to_numpy(zero_copy_only=False),
            ]
        )
        self.n_enterprises = snapshot.n_enterprises

    def walk(self, seeds: Iterable[int], max_hops: int) -> dict[int, Reached]:
        """Every node within ``max_hops`` of the seeds (seeds excluded), by breadth first;
        each with one shortest path from a seed. Hubs are reached but not expanded, except
        when they are seeds themselves (a person's own ties always count)."""
        seed_list = list(dict.fromkeys(int(s) for s in seeds))
        parent: dict[int, tuple[int, int]] = {s: (-1, -1) for s in seed_list}
        hops = dict.fromkeys(seed_list, 0)
        frontier = seed_list
        for depth in range(1, max_hops + 1):
            nxt = []
            for node in frontier:
                if depth > 1 and self.hub[node]:
                    continue
                lo, hi = self.indptr[node], self.indptr[node + 1]
                for pos in range(lo, hi):
                    other = int(self.neighbour[pos])
                    if other not in parent:
                        parent[other] = (node, pos)
                        hops[other] = depth
                        nxt.append(other)
            frontier = nxt
            if not frontier:
                break
        return {
            node: Reached(node, hops[node], self._path(node, parent))
            for node in parent
            if hops[node] > 0
        }

    def _path(self, node: int, parent: dict[int, tuple[int, int]]) -> tuple[Step, ...]:
        steps = []
        while parent[node][0] >= 0:
            prev, pos = parent[node]
            rel_type = self.rel_types[self.type_code[pos]]
            a, b = (prev, node) if self.forward[pos] else (node, prev)
            steps.append(Step(rel_type, str(self.ids[a]), str(self.ids[b])))
            node = prev
        return tuple(reversed(steps))
