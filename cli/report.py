"""The ``report`` command: one enterprise's report (risk/report.py) written as an HTML file,
for the role it is made for."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from access.keyring import ROLES, Caller
from cli.common import LanguageOption, fail, option_date, parse_language, rate_table, read_settings
from risk.data_home import DataHome
from risk.report import Source, render, report_context
from risk.snapshot_index import SnapshotIndex


def report(
    enterprise_id: Annotated[str, typer.Argument(help="Enterprise id (USCC or external id).")],
    out: Annotated[Path, typer.Option(help="The HTML file to write (print it to PDF to file).")],
    as_of: Annotated[
        str | None, typer.Option(help="Snapshot date; default: the latest saved, up to today.")
    ] = None,
    role: Annotated[
        str,
        typer.Option(help=f"Whom it is for ({', '.join(ROLES)}): what that role may see."),
    ] = "regulator",
    made_for: Annotated[
        str, typer.Option("--for", help="The name the report says it was made for.")
    ] = "command line",
    language: LanguageOption = None,
) -> None:
    """Write one enterprise's report: identity, screening level, grade and reasons, records,
    holders and beneficial owners, related parties, as of a snapshot (docs/workbench.md).

    A bank's report has no grade, score, reasons, holders nor graph; an analyst's no grade,
    score, reasons nor screening level; persons' names masked for both, as the API does.
    """
    if role not in ROLES:
        raise fail(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    if out.is_dir():
        raise fail(f"--out {out} is a folder: give the HTML file to write")
    settings = read_settings()
    day = option_date(as_of) if as_of else None
    home = DataHome(settings)
    snapshot = home.snapshot(day) if day else home.latest_snapshot(date.today())
    index = SnapshotIndex(snapshot, rate_table(settings))
    scored = [d for d in home.scored_dates() if d <= snapshot.as_of]
    grade = home.read_grade(enterprise_id, scored[-1]) if scored else None
    context = report_context(
        index,
        snapshot,
        enterprise_id,
        Caller(made_for, role),
        grade=grade,
        source=Source.of(settings.neo4j_uri, grade),
        lang=parse_language(language) or "zh",
    )
    if context is None:
        raise fail(f"no enterprise {enterprise_id} in the snapshot of {snapshot.as_of}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(context), encoding="utf-8")
    typer.echo(f"wrote {out} ({enterprise_id}, as of {snapshot.as_of}, for the {role} role)")
