"""Paths between two entities of a snapshot (路径): several short ones, over the relation
kinds asked for, each step told with its relation, role, stake or amount and dates.

:class:`PathGraph` holds, once per snapshot, the ties of every kind a path may take: legal
representatives, officers, shareholdings, guarantees, branches (when the snapshot has them)
and suspected relations (疑似关系: two firms sharing an address, a phone or an e-mail).
A value shared by more than ``HUB_PERSON_CAP`` firms ties none of them (it is an agent's);
one shared by more than ``RARE_GROUP`` is walked but its step is ``weak``. Hubs are those of
the tie graph (:class:`~risk.supervision.walk.Adjacency`): reached, not walked through.

:meth:`PathGraph.paths` searches breadth first from both ends (:mod:`graph_model.walk`),
always widening the smaller side by one level, over the kinds asked for only. Every node of
a new level that the other side has reached joins two ways back into a path; distinct
meeting nodes give distinct paths. The shortest length is met first; the search goes one
level further for near-shortest paths, then stops, as it does once ``k`` are found or
``MAX_VISITED`` nodes are reached. Cost: two bounded searches, each level
O(S log(S + V)) for the S ties looked at and V nodes reached (docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from graph_model.identifiers import mask_contact
from graph_model.snapshot import Snapshot
from graph_model.walk import Search
from risk.features.context import HUB_PERSON_CAP
from risk.features.suspected import CONTACTS, RARE_GROUP, contact_groups, suspected_pairs
from risk.supervision.walk import Adjacency

SHARED_TYPES = {f"SHARES_{contact.upper()}": contact for contact in CONTACTS}
"""Suspected relations as path steps, by contact: SHARES_ADDRESS, SHARES_PHONE, SHARES_EMAIL."""

PATH_KINDS: dict[str, tuple[str, ...]] = {
    "legal_rep": ("LEGAL_REP",),
    "officer": ("OFFICER",),
    "shareholding": ("HOLDS_SHARES",),
    "guarantee": ("GUARANTEES",),
    "branch": ("HAS_BRANCH",),
    "suspected": tuple(SHARED_TYPES),
}
"""The relation kinds a path may take, each the relation types it stands for."""

DEFAULT_KINDS = ("legal_rep", "officer", "shareholding", "guarantee")
"""The kinds of the related-party ties (关联方), searched when none are asked for."""

MAX_PATH_HOPS = 6
MAX_PATHS = 20
DEFAULT_PATHS = 5
MAX_VISITED = 200_000
"""A path search stops after reaching this many nodes on its two sides (a giant component)."""

NEAR_SHORTEST = 1
"""Paths at most this much longer than the shortest are searched for once it is found."""

_PROPERTIES = ("role", "share", "subscribed_amount", "amount", "currency", "valid_from", "valid_to")


@dataclass(frozen=True)
class PathStep:
    """One step of a path: ``relation`` between node indices ``source`` → ``target`` as
    stored (walked the other way when ``forward`` is false), with the properties the
    relation has (``role`` of an officer, ``share`` and CNY ``amount`` subscribed of a
    shareholding, ``amount`` and ``currency`` of a guarantee, validity dates). A suspected
    step (``SHARES_…``) names its ``contact``, the ``value`` masked where personal (see
    :func:`graph_model.identifiers.mask_contact`) and how many ``firms`` share it."""

    relation: str
    kind: str
    source: int
    target: int
    forward: bool
    properties: dict[str, Any]

    @property
    def weak(self) -> bool:
        """A suspected step through a value more than ``RARE_GROUP`` firms share."""
        return int(self.properties.get("firms", 0)) > RARE_GROUP


@dataclass(frozen=True)
class TiePath:
    """A path: its nodes (indices) in walking order and the steps between them."""

    nodes: tuple[int, ...]
    steps: tuple[PathStep, ...]

    @property
    def length(self) -> int:
        return len(self.steps)


def _types(snapshot: Snapshot) -> list[str]:
    """The stored relation types a path may take on this snapshot."""
    return [t for kind in PATH_KINDS.values() for t in kind if t in snapshot.relations]


def kind_of(relation: str) -> str:
    """The path kind a relation type belongs to."""
    return next(kind for kind, types in PATH_KINDS.items() if relation in types)


class PathGraph:
    """The ties a path may take on one snapshot, with what each step says (module docstring).

    Built in O(E + n·HUB_PERSON_CAP) for E relations and n enterprises with a contact."""

    def __init__(
        self, snapshot: Snapshot, hub: np.ndarray | None = None, ids: np.ndarray | None = None
    ) -> None:
        """``hub``: the tie graph's hubs when the caller has them (else counted here);
        ``ids``: the node ids in index order when the caller holds them."""
        if hub is None:
            hub = Adjacency(snapshot, [t for k in DEFAULT_KINDS for t in PATH_KINDS[k]]).hub
        types = _types(snapshot)
        self._groups: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._values = {c: snapshot.enterprises[c] for c in CONTACTS}
        extra = {}
        for rel_type, contact in SHARED_TYPES.items():
            group, sizes = contact_groups(snapshot.enterprises[contact])
            self._groups[contact] = (group, sizes)
            a, b = suspected_pairs(group, sizes, HUB_PERSON_CAP)
            once = a < b
            extra[rel_type] = (a[once], b[once])
        self.ties = Adjacency(snapshot, types, extra=extra, hub=hub, ids=ids)
        self._properties = {t: snapshot.relations[t].properties for t in types}

    def arrays(self) -> dict[str, np.ndarray]:
        """What the searches read besides the snapshot, by name: saved beside a served
        snapshot (risk/served.py)."""
        out = {f"ties.{name}": array for name, array in self.ties.arrays().items()}
        for contact, (group, sizes) in self._groups.items():
            out[f"group.{contact}"] = group
            out[f"sizes.{contact}"] = sizes
        return out

    @classmethod
    def restored(
        cls, snapshot: Snapshot, arrays: Mapping[str, np.ndarray], ids: np.ndarray
    ) -> PathGraph:
        """The path graph of ``snapshot`` whose :meth:`arrays` these are."""
        graph = cls.__new__(cls)
        types = _types(snapshot)
        graph._groups = {c: (arrays[f"group.{c}"], arrays[f"sizes.{c}"]) for c in CONTACTS}
        graph._values = {c: snapshot.enterprises[c] for c in CONTACTS}
        ties = {
            name.removeprefix("ties."): a for name, a in arrays.items() if name.startswith("ties.")
        }
        graph.ties = Adjacency.restored((*types, *SHARED_TYPES), ties, ids, snapshot.n_enterprises)
        graph._properties = {t: snapshot.relations[t].properties for t in types}
        return graph

    def kinds(self) -> tuple[str, ...]:
        """The kinds this snapshot has relations of."""
        return tuple(k for k, ts in PATH_KINDS.items() if set(ts) & set(self.ties.rel_types))

    def paths(
        self,
        source: int,
        target: int,
        max_hops: int,
        kinds: Iterable[str] = DEFAULT_KINDS,
        k: int = DEFAULT_PATHS,
    ) -> list[TiePath]:
        """Up to ``k`` distinct paths of at most ``max_hops`` steps over ``kinds``, shortest
        first (then in order of discovery); none when the ends are not tied within the
        bounds. Hubs are entered but not walked through, except at the two ends."""
        if not 1 <= max_hops <= MAX_PATH_HOPS:
            raise ValueError(f"max_hops must be within 1..{MAX_PATH_HOPS}, got {max_hops}")
        if not 1 <= k <= MAX_PATHS:
            raise ValueError(f"k must be within 1..{MAX_PATHS}, got {k}")
        unknown = sorted(set(kinds) - set(PATH_KINDS))
        if unknown:
            raise ValueError(f"unknown path kinds {unknown}: choose from {list(PATH_KINDS)}")
        if source == target:
            return [TiePath((source,), ())]
        adj = self.ties
        wanted = {t for kind in kinds for t in PATH_KINDS[kind]}
        allowed = np.array([t in wanted for t in adj.rel_types])

        def walkable(pos: np.ndarray) -> np.ndarray:
            mask: np.ndarray = allowed[adj.type_code[pos]]
            return mask

        ends = np.array([source, target])
        sides = [
            Search(adj.indptr, adj.neighbour, [end], hubs=adj.hub, edge_filter=walkable)
            for end in ends
        ]
        found: dict[tuple[int, ...], tuple[int, ...]] = {}  # nodes -> CSR positions
        shortest = math.inf
        while sides[0].hops + sides[1].hops < min(max_hops, shortest + NEAR_SHORTEST):
            sizes = [s.level.stop - s.level.start for s in sides]
            side = 0 if sizes[0] <= sizes[1] else 1
            if not sides[side].advance():
                # One side has reached all it can: met nowhere, the ends are not tied; met,
                # the other side may still find paths a step longer.
                side = 1 - side
                if not found or not sides[side].advance():
                    break
            mine, theirs = sides[side], sides[1 - side]
            new = mine.level_nodes
            # Meeting at a hub would walk through it: only the two ends may be hubs.
            meets = np.flatnonzero(
                np.isin(new, theirs.found.node) & (~adj.hub[new] | np.isin(new, ends))
            )
            for first in meets[: MAX_PATHS * 4].tolist():
                at = int(np.flatnonzero(theirs.found.node == new[first])[0])
                rows = [mine.level.start + first, at]
                if side == 1:
                    rows.reverse()
                nodes, positions = _joined(sides, rows)
                if len(nodes) - 1 <= max_hops and len(set(nodes)) == len(nodes):
                    found.setdefault(nodes, positions)
                    shortest = min(shortest, len(positions))
            if len(found) >= k:
                break
            if len(sides[0].found.node) + len(sides[1].found.node) > MAX_VISITED:
                break
        ranked = sorted(found.items(), key=lambda item: len(item[1]))[:k]
        return [self._path(nodes, positions) for nodes, positions in ranked]

    def _path(self, nodes: tuple[int, ...], positions: tuple[int, ...]) -> TiePath:
        steps = tuple(
            self._step(a, b, pos)
            for (a, b), pos in zip(itertools.pairwise(nodes), positions, strict=True)
        )
        return TiePath(nodes, steps)

    def _step(self, walked_from: int, walked_to: int, pos: int) -> PathStep:
        adj = self.ties
        relation = adj.rel_types[adj.type_code[pos]]
        # The entry at ``pos`` lies in the list of the node its search walked from: on the
        # target's half of a path, that is the node walked to.
        in_from = bool(adj.indptr[walked_from] <= pos < adj.indptr[walked_from + 1])
        forward = bool(adj.forward[pos]) == in_from
        a, b = (walked_from, walked_to) if forward else (walked_to, walked_from)
        row = int(adj.edge_row[pos])
        if relation in SHARED_TYPES:
            contact = SHARED_TYPES[relation]
            group, sizes = self._groups[contact]
            firms = int(sizes[group[a]])
            value = str(self._values[contact][a].as_py())
            props: dict[str, Any] = {
                "contact": contact,
                "value": mask_contact(contact, value),
                "firms": firms,
                "weak": firms > RARE_GROUP,
            }
        else:
            table = self._properties[relation]
            names = [c for c in _PROPERTIES if c in table.column_names]
            stored = table.select(names).slice(row, 1).to_pylist()[0]
            props = {c: _plain(v) for c, v in stored.items() if _plain(v) is not None}
            if relation == "HOLDS_SHARES" and "subscribed_amount" in props:
                props["amount"] = props.pop("subscribed_amount")
                props["currency"] = "CNY"
        return PathStep(relation, kind_of(relation), a, b, forward, props)


def _joined(
    sides: Sequence[Search], rows: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Nodes and CSR positions of the path from the source's search row ``rows[0]`` and the
    target's ``rows[1]``, both at the same meeting node."""
    halves = []
    for search, row in zip(sides, rows, strict=True):
        found = search.found
        chain = found.path(row)
        halves.append(
            ([int(found.node[r]) for r in chain], [int(found.edge[r]) for r in chain[1:]])
        )
    (left_nodes, left_pos), (right_nodes, right_pos) = halves
    return (
        tuple(left_nodes + right_nodes[::-1][1:]),
        tuple(left_pos + right_pos[::-1]),
    )


def _plain(value: Any) -> Any:
    """A property fit for JSON: None for a missing or non-finite number."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if value is None or isinstance(value, str | int | float | date) else str(value)
