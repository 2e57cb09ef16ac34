"""Reading contract files (CSV, Excel or Parquet) into Arrow, with clear errors.

CSV and Excel are read with every column as text, so that a bad value becomes a
reject for its row rather than a failure of the whole file; Parquet keeps its
types. An Excel workbook (:func:`_read_xlsx`) is read from its sheet named as
the table, else its first visible sheet, with cached formula values (never
evaluated), and refused when it links to other workbooks or unpacks to far more
than it holds (a zip bomb).
File-level problems raise :class:`FileProblem` naming the file, the line and
what to do: not a regular file (a directory, a FIFO, a link leading out of the
input folder), a file that changes while the load runs, content that is not
UTF-8 or holds NUL bytes, an empty file, a row whose field count is not the
header's, a quote left open, a Parquet column of a nested or binary type.

Each file is read into memory once (:func:`read_source`): the header, the rows
and the line numbers of rejects all come from the same bytes, and the file's
size, modification time and inode are compared with those seen when the load
started, before and after the read. A file truncated, replaced or deleted in
the meantime is refused rather than half read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import stat
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from graph_model.errors import CreditGraphError

if TYPE_CHECKING:
    from _csv import Reader

SUFFIXES = (".parquet", ".csv", ".xlsx")
_BLOCK_BYTES = 16 << 20
# A line break followed, on the same line, by the delimiter: the mark of rows swallowed
# by a quote that was never closed (a quoted value may span lines, a row may not).
_SWALLOWED_ROW = r"[\r\n][^\r\n]*,"

Stamp = tuple[int, int, int]
"""Size, modification time (ns) and inode of a file when the load found it."""


class FileProblem(CreditGraphError):
    """A contract file cannot be read at all; the message says why and where."""


@dataclass(frozen=True)
class SourceFile:
    """A contract file found on disk, with its stamp at that moment."""

    table: str
    path: Path
    stamp: Stamp = (0, 0, 0)

    @property
    def is_csv(self) -> bool:
        return self.path.suffix == ".csv"

    @property
    def is_xlsx(self) -> bool:
        return self.path.suffix == ".xlsx"


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _regular_file(path: Path, root: Path) -> Stamp:
    """The stamp of ``path`` if it is a regular file inside ``root`` (links followed)."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            # Say neither where the link leads nor what is there.
            if not path.resolve().is_relative_to(root):
                raise FileProblem(
                    f"{path.name}: a link to a file outside the input folder; copy the file "
                    "into the folder instead"
                )
            st = os.stat(path)
    except FileNotFoundError:
        raise FileProblem(f"{path.name}: a link to a file that does not exist") from None
    except OSError as exc:
        raise FileProblem(f"{path.name}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a folder"
            if stat.S_ISDIR(st.st_mode)
            else "a named pipe (FIFO)"
            if stat.S_ISFIFO(st.st_mode)
            else "a device or socket"
        )
        raise FileProblem(
            f"{path.name}: is {kind}, not a file; expected a CSV, Excel or Parquet file"
        )
    return _stamp(st)


def find_files(folder: Path, tables: tuple[str, ...]) -> tuple[list[SourceFile], list[Path]]:
    """Contract files present in ``folder`` and the files that match no table."""
    if not folder.is_dir():
        raise FileProblem(f"{folder}: no such folder")
    root = folder.resolve()
    found: list[SourceFile] = []
    for table in tables:
        candidates = [
            folder / f"{table}{s}" for s in SUFFIXES if os.path.lexists(folder / f"{table}{s}")
        ]
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise FileProblem(f"{folder}: both {names} exist; keep one file per table")
        found.extend(SourceFile(table, p, _regular_file(p, root)) for p in candidates)
    known = {f.path for f in found}
    unknown = sorted(p for p in folder.iterdir() if p.is_file() and p not in known)
    return found, unknown


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


ENCODINGS = ("utf-8", "gb18030")
"""Encodings a CSV file may be in: UTF-8 (with or without a BOM), or GB 18030, which reads
GBK and GB 2312 exports too."""


