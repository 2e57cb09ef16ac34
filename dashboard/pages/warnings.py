"""Warnings (风险预警): the warnings raised for the board's date, as stored in the supervision
registry by the warnings job (risk/supervision/warnings.py), with the enterprise's region and
its grade change; filtered by type, region and worsened grades, sorted and filtered further
in the grid. A click on a row opens the enterprise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.components import column, dropdown, grid, notice, region_options
from dashboard.data import BoardData
from dashboard.i18n import Language, text
from graph_model.regions import region_name
from risk.supervision.warnings import WARNING_TYPES
from risk.wording import label, warning_evidence, warning_subject


def warning_rows(
    data: BoardData,
    day: date,
    lang: Language,
    types: Sequence[str] = (),
    regions: Sequence[str] = (),
    worsened_only: bool = False,
    stored: pa.Table | None = None,
) -> list[dict[str, Any]]:
    """The warnings of ``day`` as grid rows, newest events first, filtered; ``stored``: the
    warnings already read from the registry, if the caller has them."""
    warnings = stored if stored is not None else data.warnings(day)
    if warnings is None or warnings.num_rows == 0:
        return []
    if types:
        warnings = warnings.filter(pc.is_in(warnings["type"], pa.array(list(types))))
    # Rows by the graph's id dictionary and grades aligned with them: no hash table of a
    # million ids is built per request.
    graph = data.graph(day)
    rows = [graph.index_of(e) for e in warnings["enterprise_id"].to_pylist()]
    ent = data.snapshot(day).enterprises
    known = [r if r is not None and r < graph.n_enterprises else -1 for r in rows]
    taken = pa.array([r if r >= 0 else None for r in known], pa.int64())
    names = pc.take(ent["name"], taken).to_pylist()
    region = pc.take(ent["region_code"], taken).to_pylist()
    grades = data.grades(day)
    previous = data.previous_grades(day)
    now = [str(grades.grade[r]) if grades and r >= 0 else "" for r in known]
    before = [str(previous[r]) if r >= 0 else "" for r in known]
    level = {g: i for i, g in enumerate(grades.classes)} if grades else {}
    name = data.node_name(day)
    out = []
    for k, row in enumerate(warnings.to_pylist()):
        a, b = before[k], now[k]
        worse = bool(a and b and level.get(b, -1) > level.get(a, -1))
        if worsened_only and not worse:
            continue
        if regions and not any((region[k] or "").startswith(r) for r in regions):
            continue
        out.append(
            {
                **row,
                "row_id": f"{row['enterprise_id']}|{row['id']}",
                "type_label": label("warning_type", row["type"], lang),
                "state_label": label("warning_state", row["state"], lang),
                "subject_text": warning_subject(row["subject"], lang),
                "disputed_text": text("yes" if row["disputed"] else "no", lang),
                "evidence_text": warning_evidence(row["evidence"], lang, name),
                "name": names[k] or row["enterprise_id"],
                "region": region_name(region[k], lang),
                "grade_change": f"{a or '—'} → {b or '—'}",
                "worsened": worse,
            }
        )
    out.sort(key=lambda r: (r["event_on"], -r["id"]), reverse=True)
    return out


def render(data: BoardData, day: date, lang: Language) -> html.Div:
    """The warnings page of ``day``: filters, then the grid."""
    if data.warnings(day) is None:
        return html.Div([html.H2(text("nav_warnings", lang)), notice(text("no_registry", lang))])
    regions = sorted(
        set(pc.unique(data.snapshot(day).enterprises["region_code"]).to_pylist()) - {None}
    )
    filters = html.Div(
        [
            dropdown(
                lang,
                id="warnings-types",
                options=[
                    {"label": label("warning_type", t, lang), "value": t} for t in WARNING_TYPES
                ],
                multi=True,
                placeholder=f"{text('warning_type', lang)}: {text('all', lang)}",
            ),
            dropdown(
                lang,
                id="warnings-regions",
                options=region_options(regions, lang),
                multi=True,
                placeholder=f"{text('region', lang)}: {text('all', lang)}",
            ),
            dcc.Checklist(
                id="warnings-worsened",
                options=[{"label": text("worsened_only", lang), "value": "worsened"}],
                value=[],
            ),
        ],
        className="filters",
    )
    return html.Div(
        [
            html.H2(text("nav_warnings", lang)),
            filters,
            html.P(text("click_to_open", lang), className="hint"),
            grid(
                "warnings-grid",
                warning_rows(data, day, lang),
                warning_columns(lang),
                lang,
                row_id="row_id",
                height=560,
            ),
        ]
    )


def warning_columns(lang: Language) -> list[dict[str, Any]]:
    """Columns of the warnings grid: the evidence (the reason of a warning) wraps, whole,
    in the widest column, rather than running off the grid's right edge."""
    wrap: dict[str, Any] = {
        "wrapText": True,
        "autoHeight": True,
        "cellStyle": {"lineHeight": "1.5"},
    }
    return [
        column("type_label", lang, "warning_type", minWidth=150, maxWidth=190, **wrap),
        column("name", lang, "name", minWidth=150, maxWidth=220, **wrap),
        column("grade_change", lang, maxWidth=110),
        column("event_on", lang, sort="desc", maxWidth=130),
        column("region", lang, minWidth=120, maxWidth=150, **wrap),
        column("state_label", lang, "warning_state", maxWidth=90),
        column("disputed_text", lang, "disputed", maxWidth=100),
        column("subject_text", lang, "subject", minWidth=140, maxWidth=200, **wrap),
        column("evidence_text", lang, "evidence", minWidth=380, flex=1, **wrap),
    ]


def open_enterprise(cell: dict[str, Any] | None) -> str | Any:
    """The page of the enterprise of a clicked warning row (row id ``enterprise|warning``:
    the enterprise first, so that a click names it)."""
    row_id = (cell or {}).get("rowId")
    if not isinstance(row_id, str) or "|" not in row_id:
        return no_update
    return f"/enterprise/{row_id.split('|', 1)[0]}"


def register(app: Dash, data: BoardData) -> None:
    """Wire the warnings page's callbacks."""

    @app.callback(
        Output("warnings-grid", "rowData"),
        Input("warnings-types", "value"),
        Input("warnings-regions", "value"),
        Input("warnings-worsened", "value"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _filter(
        types: list[str] | None,
        regions: list[str] | None,
        worsened: list[str] | None,
        day: str,
        lang: Language,
    ) -> list[dict[str, Any]]:
        return warning_rows(
            data, date.fromisoformat(day), lang, types or (), regions or (), bool(worsened)
        )

    for grid_id in ("warnings-grid", "overview-warnings"):
        app.callback(
            Output("url", "pathname", allow_duplicate=True),
            Input(grid_id, "cellClicked"),
            prevent_initial_call=True,
        )(open_enterprise)
