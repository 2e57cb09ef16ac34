"""The user's own outcomes: a labels file, read as hostile input.

``creditgraph train --labels FILE`` learns from outcomes the user has (bank defaults,
bankruptcies, inspection findings) instead of the store's record kinds. The file is CSV
(UTF-8, or GB18030 as Excel saves Chinese text) or Parquet, one event per row:

- ``enterprise_id``: the enterprise as the store keys it, a USCC or an external id
  ``SCHEME:value``;
- ``event_date``: the day of the event, 2025-06-30, 2025/6/30, 2025.6.30, 20250630 or
  2025年6月30日 (a time after it is dropped); a Parquet date column is taken as it is;
- ``label``: the name of the outcome (``bank default``, ``破产``), letters, digits, spaces
  and ``_ - : . / ( )``, at most 64 characters, starting with a letter or a digit.

Other columns are ignored and named. A file with a bad value is refused whole: every
problem is listed by file, line (Parquet: row), field and reason, values shown masked
where they may be an ID number. A date after today is refused (an outcome cannot be in
the future). Rows repeating an event (same enterprise, day and label) count once. Blank
lines are skipped.

What the file cannot say is checked against the store when the events are taken
(:meth:`LabelFile.events`): enterprises the store does not hold are counted and named, not
dropped silently; events after the day the data are complete for are counted and not used.
"""

from __future__ import annotations

import csv
import hashlib
import io
import stat
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graph_model.identifiers import enterprise_id_valid_array, mask_id_numbers_in
from risk.model.errors import ModelError
from risk.model.labels import LabelDefinition, LabelEvents

COLUMNS = ("enterprise_id", "event_date", "label")
"""The columns a labels file must have."""

MAX_LABEL_CHARACTERS = 64
MAX_BYTES = 1 << 30
"""Largest labels file read (1 GiB: some 20 million events)."""
SHOWN_PROBLEMS = 20
SHOWN_UNKNOWN = 5
DATE_FORMS = "2025-06-30, 2025/6/30, 2025.6.30, 20250630 or 2025年6月30日"

_LABEL = r"^[\p{L}\p{N}][\p{L}\p{N}_ .:/()（）·-]*$"
_DATE = r"^\d{4}-\d{1,2}-\d{1,2}$"
_TIME = r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
_EPOCH = np.datetime64("1970-01-01", "D")


class LabelFileError(ModelError):
    """The labels file is refused; the message names file, line, field and reason."""

    http_status = 422
    code = "invalid_labels"


def _shown(value: object, limit: int = 40) -> str:
    """A value of the file fit for a message: ID-number-like runs masked, control
    characters escaped (repr), long values cut."""
    text = mask_id_numbers_in(str(value))
    cut = text if len(text) <= limit else text[:limit] + "…"
    return repr(cut)


