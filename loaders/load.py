"""Load a folder of contract files into a graph store.

The load runs in two phases. First every file is read and validated: field
checks, duplicate keys, references to enterprises and persons (in this load or
already in the store). Bad rows go to a reject file with file, line, field,
value and reason. Only then does anything touch the store, so a refused load
(``strict`` with rejects, or a file that cannot be read) leaves it unchanged.
Second, the accepted rows are upserted in batches, one transaction per batch:
a batch that fails rolls back whole, and because every row is keyed, loading
the same files again converges to the same store.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.csv_cells import safe_cell
from graph_model.domain import Domain, FieldSpec, NodeSpec, RecordSpec, RelationSpec, load_domain
from graph_model.identifiers import (
    person_key,
    salt_fingerprint,
)
from graph_model.store.protocol import UNFINISHED_LOAD, GraphStore, WriteBatch
from loaders.read import Contents, FileProblem, SourceFile, find_files, read_source
from loaders.validate import (
    Problems,
    Reject,
    check_identifier,
    check_order,
    check_repair_wait,
    check_requires,
    convert_field,
    duplicate_rows,
    echoed,
    masked_people,
)

Spec = NodeSpec | RelationSpec | RecordSpec
_ROUNDING = 0.005
"""Slack of ``total_max``: stakes given to two decimals of a percent add up to 100.01 %."""
Progress = Callable[[int], None]


class LoadRefused(Exception):
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

    @property
    def accepted(self) -> int:
        return sum(t.accepted for t in self.tables)

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables)


@dataclass
class _Validated:
    """One file after validation: the store-form table of accepted rows and its rejects."""

    source: SourceFile
    spec: Spec
    read: int
    store_rows: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()


def _spec_of(domain: Domain, table: str) -> Spec:
    specs: tuple[Spec, ...] = (*domain.nodes, *domain.relations, *domain.records)
    for spec in specs:
        if spec.file == table:
            return spec
    raise KeyError(table)


class _Loader:
    def __init__(
        self, store: GraphStore, domain: Domain, salt: str, today: date, encoding: str
    ) -> None:
        self.store = store
        self.domain = domain
        self.salt = salt
        self.today = today
        self.encoding = encoding
        # Keys accepted in this load, to resolve references before anything is written.
        self.new_keys: dict[str, pa.Array] = {}
        # ID number → person key, so each number is hashed once per load (SHA-256 per value).
        self._person_keys: dict[str, str] = {}

    def _hash_people(self, col: pa.Array | pa.ChunkedArray) -> pa.Array:
        uniques = pc.unique(col).drop_null()
        cache = self._person_keys
        salt = self.salt
        keys = [
            cache.get(v) or cache.setdefault(v, person_key(v, salt)) for v in uniques.to_pylist()
        ]
        return pc.take(pa.array(keys, pa.string()), pc.index_in(col, value_set=uniques))

    # -- phase 1: read and validate ------------------------------------------
    def _columns(self, contents: Contents, spec: Spec) -> dict[str, str]:
        """Contract field → column of the file; refuses files missing required columns."""
        names = contents.names
        present = set(names)
        mapping: dict[str, str] = {}
        missing = []
        for f in spec.fields:
            if f.name in present:
                if f.percent_column and f.percent_column in present:
                    raise FileProblem(
                        f"{contents.name} line 1: give either {f.name} or "
                        f"{f.percent_column}, not both"
                    )
                mapping[f.name] = f.name
            elif f.percent_column and f.percent_column in present:
                mapping[f.name] = f.percent_column
            elif f.required:
                missing.append(f.name)
        if missing:
            raise FileProblem(
                f"{contents.name} line 1: missing required column(s) {', '.join(missing)}; "
                f"found {', '.join(echoed(n, 64) for n in names) or 'none'} "
                "(see docs/data-contract.md)"
            )
        return mapping

    def validate(self, source: SourceFile, spec: Spec, progress: Progress) -> _Validated:
        contents = read_source(source, self.encoding)
        mapping = self._columns(contents, spec)
        raw = contents.table
        n = raw.num_rows
        progress(n)
        problems = Problems(n)
        typed: dict[str, pa.Array] = {}
        for f in spec.fields:
            column = mapping.get(f.name)
            if column is None:  # absent: the store keeps stored values, new rows get defaults
                continue
            col = raw[column].combine_chunks() if n else pa.array([], pa.string())
            if column != f.name:  # a percent column: check 0-100, then scale to a fraction
                pct = FieldSpec(column, "float", f.doc, min=0.0, max=100.0)
                typed[f.name] = pc.divide(convert_field(col, pct, problems, self.today), 100.0)
            else:
                typed[f.name] = convert_field(col, f, problems, self.today)
        check_order(typed, spec.fields, problems)
        check_requires(typed, spec.fields, problems)
        table = pa.table(typed) if typed else pa.table({})
        if isinstance(spec, RecordSpec):
            check_repair_wait(table, spec, problems)
        store_rows = self._to_store_form(contents, spec, table, problems)
        if isinstance(spec, RelationSpec):
            _warn_totals(spec, table, problems)
        good = pa.array(~problems.bad)
        result = _Validated(source, spec, n, store_rows.filter(good))
        result.rejects, result.warnings = _findings(contents, problems)
        used = set(mapping.values())
        result.ignored_columns = tuple(echoed(c, 64) for c in raw.column_names if c not in used)
        return result

    def _ref_keys(self, col: pa.Array, ref: str) -> pa.Array:
        return self._hash_people(col) if ref == "person" else col

    def _check_refs(
        self,
        label: str,
        keys: pa.Array,
        shown: pa.Array,
        field_name: str,
        problems: Problems,
        applies: np.ndarray | None = None,
    ) -> None:
        known = self.new_keys.get(label, pa.array([], pa.string()))
        in_load = pc.is_in(keys, value_set=known)
        unresolved = pc.unique(pc.filter(keys, pc.invert(pc.fill_null(in_load, False)))).drop_null()
        in_store = pc.filter(unresolved, self.store.existing_keys(label, unresolved))
        found = pc.or_(pc.fill_null(in_load, False), pc.is_in(keys, value_set=in_store))
        missing = np.asarray(
            pc.and_(pc.is_valid(keys), pc.invert(found)).to_numpy(zero_copy_only=False)
        )
        if applies is not None:
            missing &= applies
        what = "person" if label == "Person" else "enterprise"
        reason = f"no such {what} in this load or in the store"
        problems.add(
            missing, field_name, reason, shown, masked_people if label == "Person" else None
        )

    def _to_store_form(
        self, contents: Contents, spec: Spec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        if isinstance(spec, NodeSpec):
            key = table[spec.key]
            if spec.label == "Person":
                key = self._hash_people(key)
            _reject_duplicates(contents, key, spec.key, problems)
            return table.drop([spec.key]).add_column(0, spec.store_key, key)
        if isinstance(spec, RelationSpec):
            return self._relation_form(contents, spec, table, problems)
        return self._record_form(contents, spec, table, problems)

    def _relation_form(
        self, contents: Contents, spec: RelationSpec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        ends = {}
        for side, end in (("_from", spec.source), ("_to", spec.target)):
            col = table[end.field]
            if end.ref == "party":
                is_person = np.asarray(
                    pc.fill_null(pc.equal(table[end.type_field], "person"), False).to_numpy(
                        zero_copy_only=False
                    )
                )
                check_identifier(col, "person_id", end.field, problems, is_person)
                check_identifier(col, "enterprise_id", end.field, problems, ~is_person)
                hashed = self._hash_people(col)
                keys = pc.if_else(pa.array(is_person), hashed, col)
                labels = pc.if_else(pa.array(is_person), "Person", "Enterprise")
                self._check_refs("Person", keys, col, end.field, problems, is_person)
                self._check_refs("Enterprise", keys, col, end.field, problems, ~is_person)
            else:
                label = "Person" if end.ref == "person" else "Enterprise"
                check_identifier(col, f"{end.ref}_id", end.field, problems)
                keys = self._ref_keys(col, end.ref)
                labels = pa.array([label] * table.num_rows, pa.string())
                self._check_refs(label, keys, col, end.field, problems)
            ends[side] = (keys, labels)
        by_name = {
            spec.source.field: ends["_from"][0],
            spec.target.field: ends["_to"][0],
        }
        n = table.num_rows
        # An optional key column (valid_from) may be absent from the file: it is empty then.
        parts = [
            pc.fill_null(_as_text(by_name[k] if k in by_name else _column(table, k, n)), "")
            for k in spec.key
        ]
        key = pc.binary_join_element_wise(*parts, "|")
        _reject_duplicates(contents, key, "|".join(spec.key), problems)
        _check_self_relations(spec, ends, table, problems)
        columns = {
            "_from": ends["_from"][0],
            "_from_label": ends["_from"][1],
            "_to": ends["_to"][0],
            "_to_label": ends["_to"][1],
            "key": key,
        }
        for f in spec.property_fields:
            if f.name in table.column_names:
                columns[f.name] = table[f.name]
        return pa.table(columns)

    def _record_form(
        self, contents: Contents, spec: RecordSpec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        n = table.num_rows
        owner = table["enterprise_id"]
        check_identifier(owner, "enterprise_id", "enterprise_id", problems)
        self._check_refs("Enterprise", owner, owner, "enterprise_id", problems)
        ids = pc.binary_join_element_wise(
            pa.array([spec.kind] * n, pa.string()), table["record_no"], ":"
        )
        _reject_duplicates(contents, ids, "record_no", problems)
        columns = {"id": ids, "kind": pa.array([spec.kind] * n, pa.string())}
        columns.update({name: table[name] for name in table.column_names})
        return pa.table(columns)

    def remember(self, validated: _Validated) -> None:
        spec = validated.spec
        if isinstance(spec, NodeSpec):
            self.new_keys[spec.label] = validated.store_rows[spec.store_key].combine_chunks()


def _findings(contents: Contents, problems: Problems) -> tuple[list[Reject], list[Reject]]:
    """The rejects and the warnings of one file, by line, values fit to echo."""
    found: tuple[list[Reject], list[Reject]] = ([], [])
    items = [(problems.items, found[0]), (problems.warnings, found[1])]
    rows = {int(r) + 1 for group, _ in items for rows, *_ in group for r in rows}
    if not rows:
        return found
    lines = contents.lines(rows)
    for group, out in items:
        for rows_, fld, reason, values in group:
            shown = values.to_pylist() if values is not None else [""] * len(rows_)
            for r, v in zip(rows_, shown, strict=True):
                line = lines.get(int(r) + 1, int(r) + 1)
                out.append(Reject(contents.name, line, fld, echoed("" if v is None else v), reason))
        out.sort(key=lambda j: (j.line, j.field))
    return found


def _reject_duplicates(
    contents: Contents, keys: pa.Array | pa.ChunkedArray, field_name: str, problems: Problems
) -> None:
    if len(keys) == 0:
        return
    dup, first = duplicate_rows(pc.fill_null(keys, ""))
    if dup.any():
        lines = contents.lines({int(r) + 1 for r in first[dup]})

        def shown(firsts: pa.Array) -> pa.Array:
            return pa.array([f"same key as line {lines[r + 1]}" for r in firsts.to_pylist()])

        problems.add(dup, field_name, "duplicate key", pa.array(first), shown)


def _as_text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.cast(col, pa.string())


def _column(table: pa.Table, name: str, n: int) -> pa.Array | pa.ChunkedArray:
    return table[name] if name in table.column_names else pa.nulls(n, pa.string())


def _check_self_relations(
    spec: RelationSpec,
    ends: dict[str, tuple[pa.Array, pa.Array]],
    table: pa.Table,
    problems: Problems,
) -> None:
    """A relation of a party with itself: rejected (a firm guaranteeing itself cannot be
    true), or loaded with a warning where the domain says why it can be (treasury shares)."""
    (src, src_label), (dst, dst_label) = ends["_from"], ends["_to"]
    same = _mask(pc.and_(pc.equal(src, dst), pc.equal(src_label, dst_label)))
    reason = f"{spec.source.field} and {spec.target.field} are the same party"
    values = table[spec.target.field]
    if spec.self_relation:
        problems.warn(same, spec.target.field, f"{reason}: {spec.self_relation}; loaded", values)
    else:
        problems.add(same, spec.target.field, reason, values)


def _warn_totals(spec: RelationSpec, table: pa.Table, problems: Problems) -> None:
    """Current rows (no ``valid_to``) of one target whose field adds up to more than the
    field's ``total_max`` (holdings over 100 %) are loaded with a warning on every row."""
    target = spec.target.field
    for f in spec.fields:
        if f.total_max is None or f.name not in table.column_names:
            continue
        current = ~problems.bad & _mask(pc.is_valid(table[f.name]))
        if "valid_to" in table.column_names:
            current &= _mask(pc.is_null(table["valid_to"]))
        rows = table.filter(pa.array(current))
        sums = rows.group_by(target).aggregate([(f.name, "sum")])
        over = sums.filter(pc.greater(sums[f"{f.name}_sum"], f.total_max + _ROUNDING))
        if over.num_rows == 0:
            continue
        hit = current & _mask(pc.is_in(table[target], value_set=over[target]))
        total = pc.take(over[f"{f.name}_sum"], pc.index_in(table[target], value_set=over[target]))
        shown = pc.binary_join_element_wise(
            _as_text(table[f.name]), _as_text(pc.round(total, 4)), " of a total of "
        )
        problems.warn(
            hit,
            f.name,
            f"current rows of one {target} add up to more than {f.total_max:g}; loaded, "
            "check the source",
            shown,
        )


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _write_report(rows: list[Reject], folder: Path, kind: str, stamp: str) -> Path:
    """A CSV of rejects or warnings: file, line, field, value (fit to echo), reason."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{stamp}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "line", "field", "value", "reason"])
        for r in rows:
            writer.writerow([safe_cell(v) for v in (r.file, r.line, r.field, r.value, r.reason)])
    return path


def load_folder(
    store: GraphStore,
    folder: Path,
    *,
    salt: str,
    rejects_dir: Path,
    batch_rows: int = 1_000_000,
    strict: bool = False,
    progress: Callable[[str, int | None], Progress] | None = None,
    today: date | None = None,
    encoding: str = "utf-8",
) -> LoadSummary:
    """Validate every contract file in ``folder``, then upsert the accepted rows.

    Args:
        store: the target store (its schema is created if missing).
        folder: a folder with one file per contract table (``<table>.csv`` or ``.parquet``).
        salt: salt of the person key hash (from the settings).
        rejects_dir: where the reject (and warning) files are written.
        batch_rows: rows per store transaction.
        strict: refuse the whole load when any row is rejected.
        progress: factory ``(stage, total) -> advance(n)`` for progress reporting.
        today: the day of the load, which event dates may not be after (default: today).
        encoding: of the CSV files: ``utf-8`` (a BOM allowed) or ``gb18030`` (GBK exports).

    While rows are written, the store carries a mark naming the folder
    (:data:`UNFINISHED_LOAD`): a load killed half way leaves it, and the store refuses
    readers until a load completes (loads are idempotent: loading the folder again does).

    Raises:
        LoadRefused: a file cannot be read, or ``strict`` and rows were rejected.
    """
    started = time.perf_counter()
    domain = load_domain()
    on_progress = progress or (lambda stage, total: lambda n: None)
    try:
        sources, unknown = find_files(folder, domain.files)
    except FileProblem as exc:
        raise LoadRefused(f"load refused, nothing written: {exc}") from None
    if not sources:
        raise LoadRefused(
            f"{folder}: no contract files; expected one or more of "
            + ", ".join(f"{t}.csv|.parquet" for t in domain.files)
        )
    store.ensure_schema()
    store.claim_salt(salt_fingerprint(salt))
    loader = _Loader(store, domain, salt, today or date.today(), encoding)
    validated: list[_Validated] = []
    try:
        for source in sources:
            spec = _spec_of(domain, source.table)
            v = loader.validate(source, spec, on_progress(f"validate {source.path.name}", None))
            loader.remember(v)
            validated.append(v)
    except FileProblem as exc:
        raise LoadRefused(f"load refused, nothing written: {exc}") from None

    rejects = [r for v in validated for r in v.rejects]
    warnings = [r for v in validated for r in v.warnings]
    stamp = f"{datetime.now():%Y%m%dT%H%M%S%f}"
    rejects_file = _write_report(rejects, rejects_dir, "rejects", stamp) if rejects else None
    warnings_file = _write_report(warnings, rejects_dir, "warnings", stamp) if warnings else None
    results = tuple(
        TableResult(
            v.source.table,
            v.source.path.name,
            v.read,
            v.store_rows.num_rows,
            v.read - v.store_rows.num_rows,
            v.ignored_columns,
        )
        for v in validated
    )
    summary = LoadSummary(
        results,
        tuple(rejects),
        rejects_file,
        tuple(p.name for p in unknown),
        False,
        warnings=tuple(warnings),
        warnings_file=warnings_file,
    )
    if strict and rejects:
        raise LoadRefused(
            f"load refused, nothing written: {len(rejects)} problem(s) in "
            f"{sum(t.rejected for t in results)} row(s); see {rejects_file}",
            summary,
        )

    total = sum(v.store_rows.num_rows for v in validated)
    store.set_meta(UNFINISHED_LOAD, f"{folder} (started {datetime.now():%Y-%m-%d %H:%M:%S})")
    advance = on_progress("write", total)
    for v in validated:
        for start in range(0, v.store_rows.num_rows, batch_rows):
            chunk = v.store_rows.slice(start, batch_rows)
            store.write(_batch(v.spec, chunk))
            advance(chunk.num_rows)
    store.set_meta(UNFINISHED_LOAD, "")
    return replace(summary, written=True, seconds=time.perf_counter() - started)


def _batch(spec: Spec, rows: pa.Table) -> WriteBatch:
    if isinstance(spec, NodeSpec):
        return WriteBatch(nodes={spec.label: rows})
    if isinstance(spec, RelationSpec):
        return WriteBatch(relations={spec.type: rows})
    return WriteBatch(records=rows)
