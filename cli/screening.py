"""The ``match`` command: applicants matched by name against the served snapshot's register,
with scores and reasons (risk/matching.py, docs/matching.md)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from cli.common import fail, not_shown, option_date, rate_table, read_settings, read_table
from graph_model.csv_cells import write_safe_csv
from graph_model.identifiers import mask_id_numbers_in
from risk.data_home import DataHome
from risk.matching import CONFIDENT
from risk.screening import Applicant, ApplicantMatch, match_applicant
from risk.snapshot_index import SnapshotIndex

APPLICANT_COLUMNS = ("name", "uscc", "legal_representative", "address")
"""Columns of an applicants file; only ``name`` is required."""


def match(
    names: Annotated[
        list[str] | None, typer.Argument(help="Names as the applicants write them.")
    ] = None,
    applicants: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Applicants CSV or Parquet: name, and optionally uscc, legal_representative, "
            "address.",
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Snapshot date; default: the latest saved, up to today.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=20, help="Candidates per applicant.")] = 5,
    out: Annotated[Path | None, typer.Option(help="Write every candidate as CSV here.")] = None,
) -> None:
    """Match applicants to registered enterprises: candidates with scores (0-100) and reasons;
    a match only at 92 or more, alone at its score (docs/matching.md)."""
    settings = read_settings()
    day = option_date(as_of) if as_of else None
    given = [Applicant(n) for n in names or ()]
    if applicants is not None:
        given += _read_applicants(applicants)
    if not given:
        raise fail("give names, or --file with an applicants table")
    home = DataHome(settings)
    snapshot = home.snapshot(day) if day else home.latest_snapshot(date.today())
    started = time.perf_counter()
    index = SnapshotIndex(snapshot, rate_table(settings))
    found = [match_applicant(index, a, limit) for a in given]
    typer.echo(
        f"{len(given):,} applicant(s) against {index.n_enterprises:,} enterprises of "
        f"{snapshot.as_of} ({time.perf_counter() - started:.1f} s); a match at "
        f"{CONFIDENT:g} or more"
    )
    if out is not None:
        write_safe_csv(_table(given, found), out)
        typer.echo(f"wrote {out}")
        return
    for applicant, result in zip(given[:20], found[:20], strict=True):
        _print(applicant, result)
    not_shown(min(len(given), 20), len(given), "applicants", "--out FILE writes them to CSV")


def _read_applicants(path: Path) -> list[Applicant]:
    table = read_table(path, "applicants")
    if "name" not in table.column_names:
        raise fail(f"applicants {path}: no name column (columns: {', '.join(APPLICANT_COLUMNS)})")
    rows = table.select([c for c in APPLICANT_COLUMNS if c in table.column_names]).to_pylist()
    return [
        Applicant(
            str(r.get("name") or ""),
            r.get("uscc") or None,
            r.get("legal_representative") or None,
            r.get("address") or None,
        )
        for r in rows
    ]


def _print(applicant: Applicant, result: ApplicantMatch) -> None:
    shown = mask_id_numbers_in(applicant.name or applicant.uscc or "")
    taken = result.matched
    typer.echo(f"{shown}: " + (f"match {taken.id} {taken.name}" if taken else "no match"))
    for c in result.candidates:
        typer.echo(f"  {c.score:>5.1f}  {c.id} {c.name}  ({'; '.join(c.reasons)})")


def _table(given: list[Applicant], found: list[ApplicantMatch]) -> pa.Table:
    rows = [
        {
            "applicant": i + 1,
            "name": mask_id_numbers_in(a.name),
            "candidate_id": c.id,
            "candidate_name": c.name,
            "score": c.score,
            "matched": r.matched is not None and r.matched.id == c.id,
            "reasons": "; ".join(c.reasons),
        }
        for i, (a, r) in enumerate(zip(given, found, strict=True))
        for c in r.candidates
    ]
    return pa.Table.from_pylist(rows) if rows else pa.table({"applicant": pa.array([], pa.int64())})