def _check_text(name: str, data: bytes, encoding: str) -> bytes:
    """The file's content as UTF-8; refuses empty, NUL-holding or undecodable content, naming
    the line. UTF-8 content is only checked: no decoded copy of a large file is kept."""
    if not data.strip():
        raise FileProblem(f"{name}: the file is empty; expected a header row")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FileProblem(
            f"{name} line {_line_of(data, nul)}: a NUL byte (binary content); "
            "expected a CSV text file"
        )
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
        return data if encoding == "utf-8" else text.encode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        hint = (
            "save the file as UTF-8, or load a GBK export with --encoding gb18030"
            if encoding == "utf-8"
            else "the file is not in that encoding either; save it as UTF-8"
        )
        raise FileProblem(
            f"{name} line {_line_of(data, start)}: not {encoding.upper()} "
            f"(byte 0x{data[start]:02X}); {hint}"
        ) from None


@dataclass(frozen=True)
class Contents:
    """A contract file read into memory: its column names and rows."""

    source: SourceFile
    names: tuple[str, ...]
    """Column names (CSV names trimmed of surrounding spaces)."""
    table: pa.Table
    csv_bytes: bytes | None = None
    """The CSV content in UTF-8, for line numbers; None for Parquet and Excel."""
    row_lines: tuple[int, ...] | None = None
    """The Excel row number of each data row; None for CSV and Parquet."""

    @property
    def name(self) -> str:
        return self.source.path.name

    def lines(self, rows: set[int]) -> dict[int, int]:
        """Line of each data row (1-based): the physical CSV line, the Excel row, or the
        Parquet row."""
        if self.row_lines is not None:
            return {r: self.row_lines[r - 1] for r in rows if 0 < r <= len(self.row_lines)}
        if self.csv_bytes is None:
            return {r: r for r in rows}
        found: dict[int, int] = {}
        for number, start, _ in _csv_rows(self.csv_bytes):
            if number in rows:
                found[number] = start
                if len(found) == len(rows):
                    break
        return found


def _csv_reader(data: bytes) -> Reader:
    """Rows of UTF-8 CSV content, streamed (no decoded copy of the whole file)."""
    # The csv module refuses fields over 128 KiB by default; Arrow has read them already
    # (a value too long for the contract is rejected by the validator, with its line).
    csv.field_size_limit(max(csv.field_size_limit(), len(data) + 1))
    return csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=""))


def _csv_rows(data: bytes) -> Iterator[tuple[int, int, list[str]]]:
    """(data row number, line where it starts, fields) of each non-blank row after the header."""
    reader = _csv_reader(data)
    next(reader, None)
    start = reader.line_num + 1
    number = 0
    for row in reader:
        # Arrow skips blank lines, so they are not data rows; they still count as lines.
        if row:
            number += 1
            yield number, start, row
        start = reader.line_num + 1


def _read_bytes(source: SourceFile) -> bytes:
    path = source.path
    name = path.name
    try:
        if _stamp(os.stat(path)) != source.stamp:
            raise FileProblem(
                f"{name}: changed since the load started (size or time differs); "
                "load again once the file is complete"
            )
        with path.open("rb") as fh:
            data = fh.read()
            after = _stamp(os.fstat(fh.fileno()))
    except FileNotFoundError:
        raise FileProblem(f"{name}: disappeared while the load ran; nothing written") from None
    except OSError as exc:
        raise FileProblem(f"{name}: cannot be read ({exc.strerror})") from None
    if after != source.stamp or len(data) != source.stamp[0]:
        raise FileProblem(f"{name}: changed while it was being read; load again")
    return data


def read_source(source: SourceFile, encoding: str = "utf-8") -> Contents:
    """Read and check a contract file (CSV text in ``encoding``, one of :data:`ENCODINGS`);
    raise :class:`FileProblem` when it cannot be used."""
    data = _read_bytes(source)
    if source.is_csv:
        return _read_csv(source, data, encoding)
    if source.is_xlsx:
        return _read_xlsx(source, data)
    return _read_parquet(source, data)


