"""Sampling plan (双随机抽查): set ratios and filters, draw with the stored grades and an inspector
file of the data home, see the objects with their inspectors and the recusals, export the
publication, and replay a recorded plan (risk/supervision/plans.py).

Drawing is the one heavy action of the board (6–10 s over a million firms): the Draw button
submits it as a background job of the app (:mod:`dashboard.jobs`) and the page polls it every
half second, showing how long it has run, until the plan is there. It records the plan in
the data home like ``creditgraph plan draw`` does, once: drawing the same thing again (same
spec and seed, pool and inspectors) finds the recorded plan, which the page shows as such,
never as newly saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import ValidationError

from dashboard.components import (
    column,
    count_column,
    dropdown,
    grid,
    local_time,
    notice,
    region_options,
)
from dashboard.data import BoardData
from dashboard.i18n import Language, industry_label, text
from dashboard.jobs import Jobs
from risk.supervision.inspectors import InspectorFileError
from risk.supervision.plans import PlanError, PlanRecord, draw_plan, publication, replay
from risk.supervision.sampling import PlanSpec, SamplingError, presets
from risk.wording import NameOf, label, plan_reason


def draw(
    data: BoardData,
    day: date,
    item: str,
    preset: str,
    ratios: dict[str, float],
    regions: list[str],
    industries: list[str],
    extension_hops: int | None,
    seed: int | None,
    inspector_file: str | None,
    lang: Language = "en",
) -> Drawn | str:
    """Draw and record a plan with the stored grades of ``day``; a message when it cannot be
    drawn (no grades, no inspectors, a bad parameter, a pool without grades…). A plan is
    recorded once: the same draw again gives the recorded plan, ``created`` False."""
    grades = data.grades(day)
    if grades is None:
        return text("no_scores", lang) if lang == "zh" else f"{day}: no stored scores"
    if not inspector_file:
        return text("no_inspectors", lang) if lang == "zh" else "no inspector file"
    try:
        spec = PlanSpec(
            item=item,
            as_of=day,
            grading=grades.model_version,
            regions=tuple(regions),
            industries=tuple(industries),
            preset=preset,
            ratios=ratios,
            extension_hops=extension_hops,
            seed=seed,
        )
        people = list(data.inspectors(inspector_file))
        record = draw_plan(data.snapshot(day), grades.table, people, spec)
        recorded, _, created = record.save(data.settings.plans_dir)
    except (ValidationError, InspectorFileError, SamplingError, PlanError) as exc:
        return str(exc)
    return Drawn(recorded, created)


@dataclass(frozen=True)
class Drawn:
    """A drawn plan as recorded; ``created`` False when the same draw was recorded before
    (the record shown is that one, unchanged)."""

    record: PlanRecord
    created: bool


def start_draw(jobs: Jobs, data: BoardData, day: date, *args: Any, lang: Language) -> str:
    """Submit a draw (the arguments of :func:`draw` after the date) as a background job."""
    return jobs.submit(draw, data, day, *args, lang)


def progress(seconds: float, lang: Language, waiting: bool = False) -> html.Div:
    """The running draw: a moving bar and the seconds it has taken."""
    said = text("draw_waiting", lang) if waiting else text("drawing_for", lang, s=f"{seconds:.0f}")
    return html.Div(
        [html.Div(html.Div(className="progress-bar"), className="progress"), html.Span(said)],
        className="notice notice-info",
        id="plan-progress",
    )


def collect(jobs: Jobs, data: BoardData, job_id: str | None, lang: Language) -> tuple[Any, ...]:
    """One poll of a draw: (result view, plan id, message, past plans, polling disabled,
    job id, Draw disabled), ``no_update`` where nothing changes."""
    state = jobs.poll(job_id)
    if state.status in ("running", "waiting"):
        message = progress(state.seconds, lang, state.status == "waiting")
        return no_update, no_update, message, no_update, False, no_update, True
    if state.status == "unknown":
        return no_update, no_update, no_update, no_update, True, None, False
    if state.status == "failed" or isinstance(state.result, str):
        error = state.error if state.status == "failed" else state.result
        return no_update, no_update, notice(str(error), "error"), no_update, True, None, False
    drawn: Drawn = state.result
    record = drawn.record
    key = "plan_saved" if drawn.created else "plan_exists"
    message = notice(
        text(key, lang, plan=record.plan_id, seed=record.seed, s=f"{state.seconds:.1f}"),
        "ok" if drawn.created else "info",
    )
    view = plan_view(record, lang, plan_names(data, record), data.config.time_zone)
    return view, record.plan_id, message, data.plan_ids(), True, None, False


def replay_plan(
    data: BoardData, plan_id: str, inspector_file: str | None, lang: Language
) -> tuple[str, str]:
    """Replay a recorded plan with the stored grades it names and an inspector file:
    (kind, message) with kind ``ok`` or ``error``."""
    try:
        record = data.plan(plan_id)
        spec = PlanSpec.model_validate(record.spec)
        path = data.home.scores_file(spec.as_of, spec.grading)
        if path is None:
            return "error", f"{spec.as_of}: no stored scores of model {spec.grading!r}"
        if not inspector_file:
            return "error", text("no_inspectors", lang)
        grading = pq.read_table(path, columns=["id", "grade", "score"])
        replay(record, data.snapshot(spec.as_of), grading, list(data.inspectors(inspector_file)))
    except (PlanError, SamplingError, InspectorFileError, FileNotFoundError) as exc:
        return "error", str(exc)
    return "ok", text("replay_ok", lang, n=f"{len(record.objects):,}")


def plan_names(data: BoardData, record: PlanRecord) -> NameOf | None:
    """Names of the firms a plan names, from the snapshot it was drawn on (None without)."""
    day = date.fromisoformat(record.spec["as_of"])
    return data.node_name(day) if day in data.dates() else None


def plan_view(
    record: PlanRecord, lang: Language, name: NameOf | None = None, zone: str = "Asia/Shanghai"
) -> html.Div:
    """A plan: class sizes, objects with inspectors, recusals, and the export buttons;
    recorded reasons in ``lang``, firms by ``name`` where known."""
    return html.Div(
        [
            html.H3(f"{text('plan', lang)} {record.plan_id}", id="plan-title"),
            html.P(
                text(
                    "plan_line",
                    lang,
                    item=record.spec["item"],
                    seed=record.seed,
                    at=local_time(record.created_at, zone),
                ),
                className="muted",
                id="plan-line",
            ),
            html.Div(
                [
                    html.Button(text("export_csv", lang), id="plan-export-csv", className="button"),
                    html.Button(
                        text("export_json", lang), id="plan-export-json", className="button"
                    ),
                    html.Span(text("publication_note", lang), className="hint"),
                ],
                className="filters",
            ),
            _classes_grid(record, lang),
            _objects_grid(record, lang, name),
            html.H3(f"{text('recusals', lang)} ({len(record.recusals):,})"),
            _recusals_grid(record, lang, name),
            html.P(f"{text('unassigned', lang)}: {len(record.unassigned):,}"),
        ]
    )


def _classes_grid(record: PlanRecord, lang: Language) -> Any:
    """Per grade: the pool, the eligible, the forced and the drawn."""
    drawn: dict[str, int] = {}
    for o in record.objects:
        drawn[o["grade"]] = drawn.get(o["grade"], 0) + 1
    classes = [
        {
            "grade": g,
            "pool": s["pool"],
            "eligible": s["eligible"],
            "forced": s["forced"],
            "drawn": drawn.get(g, 0),
        }
        for g, s in record.pool_classes.items()
    ]
    return grid(
        "plan-classes",
        classes,
        [
            column("grade", lang),
            count_column("pool", lang),
            count_column("eligible", lang),
            count_column("forced", lang),
            count_column("drawn", lang),
        ],
        lang,
        row_id="grade",
        height=240,
        grid_options={"pagination": False},
    )


def _objects_grid(record: PlanRecord, lang: Language, name: NameOf | None) -> Any:
    """The drawn firms with their inspectors and why each was drawn."""
    objects = [
        {
            **{k: o[k] for k in ("id", "name", "grade")},
            "reason": plan_reason(o["reason"], lang, name),
            "selected": label("selected", o["selected"], lang),
            "inspectors": " ".join(o["inspectors"]),
            "score": round(o["score"], 4),
        }
        for o in record.objects
    ]
    return grid(
        "plan-objects",
        objects,
        [
            column("id", lang, minWidth=170),
            column("name", lang, minWidth=200),
            column("grade", lang, maxWidth=100),
            column("score", lang, maxWidth=110),
            column("selected", lang, maxWidth=110),
            column("inspectors", lang, "inspector", minWidth=160),
            column("reason", lang, minWidth=200),
        ],
        lang,
        row_id="id",
        height=380,
    )


def _recusals_grid(record: PlanRecord, lang: Language, name: NameOf | None) -> Any:
    """The inspectors recused from a firm, and why."""
    recusals = [
        {
            "inspector": r["inspector"],
            "enterprise": r["enterprise"],
            "enterprise_name": (name(r["enterprise"]) if name else None) or r["enterprise"],
            "reason": plan_reason(r["reason"], lang, name),
            "hops": r["hops"],
            # An inspector may be recused from one firm on several grounds: one row each.
            "row_id": str(k),
        }
        for k, r in enumerate(record.recusals)
    ]
    return grid(
        "plan-recusals",
        recusals,
        [
            column("inspector", lang),
            column("enterprise_name", lang, "name", minWidth=200),
            column("reason", lang, minWidth=300),
            column("hops", lang),
        ],
        lang,
        row_id="row_id",
        height=220,
    )


def export(data: BoardData, plan_id: str, fmt: str) -> dict[str, Any]:
    """The publication of a plan (一公开: no grades, scores or forced reasons) to download."""
    record = data.plan(plan_id)
    body = publication(record, fmt)
    content = "\ufeff" + body if fmt == "csv" else body
    return {
        "content": content,
        "filename": f"plan-{plan_id}.{fmt}",
        "type": "text/csv" if fmt == "csv" else "application/json",
    }


def render(data: BoardData, day: date, lang: Language) -> html.Div:
    """The sampling page: the form, the result area and the recorded plans."""
    grades = data.grades(day)
    if grades is None:
        return html.Div([html.H2(text("nav_sampling", lang)), notice(text("no_scores", lang))])
    return html.Div(
        [
            html.H2(text("nav_sampling", lang)),
            html.P(text("internal_note", lang), className="hint"),
            _form(data, day, grades.classes, lang),
            html.Div(
                [
                    html.Span(text("past_plans", lang) + " "),
                    dropdown(
                        lang,
                        id="plan-past",
                        options=data.plan_ids(),
                        value=None,
                        placeholder=text("past_plans", lang),
                    ),
                    html.Button(text("replay", lang), id="plan-replay", className="button"),
                ],
                className="filters",
            ),
            html.Div(id="plan-message"),
            dcc.Store(id="plan-id"),
            dcc.Store(id="plan-job"),
            dcc.Interval(id="plan-poll", interval=500, disabled=True),
            dcc.Download(id="plan-download"),
            html.Div(id="plan-result"),
        ]
    )


def _form(data: BoardData, day: date, classes: tuple[str, ...], lang: Language) -> html.Div:
    """The draw's form: the item, the ratios, the pool, the seed and the inspector file."""
    files = data.inspector_files()
    return html.Div(
        [
            html.Label(
                [text("item", lang), dcc.Input(id="plan-item", value="双随机抽查", type="text")]
            ),
            *_preset_and_ratios(classes, lang),
            *_pool_inputs(data, day, lang),
            html.Label([text("seed", lang), dcc.Input(id="plan-seed", type="number", min=0)]),
            html.Label(
                [
                    text("inspectors", lang),
                    dropdown(
                        lang, id="plan-inspectors", options=files, value=files[0] if files else None
                    ),
                ]
            ),
            html.Button(
                text("draw", lang), id="plan-draw", className="button primary", disabled=not files
            ),
            notice(text("no_inspectors", lang)) if not files else None,
        ],
        className="plan-form",
    )


