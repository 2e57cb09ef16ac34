"""Enterprise (企业画像): grade, score and their history, the stored reasons in plain words, the
records on a timeline, the ego graph (people, shareholders, guarantees) that expands on
click, and the change history (shareholders, representatives, officers, guarantees, branches
and records in and out), newest first."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import dash_cytoscape as cyto
import plotly.graph_objects as go
import pyarrow as pa
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard.auth import REPORT
from dashboard.components import card, column, dropdown, grade_badge, grid, notice, styled
from dashboard.data import RECORD_KINDS, BoardData, Graded
from dashboard.graph import MORE_PREFIX, REL_ORDER, SharedTie, ego_elements, expand
from dashboard.graph_style import GRADE_COLOURS, graph_style, legend, stylesheet
from dashboard.i18n import Language, industry_label, text
from graph_model.errors import CreditGraphError
from graph_model.identifiers import mask_contact
from graph_model.regions import region_name
from risk.features.suspected import CONTACTS, RARE_GROUP, sharing
from risk.history import Change
from risk.matching import former_names
from risk.paths import SHARED_TYPES
from risk.wording import NameOf, evidence_text, label, percent, reason_sentence, record_detail


def search_options(
    data: BoardData, day: date, query: str | None, lang: Language, current: str | None = None
) -> list[dict[str, str]]:
    """Dropdown options for a search: matching enterprises (id and name), the current one
    kept so that the dropdown still shows it. Each option carries the query as its
    ``search`` text: the dropdown filters what it is given by the typed words, and a near
    name (another legal form, 繁体, pinyin) does not contain them."""
    found = data.search(day, query or "")
    options = [
        {"label": f"{name} ({eid})", "value": eid, "search": query or ""} for eid, name in found
    ]
    if current and all(o["value"] != current for o in options):
        row = data.row_of(day, current)
        if row is not None:
            name = data.snapshot(day).enterprises["name"][row].as_py()
            options.insert(0, {"label": f"{name} ({current})", "value": current})
    return options


def register_search(app: Dash, data: BoardData, box: str, opens: str | None = None) -> None:
    """Wire an enterprise search box (a searchable dropdown ``box``): its options follow
    what is typed (:func:`search_options`); with ``opens``, choosing a firm opens
    ``opens/<id>``."""

    @app.callback(
        Output(box, "options"),
        Input(box, "search_value"),
        State(box, "value"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _search(query: str | None, current: str | None, day: str, lang: Language) -> Any:
        if not query:
            return no_update
        return search_options(data, date.fromisoformat(day), query, lang, current)

    if opens is None:
        return

    @app.callback(
        Output("url", "pathname", allow_duplicate=True),
        Input(box, "value"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )
    def _open(enterprise_id: str | None, path: str | None) -> Any:
        target = f"{opens}/{enterprise_id}"
        return target if enterprise_id and path != target else no_update


def history_figure(history: tuple[Graded, ...], lang: Language) -> go.Figure:
    """Score on every stored date, each point coloured and labelled by its grade."""
    fig = go.Figure(
        go.Scatter(
            x=[r.as_of.isoformat() for r in history],
            y=[r.score for r in history],
            mode="lines+markers+text",
            text=[r.grade for r in history],
            textposition="top center",
            marker={"size": 10, "color": [GRADE_COLOURS.get(r.grade, "#607d8b") for r in history]},
            line={"color": "#90a4ae"},
            hovertemplate="%{x}: %{y:.3f} (%{text})<extra></extra>",
        )
    )
    fig.update_traces(cliponaxis=False)
    fig.update_xaxes(type="category")
    fig.update_yaxes(title=text("score", lang), rangemode="tozero")
    return styled(fig, text("history", lang), height=260)


def timeline_figure(records: list[dict[str, Any]], day: date, lang: Language) -> go.Figure:
    """Each record as a bar from its start to its end (to the date shown while in force)."""
    fig = go.Figure()
    for kind in RECORD_KINDS:
        mine = [r for r in records if r["kind"] == kind]
        if not mine:
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        for r in mine:
            xs += [r["start"], r["end"] or day, None]
            ys += [label("record_kind", kind, lang)] * 2 + [None]
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            name=label("record_kind", kind, lang),
            line={"width": 8},
            hoverinfo="x+y",
        )
    fig.update_layout(showlegend=False)
    # Numeric months: Plotly's month names are English whatever the page's language.
    fig.update_xaxes(type="date", tickformat="%Y-%m", hoverformat="%Y-%m-%d")
    return styled(fig, text("records", lang), height=max(180, 60 + 40 * len(fig.data)))


def node_info(data: BoardData, day: date, node_id: str | None, lang: Language) -> list[Any]:
    """What the side panel says about a clicked node, with a link for enterprises."""
    if not node_id or node_id.startswith(MORE_PREFIX):
        return []
    graph = data.graph(day)
    node = graph.index_of(node_id)
    if node is None:
        return []
    out: list[Any] = [
        html.Div(text("selected_node", lang), className="card-title"),
        html.Div(graph.name_of(node), className="selected-name"),
    ]
    if node < graph.n_enterprises:
        out.append(
            dcc.Link(
                text("open_enterprise", lang), href=f"/enterprise/{node_id}", id="ego-open-link"
            )
        )
    return out


def on_tap(
    data: BoardData,
    day: date,
    center_id: str,
    shown: dict[str, int] | None,
    tapped: dict[str, Any] | None,
    lang: Language,
) -> tuple[dict[str, int], list[dict[str, object]], list[Any]]:
    """A click on the ego graph: the new expansion state, the elements and the side panel."""
    graph = data.graph(day)
    center = graph.index_of(center_id)
    state = dict(shown or {center_id: data.config.ego_limit})
    if center is None:
        return state, [], []
    tapped_id = (tapped or {}).get("id")
    if tapped_id:
        state = expand(state, tapped_id, data.config.ego_limit)
    grades = data.grades(day)
    shared = shared_ties(data.snapshot(day).enterprises, center, lang)
    elements = ego_elements(graph, grades.grade if grades else None, center, state, lang, shared)
    return state, elements, node_info(data, day, tapped_id, lang)


SHARED_SHOWN = 3
"""Firms drawn per shared address, phone or e-mail; the edge's label counts them all."""