@dataclass(frozen=True)
class LabelFile:
    """A labels file that passed every check: its events, one per distinct row."""

    path: Path
    sha256: str
    format: str
    encoding: str | None
    table: pa.Table
    """enterprise_id (string), event_date (date32), label (string), line (int64)."""
    rows: int
    duplicates: int
    ignored_columns: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The label names of the file, sorted."""
        return tuple(sorted(pc.unique(self.table["label"]).to_pylist()))

    @property
    def earliest(self) -> date:
        """The earliest event date."""
        earliest = pc.min(self.table["event_date"]).as_py()
        assert isinstance(earliest, date)
        return earliest

    @property
    def latest(self) -> date:
        """The latest event date: by default, the outcomes are complete through it."""
        latest = pc.max(self.table["event_date"]).as_py()
        assert isinstance(latest, date)
        return latest

    def where(self, line: int) -> str:
        return f"{self.path.name} {'row' if self.format == 'parquet' else 'line'} {line}"

    def events(
        self,
        known: pa.Array,
        horizon_months: int,
        first_as_of: date,
        observed_through: date,
    ) -> LabelEvents:
        """The events after ``first_as_of`` up to ``observed_through`` of enterprises the
        store holds (``known``), every label name a bad outcome; what was left out is
        counted in the events' ``source``."""
        table = self.table
        ids = table["enterprise_id"]
        held = _mask(pc.is_in(ids, value_set=known))
        unknown = table.filter(pa.array(~held))
        day = table["event_date"]
        after = _mask(pc.greater(day, pa.scalar(observed_through, pa.date32())))
        before = _mask(pc.less_equal(day, pa.scalar(first_as_of, pa.date32())))
        used = table.filter(pa.array(held & ~after & ~before))
        examples = [
            f"{self.where(line)}: {_shown(e)}"
            for e, line in zip(
                unknown["enterprise_id"].to_pylist()[:SHOWN_UNKNOWN],
                unknown["line"].to_pylist()[:SHOWN_UNKNOWN],
                strict=True,
            )
        ]
        source: dict[str, object] = {
            "kind": "file",
            "path": str(self.path),
            "sha256": self.sha256,
            "format": self.format,
            "encoding": self.encoding,
            "rows": self.rows,
            "duplicate_rows": self.duplicates,
            "ignored_columns": list(self.ignored_columns),
            "unknown_enterprises": int(pc.count_distinct(unknown["enterprise_id"]).as_py()),
            "unknown_rows": unknown.num_rows,
            "unknown_examples": examples,
            "after_data_through": int(after.sum()),
            "before_first_as_of": int((before & held & ~after).sum()),
        }
        return LabelEvents(
            definition=LabelDefinition(horizon_months, self.names, from_file=True),
            enterprise_ids=used["enterprise_id"].combine_chunks(),
            days=_day_numbers(used["event_date"]),
            events=np.asarray(used["label"].to_pylist(), dtype=object),
            observed_through=observed_through,
            source=source,
        )


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean column as a NumPy mask, null as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _day_numbers(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.cast(column, pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)


def read_label_file(path: Path, today: date | None = None) -> LabelFile:
    """Read and check a labels file; raise :class:`LabelFileError` naming every problem."""
    today = today or date.today()
    name = _shown(str(path), 200)
    try:
        info = path.stat()
    except OSError:
        raise LabelFileError(f"labels file {name}: no such file") from None
    if not stat.S_ISREG(info.st_mode):
        raise LabelFileError(f"labels file {name}: not a regular file")
    if info.st_size > MAX_BYTES:
        raise LabelFileError(f"labels file {name}: larger than {MAX_BYTES >> 20} MiB")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise LabelFileError(f"labels file {name}: give a .csv or a .parquet file")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if suffix == ".parquet":
        table, lines, encoding = _read_parquet(data, path.name), None, None
    else:
        table, lines, encoding = _read_csv(data, path.name)
    header = [c.strip() for c in table.column_names]
    table = table.rename_columns(header)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        found = ", ".join(_shown(c) for c in header[:10])
        raise LabelFileError(
            f"{path.name}: missing column(s) {', '.join(missing)} (it has {found}); a labels "
            f"file has the columns {', '.join(COLUMNS)}"
        )
    repeated = [c for c in COLUMNS if header.count(c) > 1]
    if repeated:
        raise LabelFileError(f"{path.name}: column(s) {', '.join(repeated)} given twice")
    ignored = tuple(c for c in header if c not in COLUMNS)
    line = np.arange(table.num_rows, dtype=np.int64) + 1 if lines is None else lines
    table = table.select(list(COLUMNS))
    checked = _check(table, line, path.name, "row" if lines is None else "line", today)
    distinct = checked.group_by(list(COLUMNS)).aggregate([("line", "min")])
    distinct = distinct.rename_columns([*COLUMNS, "line"]).sort_by("line")
    if not distinct.num_rows:
        raise LabelFileError(f"{path.name}: no events (a header and no rows)")
    return LabelFile(
        path=path.resolve(),
        sha256=digest,
        format=suffix[1:],
        encoding=encoding,
        table=distinct,
        rows=checked.num_rows,
        duplicates=checked.num_rows - distinct.num_rows,
        ignored_columns=ignored,
    )


def _read_parquet(data: bytes, name: str) -> pa.Table:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError):
        raise LabelFileError(f"{name}: not a readable Parquet file") from None
    for column, want in (("enterprise_id", "text"), ("label", "text")):
        if column in table.column_names:
            kind = table.schema.field(column).type
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
                raise LabelFileError(f"{name}: column {column} is {kind}, not {want}")
    return table


