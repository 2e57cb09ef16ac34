"""Column-wise validation and normalisation of one contract table.

Each check runs over a whole column (Arrow compute and NumPy) and marks the
rows it fails; a row that fails any check is rejected with one reject line per
problem. Python-level loops run only over the unique values of identifier
columns or over rows already found bad.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import DATE_FORMS, MAX_CHARACTERS, FieldSpec, RecordSpec
from graph_model.identifiers import (
    enterprise_id_valid_array,
    mask_id_numbers_in,
    mask_person_ref,
    person_id_valid_array,
    person_ref_valid_array,
    person_source_valid_array,
)
from graph_model.industries import resolve_industry, sections
from graph_model.record_rules import REPAIRED_ON, as_days, earliest_repair, to_dates
from graph_model.regions import current_codes, resolve_region

_SHOWN_CHARACTERS = 80
_CONTROL = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\0"})
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_TRUE = ("true", "1", "yes", "y", "t", "是")
_FALSE = ("false", "0", "no", "n", "f", "否")


@dataclass(frozen=True)
class Reject:
    """One problem with one row: where it is and why it was refused."""

    file: str
    line: int
    field: str
    value: str
    reason: str


def echoed(value: object, limit: int = _SHOWN_CHARACTERS) -> str:
    """A value from an input file fit to echo in a reject file, a message or a log: ID
    numbers masked wherever they sit, line breaks and NULs escaped, long values cut."""
    text = mask_id_numbers_in(str(value)).translate(_CONTROL)
    if len(text) > limit:
        return f"{text[: limit - 1]}… ({len(text):,} characters)"
    return text


Finding = tuple[np.ndarray, str, str, pa.Array | None]
"""Rows (0-based), field, reason and the rows' values as shown."""
LOADED_WITHOUT_IT = "; loaded without it"
"""Ends the reason of a warning whose value was emptied (the row loaded without it)."""


class Problems:
    """Collects failing rows per check (rejects) and doubtful ones (warnings, loaded);
    rows are 0-based positions in the table.

    A field of ``soft`` is optional: a value of it that fails a check of its own (one of
    :func:`convert_field`) is emptied with a warning and its row still loads. The field's
    mask, when there is one, limits that to some rows (in the others the field identifies
    the row, and a bad value rejects it). Values of ``personal`` fields (a person's phone)
    are masked wherever they are shown.
    """

    def __init__(
        self,
        n_rows: int,
        soft: Mapping[str, np.ndarray | None] | None = None,
        personal: Collection[str] = (),
    ) -> None:
        self.bad = np.zeros(n_rows, dtype=bool)
        self.items: list[Finding] = []
        self.warnings: list[Finding] = []
        self.soft = dict(soft or {})
        self.personal = frozenset(personal)
        self.emptied: dict[str, np.ndarray] = {}
        """Rows of each soft field whose value was emptied."""
        self.dependents: list[tuple[np.ndarray, np.ndarray]] = []
        """Rows rejected because they name a row rejected elsewhere, and that row's cause
        (an id the loader gives it)."""
        self.checking: str | None = None
        """The field :func:`convert_field` is converting (whose own checks may empty it)."""
        self._bad_on: dict[str, np.ndarray] = {}

    def _shown(
        self, field: str, taken: pa.Array | None, shown: Callable[[pa.Array], pa.Array] | None
    ) -> pa.Array | None:
        if taken is None:
            return None
        if shown is None and field in self.personal:
            shown = masked_personal
        return shown(taken) if shown is not None else taken

    def warn(
        self,
        mask: np.ndarray,
        field: str,
        reason: str,
        values: pa.Array | None,
        shown: Callable[[pa.Array], pa.Array] | None = None,
    ) -> None:
        """Record that rows where ``mask`` is true are doubtful; they are still loaded."""
        rows = np.flatnonzero(mask)
        if len(rows):
            taken = values.take(pa.array(rows)) if values is not None else None
            self.warnings.append((rows, field, reason, self._shown(field, taken, shown)))

    def add(
        self,
        mask: np.ndarray,
        field: str,
        reason: str,
        values: pa.Array | None,
        shown: Callable[[pa.Array], pa.Array] | None = None,
    ) -> None:
        """Record that rows where ``mask`` is true fail ``reason`` on ``field``: rejected,
        or for a soft field while it is being converted, emptied with a warning.

        ``shown`` transforms the failing values for the reject file (applied to those only).
        """
        if field == self.checking and field in self.soft:
            rows_soft = self.soft[field]
            soft = mask if rows_soft is None else mask & rows_soft
            if soft.any():
                self.warn(soft, field, reason + LOADED_WITHOUT_IT, values, shown)
                emptied = self.emptied.setdefault(field, np.zeros(len(self.bad), dtype=bool))
                emptied |= soft
                mask = mask & ~soft
        rows = np.flatnonzero(mask)
        if len(rows):
            self.bad[rows] = True
            self._bad_on.setdefault(field, np.zeros(len(self.bad), dtype=bool))[rows] = True
            taken = values.take(pa.array(rows)) if values is not None else None
            self.items.append((rows, field, reason, self._shown(field, taken, shown)))

    def bad_on(self, field: str) -> np.ndarray:
        """Rows already rejected for a problem of ``field``."""
        return self._bad_on.get(field, np.zeros(len(self.bad), dtype=bool))

    def depend(self, mask: np.ndarray, causes: np.ndarray) -> None:
        """Reject rows where ``mask`` is true because they name a rejected row; ``causes``
        (one per row of the table) identifies that row. Problems already found on the
        rows' ``field`` stay counted but are no longer reported: the cause is."""
        rows = np.flatnonzero(mask)
        if len(rows):
            self.bad[rows] = True
            self.dependents.append((rows, causes[rows]))

    def retract(self, mask: np.ndarray, field: str) -> None:
        """Stop reporting the problems of ``field`` found on rows where ``mask`` is true (they
        stay rejected): their cause is reported elsewhere."""
        kept: list[Finding] = []
        for rows, fld, reason, values in self.items:
            if fld == field:
                keep = ~mask[rows]
                if not keep.all():
                    rows = rows[keep]
                    values = values.filter(pa.array(keep)) if values is not None else None
            if len(rows):
                kept.append((rows, fld, reason, values))
        self.items = kept

    def emptied_in(self, field: str, values: pa.Array) -> pa.Array:
        """``values`` with the rows emptied for ``field`` set to null."""
        emptied = self.emptied.get(field)
        if emptied is None:
            return values
        return pc.if_else(pa.array(emptied), pa.scalar(None, values.type), values)


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _text(col: pa.Array) -> pa.Array:
    """Column as trimmed strings, blanks as null (works for typed Parquet columns too)."""
    if pa.types.is_timestamp(col.type):
        col = pc.strftime(col, "%Y-%m-%d")
    elif not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.string())
    col = pc.utf8_trim_whitespace(col.cast(pa.string()))
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)