def shared_ties(enterprises: pa.Table, row: int, lang: Language) -> list[SharedTie]:
    """The suspected relations of enterprise ``row``: up to ``SHARED_SHOWN`` other firms per
    value it shares, each edge saying the value (phone and e-mail masked), how many firms
    share it and, past ``RARE_GROUP`` firms (an agent's address), that it is weak evidence."""
    if row >= enterprises.num_rows:
        return []
    out: list[SharedTie] = []
    relation_of = {contact: rel for rel, contact in SHARED_TYPES.items()}
    for contact in CONTACTS:
        members = sharing(enterprises[contact], row)
        others = members[members != row]
        if not len(others):
            continue
        value = mask_contact(contact, str(enterprises[contact][row].as_py()))
        said = label("relation", relation_of[contact], lang) + f" {value} · "
        said += text("shared_by", lang, n=len(members))
        if len(members) > RARE_GROUP:
            said += " · " + text("weak_evidence", lang)
        out += [SharedTie(int(o), contact, said) for o in others[:SHARED_SHOWN]]
    return out


def _facts(data: BoardData, day: date, row: int, lang: Language) -> html.Div:
    ent = data.snapshot(day).enterprises.slice(row, 1).to_pylist()[0]
    capital = ent["registered_capital"]
    return html.Div(
        [
            card(text("status", lang), label("status", ent["status"], lang) or "—"),
            card(text("region", lang), region_name(ent["region_code"], lang)),
            card(text("industry", lang), industry_label(ent["industry"], lang)),
            card(text("capital", lang), f"¥{capital:,.0f}" if capital else "—"),
            card(text("established", lang), str(ent["established_on"] or "—")),
        ],
        className="cards",
    )


def _grade_block(record: Graded | None, lang: Language) -> html.Div:
    if record is None:
        return html.Div(notice(text("no_scores", lang)))
    return html.Div(
        [
            html.Div(
                [
                    html.Div(text("grade", lang), className="card-title"),
                    html.Div(grade_badge(record.grade), className="grade-big"),
                ],
                className="card",
            ),
            card(text("score", lang), f"{record.score:.3f}"),
            card(text("rank", lang), f"{record.rank:,} / {record.population:,}"),
            card(text("model_version", lang), record.model_version),
        ],
        className="cards",
    )


