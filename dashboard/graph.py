"""Graphs drawn on the board (dash-cytoscape elements) from a snapshot's arrays.

The ego graph of an enterprise starts with its direct ties (people, shareholders, holdings,
guarantees); a click on a node adds that node's ties; a node with more ties than the limit
shows the first ones and an "and N more" node, whose click shows the next ones. Ties come
from the snapshot of the board's date (the same graph the grades were computed on), read
from CSR rows in both directions: one expansion costs O(degree), whatever the city's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pyarrow as pa

from dashboard.i18n import Language, text
from graph_model.snapshot import RelationArrays, Snapshot
from risk.wording import word

REL_ORDER = ("LEGAL_REP", "HOLDS_SHARES", "OFFICER", "GUARANTEES")
"""Relation types shown, strongest tie first: the cap keeps legal representatives and
shareholders before officers and guarantees."""

MORE_PREFIX = "more|"
"""Id prefix of the 'and N more' node of a node (its id follows)."""

SCAN = 2_000
"""Ties read per expanded node beyond its limit: bounds the work on a hub of thousands."""

GRADE_COLOURS = {"A": "#2e7d32", "B": "#9e9d24", "C": "#ef6c00", "D": "#c62828", "E": "#6a1b9a"}
"""Grade colours, shared by the charts and the graphs."""


@dataclass(frozen=True)
class _Reverse:
    """A relation type read by target: row ``i`` lists the sources of edges into node ``i``."""

    indptr: np.ndarray
    sources: np.ndarray
    edges: np.ndarray


def _reverse(rel: RelationArrays) -> _Reverse:
    order = np.argsort(rel.indices, kind="stable")
    indptr = np.zeros(len(rel.indptr), dtype=np.int64)
    np.cumsum(np.bincount(rel.indices, minlength=len(rel.indptr) - 1), out=indptr[1:])
    return _Reverse(indptr, rel.sources[order], order)


@dataclass(frozen=True)
class Tie:
    """One tie of a node: the other node, the relation type, its direction and edge row."""

    other: int
    rel_type: str
    outgoing: bool
    edge: int


class GraphIndex:
    """Node ids, names and both directions of every relation type of one snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.n_enterprises = snapshot.n_enterprises
        self.ids = pa.concat_arrays(
            [snapshot.enterprises["id"].combine_chunks(), snapshot.persons["id"].combine_chunks()]
        )
        self.names = pa.concat_arrays(
            [
                snapshot.enterprises["name"].combine_chunks(),
                snapshot.persons["name"].combine_chunks(),
            ]
        )
        self.relations = {t: snapshot.relations[t] for t in REL_ORDER if t in snapshot.relations}
        self._reverse = {t: _reverse(rel) for t, rel in self.relations.items()}
        # A read-only dict: O(1) lookups for every node of a drawn graph (an Arrow search
        # scans 2.5 M ids at city scale, ~10 ms each). Costs ~0.1 KB per node.
        self._position = MappingProxyType(
            {node_id: k for k, node_id in enumerate(self.ids.to_pylist())}
        )

    def index_of(self, node_id: str) -> int | None:
        """Node index of an enterprise id or person key; None when absent."""
        return self._position.get(node_id)

    def id_of(self, node: int) -> str:
        return str(self.ids[node].as_py())

    def name_of(self, node: int) -> str:
        return str(self.names[node].as_py() or self.ids[node].as_py())

    def ties(self, node: int, limit: int) -> tuple[list[Tie], int]:
        """The first ``limit`` ties of a node in :data:`REL_ORDER` (outgoing first), and how
        many it has in all."""
        out: list[Tie] = []
        total = 0
        for t, rel in self.relations.items():
            rev = self._reverse[t]
            a, b = int(rel.indptr[node]), int(rel.indptr[node + 1])
            c, d = int(rev.indptr[node]), int(rev.indptr[node + 1])
            room = max(0, limit - len(out))
            for e in range(a, min(b, a + room)):
                out.append(Tie(int(rel.indices[e]), t, True, e))
            room = max(0, limit - len(out))
            for k in range(c, min(d, c + room)):
                out.append(Tie(int(rev.sources[k]), t, False, int(rev.edges[k])))
            total += (b - a) + (d - c)
        return out, total

    def edge_label(self, tie: Tie, lang: Language) -> str:
        """What the edge says: the officer's role, the stake or the guaranteed amount."""
        props = self.relations[tie.rel_type].properties
        if tie.rel_type == "HOLDS_SHARES" and "share" in props.column_names:
            share = props["share"][tie.edge].as_py()
            return f"{share:.0%}" if share is not None else word("relation", "HOLDS_SHARES", lang)
        if tie.rel_type == "GUARANTEES" and "amount" in props.column_names:
            return money(props["amount"][tie.edge].as_py(), lang)
        if tie.rel_type == "OFFICER" and "role" in props.column_names:
            return word("role", props["role"][tie.edge].as_py() or "OFFICER", lang)
        return word("role" if tie.rel_type == "LEGAL_REP" else "relation", tie.rel_type, lang)