def _normalise_address(value: str) -> str:
    # NFKC folds full-width digits, letters and spaces (common in Chinese registries).
    return "".join(unicodedata.normalize("NFKC", value).split())


def _normalise(col: pa.Array, how: str | None) -> pa.Array:
    if how is None:
        return col
    if how == "email":
        return pc.utf8_lower(col)
    if how == "phone":
        digits = pc.replace_substring_regex(col, r"[^0-9]", "")
        return pc.if_else(pc.equal(digits, ""), pa.scalar(None, pa.string()), digits)
    if how == "address":
        uniques = pc.unique(col).drop_null()
        mapped = pa.array([_normalise_address(v) for v in uniques.to_pylist()], pa.string())
        return pc.take(mapped, pc.index_in(col, value_set=uniques))
    raise ValueError(f"unknown normaliser {how!r}")


# Year, month and day, split by - / . or 年 月 日, or as eight digits; then maybe a time.
_DATE = (
    r"^\d{4}(?:-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2}|\.\d{1,2}\.\d{1,2}|年\d{1,2}月\d{1,2}日|\d{4})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _iso_dates(raw: pa.Array) -> pa.Array:
    """Dates in any of :data:`DATE_FORMS` rewritten as yyyy-mm-dd; other values kept as they
    are (they fail to parse). Columns already in that form are returned untouched."""
    if pc.all(pc.match_substring_regex(raw, _ISO_DATE)).as_py() is not False:
        return raw
    if pc.any(pc.invert(pc.string_is_ascii(raw))).as_py():
        raw = pc.utf8_normalize(raw, "NFKC")  # full-width digits: ２０２５年６月３０日
    # Literal replaces and splits: RE2 with capturing groups is several times slower.
    form = pc.match_substring_regex(raw, _DATE)
    text = raw
    if pc.any(pc.match_substring(raw, ":")).as_py():
        text = pc.replace_substring_regex(text, r"[ T][0-9:.]+$", "")
    for mark, by in (("/", "-"), (".", "-"), ("年", "-"), ("月", "-"), ("日", "")):
        text = pc.replace_substring(text, mark, by)
    form = pc.fill_null(form, False)
    eight = pc.and_(form, pc.ascii_is_decimal(text))
    none = pa.scalar(None, pa.string())
    parts = pc.split_pattern(pc.if_else(pc.and_(form, pc.invert(eight)), text, none), "-")
    split = pc.binary_join_element_wise(
        pc.list_element(parts, 0),
        pc.utf8_lpad(pc.list_element(parts, 1), 2, "0"),
        pc.utf8_lpad(pc.list_element(parts, 2), 2, "0"),
        "-",
    )
    if not pc.any(eight).as_py():
        return pc.if_else(form, split, raw)
    digits = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(text, 0, 4),
        pc.utf8_slice_codeunits(text, 4, 6),
        pc.utf8_slice_codeunits(text, 6, 8),
        "-",
    )
    iso = pc.if_else(eight, digits, split)
    return pc.if_else(form, iso, raw)


