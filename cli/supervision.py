"""The supervision commands (docs/supervision.md): the ``plan`` group (双随机 sampling plans:
draw with inspectors and recusals, list, show, replay, export, import results),
``extension-check`` (延伸检查), the ``warnings`` group (raise, list, show, set-state), the
``watchlist`` group (create, add, remove, show, list) and the ``records`` group
(due-escalations).
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from pydantic import ValidationError

from api.names import PathWords, with_names
from cli.common import (
    LanguageOption,
    fail,
    option_date,
    parse_language,
    read_settings,
    run_load,
    snapshot_of,
    stored_gradings,
)
from graph_model.csv_cells import write_safe_csv
from graph_model.settings import Settings
from graph_model.store.open import open_store
from risk.data_home import DataHome
from risk.supervision.expiry import due_escalations
from risk.supervision.extension import extension_checks
from risk.supervision.inspectors import read_inspectors
from risk.supervision.plans import (
    PlanRecord,
    draw_plan,
    publication,
    replay,
    results_to_inspections,
)
from risk.supervision.registry import Registry, open_registry
from risk.supervision.sampling import Forced, PlanSpec, presets
from risk.supervision.warnings import (
    DEFAULT_HOPS,
    MAX_HOPS,
    WARNING_TYPES,
    StoredWarning,
    compute_warnings,
    count_warnings,
    get_warning,
    list_warnings,
    save_warnings,
    set_state,
)
from risk.supervision.watchlists import (
    OWNER_KINDS,
    add_members,
    all_watchlists,
    create_watchlist,
    remove_members,
    show_watchlist,
)
from risk.wording import Language, warning_evidence, warning_subject, word

plan_app = typer.Typer(
    help="双随机 sampling plans: draw, list, show, replay, export, import results.",
    no_args_is_help=True,
)
warnings_app = typer.Typer(
    help="Warnings (风险预警) between two as-of dates: raise, list, show, set-state.",
    no_args_is_help=True,
)
watchlist_app = typer.Typer(
    help="Watchlists: the enterprises a bank or a regulator watches.", no_args_is_help=True
)
records_app = typer.Typer(help="Records by the rules of their kind.", no_args_is_help=True)


def _not_shown(shown: int, total: int, what: str, more: str = "") -> None:
    """Say how many rows a printed list left out, and how to get them: ``--limit`` to print
    them all, and ``more`` (e.g. "--out FILE writes them to a CSV file") when given."""
    if total > shown:
        how = f"--limit {total} prints them all" + (f"; {more}" if more else "")
        typer.echo(f"… {total - shown:,} more {what} not shown ({how})")


def _read_table(path: Path, what: str) -> pa.Table:
    """A CSV (all columns as text) or Parquet file, or a clear error."""
    if not path.is_file():
        raise fail(f"{what} {path}: no such file")
    if path.suffix == ".parquet":
        return pq.read_table(path)
    try:
        # Every column as text: ids such as 330200… must not turn into numbers.
        with path.open(encoding="utf-8") as fh:
            names = next(csv.reader(fh), [])
        types = {name: pa.string() for name in names}
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise fail(f"{what} {path}: {exc}") from None


def _grading(path: Path, day: date) -> pa.Table:
    """Grades (id, grade, score) from a file: the model's scores, or a grading of your own."""
    table = _read_table(path, "grades")
    missing = {"id", "grade", "score"} - set(table.column_names)
    if missing:
        raise fail(f"grades {path}: missing column(s) {', '.join(sorted(missing))}")
    try:
        score = table["score"].cast(pa.float64())
    except pa.ArrowInvalid:
        raise fail(f"grades {path}: column score must be numbers") from None
    return pa.table(
        {
            "id": table["id"].cast(pa.string()),
            "grade": table["grade"].cast(pa.string()),
            "score": score,
        }
    )


def _plan_grading(
    settings: Settings, day: date, grades: Path | None, model_version: str | None = None
) -> tuple[pa.Table, str]:
    """(grades, name of the grading): the file given, else the model's stored scores of
    ``day`` (of ``model_version`` if given, else of the current model)."""
    if grades is not None:
        return _grading(grades, day), grades.name
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
    forced_rows = _read_table(forced, "forced objects").to_pylist() if forced else []
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
    _not_shown(min(limit, len(records)), len(records), "older plans")
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
    _not_shown(min(limit, len(record.objects)), len(record.objects), "objects", export)
    for r in record.recusals[:limit]:
        typer.echo(
            f"  recused {r['inspector']} from {r['enterprise']}: {r['reason']}, {r['hops']} hop(s)"
        )
    _not_shown(min(limit, len(record.recusals)), len(record.recusals), "recusals")


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
    rows = results_to_inspections(record, _read_table(results, "results"), authority)
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
    _not_shown(shown.num_rows, table.num_rows, "related firms", "--out FILE writes them to CSV")


@contextmanager
def _read_registry(settings: Settings) -> Iterator[Registry]:
    """The supervision registry for a command that only reads it. A data home without one
    reads as an empty registry (in memory): a read must not create the file."""
    with open_registry(settings.supervision_path, read_only=True) as registry:
        yield registry