def _reasons(record: Graded | None, lang: Language, name: NameOf | None = None) -> html.Div:
    title = html.H3(text("reasons", lang))
    if record is None:
        return html.Div([title])
    if not record.reasons:
        return html.Div([title, notice(text("no_reasons", lang))])
    items = []
    for reason in record.reasons:
        evidence = [
            html.Li(evidence_text(e.steps, lang, e.text, name), className="evidence")
            for e in reason.evidence
        ]
        sentence = reason_sentence(reason.feature, reason.value, lang, reason.sentence)
        items.append(
            html.Li(
                [
                    html.Span(sentence, className="reason"),
                    html.Ul(evidence) if evidence else None,
                ]
            )
        )
    return html.Div([title, html.Ol(items, id="reasons-list")])


def render(data: BoardData, day: date, lang: Language, enterprise_id: str | None) -> html.Div:
    """The enterprise page: a search box, then the enterprise's facts, grade and graph."""
    search = dropdown(
        lang,
        id="enterprise-search",
        options=search_options(data, day, None, lang, enterprise_id),
        value=enterprise_id,
        placeholder=text("search", lang),
        searchable=True,
        clearable=False,
    )
    if not enterprise_id:
        return html.Div([html.H2(text("nav_enterprise", lang)), search])
    row = data.row_of(day, enterprise_id)
    if row is None:
        return html.Div(
            [
                html.H2(text("nav_enterprise", lang)),
                search,
                notice(text("no_enterprise", lang), "error"),
            ]
        )
    snapshot = data.snapshot(day)
    name = snapshot.enterprises["name"][row].as_py()
    former = former_names(snapshot.former_names[row].as_py())
    record = data.graded(enterprise_id, day)
    return html.Div(
        [
            search,
            html.H2(
                [name, html.Span(f"  {enterprise_id}", className="muted")], id="enterprise-name"
            ),
            *(
                [html.P(text("former_names", lang) + "；".join(former), className="muted")]
                if former
                else []
            ),
            _report_link(enterprise_id, day, lang),
            _facts(data, day, row, lang),
            dcc.Link(
                text("open_ownership", lang),
                href=f"/ownership/{enterprise_id}",
                id="ownership-link",
            ),
            _grade_block(record, lang),
            _reasons_and_history(data, day, enterprise_id, record, lang),
            *_ego_graph(data, day, enterprise_id, lang),
            *_records(data, day, row, lang),
            *_changes(data, day, enterprise_id, lang),
        ]
    )


def _report_link(enterprise_id: str, day: date, lang: Language) -> html.A:
    """The enterprise's printable report (dashboard/report.py) in a new tab, of the date and
    language shown."""
    query = urlencode({"as_of": day.isoformat(), "lang": lang})
    return html.A(
        text("report", lang),
        href=f"{REPORT}{quote(enterprise_id, safe='')}?{query}",
        target="_blank",
        id="report-link",
        className="report-link",
    )


def _reasons_and_history(
    data: BoardData, day: date, enterprise_id: str, record: Graded | None, lang: Language
) -> html.Div:
    """The stored reasons beside the score on every stored date."""
    return html.Div(
        [
            html.Div([_reasons(record, lang, data.node_name(day))], className="column"),
            html.Div(
                [
                    dcc.Graph(
                        id="enterprise-history",
                        figure=history_figure(data.history(enterprise_id), lang),
                        config={"displayModeBar": False},
                    )
                ],
                className="column",
            ),
        ],
        className="two-columns",
    )


def _ego_graph(data: BoardData, day: date, enterprise_id: str, lang: Language) -> list[Any]:
    """The ego graph with its legend, its expansion state and the side panel of a click."""
    state, elements, _ = on_tap(data, day, enterprise_id, None, None, lang)
    earlier = [d for d in reversed(data.dates()) if d <= day]
    as_of = html.Div(
        [
            html.Label(text("ego_as_of", lang), htmlFor="ego-as-of"),
            dropdown(
                lang,
                id="ego-as-of",
                options=[{"label": d.isoformat(), "value": d.isoformat()} for d in earlier],
                value=day.isoformat(),
                clearable=False,
                searchable=False,
            ),
        ],
        className="ego-as-of",
    )
    return [
        html.H3(text("ego_graph", lang)),
        as_of,
        legend(lang, REL_ORDER, ("name_only", "suspected", "more", "money")),
        dcc.Store(id="ego-center", data=enterprise_id),
        dcc.Store(id="ego-state", data=state),
        html.Div(
            [
                cyto.Cytoscape(
                    id="ego-graph",
                    elements=elements,
                    layout={"name": "preset", "fit": True, "padding": 30},
                    stylesheet=stylesheet(),
                    style=graph_style(elements),
                    minZoom=0.1,
                    maxZoom=1.5,  # a small graph is not blown up to fill the panel
                ),
                html.Div(id="ego-selected", className="side-panel"),
            ],
            className="graph-with-panel",
        ),
    ]