def _dealias(col: pa.Array, aliases: tuple[tuple[str, str], ...]) -> pa.Array:
    """An enum column with the words exports write (存续, 自然人, 原告…) read as the contract's
    values; other values are kept, to be checked as they are."""
    words = pa.array([word for word, _ in aliases], pa.string())
    at = pc.index_in(col, value_set=words)
    values = pa.array([value for _, value in aliases], pa.string())
    return pc.if_else(pc.is_null(at), col, pc.take(values, at))


Resolver = Callable[[str], tuple[str | None, str | None]]
_RESOLVERS: dict[str, tuple[Resolver, Callable[[], Collection[str]]]] = {
    "region": (resolve_region, current_codes),
    "industry": (resolve_industry, sections),
}
"""Normalisers that read a code or a name into a code, with the codes already in that form."""
_REASONS_BY_VALUE = 50
"""Most distinct reasons (one per ambiguous name) reported for one field of one file; further
values get the reason that fits all."""


def _resolve(raw: pa.Array, spec: FieldSpec, problems: Problems) -> pa.Array:
    """Codes for the values of ``raw`` (see :data:`_RESOLVERS`); a value that names no code,
    or several, is emptied with a warning: the row loads without it."""
    assert spec.normalise is not None
    resolve, known = _RESOLVERS[spec.normalise]
    done = pc.is_in(raw, value_set=pa.array(sorted(known()), pa.string()))
    todo = pc.unique(pc.filter(raw, pc.and_(pc.is_valid(raw), pc.invert(done))))
    if len(todo) == 0:
        return raw
    found = [resolve(v) for v in todo.to_pylist()]
    codes = pa.array([code for code, _ in found], pa.string())
    at = pc.index_in(raw, value_set=todo)
    out = pc.if_else(pc.is_null(at), raw, pc.take(codes, at))
    by_reason: dict[str, list[str]] = {}
    for value, (_, why) in zip(todo.to_pylist(), found, strict=True):
        if why is not None:
            by_reason.setdefault(why, []).append(value)
    generic = (
        f"not a {spec.normalise} we can read; emptied"
        if len(by_reason) > _REASONS_BY_VALUE
        else None
    )
    if generic is not None:
        values = [v for vs in by_reason.values() for v in vs]
        by_reason = {generic: values}
    for why, values in by_reason.items():
        mask = _np(pc.is_in(raw, value_set=pa.array(values, pa.string())))
        problems.warn(mask, spec.name, f"{why}; loaded without it", raw)
    return out


def _to_date(col: pa.Array, raw: pa.Array, spec: FieldSpec, problems: Problems) -> pa.Array:
    if pa.types.is_date32(col.type):
        return col
    if pa.types.is_timestamp(col.type):
        return pc.cast(col, pa.date32())
    text = _iso_dates(raw)
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    parsed = pc.cast(parsed, pa.date32())
    # strptime rolls impossible days over (2021-02-30 becomes 2021-03-02): a real date
    # prints back as the text it came from (a cast prints yyyy-mm-dd, 25 times faster than
    # strftime).
    same = pc.equal(pc.cast(parsed, pa.string()), text)
    parsed = pc.if_else(pc.fill_null(same, False), parsed, pa.scalar(None, parsed.type))
    problems.add(
        _np(pc.and_(pc.is_valid(raw), pc.is_null(parsed))),
        spec.name,
        f"not a date (write {DATE_FORMS})",
        raw,
    )
    return parsed


