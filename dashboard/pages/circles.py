"""Guarantee circles (担保圈): every circle ranked by exposure; one circle drawn with the amounts
on its guarantees and its members coloured by grade; and the DebtRank stress result when a
chosen member defaults (risk/features/guarantees.py), spread over the whole guarantee graph.

All circles are found once per date by the data manager; a circle's drawing and its stress
run touch only that circle and one pass of DebtRank (milliseconds, even at city scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import dash_cytoscape as cyto
import numpy as np
from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.components import card, column, count_column, dropdown, grid, notice
from dashboard.data import BoardData
from dashboard.graph import (
    amount_label,
    foreign_amounts,
    in_unit,
    money,
    money_unit,
    node_element,
)
from dashboard.graph_style import DEFAULTED, legend, stylesheet
from dashboard.i18n import Language, text
from risk.features.guarantees import debtrank


def circle_rows(data: BoardData, day: date, lang: Language) -> list[dict[str, Any]]:
    """One grid row per circle, largest exposure first (at most ``grid_rows``)."""
    rows = data.circle_summary(day).slice(0, data.config.grid_rows).to_pylist()
    for row in rows:
        row["row_id"] = str(row["rank"])
        row["amount"] = in_unit(row["amount"], lang)
    return rows


def ring_order(members: np.ndarray, src: np.ndarray, dst: np.ndarray) -> list[int]:
    """The members in an order that follows their guarantees: from the first member, on to
    a guaranteed member not yet placed, else (a dead end) to the nearest unplaced member by
    guarantees. A circle of k firms guaranteeing one another in turn comes out as that ring,
    so that its guarantees are the ring's arcs, not chords. O(members + guarantees)."""
    out_of: dict[int, list[int]] = {int(m): [] for m in members.tolist()}
    for a, b in zip(src.tolist(), dst.tolist(), strict=True):
        if a in out_of and b in out_of and a != b:
            out_of[a].append(b)
    for targets in out_of.values():
        targets.sort()
    order: list[int] = []
    placed: set[int] = set()
    node = min(out_of) if out_of else None
    while node is not None:
        order.append(node)
        placed.add(node)
        nxt = next((b for b in out_of[node] if b not in placed), None)
        if nxt is None:
            # Walk back along the ring for a member with an unplaced guarantee.
            nxt = next(
                (b for a in reversed(order) for b in out_of[a] if b not in placed),
                next((m for m in sorted(out_of) if m not in placed), None),
            )
        node = nxt
    return order


RING_GAP = 110.0
"""Arc between neighbouring members of a drawn circle, in pixels at zoom 1."""


def ring_positions(order: list[int]) -> dict[int, tuple[float, float]]:
    """Members evenly on a circle in ``order``, clockwise from the top."""
    n = len(order)
    radius = max(140.0, n * RING_GAP / (2 * np.pi))
    return {
        member: (
            radius * float(np.cos(-np.pi / 2 + 2 * np.pi * k / n)),
            radius * float(np.sin(-np.pi / 2 + 2 * np.pi * k / n)),
        )
        for k, member in enumerate(order)
    }


def circle_elements(
    data: BoardData, day: date, rank: int, lang: Language, distress: np.ndarray | None = None
) -> list[dict[str, object]]:
    """Circle number ``rank`` (1 = largest exposure) as a ring: members on a circle in the
    order of their guarantees (:func:`ring_order`), coloured by grade (or by distress after
    a stress run), guarantees labelled with their amounts in :func:`money_unit` (another
    currency as given, with its code), defaults in red."""
    found = data.circles(day)
    circle = found.circles[rank - 1]
    graph = data.graph(day)
    grades = data.grades(day)
    members = circle.members
    k_of = found.rank_of
    inside = np.flatnonzero(
        (k_of[found.graph.src] == rank - 1) & (k_of[found.graph.dst] == rank - 1)
    )
    positions = ring_positions(
        ring_order(members, found.graph.src[inside], found.graph.dst[inside])
    )
    elements: list[dict[str, object]] = []
    for k, member in enumerate(members.tolist()):
        grade = str(grades.grade[member]) if grades else None
        node = node_element(graph, member, grade or None)
        x, y = positions[member]
        node["position"] = {"x": round(x, 1), "y": round(y, 1)}
        side = "side-top" if y < -abs(x) else "side-bottom" if y > abs(x) else None
        side = side or ("side-right" if x >= 0 else "side-left")
        node["classes"] = f"{node['classes']} {side}"
        if distress is not None:
            level = float(distress[k])
            shown = _percent(level)
            node["data"]["label"] = f"{node['data']['label']} {shown}"  # type: ignore[index]
            if level > 0:
                node["classes"] = f"{node['classes']} stressed"
                node["style"] = {"background-color": _heat(level)}
        elements.append(node)
    for e in inside.tolist():
        source, target = int(found.graph.src[e]), int(found.graph.dst[e])
        classes = "GUARANTEES defaulted" if found.graph.defaulted[e] else "GUARANTEES"
        elements.append(
            {
                "data": {
                    "id": f"g|{e}",
                    "source": graph.id_of(source),
                    "target": graph.id_of(target),
                    "label": amount_label(
                        float(found.graph.original[e]), found.graph.currency_of(e), lang
                    ),
                },
                "classes": classes,
            }
        )
    return elements