@warnings_app.command("raise")
def warnings_raise(
    as_of: Annotated[str, typer.Option(help="Current date, yyyy-mm-dd.")],
    previous: Annotated[str, typer.Option(help="Previous date (the last run), yyyy-mm-dd.")],
    hops: Annotated[
        int, typer.Option(min=1, max=MAX_HOPS, help="Related parties within this many hops.")
    ] = DEFAULT_HOPS,
    grades: Annotated[
        Path | None, typer.Option(help="Grades of --as-of (id, grade, score); default: stored.")
    ] = None,
    previous_grades: Annotated[
        Path | None, typer.Option(help="Grades of --previous; default: stored scores.")
    ] = None,
) -> None:
    """Raise the warnings between two dates and store the new ones.

    A warning already known is not stored again. Uses the saved snapshots of both dates, taken
    from the store when missing, and for worse grades the grade files given or else the
    model's stored scores.
    """
    settings = read_settings()
    day, before = option_date(as_of), option_date(previous, "--previous")
    if (grades is None) != (previous_grades is None):
        raise typer.BadParameter("give both --grades and --previous-grades, or neither")
    if before >= day:
        raise typer.BadParameter(f"--previous {before} must come before --as-of {day}")
    if grades is not None and previous_grades is not None:
        gradings = (_grading(previous_grades, before), _grading(grades, day))
    else:
        gradings = stored_gradings(settings, before, day)
    earlier, current = snapshot_of(settings, before), snapshot_of(settings, day)
    started = time.perf_counter()
    table = compute_warnings(earlier, current, *gradings, hops=hops)
    with open_registry(settings.supervision_path) as registry:
        run = save_warnings(registry, table, day, before, hops, current)
    for kind, n in run.by_type.items():
        typer.echo(f"  {kind:<24}{n:>10,}")
    typer.echo(
        f"run {run.run_id}: {run.found:,} warnings, {run.added:,} new, "
        f"{run.found - run.added:,} known already, {run.closed:,} closed (record repaired "
        f"or annulled) in {time.perf_counter() - started:.1f} s → {settings.supervision_path}"
    )


def _print_warning(w: StoredWarning, names: dict[str, str], lang: Language | None = None) -> None:
    """A warning in two lines; persons of its evidence by name (``names``), where known;
    type, state and evidence in words of ``lang`` when given."""
    mark = " DISPUTED" if w.disputed else ""
    if lang is None:
        typer.echo(f"#{w.id} {w.state:<6} {w.type:<22} {w.enterprise_id}  {w.event_on}{mark}")
        typer.echo(f"    {with_names(w.evidence, names)}")
        return
    state, kind = word("warning_state", w.state, lang), word("warning_type", w.type, lang)
    typer.echo(f"#{w.id} {state}  {kind}  {w.enterprise_id}  {w.event_on}{mark}")
    typer.echo(f"    {warning_evidence(w.evidence, lang, names.get)}")


def _warning_names(settings: Settings, warnings: list[StoredWarning]) -> dict[str, str]:
    """Names of the persons in these warnings, from the saved snapshots of their dates."""
    return DataHome(settings).person_names(date.fromisoformat(w.as_of) for w in warnings)


