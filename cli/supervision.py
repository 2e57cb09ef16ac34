"""The inspection commands (docs/supervision.md): the ``plan`` group (双随机 sampling plans:
draw with inspectors and recusals, list, show, replay, export, import results) and
``extension-check`` (延伸检查). The registry's commands (warnings, watchlists, records) are
in ``cli.warnings``.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from pydantic import ValidationError

from api.names import PathWords
from cli.common import (
    fail,
    not_shown,
    option_date,
    read_grading,
    read_settings,
    read_table,
    run_load,
    snapshot_of,
)
from graph_model.csv_cells import write_safe_csv
from graph_model.settings import Settings
from risk.data_home import DataHome
from risk.supervision.extension import extension_checks
from risk.supervision.inspectors import read_inspectors
from risk.supervision.plans import (
    PlanRecord,
    draw_plan,
    publication,
    replay,
    results_to_inspections,
)
from risk.supervision.sampling import Forced, PlanSpec, presets

plan_app = typer.Typer(
    help="双随机 sampling plans: draw, list, show, replay, export, import results.",
    no_args_is_help=True,
)


def _plan_grading(
    settings: Settings, day: date, grades: Path | None, model_version: str | None = None
) -> tuple[pa.Table, str]:
    """(grades, name of the grading): the file given, else the model's stored scores of
    ``day`` (of ``model_version`` if given, else of the current model)."""
    if grades is not None:
        return read_grading(grades, day), grades.name
    path = DataHome(settings).scores_file(day, model_version)
    if path is None:
        which = f" by model {model_version}" if model_version else ""
        raise fail(
            f"no stored scores of {day}{which}: run creditgraph score --as-of {day}, "
            "or give --grades FILE (id, grade, score)"
        )
    return pq.read_table(path, columns=["id", "grade", "score"]), path.stem


def _ratios(values: list[str]) -> dict[str, float]:
    out = {}
    for text in values:
        grade, sep, ratio = text.partition("=")
        try:
            out[grade.strip()] = float(ratio)
        except ValueError:
            raise typer.BadParameter(f"--ratio {text!r}: write CLASS=RATIO, e.g. C=0.15") from None
        if not sep:
            raise typer.BadParameter(f"--ratio {text!r}: write CLASS=RATIO, e.g. C=0.15")
    return out


@plan_app.command("draw")
def plan_draw(
    as_of: Annotated[str, typer.Option(help="Date of the grades and the graph, yyyy-mm-dd.")],
    item: Annotated[str, typer.Option(help="Inspection item (抽查事项).")],
    inspectors: Annotated[Path, typer.Option(help="Inspector file (see docs/supervision.md).")],
    grades: Annotated[
        Path | None,
        typer.Option(help="Grades file (id, grade, score); default: the model's stored scores."),
    ] = None,
    preset: Annotated[
        str, typer.Option(help=f"Local rule: {', '.join(presets()['presets'])}.")
    ] = "henan_2021",
    ratio: Annotated[list[str] | None, typer.Option(help="Override, e.g. C=0.15.")] = None,
    region: Annotated[list[str] | None, typer.Option(help="Region code prefix.")] = None,
    industry: Annotated[list[str] | None, typer.Option(help="Industry section.")] = None,
    forced: Annotated[
        Path | None, typer.Option(help="CSV of id, reason: complaints, leads, referrals.")
    ] = None,
    recent_months: Annotated[int, typer.Option(help="无事不扰 window for class A.")] = 12,
    extension_hops: Annotated[
        int | None, typer.Option(help="Force in firms tied to black-listed ones within k hops.")
    ] = None,
    recusal_hops: Annotated[int, typer.Option(help="Conflict of interest within k hops.")] = 2,
    recuse_same_region: Annotated[
        bool, typer.Option(help="Recuse inspectors of the region.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Seed; chosen at random when not given.")] = None,
) -> None:
    """Draw a sampling plan with inspectors and recusals, and record it for replay."""
    settings = read_settings()
    day = option_date(as_of)
    grading, grading_name = _plan_grading(settings, day, grades)
    forced_rows = read_table(forced, "forced objects").to_pylist() if forced else []
    try:
        spec = PlanSpec(
            item=item,
            as_of=day,
            grading=grading_name,
            regions=tuple(region or ()),
            industries=tuple(industry or ()),
            preset=preset,
            ratios=_ratios(ratio or []),
            recent_months=recent_months,
            forced=tuple(
                Forced(id=r.get("id", ""), reason=r.get("reason", "")) for r in forced_rows
            ),
            extension_hops=extension_hops,
            recusal_hops=recusal_hops,
            recuse_same_region=recuse_same_region,
            seed=seed,
        )
    except ValidationError as exc:
        raise fail(str(exc)) from None
    pool_of_inspectors = read_inspectors(inspectors, settings.person_id_salt)
    snap = snapshot_of(settings, day)
    started = time.perf_counter()
    record = draw_plan(snap, grading, pool_of_inspectors, spec)
    record, path, created = record.save(settings.plans_dir)
    _print_plan(record)
    if not created:
        typer.echo(
            f"plan {record.plan_id} already exists (recorded {record.created_at}): the same "
            f"draw, shown above; a recorded plan is never replaced → {path}"
        )
        return
    typer.echo(
        f"plan {record.plan_id} (seed {record.seed}) → {path} "
        f"({time.perf_counter() - started:.1f} s)"
    )


def _print_plan(record: PlanRecord) -> None:
    typer.echo(f"{'class':<6}{'pool':>10}{'eligible':>10}{'forced':>8}{'drawn':>8}")
    drawn: dict[str, int] = {}
    for o in record.objects:
        drawn[o["grade"]] = drawn.get(o["grade"], 0) + 1
    for grade, sizes in record.pool_classes.items():
        typer.echo(
            f"{grade:<6}{sizes['pool']:>10,}{sizes['eligible']:>10,}{sizes['forced']:>8,}"
            f"{drawn.get(grade, 0):>8,}"
        )
    typer.echo(
        f"objects {len(record.objects):,}, recusals {len(record.recusals):,}, "
        f"without enough inspectors {len(record.unassigned):,}"
    )


def _load_plan(settings: Settings, plan_id: str) -> PlanRecord:
    return PlanRecord.load(settings.plans_dir, plan_id)


@plan_app.command("list")
def plan_list(
    limit: Annotated[int, typer.Option(min=1, help="The newest plans printed at most.")] = 50,
) -> None:
    """List recorded plans, newest last."""
    folder = read_settings().plans_dir
    # Recorded to the second; the file's time orders plans drawn within one second.
    paths = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    records = sorted((PlanRecord.load(folder, p.stem) for p in paths), key=lambda r: r.created_at)
    if not records:
        typer.echo(f"no plans in {folder}")
    not_shown(min(limit, len(records)), len(records), "older plans")
    for record in records[-limit:]:
        typer.echo(
            f"{record.plan_id}  {record.created_at}  {record.spec['item']}  "
            f"{len(record.objects):,} objects"
        )


@plan_app.command("show")
def plan_show(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    limit: Annotated[int, typer.Option(min=1, help="Objects and recusals printed at most.")] = 10,
) -> None:
    """Show a plan's parameters, class sizes and its first objects and recusals."""
    record = _load_plan(read_settings(), plan_id)
    typer.echo(json.dumps(record.spec, ensure_ascii=False, indent=1))
    _print_plan(record)
    for o in record.objects[:limit]:
        typer.echo(
            f"  {o['id']} {o['grade']} {o['selected']:<7}{' '.join(o['inspectors'])}  {o['reason']}"
        )
    export = f"`creditgraph plan export {plan_id} --out FILE` writes them for publication"
    not_shown(min(limit, len(record.objects)), len(record.objects), "objects", export)
    for r in record.recusals[:limit]:
        typer.echo(
            f"  recused {r['inspector']} from {r['enterprise']}: {r['reason']}, {r['hops']} hop(s)"
        )
    not_shown(min(limit, len(record.recusals)), len(record.recusals), "recusals")


