"""The commands of the supervision registry (docs/supervision.md): the ``warnings`` group
(raise, list, show, set-state), the ``watchlist`` group (create, add, remove, show, list)
and the ``records`` group (due-escalations).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from api.names import with_names
from cli.common import (
    LanguageOption,
    fail,
    not_shown,
    option_date,
    parse_language,
    read_grading,
    read_settings,
    snapshot_of,
    stored_gradings,
)
from graph_model.csv_cells import write_safe_csv
from graph_model.settings import Settings
from graph_model.store.open import open_store
from risk.data_home import DataHome
from risk.supervision.expiry import due_escalations
from risk.supervision.registry import Registry, open_registry
from risk.supervision.warning_registry import (
    StoredWarning,
    count_warnings,
    get_warning,
    list_warnings,
    save_warnings,
    set_state,
)
from risk.supervision.warnings import DEFAULT_HOPS, MAX_HOPS, WARNING_TYPES, compute_warnings
from risk.supervision.watchlists import (
    OWNER_KINDS,
    add_members,
    all_watchlists,
    create_watchlist,
    remove_members,
    show_watchlist,
)
from risk.wording import Language, warning_evidence, warning_subject, word

warnings_app = typer.Typer(
    help="Warnings (风险预警) between two as-of dates: raise, list, show, set-state.",
    no_args_is_help=True,
)


watchlist_app = typer.Typer(
    help="Watchlists: the enterprises a bank or a regulator watches.", no_args_is_help=True
)


records_app = typer.Typer(help="Records by the rules of their kind.", no_args_is_help=True)


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
        gradings = (read_grading(previous_grades, before), read_grading(grades, day))
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
    not_shown(len(found), total, "warnings")
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
    not_shown(min(limit, len(w.members)), len(w.members), "members")
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
    not_shown(min(limit, len(lists)), len(lists), "watchlists")
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
        not_shown(shown.num_rows, due.num_rows, "escalations", "--out FILE writes them to CSV")
    typer.echo(f"{due.num_rows:,} escalation(s) due on {as_of}")