@warnings_app.command("list")
def warnings_list(
    state: Annotated[str | None, typer.Option(help="new, seen or closed.")] = None,
    watchlist: Annotated[str | None, typer.Option(help="Only the members of this list.")] = None,
    kind: Annotated[
        str | None, typer.Option("--type", help=f"One of {', '.join(WARNING_TYPES)}.")
    ] = None,
    enterprise: Annotated[str | None, typer.Option(help="Only this enterprise.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Only raised for this date.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    language: LanguageOption = None,
) -> None:
    """Stored warnings, newest run first."""
    settings = read_settings()
    lang = parse_language(language)
    day = option_date(as_of) if as_of else None
    with _read_registry(settings) as registry:
        found = list_warnings(
            registry,
            state=state,
            watchlist=watchlist,
            type_=kind,
            enterprise_id=enterprise,
            as_of=day,
            limit=limit,
        )
        total = count_warnings(
            registry,
            state=state,
            watchlist=watchlist,
            type_=kind,
            enterprise_id=enterprise,
            as_of=day,
        )
    names = _warning_names(settings, found)
    for w in found:
        _print_warning(w, names, lang)
    _not_shown(len(found), total, "warnings")
    typer.echo(f"{total:,} warning(s)")
    if not settings.supervision_path.exists():
        typer.echo(f"no warnings raised in {settings.home} yet: `creditgraph warnings raise`")


@warnings_app.command("show")
def warnings_show(
    warning_id: Annotated[int, typer.Argument(help="Warning number.")],
    language: LanguageOption = None,
) -> None:
    """A warning with its evidence and the history of its state."""
    settings = read_settings()
    lang = parse_language(language)
    with _read_registry(settings) as registry:
        w, history = get_warning(registry, warning_id)
    _print_warning(w, _warning_names(settings, [w]), lang)
    subject = w.subject if lang is None else warning_subject(w.subject, lang)
    typer.echo(f"    subject {subject}, raised for {w.as_of}")
    for h in history:
        note = f": {h.note}" if h.note else ""
        typer.echo(f"    {h.at} {h.actor} {h.from_state} → {h.to_state}{note}")


@warnings_app.command("set-state")
def warnings_set_state(
    warning_id: Annotated[int, typer.Argument(help="Warning number.")],
    state: Annotated[str, typer.Argument(help="seen or closed.")],
    by: Annotated[str, typer.Option(help="Who changes it (recorded).")],
    note: Annotated[str | None, typer.Option(help="Why (recorded).")] = None,
) -> None:
    """Mark a warning seen or closed; who and when are recorded."""
    with open_registry(read_settings().supervision_path) as registry:
        w = set_state(registry, warning_id, state, by, note)
    typer.echo(f"warning #{w.id} is {w.state}")


@watchlist_app.command("create")
def watchlist_create(
    name: Annotated[str, typer.Argument(help="Name of the list, unique.")],
    owner: Annotated[str, typer.Option(help="The bank or the regulator that watches.")],
    owner_kind: Annotated[str, typer.Option(help=f"One of {', '.join(OWNER_KINDS)}.")],
) -> None:
    """Create an empty watchlist."""
    with open_registry(read_settings().supervision_path) as registry:
        create_watchlist(registry, name, owner, owner_kind)
    typer.echo(f"watchlist {name!r} created for {owner} ({owner_kind})")


@watchlist_app.command("add")
def watchlist_add(
    name: Annotated[str, typer.Argument(help="Watchlist.")],
    ids: Annotated[list[str], typer.Argument(help="Enterprise ids (USCC or external ids).")],
) -> None:
    """Add enterprises the store knows to a watchlist."""
    settings = read_settings()
    with open_store(settings, read_only=True) as store:
        known = store.existing_keys("Enterprise", pa.array(ids, pa.string()))
    unknown = [i for i, ok in zip(ids, known.to_pylist(), strict=True) if not ok]
    if unknown:
        raise fail(f"no such enterprise in the store: {', '.join(unknown)}; nothing added")
    with open_registry(settings.supervision_path) as registry:
        added = add_members(registry, name, ids)
    typer.echo(f"{added} added to {name!r} ({len(set(ids)) - added} were on it already)")


@watchlist_app.command("remove")
def watchlist_remove(
    name: Annotated[str, typer.Argument(help="Watchlist.")],
    ids: Annotated[list[str], typer.Argument(help="Enterprise ids.")],
) -> None:
    """Remove enterprises from a watchlist."""
    with open_registry(read_settings().supervision_path) as registry:
        removed = remove_members(registry, name, ids)
    typer.echo(f"{removed} removed from {name!r}")


@watchlist_app.command("show")
def watchlist_show(
    name: Annotated[str, typer.Argument(help="Watchlist.")],
    limit: Annotated[int, typer.Option(min=1, help="Members printed at most.")] = 50,
) -> None:
    """A watchlist's owner and members."""
    with _read_registry(read_settings()) as registry:
        w = show_watchlist(registry, name)
    typer.echo(f"{w.name}: {w.owner} ({w.owner_kind}), created {w.created_at}")
    for member in w.members[:limit]:
        typer.echo(f"  {member}")
    _not_shown(min(limit, len(w.members)), len(w.members), "members")
    typer.echo(f"{len(w.members):,} member(s)")


@watchlist_app.command("list")
def watchlist_list(
    limit: Annotated[int, typer.Option(min=1, help="Watchlists printed at most.")] = 50,
) -> None:
    """Every watchlist with its owner and size."""
    settings = read_settings()
    with _read_registry(settings) as registry:
        lists = all_watchlists(registry)
    for name, owner, kind, members in lists[:limit]:
        typer.echo(f"{name:<24}{owner} ({kind}){members:>10,} member(s)")
    _not_shown(min(limit, len(lists)), len(lists), "watchlists")
    if not lists:
        typer.echo(f"no watchlists in {settings.home}: `creditgraph watchlist create`")


@records_app.command("due-escalations")
def records_due_escalations(
    as_of: Annotated[str, typer.Option(help="Date, yyyy-mm-dd.")],
    out: Annotated[Path | None, typer.Option(help="Write every row to this CSV file.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows printed.")] = 50,
) -> None:
    """Abnormal-list entries due for the black list: still in force three years after listing.

    Moving one is a decision of the listing authority; nothing is written to the store.
    """
    settings = read_settings()
    due = due_escalations(snapshot_of(settings, option_date(as_of)))
    shown = due.slice(0, limit)
    for row in shown.to_pylist():
        mark = " DISPUTED" if row["disputed"] else ""
        typer.echo(
            f"{row['enterprise_id']}  {row['name']}  {row['record_id']}  listed "
            f"{row['listed_on']}, due {row['due_on']} ({row['days_overdue']} days ago) "
            f"→ {row['to']}{mark}"
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_safe_csv(due, out)
        typer.echo(f"wrote {out}")
    else:
        _not_shown(shown.num_rows, due.num_rows, "escalations", "--out FILE writes them to CSV")
    typer.echo(f"{due.num_rows:,} escalation(s) due on {as_of}")
