"""Reading contract files (CSV or Parquet) into Arrow, with clear errors.

CSV is read with every column as text, so that a bad value becomes a reject
for its row rather than a failure of the whole file; Parquet keeps its types.
File-level problems (not UTF-8, binary content, empty file, missing columns)
raise :class:`FileProblem` naming the file, the line and what to do.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

SUFFIXES = (".parquet", ".csv")
_BLOCK_BYTES = 16 << 20


class FileProblem(Exception):
    """A contract file cannot be read at all; the message says why and where."""


@dataclass(frozen=True)
class SourceFile:
    """A contract file found on disk."""

    table: str
    path: Path

    @property
    def is_csv(self) -> bool:
        return self.path.suffix == ".csv"


def find_files(folder: Path, tables: tuple[str, ...]) -> tuple[list[SourceFile], list[Path]]:
    """Contract files present in ``folder`` and the files that match no table."""
    if not folder.is_dir():
        raise FileProblem(f"{folder}: no such folder")
    found: list[SourceFile] = []
    for table in tables:
        candidates = [folder / f"{table}{s}" for s in SUFFIXES if (folder / f"{table}{s}").exists()]
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise FileProblem(f"{folder}: both {names} exist; keep one file per table")
        found.extend(SourceFile(table, p) for p in candidates)
    known = {f.path for f in found}
    unknown = sorted(p for p in folder.iterdir() if p.is_file() and p not in known)
    return found, unknown


def _check_text(path: Path) -> None:
    """Refuse binary or non-UTF-8 CSV files with the line of the first bad byte."""
    data = path.read_bytes()
    if not data.strip():
        raise FileProblem(f"{path.name}: the file is empty; expected a header row")
    if b"\x00" in data[:65536]:
        raise FileProblem(f"{path.name}: binary content (NUL bytes); expected a UTF-8 CSV file")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            f"{path.name} line {line}: not UTF-8 (byte 0x{data[exc.start]:02X}); "
            "save the file as UTF-8 (for GBK exports: iconv -f GBK -t UTF-8)"
        ) from None


def _raw_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def header(source: SourceFile) -> list[str]:
    """Column names of a contract file (CSV names trimmed of surrounding spaces)."""
    if source.is_csv:
        _check_text(source.path)
        names = [c.strip() for c in _raw_header(source.path)]
        if not any(names):
            raise FileProblem(f"{source.path.name} line 1: empty header row")
        return names
    try:
        return list(pq.read_schema(source.path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileProblem(f"{source.path.name}: not a readable Parquet file ({exc})") from None


def read_batches(source: SourceFile) -> Iterator[pa.RecordBatch]:
    """Record batches of the file; CSV columns all as strings, empty cells as null."""
    if source.is_csv:
        names = header(source)
        if len(set(names)) != len(names):
            raise FileProblem(f"{source.path.name} line 1: a column name appears twice")
        # Arrow keeps names as written ("id, name" gives " name"): type by the raw names,
        # then rename to the trimmed ones that the contract mapping uses.
        raw_names = _raw_header(source.path)
        convert = pcsv.ConvertOptions(
            column_types={n: pa.string() for n in raw_names},
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        )
        try:
            reader = pcsv.open_csv(
                source.path,
                read_options=pcsv.ReadOptions(block_size=_BLOCK_BYTES),
                parse_options=pcsv.ParseOptions(newlines_in_values=True),
                convert_options=convert,
            )
            for batch in reader:
                yield batch.rename_columns(names)
        except pa.ArrowInvalid as exc:
            # Arrow quotes the offending row; drop it, it may hold ID numbers.
            reason = re.sub(r"(got \d+).*$", r"\1", str(exc).splitlines()[0])
            raise FileProblem(f"{source.path.name}: malformed CSV ({reason})") from None
        return
    try:
        parquet = pq.ParquetFile(source.path)
        yield from parquet.iter_batches(batch_size=1 << 20)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileProblem(f"{source.path.name}: not a readable Parquet file ({exc})") from None


def row_count_hint(source: SourceFile) -> int | None:
    """Rows in a Parquet file (from its footer); None for CSV."""
    if source.is_csv:
        return None
    return int(pq.ParquetFile(source.path).metadata.num_rows)


def csv_line_numbers(path: Path, rows: set[int]) -> dict[int, int]:
    """Physical line where each given data row (1-based) starts; quoted newlines counted."""
    found: dict[int, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        start = reader.line_num + 1
        number = 0
        for row in reader:
            # Arrow skips blank lines, so they are not data rows; they still count as lines.
            if row:
                number += 1
                if number in rows:
                    found[number] = start
                    if len(found) == len(rows):
                        break
            start = reader.line_num + 1
    return found