def money(amount: float | None, lang: Language) -> str:
    """An amount in CNY, short: ``¥1,200万`` in Chinese, ``¥12.0M`` in English."""
    if amount is None or not np.isfinite(amount):
        return "—"
    if lang == "zh":
        return f"¥{amount / 1e4:,.0f}万" if amount >= 1e4 else f"¥{amount:,.0f}"
    return f"¥{amount / 1e6:,.1f}M" if amount >= 1e6 else f"¥{amount:,.0f}"


def grade_at(grades: np.ndarray | None, node: int) -> str | None:
    """The grade of a node (enterprises only; None for persons and ungraded firms)."""
    if grades is None or node >= len(grades):
        return None
    return str(grades[node]) or None


def node_element(
    index: GraphIndex, node: int, grade: str | None, classes: Sequence[str] = ()
) -> dict[str, object]:
    """A cytoscape node for a graph node, classed by kind and grade."""
    kind = "enterprise" if node < index.n_enterprises else "person"
    name = index.name_of(node)
    label = name if len(name) <= 14 else name[:13] + "…"
    names = [kind, *classes]
    if grade:
        names.append(f"grade-{grade}")
        label = f"{label} [{grade}]"
    return {
        "data": {"id": index.id_of(node), "label": label, "kind": kind, "grade": grade or ""},
        "classes": " ".join(names),
    }


@dataclass
class _Edge:
    """An edge being built: every tie between two nodes in one direction, one label."""

    source: str
    target: str
    rel_type: str
    labels: list[str]
    ties: set[tuple[str, int]]


