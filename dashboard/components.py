"""Small building blocks shared by the pages: grids, cards, notices and chart styling."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import dcc, html

from dashboard.graph_style import GRADE_COLOURS
from dashboard.i18n import Language, text
from graph_model.regions import region_name

_GRID_ZH = {
    "page": "页",
    "of": "/",
    "to": "至",
    "more": "更多",
    "next": "下一页",
    "last": "末页",
    "first": "首页",
    "previous": "上一页",
    "noRowsToShow": "没有数据",
    "filterOoo": "筛选……",
    "contains": "包含",
    "equals": "等于",
    "notEqual": "不等于",
    "startsWith": "开头是",
    "pageSizeSelectorLabel": "每页：",
}
"""AG Grid's own words in Chinese (the grid speaks English otherwise)."""


def grid(
    grid_id: str,
    rows: list[dict[str, Any]],
    columns: list[dict[str, Any]],
    lang: Language,
    *,
    row_id: str,
    height: int = 420,
    **options: Any,
) -> dag.AgGrid:
    """A sortable, filterable, paginated grid; every column resizable.

    ``row_id`` names the field of every row that holds its id: a string, unique in the grid
    and stable across updates. AG Grid keys its rows by it; it evaluates ``getRowId`` as an
    expression without JavaScript's globals (``String(…)`` is undefined there), so the id is
    made on the server rather than in the expression, and rows with equal ids would collapse
    into one.
    """
    grid_options: dict[str, Any] = {
        "pagination": True,
        "paginationPageSize": 50,
        "paginationPageSizeSelector": False,
        "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
        "animateRows": False,
        **options.pop("grid_options", {}),
    }
    if lang == "zh":
        grid_options["localeText"] = _GRID_ZH
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=columns,
        defaultColDef={
            "sortable": True,
            "filter": True,
            "resizable": True,
            "minWidth": 80,
            # A header that does not fit wraps onto a second line rather than being cut.
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
            # No type guessed from the first row: a subject "2025-12-29 评级" made the grid
            # take a column for dates and leave every other row's cell empty.
            "cellDataType": False,
        },
        dashGridOptions=grid_options,
        getRowId=f"params.data.{row_id}",
        columnSize="responsiveSizeToFit",
        style={"height": f"{height}px", "width": "100%"},
        **options,
    )


HEADER_ROOM = 72
"""Pixels a header cell needs beside its text: padding, the sort arrow and the filter menu."""


def text_width(label: str, size: int = 14) -> int:
    """Rough width of a one-line label in pixels: a CJK character is square, Latin ~0.55 em."""
    return sum(size if ord(c) >= 0x2E80 else round(size * 0.58) for c in label)


def column(field: str, lang: Language, label: str | None = None, **extra: Any) -> dict[str, Any]:
    """A grid column whose header is the label ``label`` (default: ``field``) in ``lang``,
    never narrower than its header (so that a header is never cut: "风险…")."""
    spec = {"field": field, "headerName": text(label or field, lang), **extra}
    need = text_width(spec["headerName"]) + HEADER_ROOM
    spec["minWidth"] = max(int(spec.get("minWidth", 0)), need)
    if "maxWidth" in spec:
        spec["maxWidth"] = max(int(spec["maxWidth"]), spec["minWidth"])
    return spec


def count_column(
    field: str, lang: Language, label: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A column of counts, shown with thousands separators (1,234)."""
    return column(
        field,
        lang,
        label,
        valueFormatter={"function": "d3.format(',')(params.value)"},
        type="numericColumn",
        filter="agNumberColumnFilter",
        **extra,
    )


def card(title: str, value: str, note: str | None = None) -> html.Div:
    """A figure with its title, for the rows of key numbers."""
    children: list[Any] = [
        html.Div(title, className="card-title"),
        html.Div(value, className="card-value"),
    ]
    if note:
        children.append(html.Div(note, className="card-note"))
    return html.Div(children, className="card")


def notice(message: str, kind: str = "info") -> html.Div:
    """A line telling the user what is missing or what happened (``info``, ``ok``, ``error``)."""
    return html.Div(message, className=f"notice notice-{kind}")


def grade_badge(grade: str | None) -> html.Span:
    """A grade letter on its colour."""
    if not grade:
        return html.Span("—", className="badge")
    return html.Span(
        grade, className="badge", style={"backgroundColor": GRADE_COLOURS.get(grade, "#607d8b")}
    )


def styled(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    """Common chart layout: compact margins, legend on top, readable fonts on a laptop."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        height=height,
        margin={"l": 50, "r": 16, "t": 56, "b": 40},
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif", "size": 12},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
    )
    # Room for long tick labels (a record kind, a rotated industry) instead of cutting them.
    fig.update_xaxes(showgrid=False, automargin=True)
    fig.update_yaxes(gridcolor="#eceff1", automargin=True)
    return fig


def grade_colours(classes: Sequence[str]) -> dict[str, str]:
    """Colour of each class, in order (unknown classes grey)."""
    return {g: GRADE_COLOURS.get(g, "#607d8b") for g in classes}


def region_options(codes: Sequence[str], lang: Language) -> list[dict[str, str]]:
    """Dropdown options of regions: the name, then the code (which a search may type)."""
    return [{"label": f"{region_name(c, lang)} {c}".strip(), "value": c} for c in codes]


def local_time(stamp: str, zone: str) -> str:
    """An ISO time stamp (UTC as stored) in ``zone``: ``2026-12-05 03:12:12 (UTC+08:00)``."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    here = moment.astimezone(ZoneInfo(zone))
    offset = here.strftime("%z")
    return f"{here:%Y-%m-%d %H:%M:%S} (UTC{offset[:3]}:{offset[3:]})"


_DROPDOWN_ZH = {
    "select_all": "全选",
    "deselect_all": "全不选",
    "selected_count": "已选 {num_selected} 项",
    "search": "搜索",
    "clear_search": "清除搜索",
    "clear_selection": "清除选择",
    "no_options_found": "没有匹配的选项",
}
"""The dropdown's own words in Chinese (it speaks English otherwise: "Search")."""


def dropdown(lang: Language, **options: Any) -> dcc.Dropdown:
    """A dropdown whose own words (search box, "no options") are in ``lang``."""
    if lang == "zh":
        options.setdefault("labels", _DROPDOWN_ZH)
    return dcc.Dropdown(**options)
