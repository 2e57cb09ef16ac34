"""Graphs drawn on the board (dash-cytoscape elements) from a snapshot's arrays.

The ego graph of an enterprise starts with its direct ties (people, shareholders, holdings,
guarantees); a click on a node adds that node's ties; a node with more ties than the limit
shows the first ones and an "and N more" node, whose click shows the next ones. Ties come
from the snapshot of the board's date (the same graph the grades were computed on), read
from CSR rows in both directions: one expansion costs O(degree), whatever the city's size.

Graphs are laid out here, not in the browser: a layered tree (:func:`layered_positions`),
one column per step from the centre, each node on its own row with its label beside it, so
that no two labels overlap however many nodes are shown (readable at 200 nodes, by zooming).
The ego graph spreads by kind: what points at the centre (its people, shareholders and
guarantors) on the left, what it points at (its holdings and the loans it guarantees) on the
right. Amounts are in one unit per graph (:func:`money_unit`), said in the legend or title.
How a graph looks (colours, stylesheet, legend, the panel's height) is
:mod:`dashboard.graph_style`'s.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from dashboard.i18n import Language, text
from graph_model.snapshot import RelationArrays, Snapshot
from risk.features.context import persons_tying_firms
from risk.wording import word

REL_ORDER = ("LEGAL_REP", "HOLDS_SHARES", "OFFICER", "GUARANTEES")
"""Relation types shown, strongest tie first: the cap keeps legal representatives and
shareholders before officers and guarantees."""

MORE_PREFIX = "more|"
"""Id prefix of the 'and N more' node of a node (its id follows)."""

SCAN = 2_000
"""Ties read per expanded node beyond its limit: bounds the work on a hub of thousands."""

_MONEY_UNITS: dict[str, tuple[float, str]] = {"zh": (1e4, "万元"), "en": (1e3, "thousand CNY")}
"""The one unit amounts are drawn in: 万元 in Chinese, thousands of CNY in English."""

_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司")
"""Endings left out of node labels (the full name is in the side panel and the grids)."""


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
class SharedTie:
    """A suspected relation of the centre (疑似关系): another firm with the same address,
    phone or e-mail, and what the edge says (the value masked where personal, how many firms
    share it, whether that many makes it weak evidence)."""

    other: int
    contact: str
    label: str


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
        self.ids = snapshot.node_ids
        self.names = snapshot.node_names
        # Persons known by name only (one firm's: the same name elsewhere is someone else).
        self.name_only = np.concatenate(
            [np.zeros(self.n_enterprises, bool), ~persons_tying_firms(snapshot.persons)]
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
            given = "currency" in props.column_names
            currency = props["currency"][tie.edge].as_py() if given else None
            return amount_label(props["amount"][tie.edge].as_py(), currency, lang)
        if tie.rel_type == "OFFICER" and "role" in props.column_names:
            return word("role", props["role"][tie.edge].as_py() or "OFFICER", lang)
        return word("role" if tie.rel_type == "LEGAL_REP" else "relation", tie.rel_type, lang)


def money_unit(lang: Language) -> str:
    """The unit :func:`money` counts in: ``万元`` or ``thousand CNY``."""
    return _MONEY_UNITS[lang][1]


def in_unit(amount: float | None, lang: Language) -> float | None:
    """An amount in CNY as a number of :func:`money_unit`, rounded to 0.1 (None if unknown)."""
    if amount is None or not np.isfinite(amount):
        return None
    return round(float(amount) / _MONEY_UNITS[lang][0], 1)


def money(amount: float | None, lang: Language) -> str:
    """An amount in CNY as a number of :func:`money_unit`, thousands separated: ``1,742``
    (万元) or ``17,420`` (thousand CNY); one decimal below 100; the unit is said once per
    panel, not on every number."""
    value = in_unit(amount, lang)
    if value is None:
        return "—"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def amount_label(amount: float | None, currency: str | None, lang: Language) -> str:
    """A guarantee's amount as given: CNY (or none given) in the panel's unit (:func:`money`),
    another currency in full with its code, ``1,000,000 USD``: never passed off as CNY."""
    if currency in (None, "CNY"):
        return money(amount, lang)
    if amount is None or not np.isfinite(amount):
        return "—"
    return f"{amount:,.0f} {currency}"


def foreign_amounts(amounts: dict[str, float]) -> str:
    """Amounts per currency, ``1,000,000 USD, 20,000 EUR``; empty when there are none."""
    return ", ".join(f"{amount:,.0f} {code}" for code, amount in sorted(amounts.items()))


def short_name(name: str, limit: int = 12) -> str:
    """A name for a node label: without its legal form, at most ``limit`` characters."""
    for form in _LEGAL_FORMS:
        if name.endswith(form) and len(name) > len(form):
            name = name[: -len(form)]
            break
    return name if len(name) <= limit else name[: limit - 1] + "…"


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
    label = short_name(index.name_of(node))
    names = [kind, *classes]
    if index.name_only[node]:
        names.append("name-only")
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
    shared: Sequence[SharedTie] = (),
) -> list[dict[str, object]]:
    """Elements of the ego graph: ``shown`` maps each expanded node id to how many new
    nodes its ties may add (the centre is always expanded), in the order they were expanded.
    Ties to nodes already drawn are always drawn; the others are counted in "and N more".
    The centre's suspected relations (``shared``) are dashed edges of their own kind, to
    firms added beside its other ties when not drawn yet.

    Nodes carry preset positions (:func:`layered_positions`): the centre in the middle, the
    ties pointing at it on the left and those it points at on the right, each expanded
    node's new ties in the next column beside it, so that an expansion grows outwards and
    keeps the order of the rest.
    """
    center_id = index.id_of(center)
    nodes: dict[str, dict[str, object]] = {
        center_id: node_element(index, center, grade_at(grades, center), ("center", "expanded"))
    }
    children: dict[str, list[str]] = {center_id: []}
    left: set[str] = set()
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
                if node_id == center_id and not tie.outgoing:
                    left.add(other_id)
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
    _add_shared(index, grades, center_id, shared, nodes, children, edges)
    positions = layered_positions(center_id, children, left)
    _place(nodes, positions, center_id, children)
    links: list[dict[str, object]] = [
        _link(edge_id, e.source, e.target, " · ".join(e.labels), e.rel_type, positions)
        for edge_id, e in edges.items()
    ]
    return [*nodes.values(), *links, *extra]


def _add_shared(
    index: GraphIndex,
    grades: np.ndarray | None,
    center_id: str,
    shared: Sequence[SharedTie],
    nodes: dict[str, dict[str, object]],
    children: dict[str, list[str]],
    edges: dict[str, _Edge],
) -> None:
    """The centre's suspected relations: a dashed edge each, to a firm added beside the
    centre's other ties when it is not drawn yet."""
    for suspected in shared:
        other_id = index.id_of(suspected.other)
        if other_id not in nodes:
            grade = grade_at(grades, suspected.other)
            nodes[other_id] = node_element(index, suspected.other, grade)
            children[center_id].append(other_id)
        edges[f"{suspected.contact}|{center_id}|{other_id}"] = _Edge(
            center_id, other_id, "SUSPECTED", [suspected.label], set()
        )