def ego_elements(
    index: GraphIndex,
    grades: np.ndarray | None,
    center: int,
    shown: Mapping[str, int],
    lang: Language,
) -> list[dict[str, object]]:
    """Elements of the ego graph: ``shown`` maps each expanded node id to how many new
    nodes its ties may add (the centre is always expanded), in the order they were expanded.
    Ties to nodes already drawn are always drawn; the others are counted in "and N more".

    Nodes carry preset positions (:func:`radial_positions`): the centre in the middle, each
    node's new ties on the next ring within its angle, so that an expansion grows outwards
    and leaves the rest in place.
    """
    center_id = index.id_of(center)
    nodes: dict[str, dict[str, object]] = {
        center_id: node_element(index, center, grade_at(grades, center), ("center", "expanded"))
    }
    children: dict[str, list[str]] = {center_id: []}
    edges: dict[str, _Edge] = {}
    extra: list[dict[str, object]] = []
    for node_id, limit in shown.items():
        node = center if node_id == center_id else index.index_of(node_id)
        if node is None or node_id not in nodes:
            continue  # a stale id, or a node no longer reached: nothing to expand
        if node_id != center_id:
            nodes[node_id]["classes"] = f"{nodes[node_id]['classes']} expanded"
        ties, total = index.ties(node, limit + SCAN)
        drawn = added = 0
        for tie in ties:
            other_id = index.id_of(tie.other)
            if other_id not in nodes:
                if added == limit:
                    continue
                added += 1
                nodes[other_id] = node_element(index, tie.other, grade_at(grades, tie.other))
                children.setdefault(node_id, []).append(other_id)
            drawn += 1
            source, target = (node_id, other_id) if tie.outgoing else (other_id, node_id)
            # Ties between the same two nodes in the same direction become one edge whose
            # label lists them (a legal representative is often also a director and holder).
            edge = edges.setdefault(
                f"{source}|{target}", _Edge(source, target, tie.rel_type, [], set())
            )
            if (tie.rel_type, tie.edge) not in edge.ties:
                edge.ties.add((tie.rel_type, tie.edge))
                edge.labels.append(index.edge_label(tie, lang))
        if total > drawn:
            more_id = f"{MORE_PREFIX}{node_id}"
            nodes[more_id] = {
                "data": {"id": more_id, "label": text("and_more", lang, n=total - drawn)},
                "classes": "more",
            }
            children.setdefault(node_id, []).append(more_id)
            extra.append(
                {
                    "data": {"id": f"to|{more_id}", "source": node_id, "target": more_id},
                    "classes": "more",
                }
            )
    for node_id, (x, y) in radial_positions(center_id, children).items():
        nodes[node_id]["position"] = {"x": round(x, 1), "y": round(y, 1)}
    links: list[dict[str, object]] = [
        {
            "data": {
                "id": edge_id,
                "source": e.source,
                "target": e.target,
                "label": " · ".join(e.labels),
            },
            "classes": e.rel_type,
        }
        for edge_id, e in edges.items()
    ]
    return [*nodes.values(), *links, *extra]


RING = 170.0
"""Distance between the rings of the ego graph, in pixels at zoom 1."""


def radial_positions(
    root: str, children: Mapping[str, list[str]]
) -> dict[str, tuple[float, float]]:
    """A radial tree: ``root`` at the origin, each node on the ring of its depth, within an
    angle proportional to the leaves below it (so that subtrees never overlap)."""
    leaves: dict[str, int] = {}

    def count(node: str) -> int:
        below = children.get(node, [])
        leaves[node] = sum(count(c) for c in below) if below else 1
        return leaves[node]

    count(root)
    out = {root: (0.0, 0.0)}
    stack = [(root, 0.0, 2 * np.pi, 0)]
    while stack:
        node, start, span, depth = stack.pop()
        at = start
        for child in children.get(node, []):
            width = span * leaves[child] / leaves[node]
            angle = at + width / 2
            radius = RING * (depth + 1)
            out[child] = (radius * float(np.cos(angle)), radius * float(np.sin(angle)))
            stack.append((child, at, width, depth + 1))
            at += width
    return out


def expand(shown: Mapping[str, int], tapped: str, limit: int) -> dict[str, int]:
    """The expansion state after a click on node ``tapped``: a node not yet expanded shows
    its first ``limit`` ties; an 'and N more' node shows ``limit`` more of its owner's;
    a click on an expanded node changes nothing."""
    after = dict(shown)
    if tapped.startswith(MORE_PREFIX):
        owner = tapped[len(MORE_PREFIX) :]
        after[owner] = after.get(owner, 0) + limit
    elif tapped not in after:
        after[tapped] = limit
    return after