def _read_csv(source: SourceFile, data: bytes, encoding: str) -> Contents:
    name = source.path.name
    data = _check_text(name, data, encoding)
    raw_names: list[str] = next(_csv_reader(data), [])
    names = tuple(c.strip() for c in raw_names)
    if not any(names):
        raise FileProblem(f"{name} line 1: empty header row")
    if len(set(names)) != len(names):
        raise FileProblem(f"{name} line 1: a column name appears twice")
    # Arrow keeps names as written ("id, name" gives " name"): type by the raw names,
    # then rename to the trimmed ones that the contract mapping uses.
    convert = pcsv.ConvertOptions(
        column_types={n: pa.string() for n in raw_names},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(block_size=_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=convert,
        ).rename_columns(list(names))
    except pa.ArrowInvalid:
        # Arrow's message quotes the row, which may hold ID numbers: find the line ourselves.
        raise _ragged(name, data, len(names)) from None
    contents = Contents(source, names, table, data)
    _refuse_swallowed_rows(contents)
    return contents


def _ragged(name: str, data: bytes, width: int) -> FileProblem:
    for _, start, row in _csv_rows(data):
        if len(row) != width:
            if any("\n" in v or "\r" in v for v in row):
                return FileProblem(
                    f"{name} line {start}: a quote opened on this line is never closed"
                )
            return FileProblem(
                f"{name} line {start}: {len(row)} fields where the header has {width}; "
                "quote values that hold a comma"
            )
    return FileProblem(f"{name}: malformed CSV (the rows cannot be split into fields)")


def _refuse_swallowed_rows(contents: Contents) -> None:
    """A quote left open swallows the rows after it into one value: refuse, naming the line."""
    first: tuple[int, str] | None = None
    for column in contents.names:
        hits = pc.match_substring_regex(contents.table[column], _SWALLOWED_ROW)
        index = pc.index(pc.fill_null(hits, False), True).as_py()
        if index >= 0 and (first is None or index < first[0]):
            first = (index, column)
    if first is None:
        return
    row, column = first
    line = contents.lines({row + 1}).get(row + 1, row + 1)
    raise FileProblem(
        f"{contents.name} line {line}, field {column}: a quote opened here is not closed "
        "before the next row, which it swallows; close or remove the quote (a quoted value "
        "may span lines, but a line inside it may not hold a comma)"
    )


def _column_type_ok(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _column_type_ok(t.value_type)
    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_boolean(t)
        or pa.types.is_date(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_null(t)
    )


def _read_parquet(source: SourceFile, data: bytes) -> Contents:
    name = source.path.name
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise FileProblem(f"{name}: not a readable Parquet file ({reason})") from None
    for f in table.schema:
        if not _column_type_ok(f.type):
            raise FileProblem(
                f"{name}, field {f.name}: has the Parquet type {f.type}; expected text, a "
                "number, a boolean or a date (nested and binary columns are not read)"
            )
    table = table.combine_chunks() if table.num_rows else table
    for f in table.schema:
        if pa.types.is_dictionary(f.type):
            i = table.schema.get_field_index(f.name)
            table = table.set_column(i, f.name, pc.cast(table[f.name], f.type.value_type))
    return Contents(source, tuple(table.column_names), table)


XLSX_MAX_UNPACKED = 2 << 30
"""Most bytes an Excel workbook may unpack to (a million rows of a dozen columns take about
a quarter of that)."""
XLSX_MAX_RATIO = 200
"""Most a part of a workbook may be compressed (sheet XML compresses 5 to 30 times; a zip
bomb a thousand times or more)."""
_XLSX_MAX_PARTS = 10_000
_EXCEL_ROWS = 1_048_576
_EXCEL_COLUMNS = 16_384
_EXACT_INTEGERS = 1e15
"""Floats below this with no fraction are whole numbers (Excel keeps 15 significant digits).
Larger ones are shown as Excel shows them (``3.30203E+17``): an ID number typed as a number,
whose last digits Excel dropped, then fails its check instead of passing as other digits,
and no echo of it shows more than its region."""


def _check_zip(name: str, data: bytes) -> None:
    """Refuse what is not an .xlsx package, a zip bomb, or a workbook linking to others."""
    if data[:4] != b"PK\x03\x04":
        raise FileProblem(
            f"{name}: not an Excel .xlsx workbook (an .xls file, or a workbook with a "
            "password?); save it in Excel as .xlsx without a password"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileProblem(f"{name}: not a readable Excel .xlsx workbook (broken zip)") from None
    if len(parts) > _XLSX_MAX_PARTS:
        raise FileProblem(f"{name}: holds {len(parts):,} parts; not an Excel workbook")
    unpacked = sum(p.file_size for p in parts)
    if unpacked > XLSX_MAX_UNPACKED:
        raise FileProblem(
            f"{name}: unpacks to {unpacked:,} bytes, more than the {XLSX_MAX_UNPACKED:,} "
            "an .xlsx file may; split it or save it as CSV"
        )
    for p in parts:
        if p.file_size > 1 << 20 and p.file_size > XLSX_MAX_RATIO * max(p.compress_size, 1):
            raise FileProblem(
                f"{name}: a part unpacks {p.file_size // max(p.compress_size, 1):,} times its "
                f"size (more than {XLSX_MAX_RATIO}); refused as a zip bomb"
            )
    if any(p.filename.startswith("xl/externalLinks/") for p in parts):
        raise FileProblem(
            f"{name}: links to other workbooks (external links), whose values may be stale "
            "copies; in Excel use Data → Edit Links → Break Link (or paste the values) and "
            "save again"
        )


def _cell_text(value: Any) -> str | None:
    """A cell's value as contract text: whole numbers without ``.0``, dates as yyyy-mm-dd
    (with the time only when it is not midnight), booleans as true/false; empty as None."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= _EXACT_INTEGERS:
            return f"{value:.6G}"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _pick_sheet(name: str, table: str, workbook: Any) -> Any:
    """The sheet named as the table (``enterprises``), else the first visible sheet."""
    sheets = workbook.worksheets
    for ws in sheets:
        if ws.title.strip().lower() == table.lower():
            return ws
    for ws in sheets:
        if ws.sheet_state == "visible":
            return ws
    raise FileProblem(f"{name}: no visible worksheet; expected one named {table} or any")


def _sheet_rows(workbook: Any, ws: Any) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(Excel row number, cells present) of each row of ``ws``, as stored.

    openpyxl's own read-only rows pad every row to the widest column and every gap to the
    sheet's stated size, which a hostile sheet sets to 16,384 columns by a million rows:
    its row parser is used directly instead (openpyxl is pinned; a test reads a sheet with
    a cell in its last column and row).
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    with workbook._archive.open(ws._worksheet_path) as src:
        parser = WorkSheetParser(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        yield from parser.parse()


def _column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_xlsx(source: SourceFile, data: bytes) -> Contents:
    name = source.path.name
    _check_zip(name, data)
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # openpyxl warns of styles, extensions and dates out of range; a date out of
            # range becomes #VALUE!, which the validator refuses with its line.
            warnings.simplefilter("ignore")
            workbook = load_workbook(
                io.BytesIO(data), read_only=True, data_only=True, keep_links=False
            )
            try:
                ws = _pick_sheet(name, source.table, workbook)
                names, columns, lines = _sheet_table(name, _sheet_rows(workbook, ws))
            finally:
                workbook.close()
    except FileProblem:
        raise
    except Exception as exc:  # any failure of a hostile or broken package: say which kind
        raise FileProblem(
            f"{name}: not a readable Excel .xlsx workbook ({type(exc).__name__}); open it in "
            "Excel and save it again, or save it as CSV"
        ) from None
    table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})
    return Contents(source, names, table, row_lines=tuple(lines))


def _sheet_table(
    name: str, rows: Iterator[tuple[int, list[dict[str, Any]]]]
) -> tuple[tuple[str, ...], list[list[str | None]], list[int]]:
    """Column names (row 1), the columns' values as text, and the Excel row of each data row
    (blank rows skipped, as in CSV)."""
    first = next(rows, None)
    header = {c["column"]: _cell_text(c["value"]) for c in first[1]} if first else {}
    if first is None or first[0] != 1 or not any(header.values()):
        raise FileProblem(f"{name} line 1: empty header row (the header goes in row 1)")
    width = max(k for k, v in header.items() if v)
    names = tuple(
        (header.get(k) or f"(column {_column_letter(k)})").strip() for k in range(1, width + 1)
    )
    if len(set(names)) != len(names):
        raise FileProblem(f"{name} line 1: a column name appears twice")
    columns: list[list[str | None]] = [[] for _ in names]
    lines: list[int] = []
    for number, cells in rows:
        if number > _EXCEL_ROWS:
            raise FileProblem(f"{name} line {number:,}: beyond Excel's {_EXCEL_ROWS:,} rows")
        values: dict[int, str] = {}
        for cell in cells:
            text = _cell_text(cell["value"])
            if text is None:
                continue
            column = cell["column"]
            if column > width:
                where = _column_letter(min(column, _EXCEL_COLUMNS + 1))
                raise FileProblem(
                    f"{name} line {number}, column {where}: a value right of the header's "
                    f"last column ({_column_letter(width)}); give the column a header or "
                    "clear the cell"
                )
            values[column] = text
        if not values:
            continue
        lines.append(number)
        for k, column_values in enumerate(columns, start=1):
            column_values.append(values.get(k))
    return names, columns, lines