def _read_csv(data: bytes, name: str) -> tuple[pa.Table, np.ndarray, str]:
    """The CSV's table (every column text) and the line each row starts on."""
    for encoding in ("utf8", "gb18030"):
        try:
            text = data.decode("utf-8-sig" if encoding == "utf8" else encoding)
        except UnicodeDecodeError:
            continue
        break
    else:
        raise LabelFileError(f"{name}: neither UTF-8 nor GB18030 text: save it as CSV UTF-8")
    raw = text.encode("utf-8")
    try:
        header = next(csv.reader(io.StringIO(text.partition("\n")[0])), [])
        table = pacsv.read_csv(
            pa.BufferReader(raw),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        # pyarrow's message quotes the bad row: say where, not what.
        raise LabelFileError(_unreadable(text, name)) from None
    extra = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        if pa.types.is_string(column.type):
            newlines = pc.fill_null(pc.count_substring(column, "\n"), 0)
            extra += np.asarray(newlines.to_numpy(zero_copy_only=False), dtype=np.int64)
    starts = 2 + np.arange(table.num_rows, dtype=np.int64) + np.cumsum(extra) - extra
    return table, starts, "utf-8" if encoding == "utf8" else encoding


def _unreadable(text: str, name: str) -> str:
    """Where a CSV text pyarrow could not parse goes wrong, without its content."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, [])
        for fields in reader:
            if fields and len(fields) != len(header):
                return (
                    f"{name} line {reader.line_num}: {len(fields)} field(s) where the header "
                    f"has {len(header)}"
                )
    except csv.Error as exc:
        return f"{name}: not a readable CSV file ({exc})"
    return f"{name}: not a readable CSV file (check the quoting of each line)"


def _dates(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Days of a date, timestamp or text column (null where empty or not a date), and
    where the text was not empty."""
    col = column.combine_chunks()
    if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
        days = pc.cast(
            pc.cast(col, pa.timestamp("s")) if pa.types.is_timestamp(col.type) else col, pa.date32()
        )
        return days, _mask(col.is_valid())
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    text = pc.utf8_trim_whitespace(col)
    if pc.any(pc.invert(pc.string_is_ascii(text))).as_py():
        text = pc.utf8_normalize(text, "NFKC")  # full-width digits: ２０２５年６月３０日
    given = _mask(pc.greater(pc.utf8_length(text), 0))
    text = pc.replace_substring_regex(text, _TIME, "")
    for mark, by in (("/", "-"), (".", "-"), ("年", "-"), ("月", "-")):
        text = pc.replace_substring(text, mark, by)
    text = pc.replace_substring_regex(text, "日$", "")
    eight = pc.fill_null(pc.match_substring_regex(text, r"^\d{8}$"), False)
    text = pc.if_else(
        eight,
        pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(text, 0, 4),
            pc.utf8_slice_codeunits(text, 4, 6),
            pc.utf8_slice_codeunits(text, 6, 8),
            "-",
        ),
        text,
    )
    form = pc.fill_null(pc.match_substring_regex(text, _DATE), False)
    parts = pc.split_pattern(pc.if_else(form, text, pa.scalar(None, pa.string())), "-")
    iso = pc.binary_join_element_wise(
        pc.list_element(parts, 0),
        pc.utf8_lpad(pc.list_element(parts, 1), 2, "0"),
        pc.utf8_lpad(pc.list_element(parts, 2), 2, "0"),
        "-",
    )
    stamp = pc.strptime(iso, "%Y-%m-%d", "s", error_is_null=True)
    # strptime rolls 2025-02-30 over to 2025-03-02: a day must read back as written.
    exact = pc.equal(pc.strftime(stamp, "%Y-%m-%d"), iso)
    days = pc.cast(
        pc.if_else(pc.fill_null(exact, False), stamp, pa.scalar(None, stamp.type)), pa.date32()
    )
    return days, given


