"""Extension check (关联方延伸检查): the related enterprises of one black-listed enterprise, or of
the whole black list, with the paths that tie them drawn on a graph (a clicked row's path
highlighted), and the list exported as CSV."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import dash_cytoscape as cyto
import pyarrow as pa
import pyarrow.compute as pc
from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.components import column, dropdown, grid, notice
from dashboard.data import BoardData
from dashboard.graph import REL_ORDER, GraphIndex, path_elements
from dashboard.graph_style import graph_style, legend, stylesheet
from dashboard.i18n import Language, text
from graph_model.csv_cells import write_safe_csv
from risk.wording import word

DRAWN_PATHS = 60
"""Paths drawn for one black-listed enterprise at most (the riskiest related firms first);
the grid and the export hold them all."""


def related(data: BoardData, day: date, hops: int, black_id: str | None) -> pa.Table:
    """The extension list within ``hops`` of one black-listed enterprise, or of all."""
    table = data.extension(day, hops)
    if black_id:
        table = table.filter(pc.equal(table["black_listed_id"], black_id))
    return table


def readable_paths(
    graph: GraphIndex, roots: list[str], paths: list[str], lang: Language
) -> list[str]:
    """Paths walked from each root, as names and relation words in the stored direction:
    ``甲公司 ←法定代表人— 张三 —持股→ 乙公司``."""
    steps = [json.loads(p) for p in paths]
    names: dict[str, str] = {}
    for node in {node for path in steps for s in path for node in (s[0], s[2])}:
        found = graph.index_of(node)
        names[node] = graph.name_of(found) if found is not None else node
    out = []
    for root, path in zip(roots, steps, strict=True):
        here = root
        words = [names.get(root) or root]
        for source, rel_type, target in path:
            said = word("relation", rel_type, lang)
            if source == here:
                words += [f"—{said}→", names.get(target) or target]
                here = target
            else:
                words += [f"←{said}—", names.get(source) or source]
                here = source
        out.append(" ".join(words))
    return out


def extension_rows(
    data: BoardData, day: date, hops: int, black_id: str | None, lang: Language
) -> list[dict[str, Any]]:
    """Grid rows: the riskiest ``grid_rows`` related firms (all of them for one enterprise
    unless it has more)."""
    table = related(data, day, hops, black_id)
    if not black_id:
        table = table.sort_by([("score", "descending"), ("hops", "ascending")])
    table = table.slice(0, data.config.grid_rows)
    rows = table.to_pylist()
    texts = readable_paths(
        data.graph(day), table["black_listed_id"].to_pylist(), table["path"].to_pylist(), lang
    )
    for k, row in enumerate(rows):
        row["row_id"] = str(k)
        row["path_text"] = texts[k]
        row["score"] = None if row["score"] is None else round(row["score"], 4)
    return rows


def graph_elements(
    data: BoardData,
    day: date,
    hops: int,
    black_id: str | None,
    highlight: int | None,
    lang: Language,
) -> list[dict[str, object]]:
    """The paths of one black-listed enterprise's riskiest related firms; none for the whole
    list (too many to read on one graph)."""
    if not black_id:
        return []
    table = related(data, day, hops, black_id).slice(0, DRAWN_PATHS)
    paths = [json.loads(p) for p in table["path"].to_pylist()]
    grades = data.grades(day)
    shown = highlight if highlight is not None and highlight < len(paths) else None
    graph = data.graph(day)
    return path_elements(graph, grades.grade if grades else None, black_id, paths, shown, lang)


def export_csv(data: BoardData, day: date, hops: int, black_id: str | None) -> dict[str, Any]:
    """The full list as a CSV download (UTF-8 with BOM, so that Excel reads the Chinese)."""
    table = related(data, day, hops, black_id)
    sink = pa.BufferOutputStream()
    write_safe_csv(table, sink)
    name = f"extension-{day.isoformat()}-{hops}hops-{black_id or 'all'}.csv"
    return {
        "content": "\ufeff" + sink.getvalue().to_pybytes().decode("utf-8"),
        "filename": name,
        "type": "text/csv",
    }


def black_options(
    data: BoardData, day: date, query: str | None, current: str | None = None
) -> list[dict[str, str]]:
    """Black-listed enterprises matching ``query`` (id or name), at most 50."""
    table = data.black_listed(day)
    if query:
        mask = pc.or_(
            pc.starts_with(table["id"], query.upper()), pc.match_substring(table["name"], query)
        )
        table = table.filter(pc.fill_null(mask, False))
    rows = table.slice(0, 50).to_pylist()
    options = [{"label": f"{r['name']} ({r['id']})", "value": r["id"]} for r in rows]
    if current and all(o["value"] != current for o in options):
        options.insert(0, {"label": current, "value": current})
    return options


def summary(data: BoardData, day: date, hops: int, black_id: str | None, lang: Language) -> str:
    """How many related firms of how many black-listed ones."""
    table = related(data, day, hops, black_id)
    n_black = len(pc.unique(table["black_listed_id"])) if table.num_rows else 0
    said = text("related_count", lang, n=f"{table.num_rows:,}", b=f"{n_black:,}")
    if table.num_rows > data.config.grid_rows:
        said += text("grid_first", lang, n=f"{data.config.grid_rows:,}")
    return said


def render(data: BoardData, day: date, lang: Language, black_id: str | None) -> html.Div:
    """The extension-check page, for one black-listed enterprise or the whole list."""
    hops = data.config.extension_hops
    elements = graph_elements(data, day, hops, black_id, None, lang)
    if data.black_listed(day).num_rows == 0:
        return html.Div([html.H2(text("nav_extension", lang)), notice(text("no_records", lang))])
    controls = html.Div(
        [
            dropdown(
                lang,
                id="extension-black",
                options=black_options(data, day, None, black_id),
                value=black_id,
                placeholder=text("pick_black_listed", lang),
                searchable=True,
                clearable=True,
            ),
            html.Div(
                [
                    html.Span(text("hops", lang) + " "),
                    dcc.RadioItems(id="extension-hops", options=[1, 2, 3], value=hops, inline=True),
                ],
                className="inline",
            ),
            html.Button(text("export_csv", lang), id="extension-export", className="button"),
            dcc.Download(id="extension-download"),
        ],
        className="filters",
    )
    return html.Div(
        [
            html.H2(text("nav_extension", lang)),
            controls,
            html.P(summary(data, day, hops, black_id, lang), id="extension-summary"),
            html.P(text("pick_to_draw", lang), className="hint"),
            dcc.Loading(
                html.Div(
                    [
                        grid(
                            "extension-grid",
                            extension_rows(data, day, hops, black_id, lang),
                            [
                                column("black_listed_name", lang, "black_listed", maxWidth=230),
                                column("related_name", lang, "related", maxWidth=230),
                                column("hops", lang, maxWidth=90),
                                column("grade", lang, maxWidth=100),
                                column("score", lang, maxWidth=110),
                                column(
                                    "path_text",
                                    lang,
                                    "path",
                                    minWidth=360,
                                    flex=2,
                                    # The path is the reason a firm is listed: whole, wrapped.
                                    wrapText=True,
                                    autoHeight=True,
                                    cellStyle={"lineHeight": "1.5"},
                                ),
                            ],
                            lang,
                            row_id="row_id",
                            height=360,
                        ),
                        legend(lang, REL_ORDER, ("on_path",)),
                        cyto.Cytoscape(
                            id="extension-graph",
                            elements=elements,
                            layout={"name": "preset", "fit": True, "padding": 30},
                            stylesheet=stylesheet(),
                            style=graph_style(elements),
                            minZoom=0.1,
                            maxZoom=1.5,  # a small graph is not blown up to fill the panel
                        ),
                    ]
                )
            ),
        ]
    )


def register(app: Dash, data: BoardData) -> None:
    """Wire the extension page's callbacks."""

    @app.callback(
        Output("extension-black", "options"),
        Input("extension-black", "search_value"),
        State("extension-black", "value"),
        State("as-of", "value"),
        prevent_initial_call=True,
    )
    def _search(query: str | None, current: str | None, day: str) -> Any:
        if not query:
            return no_update
        return black_options(data, date.fromisoformat(day), query, current)

    @app.callback(
        Output("extension-grid", "rowData"),
        Output("extension-graph", "elements"),
        Output("extension-summary", "children"),
        Output("extension-graph", "style"),
        Input("extension-black", "value"),
        Input("extension-hops", "value"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _list(black_id: str | None, hops: int, day: str, lang: Language) -> tuple[Any, ...]:
        when = date.fromisoformat(day)
        elements = graph_elements(data, when, hops, black_id, None, lang)
        return (
            extension_rows(data, when, hops, black_id, lang),
            elements,
            summary(data, when, hops, black_id, lang),
            graph_style(elements),
        )

    @app.callback(
        Output("extension-graph", "elements", allow_duplicate=True),
        Input("extension-grid", "cellClicked"),
        State("extension-black", "value"),
        State("extension-hops", "value"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _highlight(
        cell: dict[str, Any] | None, black_id: str | None, hops: int, day: str, lang: Language
    ) -> Any:
        row = (cell or {}).get("rowId")
        if not black_id or row is None:
            return no_update
        return graph_elements(data, date.fromisoformat(day), hops, black_id, int(row), lang)

    @app.callback(
        Output("extension-download", "data"),
        Input("extension-export", "n_clicks"),
        State("extension-black", "value"),
        State("extension-hops", "value"),
        State("as-of", "value"),
        prevent_initial_call=True,
    )
    def _export(_clicks: int, black_id: str | None, hops: int, day: str) -> dict[str, Any]:
        return export_csv(data, date.fromisoformat(day), hops, black_id)
