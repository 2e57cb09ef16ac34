"""Reading contract files (CSV or Parquet) into Arrow, with clear errors.

CSV is read with every column as text, so that a bad value becomes a reject
for its row rather than a failure of the whole file; Parquet keeps its types.
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
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from _csv import Reader

SUFFIXES = (".parquet", ".csv")
_BLOCK_BYTES = 16 << 20
# A line break followed, on the same line, by the delimiter: the mark of rows swallowed
# by a quote that was never closed (a quoted value may span lines, a row may not).
_SWALLOWED_ROW = r"[\r\n][^\r\n]*,"

Stamp = tuple[int, int, int]
"""Size, modification time (ns) and inode of a file when the load found it."""


class FileProblem(Exception):
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
        raise FileProblem(f"{path.name}: is {kind}, not a file; expected a CSV or Parquet file")
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
    """The CSV content in UTF-8, for line numbers; None for Parquet."""

    @property
    def name(self) -> str:
        return self.source.path.name

    def lines(self, rows: set[int]) -> dict[int, int]:
        """Line of each data row (1-based): the physical CSV line, or the Parquet row."""
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
    return _read_csv(source, data, encoding) if source.is_csv else _read_parquet(source, data)


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
    return (
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