@plan_app.command("replay")
def plan_replay(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    inspectors: Annotated[Path, typer.Option(help="The inspector file it was drawn with.")],
    grades: Annotated[
        Path | None,
        typer.Option(help="The grades file it was drawn with; default: the stored scores."),
    ] = None,
) -> None:
    """Re-derive a plan from its record; fails if the pool, the inspectors or the result differ."""
    settings = read_settings()
    record = _load_plan(settings, plan_id)
    spec = PlanSpec.model_validate(record.spec)
    stored_version = None if grades is not None else spec.grading
    grading, _ = _plan_grading(settings, spec.as_of, grades, stored_version)
    people = read_inspectors(inspectors, settings.person_id_salt)
    replay(record, snapshot_of(settings, spec.as_of), grading, people)
    typer.echo(
        f"plan {plan_id} replayed: same pool, same {len(record.objects):,} objects and inspectors"
    )


@plan_app.command("export")
def plan_export(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    out: Annotated[Path, typer.Option(help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
) -> None:
    """Write the plan for publication (一公开): no grades, scores or forced reasons."""
    record = _load_plan(read_settings(), plan_id)
    text = publication(record, fmt)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {len(record.objects):,} objects to {out}")


@plan_app.command("import-results")
def plan_import_results(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    results: Annotated[
        Path, typer.Argument(help="CSV/Parquet: enterprise_id, finding, inspected_on.")
    ],
    authority: Annotated[str, typer.Option(help="Inspecting authority.")],
) -> None:
    """Load a plan's inspection results as inspection records (they feed the next grading)."""
    settings = read_settings()
    record = _load_plan(settings, plan_id)
    rows = results_to_inspections(record, read_table(results, "results"), authority)
    with tempfile.TemporaryDirectory() as tmp:
        pacsv.write_csv(rows, Path(tmp) / "inspections.csv")
        run_load(settings, Path(tmp), strict=True, quiet=True)


def extension_check(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
    grades: Annotated[
        Path | None,
        typer.Option(help="Grades file to rank by; default: the stored scores, if any."),
    ] = None,
    hops: Annotated[int, typer.Option(min=1, max=4, help="Hops through people and holdings.")] = 2,
    out: Annotated[Path | None, typer.Option(help="Write the whole list as CSV here.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows printed, the first of the list.")] = 20,
) -> None:
    """延伸检查: firms tied to black-listed enterprises, ranked by score, with the paths."""
    settings = read_settings()
    day = option_date(as_of)
    snap = snapshot_of(settings, day)
    started = time.perf_counter()
    stored = DataHome(settings).scores_file(day)
    if grades is not None or stored is not None:
        grading: pa.Table | None = _plan_grading(settings, day, grades)[0]
    else:
        grading = None
        typer.echo(f"no scores of {day}: related firms ranked by hops, not by risk")
    table = extension_checks(snap, grading, hops)
    black = len(set(table["black_listed_id"].to_pylist()))
    typer.echo(
        f"{table.num_rows:,} related firms of {black:,} black-listed enterprises "
        f"({time.perf_counter() - started:.1f} s)"
    )
    if out is not None:
        write_safe_csv(table, out)
        typer.echo(f"wrote {out}")
        return
    shown, words = table.slice(0, limit), PathWords(snap)
    if shown.num_rows:
        typer.echo("  grade, hops: the path from the black-listed firm to the related one")
    for row in shown.to_pylist():
        path = words.text(row["black_listed_id"], row["path"])
        typer.echo(f"  {row['grade'] or '-'} {row['hops']} hop(s)  {path} {row['related_name']}")
    not_shown(shown.num_rows, table.num_rows, "related firms", "--out FILE writes them to CSV")