def _percent(level: float) -> str:
    """A distress as a percentage; "—" when unknown (it depends on an amount without a rate
    to CNY, see :func:`~risk.features.guarantees.debtrank`)."""
    return "—" if np.isnan(level) else f"{level:.0%}"


def _heat(level: float) -> str:
    """White to dark red as distress goes from 0 to 1."""
    shade = int(235 - 180 * min(max(level, 0.0), 1.0))
    return f"rgb(220, {shade}, {shade})"


@dataclass(frozen=True)
class Stress:
    """DebtRank after one member defaults: distress of the members, losses in and out.
    A distress that depends on an amount without a rate to CNY is NaN, and so is a loss
    that adds one up (``outside_loss``): unknown, never counted as nothing."""

    distress: np.ndarray
    member_losses: np.ndarray
    outside_hit: int
    outside_loss: float


def stress(data: BoardData, day: date, rank: int, defaulting: str) -> Stress:
    """Default ``defaulting`` (an enterprise id of circle ``rank``) and run DebtRank on the
    whole guarantee graph: a guarantor loses the guaranteed amount relative to its capital."""
    found = data.circles(day)
    members = found.circles[rank - 1].members
    start = data.graph(day).index_of(defaulting)
    distressed = np.zeros(found.graph.n, dtype=bool)
    if start is not None:
        distressed[start] = True
    h = debtrank(found.graph, found.capital, distressed)
    capital = np.nan_to_num(found.capital, nan=0.0)
    loss = h * capital
    outside = np.ones(found.graph.n, dtype=bool)
    outside[members] = False
    unknown = outside & np.isnan(h)
    outside &= h > 0
    outside_loss = np.nan if unknown.any() else float(loss[outside].sum())
    return Stress(h[members], loss[members], int(outside.sum()), outside_loss)


def stress_block(
    data: BoardData, day: date, rank: int, result: Stress, lang: Language
) -> list[Any]:
    """Stress figures and the members' distress table."""
    graph = data.graph(day)
    members = data.circles(day).circles[rank - 1].members
    order = np.argsort(-result.distress, kind="stable")
    rows = [
        {
            "id": graph.id_of(int(members[k])),
            "name": graph.name_of(int(members[k])),
            "distress": _percent(float(result.distress[k])),
            "loss": in_unit(float(result.member_losses[k]), lang),
        }
        for k in order.tolist()
    ]
    return [
        html.Div(
            [
                card(
                    text("total_loss", lang, unit=money_unit(lang)),
                    money(float(result.member_losses.sum()), lang),
                ),
                card(
                    text("outside_hit", lang),
                    f"{result.outside_hit:,}",
                    text(
                        "outside_loss",
                        lang,
                        amount=money(result.outside_loss, lang),
                        unit=money_unit(lang),
                    ),
                ),
            ],
            className="cards",
        ),
        grid(
            "stress-grid",
            rows,
            [
                column("name", lang, minWidth=200),
                column("distress", lang),
                column(
                    "loss",
                    lang,
                    headerName=text("loss", lang, unit=money_unit(lang)),
                    valueFormatter={"function": "d3.format(',.1~f')(params.value)"},
                    filter="agNumberColumnFilter",
                ),
            ],
            lang,
            row_id="id",
            height=260,
        ),
    ]


def member_options(data: BoardData, day: date, rank: int) -> list[dict[str, str]]:
    """The members of circle ``rank`` as dropdown options."""
    graph = data.graph(day)
    members = data.circles(day).circles[rank - 1].members
    return [
        {"label": graph.name_of(int(m)), "value": graph.id_of(int(m))} for m in members.tolist()
    ]