def _to_float(col: pa.Array, raw: pa.Array, spec: FieldSpec, problems: Problems) -> pa.Array:
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
        values = pc.cast(col, pa.float64())
    else:
        ok = pc.match_substring_regex(raw, _NUMBER)
        problems.add(_np(pc.and_(pc.is_valid(raw), pc.invert(ok))), spec.name, "not a number", raw)
        values = pc.cast(pc.if_else(ok, raw, pa.scalar(None, pa.string())), pa.float64())
    # NaN, and overflow such as 1e400 (infinity), are not amounts.
    not_finite = _np(pc.invert(pc.is_finite(values)))
    problems.add(not_finite, spec.name, "not a number", raw)
    return values


def _to_bool(col: pa.Array, raw: pa.Array, spec: FieldSpec, problems: Problems) -> pa.Array:
    if pa.types.is_boolean(col.type):
        return col
    lower = pc.utf8_lower(raw)
    true = pc.is_in(lower, value_set=pa.array(_TRUE))
    false = pc.is_in(lower, value_set=pa.array(_FALSE))
    problems.add(
        _np(pc.and_(pc.is_valid(raw), pc.invert(pc.or_(true, false)))),
        spec.name,
        "not a boolean (true/false)",
        raw,
    )
    return pc.if_else(true, True, pc.if_else(false, False, pa.scalar(None, pa.bool_())))


def _refuse_unreadable_text(raw: pa.Array, spec: FieldSpec, problems: Problems) -> pa.Array:
    """Reject values holding a NUL byte or longer than ``MAX_CHARACTERS``; null them."""
    nul = _np(pc.match_substring(raw, "\x00"))
    problems.add(nul, spec.name, "holds a NUL byte (binary content)", raw)
    long = _np(pc.greater(pc.utf8_length(raw), MAX_CHARACTERS))
    problems.add(long & ~nul, spec.name, f"longer than {MAX_CHARACTERS:,} characters", raw)
    if not (nul | long).any():
        return raw
    return pc.if_else(pa.array(nul | long), pa.scalar(None, pa.string()), raw)


def convert_field(col: pa.Array, spec: FieldSpec, problems: Problems, today: date) -> pa.Array:
    """Type, normalise and check one column against its field spec; ``today`` is the day of
    the load, which event dates may not be after. A bad value of a soft field (see
    :class:`Problems`) is emptied with a warning instead of rejecting its row."""
    problems.checking = spec.name
    text = _text(col)
    raw = _refuse_unreadable_text(text, spec, problems)
    if spec.type == "date":
        out = _to_date(col, raw, spec, problems)
        if spec.past:
            future = _np(pc.greater(out, pa.scalar(today, pa.date32())))
            problems.add(
                future, spec.name, f"in the future (after {today}, the day of the load)", raw
            )
    elif spec.type == "float":
        out = _to_float(col, raw, spec, problems)
    elif spec.type == "bool":
        out = _to_bool(col, raw, spec, problems)
    else:
        if spec.normalise in _RESOLVERS:
            out = _resolve(raw, spec, problems)
        else:
            out = _normalise(raw, spec.normalise)
        if spec.aliases:
            out = _dealias(out, spec.aliases)
        if spec.values:
            allowed = pc.is_in(out, value_set=pa.array(spec.values))
            bad = pc.and_(pc.is_valid(out), pc.invert(allowed))
            problems.add(_np(bad), spec.name, f"not one of {', '.join(spec.values)}", raw)
        if spec.pattern:
            bad = pc.invert(pc.match_substring_regex(out, spec.pattern))
            problems.add(_np(pc.and_(pc.is_valid(out), bad)), spec.name, "wrong format", raw)
        if spec.check:
            check_identifier(out, spec.check, spec.name, problems)
    if spec.default is not None:
        out = pc.fill_null(out, pa.scalar(spec.default, out.type))
    if spec.required:
        # Only truly blank cells: a value that failed its type check is reported as such.
        empty = pc.and_(pc.is_null(out), pc.is_null(text))
        problems.add(_np(empty), spec.name, "required value is empty", None)
    if spec.min is not None:
        problems.add(_np(pc.less(out, spec.min)), spec.name, f"must be ≥ {spec.min:g}", raw)
    if spec.max is not None:
        problems.add(_np(pc.greater(out, spec.max)), spec.name, f"must be ≤ {spec.max:g}", raw)
    problems.checking = None
    return problems.emptied_in(spec.name, out)