def _place(
    nodes: Mapping[str, dict[str, object]],
    positions: Mapping[str, tuple[float, float]],
    root: str,
    children: Mapping[str, list[str]],
) -> None:
    """Set each node's position, and put its label on the outer side (left of the nodes
    left of the root, right of the others), or below a node with ties drawn beyond it (on
    the outer side its label would lie across them), as the root's is."""
    for node_id, (x, y) in positions.items():
        if node_id not in nodes:
            continue
        node = nodes[node_id]
        node["position"] = {"x": round(x, 1), "y": round(y, 1)}
        if node_id == root:
            continue
        side = "side-left" if x < 0 else "side-right"
        if children.get(node_id):
            side = "side-below"
        node["classes"] = f"{node['classes']} {side}"


def _link(
    edge_id: str,
    source: str,
    target: str,
    label: str,
    classes: str,
    positions: Mapping[str, tuple[float, float]],
) -> dict[str, object]:
    """An edge whose label sits at its outer end (the end farther from the root), where
    the rows are apart, rather than in the middle, where the edges of a fan meet."""
    outer_is_source = abs(positions.get(source, (0.0, 0.0))[0]) > abs(
        positions.get(target, (0.0, 0.0))[0]
    )
    return {
        "data": {
            "id": edge_id,
            "source": source,
            "target": target,
            "label": label,
            "source_label": label if outer_is_source else "",
            "target_label": "" if outer_is_source else label,
        },
        "classes": classes,
    }


COLUMN = 260.0
"""Distance between the columns of a layered graph, in pixels at zoom 1: room for a node and
its label (12 characters)."""

ROW = 32.0
"""Distance between two rows: a node and its one-line label."""


def layered_positions(
    root: str, children: Mapping[str, list[str]], left: Collection[str] = ()
) -> dict[str, tuple[float, float]]:
    """A layered tree: ``root`` at the origin, each node in the column of its depth (to the
    right, or to the left for the root's children in ``left`` and everything below them),
    every leaf on its own row in tree order and each parent centred on its children. No two
    nodes of a column share a row, so labels beside the nodes never overlap. O(nodes)."""
    out = {root: (0.0, 0.0)}
    claimed = {root}
    first = children.get(root, [])
    sides = ((1.0, [c for c in first if c not in left]), (-1.0, [c for c in first if c in left]))
    for sign, tops in sides:
        placed: dict[str, tuple[int, float]] = {}
        kids_of: dict[str, list[str]] = {}
        rows = 0
        # Depth first, children in order, iteratively (no recursion limit on long paths).
        stack: list[tuple[str, int, bool]] = [(c, 1, False) for c in reversed(tops)]
        while stack:
            node, depth, done = stack.pop()
            if done:
                ys = [placed[c][1] for c in kids_of[node] if c in placed]
                placed[node] = (depth, (ys[0] + ys[-1]) / 2)
                continue
            if node in claimed:
                continue  # reached twice: drawn where it was reached first
            claimed.add(node)
            kids = [c for c in children.get(node, []) if c not in claimed]
            if not kids:
                placed[node] = (depth, rows * ROW)
                rows += 1
                continue
            kids_of[node] = kids
            stack.append((node, depth, True))
            stack.extend((c, depth + 1, False) for c in reversed(kids))
        middle = (rows - 1) * ROW / 2
        for node, (depth, y) in placed.items():
            out[node] = (sign * depth * COLUMN, y - middle)
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
    ``on-path``, laid out as a layered tree from the root (at the left)."""
    nodes: dict[str, dict[str, object]] = {}
    edges: dict[str, tuple[str, str, str, bool]] = {}  # id → source, target, type, marked
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
            was = edges.get(edge_id, (source, target, rel_type, False))
            edges[edge_id] = (source, target, rel_type, was[3] or marked)
    positions = layered_positions(root, children)
    _place(nodes, positions, root, children)
    links = [
        _link(
            edge_id,
            source,
            target,
            word("relation", rel_type, lang),
            f"{rel_type} on-path" if marked else rel_type,
            positions,
        )
        for edge_id, (source, target, rel_type, marked) in edges.items()
    ]
    return [*nodes.values(), *links]
