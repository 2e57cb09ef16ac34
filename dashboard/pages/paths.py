"""Paths (路径): pick two enterprises and see the paths between them (risk/paths.py) drawn,
nodes placed by their step from the first, edges coloured by relation, suspected relations
dashed with the shared value (phones and e-mails masked) and how many firms share it, and
every step listed below."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html

from dashboard.components import dropdown, notice, styled
from dashboard.data import BoardData
from dashboard.graph import GraphIndex
from dashboard.graph_style import EDGE_COLOURS, PERSON, SUSPECTED, UNGRADED
from dashboard.i18n import Language, text
from dashboard.pages.enterprise import register_search, search_options
from risk.paths import DEFAULT_KINDS, MAX_PATH_HOPS, PATH_KINDS, SHARED_TYPES, PathStep, TiePath
from risk.wording import label

DEFAULT_HOPS = 4


def step_words(step: PathStep, lang: Language) -> str:
    """What a step says: the relation, then its role, stake, amount, dates or shared value."""
    said = [label("relation", step.relation, lang)]
    props = step.properties
    if "role" in props:
        said.append(label("role", str(props["role"]), lang))
    if "share" in props:
        said.append(f"{float(props['share']):.1%}")
    if "amount" in props:
        said.append(f"{float(props['amount']):,.0f} {props.get('currency', '')}".strip())
    if "value" in props:
        said.append(str(props["value"]))
        said.append(text("shared_by", lang, n=props["firms"]))
        if props["weak"]:
            said.append(text("weak_evidence", lang))
    if "valid_from" in props or "valid_to" in props:
        said.append(f"{props.get('valid_from', '…')}–{props.get('valid_to', '')}")
    return " · ".join(said)


def paths_figure(paths: list[TiePath], graph: GraphIndex, lang: Language) -> go.Figure:
    """One network of all paths: a node at its step from the source (the target last),
    the paths one above the other; edges by relation, suspected ones dashed and labelled."""
    last = max(p.length for p in paths)
    at: dict[int, tuple[float, float]] = {}
    for row, path in enumerate(paths):
        for hop, node in enumerate(path.nodes):
            if node not in at:
                x = last if hop == path.length else hop
                at[node] = (float(x), 0.0 if hop in (0, path.length) else -float(row))
    fig = go.Figure()
    drawn: set[str] = set()
    for path in paths:
        for (a, b), step in zip(itertools.pairwise(path.nodes), path.steps, strict=True):
            (x0, y0), (x1, y1) = at[a], at[b]
            suspected = step.relation in SHARED_TYPES
            colour = SUSPECTED if suspected else EDGE_COLOURS.get(step.relation, UNGRADED)
            fig.add_scatter(
                x=[x0, x1],
                y=[y0, y1],
                mode="lines",
                line={
                    "color": colour,
                    "width": 3,
                    "dash": "dash" if suspected or step.relation == "GUARANTEES" else "solid",
                },
                name=label("relation", step.relation, lang),
                legendgroup=step.relation,
                showlegend=step.relation not in drawn,
                hoverinfo="skip",
            )
            drawn.add(step.relation)
            fig.add_scatter(
                x=[(x0 + x1) / 2],
                y=[(y0 + y1) / 2],
                mode="text",
                text=[step_words(step, lang)],
                textposition="top center",
                textfont={"size": 11, "color": colour},
                showlegend=False,
                hoverinfo="text",
            )
    nodes = list(at)
    persons = [n >= graph.n_enterprises for n in nodes]
    fig.add_scatter(
        x=[at[n][0] for n in nodes],
        y=[at[n][1] for n in nodes],
        mode="markers+text",
        text=[graph.name_of(n) for n in nodes],
        textposition="bottom center",
        marker={
            "size": 18,
            "color": [PERSON if p else UNGRADED for p in persons],
            "symbol": ["circle" if p else "square" for p in persons],
        },
        showlegend=False,
        hoverinfo="text",
    )
    fig.update_xaxes(visible=False, range=[-0.5, last + 0.5])
    fig.update_yaxes(visible=False, range=[-len(paths) + 0.4, 0.6])
    fig.update_layout(legend={"orientation": "h"})
    return styled(fig, text("paths_found", lang, n=len(paths)), height=220 + 110 * len(paths))


def steps_list(paths: list[TiePath], graph: GraphIndex, lang: Language) -> html.Ol:
    """Every path as its nodes and the steps between them, in walking order."""
    items = []
    for number, path in enumerate(paths, 1):
        lines: list[Any] = [html.Li(graph.name_of(path.nodes[0]))]
        for node, step in zip(path.nodes[1:], path.steps, strict=True):
            arrow = "→" if step.forward else "←"
            lines.append(html.Li(f"{arrow} [{step_words(step, lang)}] {graph.name_of(node)}"))
        title = text("path_steps", lang, n=number, steps=path.length)
        items.append(html.Li([html.Span(title), html.Ul(lines, className="path-steps")]))
    return html.Ol(items, id="paths-list")


def result(
    data: BoardData,
    day: date,
    lang: Language,
    source: str | None,
    target: str | None,
    kinds: list[str],
    hops: int,
) -> list[Any]:
    """The figure and the list of steps for two enterprises, or what is missing."""
    if not source or not target:
        return [notice(text("paths_pick", lang))]
    a, b = data.row_of(day, source), data.row_of(day, target)
    if a is None or b is None:
        return [notice(text("no_enterprise", lang), "error")]
    found = data.index(day).paths.paths(a, b, hops, [k for k in kinds if k in PATH_KINDS])
    if not found:
        return [notice(text("paths_none", lang, hops=hops))]
    graph = data.graph(day)
    return [
        dcc.Graph(
            id="paths-figure",
            figure=paths_figure(found, graph, lang),
            config={"displayModeBar": False},
        ),
        steps_list(found, graph, lang),
    ]


def render(
    data: BoardData, day: date, lang: Language, source: str | None, target: str | None
) -> html.Div:
    """The paths page: two searchable enterprise boxes, the kinds and steps, the paths."""
    ends = [
        dropdown(
            lang,
            id=f"paths-{end}",
            options=search_options(data, day, None, lang, given),
            value=given,
            placeholder=text(f"paths_{end}", lang),
            searchable=True,
        )
        for end, given in (("source", source), ("target", target))
    ]
    return html.Div(
        [
            html.H2(text("nav_paths", lang)),
            html.Div(ends, className="two-columns"),
            dcc.Checklist(
                id="paths-kinds",
                options=[{"label": text(f"kind_{k}", lang), "value": k} for k in PATH_KINDS],
                value=list(DEFAULT_KINDS),
                inline=True,
            ),
            html.Div(text("paths_hops", lang)),
            dcc.Slider(
                id="paths-hops",
                min=1,
                max=MAX_PATH_HOPS,
                step=1,
                value=DEFAULT_HOPS,
                marks={h: str(h) for h in range(1, MAX_PATH_HOPS + 1)},
            ),
            html.Div(
                result(data, day, lang, source, target, list(DEFAULT_KINDS), DEFAULT_HOPS),
                id="paths-result",
            ),
        ]
    )


def register(app: Dash, data: BoardData) -> None:
    """Wire the paths page's callbacks: each box's search, and the paths on any change."""
    for end in ("source", "target"):
        register_search(app, data, f"paths-{end}")

    @app.callback(
        Output("paths-result", "children"),
        Input("paths-source", "value"),
        Input("paths-target", "value"),
        Input("paths-kinds", "value"),
        Input("paths-hops", "value"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _paths(
        source: str | None,
        target: str | None,
        kinds: list[str] | None,
        hops: int | None,
        day: str,
        lang: Language,
    ) -> Any:
        return result(
            data, date.fromisoformat(day), lang, source, target, kinds or [], hops or DEFAULT_HOPS
        )
