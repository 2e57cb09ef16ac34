"""Load a folder of contract files into a graph store.

The load runs in two phases. First every file is read and validated: field
checks, duplicate keys, references to enterprises and persons (in this load or
already in the store). Bad rows go to a reject file with file, line, field,
value and reason, one line per rejected row; a row rejected only because it names a row
rejected elsewhere (an officer whose person was rejected) is counted on that row's line,
not listed again. A bad value of an optional field is emptied with a warning instead, and
its row loads. Only then does anything touch the store, so a refused load (more rows
rejected than ``max_reject_rate`` allows, a file whose rows all fail, or a file that cannot
be read) leaves it unchanged.
Second, the accepted rows are upserted in batches, one transaction per batch:
a batch that fails rolls back whole, and because every row is keyed, loading
the same files again converges to the same store.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.csv_cells import safe_cell
from graph_model.domain import (
    Domain,
    EndSpec,
    FieldSpec,
    KeySubstitute,
    NodeSpec,
    RecordSpec,
    RelationSpec,
    load_domain,
)
from graph_model.errors import CreditGraphError
from graph_model.identifiers import (
    ID_NUMBER,
    NAME_ONLY,
    SOURCE_ID,
    person_key,
    person_name_key,
    person_source_key,
    person_source_prefixes,
    salt_fingerprint,
)
from graph_model.store.protocol import UNFINISHED_LOAD, GraphStore, WriteBatch
from loaders.read import Contents, FileProblem, SourceFile, find_files, read_source
from loaders.validate import (
    LOADED_WITHOUT_IT,
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
_SHARE, _SUBSCRIBED, _SHARE_DERIVED = "share", "subscribed_amount", "share_derived"
_CAPITAL = "registered_capital"
_NAMED = "_from_name"
"""Store-form column of a relation: the name of a person known by name only that the row
names (written as a Person with the row), null for the other rows; stores never see it."""
_SUBSTITUTE_MARK = "~"
"""Starts the key part that stands in for an empty key field (a guarantee without its contract
number is keyed ``guarantor|guaranteed|~valid_from~amount~currency``)."""
"""Slack of ``total_max``: stakes given to two decimals of a percent add up to 100.01 %."""
Progress = Callable[[int], None]
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
    dependent: int = 0
    depends_on: tuple[str, ...] = ()


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
        self._source_prefixes = person_source_prefixes()
        # Source id → key of a person of this load keyed by their ID number who also has that
        # source id: relation rows of the load may refer to them by either.
        self._source_alias: dict[str, str] = {}
        # Source id → person key of the references (after the persons file: aliases known).
        self._sources: dict[str, str] = {}
        # Registered capital of the enterprises of this load (id, registered_capital), when
        # their file gives it: stakes are derived from it before it is written.
        self._capital: pa.Table | None = None
        # Rejected rows others may name (the root causes of their rejects), as (file, line):
        # by label, the keys of the rejected node rows and the cause of each; and how many
        # rows of each file name each cause.
        self._causes: list[tuple[str, int]] = []
        self._rejected: dict[str, tuple[pa.Array, np.ndarray]] = {}
        self._named: dict[int, Counter[str]] = {}

    def _keys(
        self,
        col: pa.Array | pa.ChunkedArray,
        make: Callable[[str, str], str],
        cache: dict[str, str],
    ) -> pa.Array:
        """``make(value, salt)`` of each value, hashing each distinct value once per load."""
        uniques = pc.unique(col).drop_null()
        salt = self.salt
        keys = [cache.get(v) or cache.setdefault(v, make(v, salt)) for v in uniques.to_pylist()]
        return pc.take(pa.array(keys, pa.string()), pc.index_in(col, value_set=uniques))

    def _source_key(self, source_id: str, salt: str) -> str:
        """A source id's person: one of this load keyed by ID number that has it, else the
        person keyed by it."""
        return self._source_alias.get(source_id) or person_source_key(source_id, salt)

    def _hash_people(self, col: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Person keys of references: ID numbers and source ids, told apart by the scheme
        prefix (vectorised: the ID numbers of a city are millions)."""
        is_source = pc.starts_with(col, self._source_prefixes[0])
        for prefix in self._source_prefixes[1:]:
            is_source = pc.or_(is_source, pc.starts_with(col, prefix))
        sources = _mask(is_source)
        if not sources.any():
            return self._keys(col, person_key, self._person_keys)
        none, mask = pa.scalar(None, pa.string()), pa.array(sources)
        numbers = self._keys(pc.if_else(mask, none, col), person_key, self._person_keys)
        by_source = self._keys(pc.if_else(mask, col, none), self._source_key, self._sources)
        return pc.coalesce(by_source, numbers)

    def _name_keys(self, scope: pa.Array, names: pa.Array, rows: np.ndarray) -> pa.Array:
        """Keys of persons known by name only at ``rows`` (null elsewhere): one per enterprise
        (``scope``) and normalised name."""
        at = pa.array(np.flatnonzero(rows))
        pairs = pc.binary_join_element_wise(
            pc.take(_as_text(scope), at), pc.take(names, at), "\x1f"
        )
        uniques = pc.unique(pairs).drop_null()
        salt = self.salt
        keys = []
        for pair in uniques.to_pylist():
            enterprise_id, name = pair.split("\x1f", 1)
            keys.append(person_name_key(enterprise_id, name, salt))
        found = pc.take(pa.array(keys, pa.string()), pc.index_in(pairs, value_set=uniques))
        return _spread(found, np.flatnonzero(rows), len(rows))

    # -- phase 1: read and validate ------------------------------------------
    def _columns(self, contents: Contents, spec: Spec) -> dict[str, str]:
        """Contract field → column of the file; refuses files missing required columns."""
        names = contents.names
        present = set(names)
        mapping: dict[str, str] = {}
        missing = []
        for f in spec.fields:
            if f.derived:  # set by the loader; a column of that name is ignored
                continue
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
        missing += _missing_identity(spec, present)
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
        problems = Problems(n, _soft_fields(spec, raw, mapping), _personal_fields(spec))
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
        if isinstance(spec, RelationSpec) and _SHARE_DERIVED in {f.name for f in spec.fields}:
            table = self._derive_shares(spec, table, problems)
        store_rows = self._to_store_form(contents, spec, table, problems)
        if isinstance(spec, RelationSpec):
            _warn_totals(spec, table, problems)
        good = pa.array(~problems.bad)
        result = _Validated(source, spec, n, store_rows.filter(good))
        result.rejects, result.warnings, lines = _findings(contents, problems, self._cause_name)
        self._count_dependents(result, problems)
        if isinstance(spec, NodeSpec):
            self._note_rejected(spec.label, store_rows[spec.store_key], problems, lines, source)
        used = set(mapping.values())
        result.ignored_columns = tuple(echoed(c, 64) for c in raw.column_names if c not in used)
        return result

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
        # Naming a row rejected in this load: counted under that row, not reported again;
        # nor is a reference whose value failed its own check.
        missing &= ~self._names_rejected(label, keys, missing, field_name, problems)
        missing &= ~problems.bad_on(field_name)
        what = "person" if label == "Person" else "enterprise"
        reason = f"no such {what} in this load or in the store"
        problems.add(
            missing, field_name, reason, shown, masked_people if label == "Person" else None
        )

    def _names_rejected(
        self, label: str, keys: pa.Array, missing: np.ndarray, field_name: str, problems: Problems
    ) -> np.ndarray:
        """Rows among ``missing`` whose reference is a ``label`` row rejected in this load:
        rejected as its dependents (see :meth:`Problems.depend`)."""
        rejected = self._rejected.get(label)
        if rejected is None or not missing.any():
            return np.zeros(len(missing), dtype=bool)
        rejected_keys, causes = rejected
        at = pc.fill_null(pc.index_in(keys, value_set=rejected_keys), -1)
        at = np.asarray(at.to_numpy(zero_copy_only=False), dtype=np.int64)
        dependent = missing & (at >= 0)
        if dependent.any():
            problems.retract(dependent, field_name)
            problems.depend(dependent, np.where(dependent, causes[at], -1))
        return dependent

    def _note_rejected(
        self,
        label: str,
        keys: pa.Array | pa.ChunkedArray,
        problems: Problems,
        lines: dict[int, int],
        source: SourceFile,
    ) -> None:
        """Remember the rejected rows of a node file, for the rows that name them: a listed
        row is its own cause; a row rejected only for naming another takes that one's."""
        if not problems.bad.any():
            return
        cause = np.full(len(problems.bad), -1, dtype=np.int64)
        for rows, causes in problems.dependents:
            cause[rows] = causes
        listed = np.zeros(len(problems.bad), dtype=bool)
        for rows, *_ in problems.items:
            listed[rows] = True
        own = np.flatnonzero(listed)
        cause[own] = len(self._causes) + np.arange(len(own))
        self._causes.extend((source.path.name, lines[int(r)]) for r in own)
        rows = pa.array(np.flatnonzero(problems.bad & (cause >= 0)))
        rejected = pc.take(keys, rows).combine_chunks()
        first = ~duplicate_rows(pc.fill_null(rejected, ""))[0] & _mask(pc.is_valid(rejected))
        self._rejected[label] = (
            rejected.filter(pa.array(first)),
            cause[rows.to_numpy()][first],
        )

    def _count_dependents(self, result: _Validated, problems: Problems) -> None:
        """Count the rows of ``result`` that name each rejected row (once per row and cause),
        and those rejected for that alone."""
        if not problems.dependents:
            return
        rows = np.concatenate([r for r, _ in problems.dependents])
        causes = np.concatenate([c for _, c in problems.dependents])
        pairs = np.unique(np.stack([causes, rows]), axis=1)
        name = result.source.path.name
        for cause, count in zip(*np.unique(pairs[0], return_counts=True), strict=True):
            self._named.setdefault(int(cause), Counter())[name] += int(count)
        listed = np.zeros(len(problems.bad), dtype=bool)
        for item_rows, *_ in problems.items:
            listed[item_rows] = True
        result.dependent = int((~listed[np.unique(rows)]).sum())
        result.depends_on = tuple(sorted({self._causes[c][0] for c in np.unique(causes)}))

    def _cause_name(self, cause: int) -> str:
        file, line = self._causes[cause]
        return f"{file} line {line}"

    def named_causes(self) -> dict[tuple[str, int], Counter[str]]:
        """(file, line) of each rejected row that rows of other files name → how many rows
        of each file name it."""
        return {self._causes[c]: counts for c, counts in self._named.items()}

    def _to_store_form(
        self, contents: Contents, spec: Spec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        if isinstance(spec, NodeSpec):
            if spec.label == "Person":
                return self._person_form(contents, spec, table, problems)
            key = table[spec.key]
            _reject_duplicates(contents, key, spec.key, problems)
            return table.drop([spec.key]).add_column(0, spec.store_key, key)
        if isinstance(spec, RelationSpec):
            return self._relation_form(contents, spec, table, problems)
        return self._record_form(contents, spec, table, problems)

    def _person_form(
        self, contents: Contents, spec: NodeSpec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        """Persons keyed by their ID number, else by their source id; ``identity`` says which.
        The ID number itself is dropped here: it never reaches the store."""
        n = table.num_rows
        number = _column(table, spec.key, n)
        has_number = pc.is_valid(number)
        alternate = spec.alternate_key
        key = self._keys(number, person_key, self._person_keys)
        if alternate is None or alternate not in table.column_names:
            identity = pa.repeat(pa.scalar(ID_NUMBER), n)
            named = spec.key
        else:
            by_source = self._keys(table[alternate], person_source_key, {})
            key = pc.if_else(has_number, key, by_source)
            identity = pc.if_else(has_number, ID_NUMBER, SOURCE_ID)
            named = f"{spec.key} (else {alternate})"
        problems.add(
            _mask(pc.is_null(key)),
            spec.key,
            f"required value is empty: a persons row needs {spec.key} or {alternate}; a "
            "person known by name only is named by the relation rows (person_name, "
            "holder_name), see docs/data-contract.md",
            None,
        )
        _reject_duplicates(contents, key, named, problems)
        if alternate is not None and alternate in table.column_names:
            _reject_shared_source_ids(contents, table[alternate], alternate, problems)
        out = table.drop([c for c in (spec.key,) if c in table.column_names])
        return out.add_column(0, spec.store_key, key).append_column("identity", identity)

    def _relation_form(
        self, contents: Contents, spec: RelationSpec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        ends = {}
        n = table.num_rows
        named_by = pa.nulls(n, pa.string())
        for side, end in (("_from", spec.source), ("_to", spec.target)):
            col = _column(table, end.field, n)
            if end.ref == "enterprise":
                check_identifier(col, "enterprise_id", end.field, problems)
                self._check_refs("Enterprise", col, col, end.field, problems)
                ends[side] = (col, pa.repeat(pa.scalar("Enterprise"), n))
                continue
            if end.ref == "party":
                is_person = _mask(pc.equal(table[end.type_field], "person"))
            else:
                is_person = np.ones(n, dtype=bool)
            names = _column(table, end.name_field, n) if end.name_field else None
            named_rows = _person_by_name(spec, end, col, names, is_person, problems)
            check_identifier(col, "person_ref", end.field, problems, is_person)
            keys = self._hash_people(col)
            if names is not None and named_rows.any():
                scope = table[spec.target.field]
                keys = pc.coalesce(self._name_keys(scope, names, named_rows), keys)
                named_by = pc.if_else(pa.array(named_rows), names, named_by)
            # Name-only persons are written with the row that names them; the others must exist.
            if end.ref == "party":
                check_identifier(col, "enterprise_id", end.field, problems, ~is_person)
                keys = pc.if_else(pa.array(is_person), keys, col)
                labels = pc.if_else(pa.array(is_person), "Person", "Enterprise")
                self._check_refs("Person", keys, col, end.field, problems, is_person & ~named_rows)
                self._check_refs("Enterprise", keys, col, end.field, problems, ~is_person)
            else:
                labels = pa.repeat(pa.scalar("Person"), n)
                self._check_refs("Person", keys, col, end.field, problems, ~named_rows)
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
        sub = spec.key_substitute
        if sub is not None:
            parts[spec.key.index(sub.field)] = _substitute_key(spec, table, sub, n)
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
        if named_by.null_count < n:
            columns[_NAMED] = named_by
        return pa.table(columns)

    def _record_form(
        self, contents: Contents, spec: RecordSpec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        n = table.num_rows
        owner = table["enterprise_id"]
        check_identifier(owner, "enterprise_id", "enterprise_id", problems)
        self._check_refs("Enterprise", owner, owner, "enterprise_id", problems)
        number = (
            table[spec.key[0]]
            if len(spec.key) == 1
            else pc.binary_join_element_wise(*(_as_text(table[k]) for k in spec.key), "|")
        )
        ids = pc.binary_join_element_wise(pa.array([spec.kind] * n, pa.string()), number, ":")
        _reject_duplicates(contents, ids, "|".join(spec.key), problems)
        columns = {"id": ids, "kind": pa.array([spec.kind] * n, pa.string())}
        columns.update({name: table[name] for name in table.column_names})
        return pa.table(columns)

    def remember(self, validated: _Validated) -> None:
        spec = validated.spec
        if isinstance(spec, NodeSpec):
            self.new_keys[spec.label] = validated.store_rows[spec.store_key].combine_chunks()
            rows = validated.store_rows
            if spec.alternate_key is not None and spec.alternate_key in rows.column_names:
                source = rows[spec.alternate_key]
                both = rows.filter(
                    pc.and_(pc.equal(rows["identity"], ID_NUMBER), pc.is_valid(source))
                )
                self._source_alias.update(
                    zip(
                        both[spec.alternate_key].to_pylist(),
                        both[spec.store_key].to_pylist(),
                        strict=True,
                    )
                )
            if spec.label == "Enterprise" and _CAPITAL in validated.store_rows.column_names:
                self._capital = validated.store_rows.select([spec.store_key, _CAPITAL])

    def _target_capital(self, targets: pa.Array) -> pa.Array:
        """Registered capital of each target enterprise: as this load gives it, else as the
        store holds it (null where neither knows it)."""
        in_load = pa.nulls(len(targets), pa.float64())
        known = pa.array([], pa.string())
        if self._capital is not None:
            ids = self._capital.column(0).combine_chunks()
            at = pc.index_in(targets, value_set=ids)
            in_load = pc.take(self._capital[_CAPITAL].combine_chunks(), at)
            known = pc.filter(targets, pc.is_valid(at))
        rest = pc.unique(pc.filter(targets, pc.invert(pc.is_in(targets, value_set=known))))
        rest = rest.drop_null()
        if len(rest) == 0:
            return in_load
        stored = self.store.node_values("Enterprise", rest, _CAPITAL)
        from_store = pc.take(stored, pc.index_in(targets, value_set=rest))
        return pc.coalesce(in_load, pc.cast(from_store, pa.float64()))

    def _derive_shares(self, spec: RelationSpec, table: pa.Table, problems: Problems) -> pa.Table:
        """Fill an empty ``share`` with ``subscribed_amount`` / the target's registered capital
        (capped at 1, with a warning above it) and flag it in ``share_derived``.

        A file without a ``share`` column keeps the stored shares, unless it gives subscribed
        amounts: then its shares are the derived ones (empty where they cannot be derived).
        """
        n = table.num_rows
        has_share = _SHARE in table.column_names
        if _SUBSCRIBED not in table.column_names:
            if has_share:
                return table.append_column(_SHARE_DERIVED, pa.array(np.zeros(n, dtype=bool)))
            return table
        share = table[_SHARE] if has_share else pa.nulls(n, pa.float64())
        subscribed = table[_SUBSCRIBED]
        wanted = ~problems.bad & _mask(pc.is_null(share)) & _mask(pc.is_valid(subscribed))
        if not has_share and not wanted.any():
            return table
        derived = np.zeros(n, dtype=bool)
        values = np.full(n, np.nan)
        if wanted.any():
            rows = pa.array(np.flatnonzero(wanted))
            targets = pc.take(table[spec.target.field], rows).combine_chunks()
            capital = _numbers(self._target_capital(targets))
            amount = _numbers(pc.take(subscribed, rows))
            ok = np.isfinite(capital) & (capital > 0)
            ratio = np.divide(amount, capital, out=np.full(len(amount), np.nan), where=ok)
            over = ok & (ratio > 1 + _ROUNDING)
            if over.any():
                at = np.flatnonzero(wanted)[over]
                shown = pa.array(
                    [
                        f"{a:g} / {c:g} = {r:.4g}"
                        for a, c, r in zip(amount[over], capital[over], ratio[over], strict=True)
                    ]
                )
                full = np.zeros(n, dtype=bool)
                full[at] = True
                problems.warn(
                    full,
                    _SHARE,
                    "derived share (subscribed_amount / the target's registered_capital) is "
                    "above 1; loaded as 1, check the source",
                    _spread(shown, at, n),
                )
            picked = np.flatnonzero(wanted)[ok]
            values[picked] = np.minimum(ratio[ok], 1.0)
            derived[picked] = True
        filled = pc.if_else(
            pa.array(derived), pa.array(values, pa.float64()), pc.cast(share, pa.float64())
        )
        if has_share:
            table = table.set_column(table.column_names.index(_SHARE), _SHARE, filled)
        else:
            table = table.append_column(_SHARE, filled)
        return table.append_column(_SHARE_DERIVED, pa.array(derived))


def _missing_identity(spec: Spec, present: set[str]) -> list[str]:
    """Identifying columns a file lacks: a persons file needs ``id_number`` or
    ``source_id``; a relation file the reference column of a person end or its name column."""
    if isinstance(spec, NodeSpec):
        alternate = spec.alternate_key
        if alternate is not None and not {spec.key, alternate} & present:
            return [f"{spec.key} (or {alternate})"]
    if isinstance(spec, RelationSpec):
        end = spec.source
        if end.name_field is not None and not {end.field, end.name_field} & present:
            return [f"{end.field} (or {end.name_field})"]
    return []


def _person_by_name(
    spec: RelationSpec,
    end: EndSpec,
    refs: pa.Array | pa.ChunkedArray,
    names: pa.Array | pa.ChunkedArray | None,
    is_person: np.ndarray,
    problems: Problems,
) -> np.ndarray:
    """Rows naming a person known by name only (no reference, a name); rows with neither
    are rejected (an enterprise end is never taken by name)."""
    empty = _mask(pc.is_null(refs))
    named = _mask(pc.is_valid(names)) if names is not None else np.zeros(len(empty), bool)
    by_name = empty & named & is_person
    if end.name_field is None:
        problems.add(empty, end.field, "required value is empty", None)
        return np.asarray(by_name)
    problems.add(
        empty & ~named & is_person,
        end.field,
        f"required value is empty: give {end.field} (an ID number or a source id) or "
        f"{end.name_field}",
        None,
    )
    if end.type_field is not None:
        problems.add(
            empty & ~is_person,
            end.field,
            f"required value is empty: an enterprise {end.type_field.removesuffix('_type')} "
            f"needs {end.field} ({end.name_field} is for persons)",
            None,
        )
    return np.asarray(by_name)


def _reject_shared_source_ids(
    contents: Contents, source: pa.Array | pa.ChunkedArray, field_name: str, problems: Problems
) -> None:
    """A source id names one person: a row repeating an earlier row's source id (the two
    keyed by different ID numbers, or one by the source id) is rejected."""
    given = ~problems.bad & _mask(pc.is_valid(source))
    if given.sum() < 2:
        return
    at = np.flatnonzero(given)
    dup, first = duplicate_rows(pc.take(source, pa.array(at)))
    if not dup.any():
        return
    lines = contents.lines({int(at[f]) + 1 for f in first[dup]})
    shown = pa.array([f"same {field_name} as line {lines[int(at[f]) + 1]}" for f in first[dup]])
    rows = np.zeros(len(given), dtype=bool)
    rows[at[dup]] = True
    problems.add(
        rows,
        field_name,
        "duplicate key: a source id names one person",
        _spread(shown, at[dup], len(given)),
    )


def _count_named(validated: list[_Validated]) -> int:
    """Distinct persons known by name only that the accepted rows of a load name."""
    keys = [
        chunk
        for v in validated
        if _NAMED in v.store_rows.column_names
        for chunk in pc.filter(v.store_rows["_from"], pc.is_valid(v.store_rows[_NAMED])).chunks
    ]
    return len(pc.unique(pa.chunked_array(keys, pa.string())))


def _named_people(rows: pa.Table) -> pa.Table:
    """Persons known by name only that relation rows (store form) name, once each: key,
    the name as first given, identity ``name`` and the enterprise they are scoped to."""
    named = rows.filter(pc.is_valid(rows[_NAMED]))
    dup, _ = duplicate_rows(named["_from"])
    named = named.filter(pa.array(~dup))
    return pa.table(
        {
            "id": named["_from"],
            "name": named[_NAMED],
            "identity": pa.repeat(pa.scalar(NAME_ONLY), named.num_rows),
            "scope": named["_to"],
        }
    )


def _findings(
    contents: Contents, problems: Problems, cause_name: Callable[[int], str]
) -> tuple[list[Reject], list[Reject], dict[int, int]]:
    """The rejects and the warnings of one file, by line, values fit to echo, and the line
    of each rejected row listed (0-based row → line).

    A rejected row is one line: its first problem, and the others after it in the reason
    (``; also field = 'value': reason``), its warnings too (it did not load). A row rejected
    only for naming a rejected row is not listed (its cause is, with a count); one listed for
    its own problems says what it names besides.
    """
    per_row: dict[int, list[tuple[str, str, str]]] = {}
    for rows_, fld, reason, values in problems.items:
        shown = values.to_pylist() if values is not None else [""] * len(rows_)
        for r, v in zip(rows_.tolist(), shown, strict=True):
            per_row.setdefault(r, []).append((fld, echoed("" if v is None else v), reason))
    warned = []
    for rows_, fld, reason, values in problems.warnings:
        loaded = ~problems.bad[rows_]
        if values is not None and not loaded.all():
            unloaded = values.filter(pa.array(~loaded)).to_pylist()
            for r, v in zip(rows_[~loaded].tolist(), unloaded, strict=True):
                if r in per_row:
                    why = reason.removesuffix(LOADED_WITHOUT_IT)
                    per_row[r].append((fld, echoed("" if v is None else v), why))
        if loaded.any():
            kept = values.filter(pa.array(loaded)) if values is not None else None
            warned.append((rows_[loaded], fld, reason, kept))
    rows = {r + 1 for r in per_row} | {int(r) + 1 for w in warned for r in w[0]}
    if not rows:
        return [], [], {}
    lines = contents.lines(rows)
    line_of = {r - 1: lines.get(r, r) for r in rows}
    names: dict[int, int] = {}
    for dep_rows, causes in problems.dependents:
        for r, c in zip(dep_rows.tolist(), causes.tolist(), strict=True):
            if r in per_row:
                names.setdefault(r, c)
    rejects = []
    for r, found in per_row.items():
        (fld, value, reason), *more = found
        also = "".join(
            f"; also {f} = '{v}': {why}" if v else f"; also {f} (empty): {why}"
            for f, v, why in more
        )
        if r in names:
            also += f"; also names {cause_name(names[r])}, which was rejected"
        rejects.append(Reject(contents.name, line_of[r], fld, value, reason + also))
    rejects.sort(key=lambda j: j.line)
    warnings = []
    for rows_, fld, reason, values in warned:
        shown = values.to_pylist() if values is not None else [""] * len(rows_)
        for r, v in zip(rows_.tolist(), shown, strict=True):
            warnings.append(
                Reject(contents.name, line_of[r], fld, echoed("" if v is None else v), reason)
            )
    warnings.sort(key=lambda j: (j.line, j.field))
    return rejects, warnings, {r: line_of[r] for r in per_row}


def _with_dependents(reject: Reject, counts: Counter[str]) -> Reject:
    """``reject`` saying how many rows of which files name it (rejected with it)."""
    total = sum(counts.values())
    where = ", ".join(f"{file} {n:,}" for file, n in sorted(counts.items()))
    rows = "row that names" if total == 1 else "rows that name"
    return replace(
        reject, reason=f"{reject.reason}; and {total:,} {rows} it ({where}), rejected with it"
    )


def _identifying(spec: Spec) -> set[str]:
    """Fields that identify a row or name its ends: a bad value there rejects the row."""
    if isinstance(spec, RelationSpec):
        ends = {spec.source.field, spec.target.field, spec.source.type_field}
        return {*spec.key, *(f for f in ends if f is not None)}
    if isinstance(spec, NodeSpec):
        return {spec.key}
    return {"record_no", "enterprise_id"}


def _soft_fields(
    spec: Spec, raw: pa.Table, mapping: dict[str, str]
) -> dict[str, np.ndarray | None]:
    """The optional fields of ``spec`` whose bad values are emptied with a warning (see
    :class:`Problems`), with the rows where that holds when not all.

    Kept strict: required fields, fields that identify the row or name an end, identifier
    fields (a source id), and fields with a default (emptied, they would take the default:
    a bad ``status`` is not ``active``). A field that stands in for an empty key field (the
    amount of a guarantee without a contract number) identifies the rows where it does.
    """
    hard = _identifying(spec)
    sub = spec.key_substitute if isinstance(spec, RelationSpec) else None
    soft: dict[str, np.ndarray | None] = {}
    for f in spec.fields:
        if f.required or f.default is not None or f.check or f.derived or f.name in hard:
            continue
        rows: np.ndarray | None = None
        if sub is not None and f.name in sub.fields:
            column = mapping.get(sub.field)
            if column is None:
                continue
            given = pc.utf8_trim_whitespace(pc.cast(raw[column], pa.string()))
            rows = _mask(pc.not_equal(given, ""))
        soft[f.name] = rows
        if f.percent_column:
            soft[f.percent_column] = rows
    return soft


def _personal_fields(spec: Spec) -> set[str]:
    """Fields whose values are masked in reject and warning files: a person's phone and
    e-mail (ID numbers are masked wherever they appear)."""
    if not isinstance(spec, NodeSpec) or spec.label != "Person":
        return set()
    return {f.name for f in spec.fields if f.normalise in ("phone", "email")}


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


def _substitute_key(spec: RelationSpec, table: pa.Table, sub: KeySubstitute, n: int) -> pa.Array:
    """The key part of ``sub.field``: its value, or where it is empty ``~`` and the
    substitute fields joined by ``~`` (an empty one as nothing, a column left out as its
    default: the currency a new row is stored with)."""
    given = _column(table, sub.field, n)
    others = [
        pc.fill_null(_as_text(_column(table, k, n)), spec.field(k).default or "")
        for k in sub.fields
    ]
    stand_in = pc.binary_join_element_wise(
        pa.repeat(pa.scalar("", pa.string()), n), *others, _SUBSTITUTE_MARK
    )
    return pc.if_else(pc.is_valid(given), _as_text(given), stand_in)


def _numbers(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def _spread(shown: pa.Array, at: np.ndarray, n: int) -> pa.Array:
    """``shown`` placed at rows ``at`` of a column of ``n`` rows (null elsewhere)."""
    index = np.full(n, -1, dtype=np.int64)
    index[at] = np.arange(len(at))
    return shown.take(pa.array(index, mask=index < 0))


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
    max_reject_rate: float = 1.0,
) -> LoadSummary:
    """Validate every contract file in ``folder``, then upsert the accepted rows.

    Args:
        store: the target store (its schema is created if missing).
        folder: a folder with one file per contract table (``<table>.csv`` or ``.parquet``).
        salt: salt of the person key hash (from the settings).
        rejects_dir: where the reject (and warning) files are written.
        batch_rows: rows per store transaction.
        strict: refuse the whole load when any row is rejected (``max_reject_rate`` 0).
        progress: factory ``(stage, total) -> advance(n)`` for progress reporting.
        today: the day of the load, which event dates may not be after (default: today).
        encoding: of the CSV files: ``utf-8`` (a BOM allowed) or ``gb18030`` (GBK exports).
        max_reject_rate: refuse the whole load when more than this share of all rows read is
            rejected, or (below 1) when a file with rows has none accepted; 1 refuses for
            neither (the default here; ``creditgraph load`` has its own).

    While rows are written, the store carries a mark naming the folder
    (:data:`UNFINISHED_LOAD`): a load killed half way leaves it, and the store refuses
    readers until a load completes (loads are idempotent: loading the folder again does).

    Raises:
        LoadRefused: a file cannot be read, or more rows were rejected than
            ``max_reject_rate`` (or ``strict``) allows.
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
            + ", ".join(f"{t}.csv|.xlsx|.parquet" for t in domain.files)
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

    named = loader.named_causes()
    for v in validated:
        if named:
            v.rejects = [
                _with_dependents(r, named[r.file, r.line]) if (r.file, r.line) in named else r
                for r in v.rejects
            ]
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
            v.dependent,
            v.depends_on,
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
        persons_by_name=_count_named(validated),
    )
    refused = _refusal(summary, 0.0 if strict else max_reject_rate)
    if refused:
        raise LoadRefused(f"load refused, nothing written: {refused}", summary)

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


def _refusal(summary: LoadSummary, max_reject_rate: float) -> str | None:
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


def _batch(spec: Spec, rows: pa.Table) -> WriteBatch:
    if isinstance(spec, NodeSpec):
        return WriteBatch(nodes={spec.label: rows})
    if isinstance(spec, RelationSpec):
        if _NAMED not in rows.column_names:
            return WriteBatch(relations={spec.type: rows})
        # The persons known by name only that these rows name land with them.
        people = _named_people(rows)
        nodes = {"Person": people} if people.num_rows else {}
        return WriteBatch(nodes=nodes, relations={spec.type: rows.drop([_NAMED])})
    return WriteBatch(records=rows)