def _records(data: BoardData, day: date, row: int, lang: Language) -> list[Any]:
    """The enterprise's records on a timeline and in a grid (a notice when it has none)."""
    records = data.records_of(day, row).to_pylist()
    title = html.H3(text("records", lang))
    if not records:
        return [title, notice(text("no_records", lang))]
    record_rows = [
        {
            "authority": r.get("authority"),
            "reason": record_detail(r, lang),
            "row_id": str(r["id"]),
            "kind_label": label("record_kind", r["kind"], lang),
            "start": str(r["start"]),
            "end": str(r["end"] or ""),
        }
        for r in records
    ]
    return [
        title,
        dcc.Graph(
            id="enterprise-timeline",
            figure=timeline_figure(records, day, lang),
            config={"displayModeBar": False},
        ),
        grid(
            "records-grid",
            record_rows,
            [
                column("kind_label", lang, "kind"),
                column("start", lang),
                column("end", lang),
                column("reason", lang, minWidth=240),
                column("authority", lang),
            ],
            lang,
            row_id="row_id",
            height=260,
        ),
    ]


def change_detail(change: Change, lang: Language) -> str:
    """What an event of the history changed, in words: stake, role, amount, record."""
    d = change.details
    said = []
    if "role" in d:
        said.append(label("role", d["role"], lang))
    if "share" in d:
        said.append(percent(d["share"], lang))
    if "amount" in d:
        said.append(f"{d['amount']:,.0f} {d.get('currency', '')}".strip())
    if change.kind in ("record_start", "record_end"):
        said.append(label("record_kind", d.get("kind"), lang))
        said += [str(d[k]) for k in ("record_no", "authority") if d.get(k)]
    elif change.kind.endswith(("_in", "_opened")) and d.get("valid_to"):
        said.append(f"→ {d['valid_to']}")
    return " · ".join(said)


def _changes(data: BoardData, day: date, enterprise_id: str, lang: Language) -> list[Any]:
    """The change history up to the board's date, newest first, as a dated list that
    scrolls (a busy firm has hundreds of events); a notice when the store cannot be read."""
    try:
        changes = data.changes(enterprise_id, day)
    except CreditGraphError as exc:
        return [
            html.H3(text("changes", lang, n="—")),
            notice(text("changes_unavailable", lang, reason=str(exc)), "error"),
        ]
    title = html.H3(text("changes", lang, n=f"{len(changes):,}"))
    if not changes:
        return [title, notice(text("no_changes", lang))]
    items = [
        html.Li(
            [
                html.Span(
                    c.day.isoformat() if c.day else text("date_unknown", lang),
                    className="change-day",
                ),
                html.Span(label("change", c.kind, lang), className=f"change-kind {c.kind}"),
                html.Span(c.counterpart.name or c.counterpart.id if c.counterpart else ""),
                html.Span(change_detail(c, lang), className="muted"),
            ],
            className="change",
        )
        for c in changes
    ]
    return [title, html.Ol(items, id="change-timeline", className="change-timeline")]


def register(app: Dash, data: BoardData) -> None:
    """Wire the enterprise page's callbacks."""

    register_search(app, data, "enterprise-search", "/enterprise")

    @app.callback(
        Output("ego-state", "data"),
        Output("ego-graph", "elements"),
        Output("ego-selected", "children"),
        Output("ego-graph", "style"),
        Input("ego-graph", "tapNodeData"),
        Input("ego-as-of", "value"),
        State("ego-center", "data"),
        State("ego-state", "data"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _tap(
        tapped: dict[str, Any] | None,
        day: str,
        center: str,
        shown: dict[str, int] | None,
        lang: Language,
    ) -> tuple[Any, ...]:
        # Another date draws the ties valid on that day afresh, from its snapshot.
        if ctx.triggered_id == "ego-as-of":
            shown, tapped = None, None
        state, elements, panel = on_tap(data, date.fromisoformat(day), center, shown, tapped, lang)
        return state, elements, panel, graph_style(elements)