_ID_CHECKS = {
    "enterprise_id": (
        enterprise_id_valid_array,
        "not a valid USCC (check character) nor an external id (REG:, FOREIGN:, SRC:)",
    ),
    "person_id": (
        person_id_valid_array,
        "not a valid ID number (check character) nor PASSPORT:, HKMO:, TW: "
        "(a source id goes in source_id)",
    ),
    "person_source_id": (
        person_source_valid_array,
        "not a person source id (SRC:<dataset>:<id>, the dataset in lower case)",
    ),
    "person_ref": (
        person_ref_valid_array,
        "not a valid ID number (check character) nor PASSPORT:, HKMO:, TW:, "
        "nor a source id (SRC:<dataset>:<id>)",
    ),
}


def check_identifier(
    col: pa.Array, check: str, field: str, problems: Problems, applies: np.ndarray | None = None
) -> None:
    """Mark rows whose identifier fails ``check`` (only rows where ``applies``, if given)."""
    validator, reason = _ID_CHECKS[check]
    uniques = pc.unique(col).drop_null()
    ok_unique = pa.array(validator(uniques), pa.bool_())
    ok = pc.take(ok_unique, pc.index_in(col, value_set=uniques))
    bad = _np(pc.and_(pc.is_valid(col), pc.invert(ok)))
    if applies is not None:
        bad &= applies
    personal = check in ("person_id", "person_ref")
    problems.add(bad, field, reason, col, masked_people if personal else None)


def masked_personal(col: pa.Array) -> pa.Array:
    """A person's contact value (phone, e-mail) for reject and warning files: all but its
    last 4 characters starred."""
    return pa.array(
        [None if v is None else "*" * max(len(v) - 4, 0) + v[-4:] for v in col.to_pylist()],
        pa.string(),
    )


def masked_people(col: pa.Array) -> pa.Array:
    """Person references for reject files, which outlive the load: ID numbers masked,
    source ids (not secret) as given."""
    return pa.array([None if v is None else mask_person_ref(v) for v in col.to_pylist()])


def check_order(
    table: dict[str, pa.Array], fields: tuple[FieldSpec, ...], problems: Problems
) -> None:
    """``after`` constraints: a field must not precede the one it follows."""
    for spec in fields:
        if spec.after and spec.name in table and spec.after in table:
            before = _np(pc.less(table[spec.name], table[spec.after]))
            shown = _joined_where(before, " < ", table[spec.name], table[spec.after])
            problems.add(before, spec.name, f"{spec.name} is before {spec.after}", shown)


def _joined_where(mask: np.ndarray, between: str, *columns: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The columns' values as text joined by ``between`` on the rows of ``mask``, null on
    the others: only the rows a check reports are formatted (a million dates are not)."""
    at = pa.array(np.flatnonzero(mask))
    taken = [pa.chunked_array([c]).take(at).combine_chunks() for c in columns]
    joined = pc.binary_join_element_wise(*(_text(c) for c in taken), between)
    return pc.replace_with_mask(pa.nulls(len(mask), pa.string()), pa.array(mask), joined)


def check_requires(
    table: dict[str, pa.Array], fields: tuple[FieldSpec, ...], problems: Problems
) -> None:
    """``requires`` constraints: a value needs a value in the field it requires."""
    for spec in fields:
        if spec.requires and spec.name in table and spec.requires in table:
            alone = pc.and_(pc.is_valid(table[spec.name]), pc.is_null(table[spec.requires]))
            problems.add(
                _np(alone),
                spec.name,
                f"{spec.name} is given without {spec.requires}",
                _text(table[spec.name]),
            )


def check_repair_wait(table: pa.Table, spec: RecordSpec, problems: Problems) -> None:
    """A record may be repaired only once its kind's wait since ``start`` has passed.

    The wait may depend on a field (``sector`` of a penalty): the file's value, or the
    field's default for rows without one.
    """
    wait = spec.rules.repair_wait
    if wait is None or REPAIRED_ON not in table.column_names or "start" not in table.column_names:
        return
    earliest = earliest_repair(wait, table)
    repaired = as_days(table[REPAIRED_ON])
    early = ~np.isnat(repaired) & ~np.isnat(earliest) & (repaired < earliest)
    shown = _joined_where(early, " < earliest ", table[REPAIRED_ON], to_dates(earliest))
    problems.add(
        early,
        REPAIRED_ON,
        f"too early: a {spec.kind} record may be repaired {wait} after its start",
        shown,
    )


def duplicate_rows(keys: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose key repeats an earlier row's, and the 0-based row of that first occurrence."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    codes = pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(codes, return_index=True)
    first_of = first[codes]
    dup = first_of != np.arange(len(codes))
    return dup, first_of