def path_elements(
    index: GraphIndex,
    grades: np.ndarray | None,
    root: str,
    paths: Sequence[Sequence[Sequence[str]]],
    highlight: int | None,
    lang: Language,
) -> list[dict[str, object]]:
    """The union of paths walked from ``root`` (each a list of ``[source, type, target]``
    steps in store ids, in the stored direction), the ``highlight``-th one marked
    ``on-path``, laid out as a radial tree around the root."""
    nodes: dict[str, dict[str, object]] = {}
    edges: dict[str, dict[str, object]] = {}
    found = index.index_of(root)
    if found is None:
        return []
    nodes[root] = node_element(index, found, grade_at(grades, found), ("center",))
    children: dict[str, list[str]] = {}
    for k, path in enumerate(paths):
        marked = k == highlight
        here = root
        for source, rel_type, target in path:
            # Steps keep the stored direction; the walk goes on from whichever end is new.
            step_to = target if source == here else source
            if step_to not in nodes:
                children.setdefault(here, []).append(step_to)
            here = step_to
            for node_id in (source, target):
                if node_id not in nodes:
                    node = index.index_of(node_id)
                    if node is None:
                        continue
                    nodes[node_id] = node_element(index, node, grade_at(grades, node))
                if marked and node_id in nodes:
                    nodes[node_id]["classes"] = f"{nodes[node_id]['classes']} on-path"
            edge_id = f"{source}|{rel_type}|{target}"
            edge = edges.setdefault(
                edge_id,
                {
                    "data": {
                        "id": edge_id,
                        "source": source,
                        "target": target,
                        "label": word("relation", rel_type, lang),
                    },
                    "classes": rel_type,
                },
            )
            if marked:
                edge["classes"] = f"{rel_type} on-path"
    for node_id, (x, y) in radial_positions(root, children).items():
        if node_id in nodes:
            nodes[node_id]["position"] = {"x": round(x, 1), "y": round(y, 1)}
    return [*nodes.values(), *edges.values()]


def stylesheet() -> list[dict[str, object]]:
    """Cytoscape styles: enterprises as round boxes coloured by grade, persons as small
    circles, 'and N more' as a dashed pill, highlighted paths thick and blue."""
    rules: list[dict[str, object]] = [
        {
            "selector": "node",
            "style": {
                "label": "data(label)",
                "font-size": 13,
                "text-valign": "bottom",
                "text-margin-y": 4,
                "color": "#263238",
                "background-color": "#90a4ae",
                "width": 22,
                "height": 22,
            },
        },
        {"selector": ".person", "style": {"background-color": "#5c6bc0", "shape": "ellipse"}},
        {
            "selector": ".enterprise",
            "style": {"shape": "round-rectangle", "width": 30, "height": 22},
        },
        {
            "selector": ".center",
            "style": {"border-width": 4, "border-color": "#1565c0", "width": 40, "height": 30},
        },
        {"selector": ".expanded", "style": {"border-width": 2, "border-color": "#37474f"}},
        {
            "selector": ".more",
            "style": {
                "shape": "round-rectangle",
                "background-color": "#eceff1",
                "border-style": "dashed",
                "border-width": 1,
                "border-color": "#78909c",
                "width": 70,
                "height": 18,
                "text-valign": "center",
                "text-margin-y": 0,
                "font-size": 10,
            },
        },
        {
            "selector": "edge",
            "style": {
                "label": "data(label)",
                "font-size": 10,
                "color": "#455a64",
                "curve-style": "bezier",
                "target-arrow-shape": "triangle",
                "width": 1.5,
                "line-color": "#b0bec5",
                "target-arrow-color": "#b0bec5",
                "text-background-color": "#ffffff",
                "text-background-opacity": 0.8,
            },
        },
        {"selector": ".GUARANTEES", "style": {"line-color": "#8d6e63", "line-style": "dashed"}},
        {"selector": "edge.more", "style": {"target-arrow-shape": "none", "line-style": "dotted"}},
        {
            "selector": ".on-path",
            "style": {"line-color": "#1e88e5", "target-arrow-color": "#1e88e5", "width": 4},
        },
        {"selector": "node.on-path", "style": {"border-width": 3, "border-color": "#1e88e5"}},
    ]
    rules.extend(
        {"selector": f".grade-{grade}", "style": {"background-color": colour}}
        for grade, colour in GRADE_COLOURS.items()
    )
    return rules