def _preset_and_ratios(classes: tuple[str, ...], lang: Language) -> list[Any]:
    """The preset, and a ratio per grade set to the default preset's."""
    rules = presets()
    default = rules["default"]
    ratios = [
        html.Label(
            [
                g,
                dcc.Input(
                    id={"type": "ratio", "grade": g},
                    type="number",
                    min=0,
                    max=1,
                    step=0.01,
                    value=rules["presets"][default]["ratios"].get(g),
                    className="ratio",
                ),
            ]
        )
        for g in classes
    ]
    return [
        html.Label(
            [
                text("preset", lang),
                dropdown(
                    lang,
                    id="plan-preset",
                    value=default,
                    clearable=False,
                    options=[
                        {"label": p.get(f"title_{lang}", p["title"]), "value": k}
                        for k, p in rules["presets"].items()
                    ],
                ),
            ]
        ),
        html.Div([html.Span(text("ratios", lang)), *ratios], className="ratios"),
    ]


def _pool_inputs(data: BoardData, day: date, lang: Language) -> list[Any]:
    """The pool's filters: regions and industries of the day's firms, extension hops."""
    ent = data.snapshot(day).enterprises
    regions = sorted(set(pc.unique(ent["region_code"]).to_pylist()) - {None})
    industries = sorted(set(pc.unique(ent["industry"]).to_pylist()) - {None})
    return [
        html.Label(
            [
                text("regions", lang),
                dropdown(
                    lang,
                    id="plan-regions",
                    multi=True,
                    options=region_options(regions, lang),
                ),
            ]
        ),
        html.Label(
            [
                text("industries", lang),
                dropdown(
                    lang,
                    id="plan-industries",
                    multi=True,
                    options=[{"label": industry_label(i, lang), "value": i} for i in industries],
                ),
            ]
        ),
        html.Label(
            [
                text("extension_hops", lang),
                dropdown(lang, id="plan-extension", options=[1, 2, 3]),
            ]
        ),
    ]