def render(data: BoardData, day: date, lang: Language, rank: int | None) -> html.Div:
    """The circles page; circle ``rank`` drawn when given (default the first)."""
    rows = circle_rows(data, day, lang)
    if not rows:
        return html.Div([html.H2(text("nav_circles", lang)), notice(text("no_circles", lang))])
    chosen = rank if rank and 1 <= rank <= len(data.circles(day).circles) else 1
    return html.Div(
        [
            html.H2(text("circles", lang)),
            html.P(text("pick_circle", lang), className="hint"),
            grid(
                "circles-grid",
                rows,
                [
                    count_column("rank", lang, "#", maxWidth=70),
                    count_column("members", lang, maxWidth=100),
                    count_column("guarantees_n", lang, maxWidth=110),
                    column(
                        "amount",
                        lang,
                        sort="desc",
                        headerName=text("amount", lang, unit=money_unit(lang)),
                        valueFormatter={"function": "d3.format(',.1~f')(params.value)"},
                        filter="agNumberColumnFilter",
                        minWidth=150,
                    ),
                    column("unconverted", lang, minWidth=120),
                    count_column("defaulted", lang, maxWidth=100),
                    column("worst_grade", lang, maxWidth=110),
                    column("largest", lang, "name", minWidth=200),
                ],
                lang,
                row_id="row_id",
                height=300,
            ),
            dcc.Store(id="circle-rank", data=chosen),
            html.Div(
                [
                    html.Div(
                        [
                            html.H3(
                                id="circle-title", children=circle_title(data, day, chosen, lang)
                            ),
                            legend(lang, ("GUARANTEES",), ("defaulted", "money")),
                            cyto.Cytoscape(
                                id="circle-graph",
                                elements=circle_elements(data, day, chosen, lang),
                                layout={"name": "preset", "fit": True, "padding": 40},
                                stylesheet=[*stylesheet(), *_circle_styles()],
                                style={"width": "100%", "height": "520px"},
                                minZoom=0.1,
                                maxZoom=1.5,  # a small graph is not blown up to fill the panel
                            ),
                        ],
                        className="column",
                    ),
                    html.Div(
                        [
                            html.H3(text("stress", lang)),
                            dropdown(
                                lang,
                                id="circle-default",
                                options=member_options(data, day, chosen),
                                placeholder=text("default_member", lang),
                            ),
                            html.Div(id="circle-stress"),
                        ],
                        className="column",
                    ),
                ],
                className="two-columns",
            ),
        ]
    )


def circle_title(data: BoardData, day: date, rank: int, lang: Language) -> str:
    """``#1 · 担保总额 9,001 万元``: the circle's number and its guarantees in the panel's unit,
    then what has no rate to CNY, ``+ 1,000 USD 未折算（无汇率）``."""
    circle = data.circles(day).circles[rank - 1]
    amount = money(circle.amount, lang)
    title = text("circle_title", lang, rank=rank, amount=amount, unit=money_unit(lang))
    if circle.unconverted:
        title += " " + text("not_converted", lang, amounts=foreign_amounts(circle.unconverted))
    return title


def _circle_styles() -> list[dict[str, object]]:
    """Amounts along the arrows; labels outside the ring; defaults in red."""
    return [
        {"selector": "edge", "style": {"text-rotation": "autorotate", "font-size": 11}},
        {
            "selector": ".side-top",
            "style": {"text-valign": "top", "text-halign": "center", "text-margin-y": -4},
        },
        {
            "selector": ".side-bottom",
            "style": {"text-valign": "bottom", "text-halign": "center", "text-margin-y": 4},
        },
        {
            "selector": ".defaulted",
            "style": {
                "line-color": DEFAULTED,
                "target-arrow-color": DEFAULTED,
                "line-style": "solid",
                "width": 3,
            },
        },
        {"selector": ".stressed", "style": {"border-width": 2, "border-color": "#b71c1c"}},
    ]


def register(app: Dash, data: BoardData) -> None:
    """Wire the circles page's callbacks."""

    @app.callback(
        Output("circle-rank", "data"),
        Output("circle-title", "children"),
        Output("circle-graph", "elements"),
        Output("circle-default", "options"),
        Output("circle-default", "value"),
        Output("circle-stress", "children"),
        Input("circles-grid", "cellClicked"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _pick(cell: dict[str, Any] | None, day: str, lang: Language) -> tuple[Any, ...]:
        row = (cell or {}).get("rowId")
        if row is None:
            return (no_update,) * 6
        when, rank = date.fromisoformat(day), int(row)
        return (
            rank,
            circle_title(data, when, rank, lang),
            circle_elements(data, when, rank, lang),
            member_options(data, when, rank),
            None,
            [],
        )

    @app.callback(
        Output("circle-graph", "elements", allow_duplicate=True),
        Output("circle-stress", "children", allow_duplicate=True),
        Input("circle-default", "value"),
        State("circle-rank", "data"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _stress(member: str | None, rank: int, day: str, lang: Language) -> tuple[Any, ...]:
        when = date.fromisoformat(day)
        if not member:
            return circle_elements(data, when, rank, lang), []
        result = stress(data, when, rank, member)
        return (
            circle_elements(data, when, rank, lang, result.distress),
            stress_block(data, when, rank, result, lang),
        )
