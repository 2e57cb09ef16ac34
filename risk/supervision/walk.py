"""The tie graph of a snapshot: walks that explain every node they reach.

Recusal (an inspector tied to an enterprise), extension checks (firms tied to a black-listed
one) and the served related firms and paths ask "what is within k hops of these nodes, and
through what?". :class:`Adjacency` holds the ties of some relation types both ways, each entry
with its type and stored direction, and marks the hubs; it searches with
:mod:`graph_model.walk` and tells each path found as the relations it takes, as stored.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from graph_model.snapshot import Snapshot
from graph_model.walk import Reach, reach
from risk.features.context import HUB_PERSON_CAP, persons_tying_firms

ARRAYS = ("indptr", "neighbour", "type_code", "forward", "edge_row", "hub")
"""The arrays an :class:`Adjacency` walks on (its state besides the ids)."""


@dataclass(frozen=True)
class Step:
    """One relation on a path, as stored: ``source`` -[``type``]-> ``target`` (node ids)."""

    type: str
    source: str
    target: str


class Adjacency:
    """Undirected adjacency over some relation types of a snapshot, with each entry's type.

    Nodes with more than ``hub_cap`` relations of these types (agents, nominees) are reached
    but not walked through: 500 firms of one registration agent are not related to each
    other, and a walk through them would touch the whole city. Nor are persons known by name
    only: a shared name is no tie between two firms.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        rel_types: Iterable[str],
        hub_cap: int = HUB_PERSON_CAP,
        *,
        extra: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
        hub: np.ndarray | None = None,
        ids: np.ndarray | None = None,
    ) -> None:
        """Ties of ``rel_types`` as the snapshot stores them, then the ``extra`` ties given as
        (sources, targets) by type name (suspected relations); ``hub`` replaces the hubs
        counted here (a path graph keeps the hubs of the tie graph); ``ids``: the node ids
        in index order when the caller holds them already (one copy in memory, not three)."""
        extra = extra or {}
        self.rel_types = (*rel_types, *extra)
        src, dst, kind, row = [], [], [], []
        for code, rel_type in enumerate(self.rel_types):
            if rel_type in extra:
                sources, targets = extra[rel_type]
            else:
                rel = snapshot.relations[rel_type]
                sources, targets = rel.sources, rel.indices
            src.append(sources)
            dst.append(targets)
            kind.append(np.full(len(sources), code, dtype=np.int8))
            row.append(np.arange(len(sources), dtype=np.int32))
        s, d, k = np.concatenate(src), np.concatenate(dst), np.concatenate(kind)
        r = np.concatenate(row)
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
        # Each entry's row among its type's relations (its properties in the snapshot).
        self.edge_row = np.concatenate([r, r])[order]
        if hub is None:
            degree = np.diff(self.indptr)
            hub = degree > hub_cap
            hub[snapshot.n_enterprises :] |= ~persons_tying_firms(snapshot.persons)
        self.hub = hub
        self.ids = ids if ids is not None else snapshot.node_ids.to_numpy(zero_copy_only=False)
        self.n_enterprises = snapshot.n_enterprises

    def arrays(self) -> dict[str, np.ndarray]:
        """What the walks read, by name: saved beside a served snapshot (risk/served.py)."""
        return {name: getattr(self, name) for name in ARRAYS}

    @classmethod
    def restored(
        cls,
        rel_types: Sequence[str],
        arrays: Mapping[str, np.ndarray],
        ids: np.ndarray,
        n_enterprises: int,
    ) -> Adjacency:
        """The adjacency whose :meth:`arrays` these are, over nodes ``ids`` (in index order)."""
        adjacency = cls.__new__(cls)
        adjacency.rel_types = tuple(rel_types)
        for name in ARRAYS:
            setattr(adjacency, name, arrays[name])
        adjacency.n = len(adjacency.indptr) - 1
        adjacency.ids = ids
        adjacency.n_enterprises = n_enterprises
        return adjacency

    def reach(self, sources: Sequence[int] | np.ndarray, max_hops: int) -> Reach:
        """Every node within ``max_hops`` of each source (each searched on its own), hubs
        reached but not walked through unless a source (a person's own ties always count);
        see :func:`graph_model.walk.reach` for the order, the paths kept and the cost."""
        return reach(self.indptr, self.neighbour, sources, max_hops, hubs=self.hub)

    def path(self, found: Reach, row: int) -> tuple[Step, ...]:
        """The relations, as stored, of the shortest path from ``row``'s source to it."""
        rows = found.path(row)
        return tuple(
            self.step(int(found.node[a]), int(found.node[b]), int(found.edge[b]))
            for a, b in itertools.pairwise(rows)
        )

    def step(self, walked_from: int, walked_to: int, pos: int) -> Step:
        """The relation at adjacency position ``pos``, walked from one node to the other."""
        rel_type = self.rel_types[self.type_code[pos]]
        a, b = (walked_from, walked_to) if self.forward[pos] else (walked_to, walked_from)
        return Step(rel_type, str(self.ids[a]), str(self.ids[b]))