def register(app: Dash, data: BoardData, jobs: Jobs) -> None:
    """Wire the sampling page's callbacks; draws run as ``jobs`` of the app."""
    _register_form(app)
    _register_draw(app, data, jobs)
    _register_plans(app, data)


def _register_form(app: Dash) -> None:
    """A preset sets the ratios of the form."""

    @app.callback(
        Output({"type": "ratio", "grade": ALL}, "value"),
        Input("plan-preset", "value"),
        State({"type": "ratio", "grade": ALL}, "id"),
        prevent_initial_call=True,
    )
    def _preset(preset: str, ids: list[dict[str, str]]) -> list[float | None]:
        ratios = presets()["presets"][preset]["ratios"]
        return [ratios.get(i["grade"]) for i in ids]


def _register_draw(app: Dash, data: BoardData, jobs: Jobs) -> None:
    """The Draw button submits a draw as a job; the poll shows it running, then the plan."""

    @app.callback(
        Output("plan-job", "data"),
        Output("plan-poll", "disabled"),
        Output("plan-message", "children"),
        Output("plan-draw", "disabled"),
        Input("plan-draw", "n_clicks"),
        State("plan-item", "value"),
        State("plan-preset", "value"),
        State({"type": "ratio", "grade": ALL}, "value"),
        State({"type": "ratio", "grade": ALL}, "id"),
        State("plan-regions", "value"),
        State("plan-industries", "value"),
        State("plan-extension", "value"),
        State("plan-seed", "value"),
        State("plan-inspectors", "value"),
        State("as-of", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _draw(
        _clicks: int,
        item: str,
        preset: str,
        values: list[float | None],
        ids: list[dict[str, str]],
        regions: list[str] | None,
        industries: list[str] | None,
        hops: int | None,
        seed: int | None,
        inspector_file: str | None,
        day: str,
        lang: Language,
    ) -> tuple[Any, ...]:
        ratios = {i["grade"]: float(v) for i, v in zip(ids, values, strict=True) if v is not None}
        job_id = start_draw(
            jobs,
            data,
            date.fromisoformat(day),
            item or "",
            preset,
            ratios,
            regions or [],
            industries or [],
            hops,
            seed,
            inspector_file,
            lang=lang,
        )
        return job_id, False, progress(0, lang), True

    @app.callback(
        Output("plan-result", "children"),
        Output("plan-id", "data"),
        Output("plan-message", "children", allow_duplicate=True),
        Output("plan-past", "options"),
        Output("plan-poll", "disabled", allow_duplicate=True),
        Output("plan-job", "data", allow_duplicate=True),
        Output("plan-draw", "disabled", allow_duplicate=True),
        Input("plan-poll", "n_intervals"),
        State("plan-job", "data"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _collect(_ticks: int, job_id: str | None, lang: Language) -> tuple[Any, ...]:
        return collect(jobs, data, job_id, lang)


def _register_plans(app: Dash, data: BoardData) -> None:
    """A recorded plan: shown when picked, replayed, its publication exported."""

    @app.callback(
        Output("plan-result", "children", allow_duplicate=True),
        Output("plan-id", "data", allow_duplicate=True),
        Input("plan-past", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _show(plan_id: str | None, lang: Language) -> tuple[Any, ...]:
        if not plan_id:
            return no_update, no_update
        record = data.plan(plan_id)
        view = plan_view(record, lang, plan_names(data, record), data.config.time_zone)
        return view, plan_id

    @app.callback(
        Output("plan-message", "children", allow_duplicate=True),
        Input("plan-replay", "n_clicks"),
        State("plan-past", "value"),
        State("plan-id", "data"),
        State("plan-inspectors", "value"),
        State("language", "value"),
        prevent_initial_call=True,
    )
    def _replay(
        _clicks: int,
        past: str | None,
        current: str | None,
        inspector_file: str | None,
        lang: Language,
    ) -> Any:
        plan_id = past or current
        if not plan_id:
            return no_update
        kind, message = replay_plan(data, plan_id, inspector_file, lang)
        return notice(message, kind)

    @app.callback(
        Output("plan-download", "data"),
        Input("plan-export-csv", "n_clicks"),
        Input("plan-export-json", "n_clicks"),
        State("plan-id", "data"),
        prevent_initial_call=True,
    )
    def _export(csv_clicks: int | None, json_clicks: int | None, plan_id: str | None) -> Any:
        if not plan_id:
            return no_update
        return export(data, plan_id, "json" if ctx.triggered_id == "plan-export-json" else "csv")
