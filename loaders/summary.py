"""What a load did, said to its user: rows read, accepted and rejected per file, the reject
and warning files, and whether the load was refused (nothing written) and why; and each
file as validation left it (:class:`Validated`), from which the summary is made.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from graph_model.csv_cells import safe_cell
from graph_model.errors import CreditGraphError
from loaders.findings import with_dependents
from loaders.read import SourceFile
from loaders.row_checks import NAMED, Spec
from loaders.validate import Reject

TABLE_LOSS_WARNING = 0.02
"""A file that lost more than this share of its rows to rejects is named in a warning after
the load (``creditgraph load`` prints it); so is one that loaded none of its rows."""


class LoadRefused(CreditGraphError):
    """The load was refused before anything was written; the store is unchanged."""

    def __init__(self, message: str, summary: LoadSummary | None = None) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass(frozen=True)
class TableResult:
    """Rows read, accepted and rejected for one contract file."""

    table: str
    file: str
    read: int
    accepted: int
    rejected: int
    ignored_columns: tuple[str, ...] = ()
    """Columns of the file that are not in the data contract (shown safely: ID-like names
    masked, long ones cut)."""
    dependent: int = 0
    """Rejected rows whose only fault is to name a row rejected in another file (counted on
    that row's line of the reject file, not listed)."""
    depends_on: tuple[str, ...] = ()
    """The files of the rejected rows they name."""

    @property
    def lost(self) -> float:
        """Share of the file's rows rejected (0 for a file without rows)."""
        return self.rejected / self.read if self.read else 0.0


@dataclass(frozen=True)
class LoadSummary:
    """What a load did."""

    tables: tuple[TableResult, ...]
    rejects: tuple[Reject, ...]
    rejects_file: Path | None
    ignored_files: tuple[str, ...]
    written: bool
    seconds: float = 0.0
    warnings: tuple[Reject, ...] = ()
    """Rows loaded but doubtful (holdings over 100 %), with file, line, field and reason."""
    warnings_file: Path | None = None
    persons_by_name: int = 0
    """Persons known by name only that the accepted relation rows name (each scoped to the
    enterprise that names them), written with those rows."""

    @property
    def accepted(self) -> int:
        return sum(t.accepted for t in self.tables)

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables)

    @property
    def read(self) -> int:
        return sum(t.read for t in self.tables)

    def shrunk(self, threshold: float = TABLE_LOSS_WARNING) -> tuple[TableResult, ...]:
        """Files that had rows and loaded none, or lost more than ``threshold`` of them."""
        return tuple(t for t in self.tables if t.read and (t.accepted == 0 or t.lost > threshold))


def refusal(summary: LoadSummary, max_reject_rate: float) -> str | None:
    """Why the load must not be written, or None: a file with rows that loads none of them
    (below a rate of 1), or more rows rejected than ``max_reject_rate`` allows."""
    if not summary.rejected or max_reject_rate >= 1:
        return None
    see = f"see {summary.rejects_file}"
    empty = [t for t in summary.tables if t.read and not t.accepted]
    if empty:
        files = ", ".join(f"{t.file} ({t.read:,})" for t in empty)
        return (
            f"every row of {files} was rejected: the load would bring nothing of that table; "
            f"{see}. Fix the rows, or give --max-reject-rate 1 to load the rest anyway"
        )
    share = summary.rejected / summary.read
    if share <= max_reject_rate:
        return None
    allowed = (
        "and --strict allows none"
        if max_reject_rate == 0
        else f"more than the {percent(max_reject_rate)} --max-reject-rate allows"
    )
    rejected = f"{summary.rejected:,} of {summary.read:,} rows ({percent(share)}) were rejected"
    return f"{rejected}, {allowed}; {see}"


def percent(share: float) -> str:
    """A share as a percentage for messages: 0.05 → ``5%``, 1/3 → ``33.3%``."""
    return f"{share * 100:.3g}%"


def write_report(rows: list[Reject], folder: Path, kind: str, stamp: str) -> Path:
    """A CSV of rejects or warnings: file, line, field, value (fit to echo), reason."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{stamp}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "line", "field", "value", "reason"])
        for r in rows:
            writer.writerow([safe_cell(v) for v in (r.file, r.line, r.field, r.value, r.reason)])
    return path


@dataclass
class Validated:
    """One file after validation: the store-form table of accepted rows and its rejects."""

    source: SourceFile
    spec: Spec
    read: int
    store_rows: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()
    dependent: int = 0
    depends_on: tuple[str, ...] = ()


def summarise(
    validated: list[Validated],
    named: dict[tuple[str, int], Counter[str]],
    unknown: list[Path],
    rejects_dir: Path,
) -> LoadSummary:
    """What the validation found, its reject and warning files written: each rejected row
    that others name says how many (``named``: the root causes and their counts)."""
    for v in validated:
        if named:
            v.rejects = [
                with_dependents(r, named[r.file, r.line]) if (r.file, r.line) in named else r
                for r in v.rejects
            ]
    rejects = [r for v in validated for r in v.rejects]
    warnings = [r for v in validated for r in v.warnings]
    stamp = f"{datetime.now():%Y%m%dT%H%M%S%f}"
    results = tuple(
        TableResult(
            v.source.table,
            v.source.path.name,
            v.read,
            v.store_rows.num_rows,
            v.read - v.store_rows.num_rows,
            v.ignored_columns,
            v.dependent,
            v.depends_on,
        )
        for v in validated
    )
    return LoadSummary(
        results,
        tuple(rejects),
        write_report(rejects, rejects_dir, "rejects", stamp) if rejects else None,
        tuple(p.name for p in unknown),
        False,
        warnings=tuple(warnings),
        warnings_file=write_report(warnings, rejects_dir, "warnings", stamp) if warnings else None,
        persons_by_name=count_named(validated),
    )


def count_named(validated: list[Validated]) -> int:
    """Distinct persons known by name only that the accepted rows of a load name."""
    keys = [
        chunk
        for v in validated
        if NAMED in v.store_rows.column_names
        for chunk in pc.filter(v.store_rows["_from"], pc.is_valid(v.store_rows[NAMED])).chunks
    ]
    return len(pc.unique(pa.chunked_array(keys, pa.string())))
