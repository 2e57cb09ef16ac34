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
Second, the accepted rows are upserted in batches inside the store's ``loading`` block:
the embedded store lands the whole load or none of it; Neo4j lands it batch by batch, one
transaction each, under a mark that a load stopped half way leaves. Because every row is
keyed, loading the same files again converges to the same store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import (
    Domain,
    FieldSpec,
    NodeSpec,
    RecordSpec,
    RelationSpec,
    load_domain,
)
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
from graph_model.store.protocol import GraphStore, WriteBatch
from loaders.findings import RootCauses, findings
from loaders.read import Contents, FileProblem, SourceFile, find_files, read_source
from loaders.row_checks import (
    NAMED,
    SHARE_DERIVED,
    Spec,
    as_flags,
    as_text,
    check_self_relations,
    column_or_nulls,
    derive_shares,
    missing_identity,
    person_by_name,
    personal_fields,
    reject_duplicates,
    reject_shared_source_ids,
    soft_fields,
    spread_rows,
    substitute_key,
    warn_totals,
)
from loaders.summary import LoadRefused, LoadSummary, Validated, refusal, summarise
from loaders.validate import (
    Problems,
    check_identifier,
    check_order,
    check_repair_wait,
    check_requires,
    convert_field,
    duplicate_rows,
    echoed,
    masked_people,
)

_CAPITAL = "registered_capital"
Progress = Callable[[int], None]


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
        self.causes = RootCauses()

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
        sources = as_flags(is_source)
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
        pairs = pc.binary_join_element_wise(pc.take(as_text(scope), at), pc.take(names, at), "\x1f")
        uniques = pc.unique(pairs).drop_null()
        salt = self.salt
        keys = []
        for pair in uniques.to_pylist():
            enterprise_id, name = pair.split("\x1f", 1)
            keys.append(person_name_key(enterprise_id, name, salt))
        found = pc.take(pa.array(keys, pa.string()), pc.index_in(pairs, value_set=uniques))
        return spread_rows(found, np.flatnonzero(rows), len(rows))

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
        missing += missing_identity(spec, present)
        if missing:
            raise FileProblem(
                f"{contents.name} line 1: missing required column(s) {', '.join(missing)}; "
                f"found {', '.join(echoed(n, 64) for n in names) or 'none'} "
                "(see docs/data-contract.md)"
            )
        return mapping

    def validate(self, source: SourceFile, spec: Spec, progress: Progress) -> Validated:
        contents = read_source(source, self.encoding)
        mapping = self._columns(contents, spec)
        raw = contents.table
        n = raw.num_rows
        progress(n)
        problems = Problems(n, soft_fields(spec, raw, mapping), personal_fields(spec))
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
        if isinstance(spec, RelationSpec) and SHARE_DERIVED in {f.name for f in spec.fields}:
            table = derive_shares(spec, table, problems, self._target_capital)
        store_rows = self._to_store_form(contents, spec, table, problems)
        if isinstance(spec, RelationSpec):
            warn_totals(spec, table, problems)
        good = pa.array(~problems.bad)
        result = Validated(source, spec, n, store_rows.filter(good))
        result.rejects, result.warnings, lines = findings(contents, problems, self.causes.name)
        result.dependent, result.depends_on = self.causes.count_dependents(source, problems)
        if isinstance(spec, NodeSpec):
            self.causes.note_rejected(
                spec.label, store_rows[spec.store_key], problems, lines, source
            )
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
        missing &= ~self.causes.names_rejected(label, keys, missing, field_name, problems)
        missing &= ~problems.bad_on(field_name)
        what = "person" if label == "Person" else "enterprise"
        reason = f"no such {what} in this load or in the store"
        problems.add(
            missing, field_name, reason, shown, masked_people if label == "Person" else None
        )

    def _to_store_form(
        self, contents: Contents, spec: Spec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        if isinstance(spec, NodeSpec):
            if spec.label == "Person":
                return self._person_form(contents, spec, table, problems)
            key = table[spec.key]
            reject_duplicates(contents, key, spec.key, problems)
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
        number = column_or_nulls(table, spec.key, n)
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
            as_flags(pc.is_null(key)),
            spec.key,
            f"required value is empty: a persons row needs {spec.key} or {alternate}; a "
            "person known by name only is named by the relation rows (person_name, "
            "holder_name), see docs/data-contract.md",
            None,
        )
        reject_duplicates(contents, key, named, problems)
        if alternate is not None and alternate in table.column_names:
            reject_shared_source_ids(contents, table[alternate], alternate, problems)
        out = table.drop([c for c in (spec.key,) if c in table.column_names])
        return out.add_column(0, spec.store_key, key).append_column("identity", identity)

    def _relation_form(
        self, contents: Contents, spec: RelationSpec, table: pa.Table, problems: Problems
    ) -> pa.Table:
        ends = {}
        n = table.num_rows
        named_by = pa.nulls(n, pa.string())
        for side, end in (("_from", spec.source), ("_to", spec.target)):
            col = column_or_nulls(table, end.field, n)
            if end.ref == "enterprise":
                check_identifier(col, "enterprise_id", end.field, problems)
                self._check_refs("Enterprise", col, col, end.field, problems)
                ends[side] = (col, pa.repeat(pa.scalar("Enterprise"), n))
                continue
            if end.ref == "party":
                is_person = as_flags(pc.equal(table[end.type_field], "person"))
            else:
                is_person = np.ones(n, dtype=bool)
            names = column_or_nulls(table, end.name_field, n) if end.name_field else None
            named_rows = person_by_name(spec, end, col, names, is_person, problems)
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
            pc.fill_null(as_text(by_name[k] if k in by_name else column_or_nulls(table, k, n)), "")
            for k in spec.key
        ]
        sub = spec.key_substitute
        if sub is not None:
            parts[spec.key.index(sub.field)] = substitute_key(spec, table, sub, n)
        key = pc.binary_join_element_wise(*parts, "|")
        reject_duplicates(contents, key, "|".join(spec.key), problems)
        check_self_relations(spec, ends, table, problems)
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
            columns[NAMED] = named_by
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
            else pc.binary_join_element_wise(*(as_text(table[k]) for k in spec.key), "|")
        )
        ids = pc.binary_join_element_wise(pa.array([spec.kind] * n, pa.string()), number, ":")
        reject_duplicates(contents, ids, "|".join(spec.key), problems)
        columns = {"id": ids, "kind": pa.array([spec.kind] * n, pa.string())}
        columns.update({name: table[name] for name in table.column_names})
        return pa.table(columns)

    def validate_and_remember(
        self, source: SourceFile, spec: Spec, progress: Progress
    ) -> Validated:
        """Validate a file, then remember its accepted keys for the files after it."""
        validated = self.validate(source, spec, progress)
        self.remember(validated)
        return validated

    def remember(self, validated: Validated) -> None:
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


