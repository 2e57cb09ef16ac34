"""Overview (总览): grades by region and industry, the grade mix month by month, records in
force, and the latest warnings."""

from __future__ import annotations

from datetime import date
from typing import Any

import plotly.graph_objects as go
import pyarrow as pa
from dash import dcc, html

from dashboard.components import card, column, grade_colours, grid, notice, styled
from dashboard.data import RECORD_KINDS, BoardData, Grades
from dashboard.i18n import Language, industry_label, text
from dashboard.pages.warnings import warning_rows
from graph_model.regions import region_name
from graph_model.snapshot import Snapshot
from risk.wording import label


def grade_bars(
    counts: pa.Table,
    classes: tuple[str, ...],
    title: str,
    lang: Language,
    industries: bool = False,
    top: int = 15,
) -> go.Figure:
    """Stacked bars of graded firms per group (the ``top`` largest groups) and grade."""
    groups = list(dict.fromkeys(counts["group"].to_pylist()))[:top]
    rows = counts.to_pylist()
    fig = go.Figure()
    for grade, colour in grade_colours(classes).items():
        per = {r["group"]: r["count"] for r in rows if r["grade"] == grade}
        fig.add_bar(
            name=grade,
            x=[industry_label(g, lang) if industries else region_name(g, lang) for g in groups],
            y=[per.get(g, 0) for g in groups],
            marker_color=colour,
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat=",")
    fig = styled(fig, title)
    fig.update_layout(margin={"r": 40})
    return fig


def mix_lines(data: BoardData, classes: tuple[str, ...], lang: Language) -> go.Figure:
    """Share of each grade on every scored date."""
    history = data.grade_mix_history()
    fig = go.Figure()
    for grade, colour in grade_colours(classes).items():
        shares = [m.counts.get(grade, 0) / max(sum(m.counts.values()), 1) for m in history]
        fig.add_scatter(
            name=grade,
            x=[m.as_of.isoformat() for m in history],
            y=shares,
            mode="lines+markers",
            line={"color": colour},
        )
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat=".0%", title=text("share", lang))
    return styled(fig, text("grade_by_month", lang))


def records_bars(active: dict[str, int], lang: Language) -> go.Figure:
    """Records in force per kind."""
    fig = go.Figure(
        go.Bar(
            x=[active[k] for k in RECORD_KINDS],
            y=[label("record_kind", k, lang) for k in RECORD_KINDS],
            orientation="h",
            marker_color="#546e7a",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat=",")
    fig = styled(fig, text("records_by_kind", lang))
    fig.update_layout(margin={"l": 130, "r": 24})
    return fig


def render(data: BoardData, day: date, lang: Language) -> html.Div:
    """The overview of ``day``."""
    grades = data.grades(day)
    active = data.active_records(day)
    warnings = data.warnings(day)
    return html.Div(
        [
            _cards(data.snapshot(day), grades, active, warnings, lang),
            _grade_charts(data, day, grades, lang),
            _month_charts(data, grades, active, lang),
            html.H3(text("top_warnings", lang)),
            html.P(text("click_to_open", lang), className="hint"),
            _top_warnings(data, day, warnings, lang),
            html.P(text("internal_note", lang), className="hint"),
        ]
    )


def _cards(
    snap: Snapshot,
    grades: Grades | None,
    active: dict[str, int],
    warnings: pa.Table | None,
    lang: Language,
) -> html.Div:
    """The counts of the day: enterprises, graded, records in force, open warnings."""
    graded = int((grades.grade != "").sum()) if grades else 0
    return html.Div(
        [
            card(text("enterprises", lang), f"{snap.n_enterprises:,}"),
            card(
                text("graded", lang),
                f"{graded:,}",
                f"{text('model_version', lang)} {grades.model_version}" if grades else None,
            ),
            card(text("active_records", lang), f"{sum(active.values()):,}"),
            card(
                text("open_warnings", lang),
                f"{sum(1 for s in warnings['state'].to_pylist() if s != 'closed'):,}"
                if warnings is not None
                else "—",
            ),
        ],
        className="cards",
    )


def _grade_charts(data: BoardData, day: date, grades: Grades | None, lang: Language) -> Any:
    """Graded firms by region and by industry (a notice without scores)."""
    if grades is None:
        return notice(text("no_scores", lang))
    return html.Div(
        [
            dcc.Graph(
                id="overview-regions",
                figure=grade_bars(
                    data.grade_counts(day, "region_code"),
                    grades.classes,
                    text("grade_by_region", lang),
                    lang,
                ),
                config={"displayModeBar": False},
            ),
            dcc.Graph(
                id="overview-industries",
                figure=grade_bars(
                    data.grade_counts(day, "industry"),
                    grades.classes,
                    text("grade_by_industry", lang),
                    lang,
                    industries=True,
                ),
                config={"displayModeBar": False},
            ),
        ],
        className="two-columns",
    )


def _month_charts(
    data: BoardData, grades: Grades | None, active: dict[str, int], lang: Language
) -> html.Div:
    """The grade mix month by month beside the records in force."""
    return html.Div(
        [
            dcc.Graph(
                id="overview-months",
                figure=mix_lines(data, grades.classes if grades else ("A", "B", "C", "D"), lang),
                config={"displayModeBar": False},
            ),
            dcc.Graph(
                id="overview-records",
                figure=records_bars(active, lang),
                config={"displayModeBar": False},
            ),
        ],
        className="two-columns",
    )


def _top_warnings(data: BoardData, day: date, warnings: pa.Table | None, lang: Language) -> Any:
    """The latest warnings of the registry (a notice without one)."""
    if warnings is None:
        return notice(text("no_registry", lang))
    top = warning_rows(data, day, lang, stored=warnings)[: data.config.top_warnings]
    return grid(
        "overview-warnings",
        top,
        [
            column("type_label", lang, "warning_type"),
            column("name", lang, "name"),
            column("grade_change", lang),
            column("event_on", lang),
            column("region", lang, minWidth=130),
        ],
        lang,
        row_id="row_id",
        height=330,
    )
