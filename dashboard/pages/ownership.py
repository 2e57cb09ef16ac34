"""Ownership seen through (股权穿透): an enterprise's holders (or holdings) as a Sankey to a
few layers, at most N per node and the rest as one "and N more" node, so that it stays
readable at hundreds of holders; the actual controller and its chain highlighted, and the
beneficial owners listed (risk/ownership_tree.py, docs/workbench.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html

from dashboard.components import dropdown, notice, styled
from dashboard.data import BoardData
from dashboard.i18n import Language, text
from dashboard.pages.enterprise import register_search, search_options
from risk.ownership_tree import (
    DEFAULT_CHILDREN,
    DEFAULT_DEPTH,
    Controller,
    Direction,
    OwnershipTree,
    TreeNode,
    actual_controller,
    ownership_tree,
)
from risk.snapshot_index import SnapshotIndex

DEPTHS = (1, 2, 3, 4, 5)
CHILDREN = (5, 10, 20)
COLOURS = {
    "root": "#37474f",
    "enterprise": "#1e88e5",
    "person": "#43a047",
    "controller": "#e53935",
    "more": "#b0bec5",
    "cycle": "#ffb300",
}
LINK = "rgba(120, 144, 156, 0.35)"
CHAIN_LINK = "rgba(229, 57, 53, 0.55)"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@dataclass
class _Sankey:
    """Nodes and links of a Sankey being drawn from a tree (see :func:`tree_figure`)."""

    up: bool
    labels: list[str] = field(default_factory=list)
    colours: list[str] = field(default_factory=list)
    hovers: list[str] = field(default_factory=list)
    source: list[int] = field(default_factory=list)
    target: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    link_colours: list[str] = field(default_factory=list)
    leaves: int = 0

    def add(self, label: str, colour: str, hover: str) -> int:
        self.labels.append(label)
        self.colours.append(colour)
        self.hovers.append(hover)
        return len(self.labels) - 1

    def link(self, parent: int, child: int, width: float, colour: str) -> None:
        # Up, the stakes flow from the holders into the firm: holders on the left.
        self.source.append(child if self.up else parent)
        self.target.append(parent if self.up else child)
        self.value.append(max(width, 1e-4))
        self.link_colours.append(colour)

    def figure(self) -> go.Figure:
        return go.Figure(
            go.Sankey(
                arrangement="snap",
                node={
                    "label": self.labels,
                    "color": self.colours,
                    "customdata": self.hovers,
                    "hovertemplate": "%{customdata}<extra></extra>",
                    "pad": 8,
                    "thickness": 14,
                },
                link={
                    "source": self.source,
                    "target": self.target,
                    "value": self.value,
                    "color": self.link_colours,
                    "hovertemplate": "%{value:.1%}<extra></extra>",
                },
            )
        )


def tree_figure(
    index: SnapshotIndex, tree: OwnershipTree, controller: Controller, lang: Language
) -> go.Figure:
    """The tree as a Sankey: one node per place in the tree (a holder met on two branches
    is drawn twice), link widths the share of the root carried (the product of the stakes
    down to it), the "and N more" of a node as one grey node, the controller and its chain
    in red, a cross-holding met again in amber."""
    up = tree.direction == "up"
    drawn = _Sankey(up)
    chain = {(s.holder, s.enterprise) for s in controller.chain}

    def colour_of(child: TreeNode) -> str:
        if child.stop == "cycle":
            return COLOURS["cycle"]
        if child.node == controller.node:
            return COLOURS["controller"]
        return COLOURS["person" if index.is_person(child.node) else "enterprise"]

    def walk(node: TreeNode, at: int, carried: float) -> None:
        for child in node.children:
            name = str(index.names[child.node] or index.ids[child.node])
            width = carried * (child.stake or 0.0)
            hover = text(
                "ownership_hover",
                lang,
                name=name,
                id="" if index.is_person(child.node) else str(index.ids[child.node]),
                stake=_percent(child.stake),
                integrated=_percent(child.integrated),
            )
            mark = " ↺" if child.stop == "cycle" else ""
            k = drawn.add(f"{name} {_percent(child.stake)}{mark}", colour_of(child), hover)
            pair = (child.node, node.node) if up else (node.node, child.node)
            drawn.link(at, k, width, CHAIN_LINK if pair in chain else LINK)
            drawn.leaves += not child.children and not child.more
            walk(child, k, width)
        if node.more:
            more = text("and_more_stake", lang, n=f"{node.more:,}", stake=_percent(node.more_stake))
            drawn.link(at, drawn.add(more, COLOURS["more"], more), carried * node.more_stake, LINK)
            drawn.leaves += 1

    root_name = str(index.names[tree.root.node])
    walk(tree.root, drawn.add(root_name, COLOURS["root"], root_name), 1.0)
    title = text("ownership_up" if up else "ownership_down", lang)
    return styled(drawn.figure(), title, height=min(1600, max(360, 120 + 24 * drawn.leaves)))


def controller_block(index: SnapshotIndex, controller: Controller, lang: Language) -> html.Div:
    """The actual controller and its chain, or why there is none."""
    title = html.Div(text("controller", lang), className="card-title")
    basis = controller.reason(lang)
    if controller.node is None:
        return html.Div([title, html.Div(basis, id="ownership-controller")], className="card")
    names = [str(index.names[controller.chain[0].holder])] if controller.chain else []
    names += [f"{s.stake:.1%} → {index.names[s.enterprise]}" for s in controller.chain]
    return html.Div(
        [
            title,
            html.Div(
                [html.B(str(index.names[controller.node])), f"  {basis}"],
                id="ownership-controller",
                className="controller",
            ),
            html.Div(" → ".join(names) if names else "", className="muted", id="control-chain"),
        ],
        className="card",
    )


def owners_block(index: SnapshotIndex, row: int, lang: Language) -> html.Div:
    """The beneficial owners (≥ 25 %), with their direct and integrated stakes."""
    owners = index.beneficial_owners(row)
    title = html.Div(text("beneficial_owners", lang), className="card-title")
    if not owners:
        return html.Div([title, html.Div(text("no_beneficial_owners", lang))], className="card")
    items = [
        html.Li(
            f"{index.names[s.holder]}  {_percent(s.integrated)}"
            + (f" ({text('direct', lang)} {_percent(s.direct)})" if s.direct else "")
        )
        for s in owners
    ]
    return html.Div([title, html.Ul(items, id="beneficial-owners")], className="card")


def view(
    data: BoardData,
    day: date,
    enterprise_id: str,
    direction: Direction,
    depth: int,
    k: int,
    lang: Language,
) -> list[Any]:
    """The figure, the controller and the beneficial owners of one enterprise."""
    index = data.index(day)
    row = index.enterprise(enterprise_id)
    if row is None:
        return [notice(text("no_enterprise", lang), "error")]
    tree = ownership_tree(index, row, direction, depth, k)
    controller = actual_controller(index, row)
    blocks: list[Any] = [
        html.Div(
            [controller_block(index, controller, lang), owners_block(index, row, lang)],
            className="cards",
        )
    ]
    if not tree.root.children:
        empty = "no_holders" if direction == "up" else "no_holdings"
        return [*blocks, notice(text(empty, lang))]
    figure = tree_figure(index, tree, controller, lang)
    graph = dcc.Graph(id="ownership-figure", figure=figure, config={"displayModeBar": False})
    return [*blocks, graph]


def _choice(id_: str, values: tuple[int, ...], value: int) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=id_,
        options=list(values),
        value=value,
        clearable=False,
        searchable=False,
        style={"width": "80px"},
    )


def render(
    data: BoardData, day: date, lang: Language, enterprise_id: str | None, direction: Direction
) -> html.Div:
    """The ownership page: a search box, the up/down switch and layer controls, the view."""
    search = dropdown(
        lang,
        id="ownership-search",
        options=search_options(data, day, None, lang, enterprise_id),
        value=enterprise_id,
        placeholder=text("search", lang),
        searchable=True,
        clearable=False,
    )
    title = html.H2(text("nav_ownership", lang))
    if not enterprise_id:
        return html.Div([title, search])
    controls = html.Div(
        [
            dcc.RadioItems(
                id="ownership-direction",
                options=[
                    {"label": text("ownership_up", lang), "value": "up"},
                    {"label": text("ownership_down", lang), "value": "down"},
                ],
                value=direction,
                inline=True,
            ),
            html.Span(text("ownership_depth", lang), className="muted"),
            _choice("ownership-depth", DEPTHS, DEFAULT_DEPTH),
            html.Span(text("ownership_children", lang), className="muted"),
            _choice("ownership-children", CHILDREN, DEFAULT_CHILDREN),
        ],
        className="filters",
        style={"display": "flex", "gap": "12px", "alignItems": "center"},
    )
    body = view(data, day, enterprise_id, direction, DEFAULT_DEPTH, DEFAULT_CHILDREN, lang)
    return html.Div(
        [
            title,
            search,
            dcc.Store(id="ownership-center", data=enterprise_id),
            controls,
            html.Div(body, id="ownership-view"),
        ]
    )


def register(app: Dash, data: BoardData) -> None:
    """Wire the ownership page's callbacks."""

    register_search(app, data, "ownership-search", "/ownership")

    @app.callback(
        Output("ownership-view", "children"),
        Input("ownership-direction", "value"),
        Input("ownership-depth", "value"),
        Input("ownership-children", "value"),
        State("ownership-center", "data"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _redraw(
        direction: Direction, depth: int, k: int, center: str, day: str, lang: Language
    ) -> list[Any]:
        return view(data, date.fromisoformat(day), center, direction, depth, k, lang)