def _named_people(rows: pa.Table) -> pa.Table:
    """Persons known by name only that relation rows (store form) name, once each: key,
    the name as first given, identity ``name`` and the enterprise they are scoped to."""
    named = rows.filter(pc.is_valid(rows[NAMED]))
    dup, _ = duplicate_rows(named["_from"])
    named = named.filter(pa.array(~dup))
    return pa.table(
        {
            "id": named["_from"],
            "name": named[NAMED],
            "identity": pa.repeat(pa.scalar(NAME_ONLY), named.num_rows),
            "scope": named["_to"],
        }
    )


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

    The rows are written inside the store's ``loading`` block: the embedded store swaps
    them in whole, so a load killed half way leaves it as it was; Neo4j carries a mark naming
    the folder while they are written (:data:`UNFINISHED_LOAD`), which a load killed half way
    leaves, and refuses readers until a load completes (loads are idempotent: loading the
    folder again does).

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
    try:
        validated = [
            loader.validate_and_remember(
                source,
                _spec_of(domain, source.table),
                on_progress(f"validate {source.path.name}", None),
            )
            for source in sources
        ]
    except FileProblem as exc:
        raise LoadRefused(f"load refused, nothing written: {exc}") from None
    summary = summarise(validated, loader.causes.named(), unknown, rejects_dir)
    refused = refusal(summary, 0.0 if strict else max_reject_rate)
    if refused:
        raise LoadRefused(f"load refused, nothing written: {refused}", summary)

    advance = on_progress("write", sum(v.store_rows.num_rows for v in validated))
    with store.loading(f"{folder} (started {datetime.now():%Y-%m-%d %H:%M:%S})"):
        for v in validated:
            for start in range(0, v.store_rows.num_rows, batch_rows):
                chunk = v.store_rows.slice(start, batch_rows)
                store.write(_batch(v.spec, chunk))
                advance(chunk.num_rows)
    return replace(summary, written=True, seconds=time.perf_counter() - started)


def _batch(spec: Spec, rows: pa.Table) -> WriteBatch:
    if isinstance(spec, NodeSpec):
        return WriteBatch(nodes={spec.label: rows})
    if isinstance(spec, RelationSpec):
        if NAMED not in rows.column_names:
            return WriteBatch(relations={spec.type: rows})
        # The persons known by name only that these rows name land with them.
        people = _named_people(rows)
        nodes = {"Person": people} if people.num_rows else {}
        return WriteBatch(nodes=nodes, relations={spec.type: rows.drop([NAMED])})
    return WriteBatch(records=rows)
