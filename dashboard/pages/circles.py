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

from dashboard.components import card, column, grid, notice
from dashboard.data import BoardData
from dashboard.graph import GRADE_COLOURS, money, node_element, stylesheet
from dashboard.i18n import Language, text
from risk.features.guarantees import debtrank


def circle_rows(data: BoardData, day: date, lang: Language) -> list[dict[str, Any]]:
    """One grid row per circle, largest exposure first (at most ``grid_rows``)."""
    rows = data.circle_summary(day).slice(0, data.config.grid_rows).to_pylist()
    for row in rows:
        row["row_id"] = str(row["rank"])
        row["amount_text"] = money(row["amount"], lang)
        row["amount"] = round(row["amount"])
    return rows


def circle_elements(
    data: BoardData, day: date, rank: int, lang: Language, distress: np.ndarray | None = None
) -> list[dict[str, object]]:
    """Circle number ``rank`` (1 = largest exposure): members coloured by grade (or by
    distress after a stress run), guarantees labelled with their amounts, defaults in red."""
    found = data.circles(day)
    circle = found.circles[rank - 1]
    graph = data.graph(day)
    grades = data.grades(day)
    members = circle.members
    elements: list[dict[str, object]] = []
    for k, member in enumerate(members.tolist()):
        grade = str(grades.grade[member]) if grades else None
        node = node_element(graph, member, grade or None)
        if distress is not None:
            level = float(distress[k])
            node["data"]["label"] = f"{node['data']['label']} {level:.0%}"  # type: ignore[index]
            if level > 0:
                node["classes"] = f"{node['classes']} stressed"
                node["style"] = {"background-color": _heat(level)}
        elements.append(node)
    k = rank - 1
    inside = np.flatnonzero(
        (found.rank_of[found.graph.src] == k) & (found.rank_of[found.graph.dst] == k)
    )
    for e in inside.tolist():
        source, target = int(found.graph.src[e]), int(found.graph.dst[e])
        classes = "GUARANTEES defaulted" if found.graph.defaulted[e] else "GUARANTEES"
        elements.append(
            {
                "data": {
                    "id": f"g|{e}",
                    "source": graph.id_of(source),
                    "target": graph.id_of(target),
                    "label": money(float(found.graph.amount[e]), lang),
                },
                "classes": classes,
            }
        )
    return elements


def _heat(level: float) -> str:
    """White to dark red as distress goes from 0 to 1."""
    shade = int(235 - 180 * min(max(level, 0.0), 1.0))
    return f"rgb(220, {shade}, {shade})"


@dataclass(frozen=True)
class Stress:
    """DebtRank after one member defaults: distress of the members, losses in and out."""

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
    outside &= h > 0
    return Stress(h[members], loss[members], int(outside.sum()), float(loss[outside].sum()))


def stress_block(
    data: BoardData, day: date, rank: int, result: Stress, lang: Language
) -> list[Any]:
    """Stress figures and the members' distress table."""
    graph = data.graph(day)
    members = data.circles(day).circles[rank - 1].members
    rows = [
        {
            "id": graph.id_of(int(m)),
            "name": graph.name_of(int(m)),
            "distress": f"{result.distress[k]:.0%}",
            "loss": money(float(result.member_losses[k]), lang),
        }
        for k, m in enumerate(members.tolist())
    ]
    rows.sort(key=lambda r: -float(r["distress"].rstrip("%")))
    return [
        html.Div(
            [
                card(text("total_loss", lang), money(float(result.member_losses.sum()), lang)),
                card(
                    text("outside_hit", lang),
                    f"{result.outside_hit:,}",
                    money(result.outside_loss, lang),
                ),
            ],
            className="cards",
        ),
        grid(
            "stress-grid",
            rows,
            [column("name", lang, minWidth=200), column("distress", lang), column("loss", lang)],
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
                    column("rank", lang, "#", maxWidth=70),
                    column("members", lang, maxWidth=100),
                    column("guarantees_n", lang, maxWidth=110),
                    column(
                        "amount",
                        lang,
                        sort="desc",
                        valueFormatter={"function": "d3.format(',')(params.value)"},
                    ),
                    column("defaulted", lang, maxWidth=100),
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
                                id="circle-title",
                                children=f"#{chosen} · {rows[chosen - 1]['amount_text']}",
                            ),
                            cyto.Cytoscape(
                                id="circle-graph",
                                elements=circle_elements(data, day, chosen, lang),
                                layout={"name": "circle", "animate": False},
                                stylesheet=[*stylesheet(), *_circle_styles()],
                                style={"width": "100%", "height": "480px"},
                            ),
                        ],
                        className="column",
                    ),
                    html.Div(
                        [
                            html.H3(text("stress", lang)),
                            dcc.Dropdown(
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


def _circle_styles() -> list[dict[str, object]]:
    return [
        {
            "selector": ".defaulted",
            "style": {
                "line-color": GRADE_COLOURS["D"],
                "target-arrow-color": GRADE_COLOURS["D"],
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
        amount = money(data.circles(when).circles[rank - 1].amount, lang)
        return (
            rank,
            f"#{rank} · {amount}",
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