def _check(table: pa.Table, line: np.ndarray, name: str, unit: str, today: date) -> pa.Table:
    """The rows with their values cleaned, or :class:`LabelFileError` listing problems."""
    ids = pc.utf8_trim_whitespace(table["enterprise_id"].combine_chunks().cast(pa.string()))
    labels = pc.utf8_trim_whitespace(table["label"].combine_chunks().cast(pa.string()))
    days, date_given = _dates(table["event_date"])
    id_given = _mask(pc.greater(pc.utf8_length(ids), 0))
    label_given = _mask(pc.greater(pc.utf8_length(labels), 0))
    blank = ~(id_given | date_given | label_given)
    checks: list[tuple[str, np.ndarray, str]] = []
    id_ok = np.zeros(len(ids), dtype=bool)
    if id_given.any():
        id_ok[id_given] = enterprise_id_valid_array(ids.filter(pa.array(id_given)))
    checks.append(("enterprise_id", ~id_given, "empty"))
    checks.append(
        (
            "enterprise_id",
            id_given & ~id_ok,
            "not an enterprise id: a USCC with a valid check character, or SCHEME:value "
            "(docs/data-contract.md, identifiers)",
        )
    )
    parsed = _mask(days.is_valid())
    checks.append(("event_date", ~date_given, "empty"))
    checks.append(("event_date", date_given & ~parsed, f"not a date ({DATE_FORMS})"))
    future = _mask(pc.greater(days, pa.scalar(today, pa.date32())))
    checks.append(
        ("event_date", future, f"after today ({today}): an outcome cannot be in the future")
    )
    long = _mask(pc.greater(pc.utf8_length(labels), MAX_LABEL_CHARACTERS))
    form = _mask(pc.match_substring_regex(labels, _LABEL))
    checks.append(("label", ~label_given, "empty"))
    checks.append(("label", label_given & long, f"longer than {MAX_LABEL_CHARACTERS} characters"))
    checks.append(
        (
            "label",
            label_given & ~long & ~form,
            "letters, digits, spaces and _ - : . / ( ) only, starting with a letter or digit",
        )
    )
    values = {"enterprise_id": ids, "event_date": table["event_date"], "label": labels}
    problems: list[tuple[int, int, str]] = []
    total = 0
    for field, mask, reason in checks:
        bad = np.flatnonzero(mask & ~blank)
        total += len(bad)
        for row in bad[:SHOWN_PROBLEMS]:
            value = values[field][int(row)].as_py()
            shown = f" = {_shown(value)}" if value not in (None, "") else ""
            problems.append((int(line[row]), len(problems), f"{field}{shown}: {reason}"))
    if total:
        problems.sort()
        listed = "\n  ".join(
            f"{name} {unit} {at}, {text}" for at, _, text in problems[:SHOWN_PROBLEMS]
        )
        more = f"\n  … {total - SHOWN_PROBLEMS} more" if total > SHOWN_PROBLEMS else ""
        raise LabelFileError(f"labels file refused, {total} problem(s):\n  {listed}{more}")
    keep = pa.array(~blank)
    return pa.table(
        {
            "enterprise_id": ids.filter(keep),
            "event_date": days.filter(keep),
            "label": labels.filter(keep),
            "line": pa.array(line[~blank]),
        }
    )
