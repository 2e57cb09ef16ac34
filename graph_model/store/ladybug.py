"""The embedded backend: LadybugDB (the maintained fork of Kùzu) on disk.

Writes go in one transaction per batch: new rows by ``COPY`` (LadybugDB's bulk
path, ~1M rows/s here), rows whose key already exists by ``LOAD FROM ... SET``.
Row-at-a-time ``UNWIND ... MERGE`` is three orders of magnitude slower in
LadybugDB (measured: 100k merges in 190 s), so it is never used.

A load writes into a copy of the database file beside it (``<name>.staged``) and
renames the copy over the database when every batch is in: the rename is atomic, so
readers see the store before the load or after it, never half of it, and a load that
fails or is killed leaves the database as it was (its stale copy is removed by the next
writer). The copy costs one file copy of the database and as much free disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path as FsPath
from typing import IO, Any

import ladybug as lb
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import Domain, FieldSpec
from graph_model.store import ladybug_cypher as cy
from graph_model.store.base import (
    StoreBase,
    arrow_schema,
    column_defaults,
    node_rows,
    relation_rows,
)
from graph_model.store.layout import node_columns, relation_columns
from graph_model.store.protocol import (
    Direction,
    Edge,
    Entity,
    Neighbour,
    NodeRef,
    Path,
    SchemaMismatchError,
    StoreError,
    WriteBatch,
)

_INTERNAL = ("_ID", "_LABEL", "_SRC", "_DST")
COPY_ROWS = 100_000

LOAD_CHECKPOINT_BYTES = 1 << 30
"""A load's staged copy is checkpointed when its write-ahead log reaches this size."""


class LadybugStore(StoreBase):
    """A ``GraphStore`` in a LadybugDB database directory.

    Args:
        path: database path (created with its parent folders when missing).
        read_only: open without write access (several readers may share it).
        buffer_pool_bytes: LadybugDB buffer pool; 0 lets it choose.
        domain: the domain model; defaults to ``domain.yaml``.
    """

    def __init__(
        self,
        path: FsPath,
        *,
        read_only: bool = False,
        buffer_pool_bytes: int = 0,
        domain: Domain | None = None,
    ) -> None:
        self.path = FsPath(path)
        super().__init__(cy, domain, read_only=read_only, where=f"the database at {self.path}")
        if read_only and not self.path.exists():
            raise StoreError(f"no database at {self.path}: run `creditgraph load` first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if read_only:
            _recover(self.path)
        self._lock = _take_lock(self.path, read_only)
        if not read_only:
            _remove(_staged(self.path))  # left by a load killed half way
        try:
            self._db = lb.Database(
                str(self.path), read_only=read_only, buffer_pool_size=buffer_pool_bytes
            )
        except RuntimeError as exc:
            self._lock.close()
            raise StoreError(f"cannot open the database at {self.path}: {exc}") from exc
        self._conn = lb.Connection(self._db)
        if read_only:
            self._check_schema_version()

    # -- plumbing -----------------------------------------------------------
    def _run(self, query: str, params: dict[str, Any] | None = None) -> Any:
        return self._conn.execute(query, params or {})

    def _rows(self, query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        return list(self._run(query, params).get_all())

    def _tuples(self, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._rows(query, params)]

    def _execute(self, query: str, params: dict[str, Any]) -> None:
        self._run(query, params)

    def _arrow(self, query: str, params: dict[str, Any] | None = None) -> pa.Table:
        result = self._run(query, params).get_as_arrow()
        return result if isinstance(result, pa.Table) else pa.Table.from_batches(result)

    def _ddl(self) -> list[str]:
        d = self.domain
        return [
            cy.CREATE_META,
            *(cy.create_node_table(d, label) for label in d.labels),
            *(cy.create_rel_table(d, t) for t in d.relation_types),
        ]

    def _schema_fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self._ddl()).encode()).hexdigest()[:16]

    def _check_schema_version(self) -> None:
        try:
            rows = self._rows(cy.GET_META, {"name": "schema"})
        except RuntimeError as exc:
            raise StoreError(f"{self.path} is not a CreditGraph database ({exc})") from exc
        found = rows[0][0] if rows else None
        if found != self._schema_fingerprint():
            raise SchemaMismatchError(
                f"the database at {self.path} was created with another domain schema "
                f"({found}, expected {self._schema_fingerprint()}); reload it into a new data home"
            )

    # -- writer side ----------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create every table of the domain; refuse a database of another schema."""
        tables = {row[1] for row in self._rows("CALL show_tables() RETURN *")}
        if "Meta" in tables:
            self._check_schema_version()
            return
        for statement in self._ddl():
            self._run(statement)
        self._run(cy.SET_META, {"name": "schema", "value": self._schema_fingerprint()})

    def existing_keys(self, label: str, keys: pa.Array) -> pa.Array:
        if len(keys) == 0:
            return pa.array([], pa.bool_())
        found = self._arrow(
            cy.existing_node_keys(self.domain, label), {"rows": pa.table({"k": keys})}
        )
        return pc.is_in(keys, value_set=found.column(0).combine_chunks())

    def node_values(self, label: str, keys: pa.Array, column: str) -> pa.Array:
        kind = self.stored_field(label, column).arrow_type
        if len(keys) == 0:
            return pa.array([], kind)
        query = cy.existing_node_keys(self.domain, label, (column,))
        found = self._arrow(query, {"rows": pa.table({"k": keys})})
        at = pc.index_in(keys, value_set=found["k"].combine_chunks())
        return pc.take(found[column].combine_chunks().cast(kind), at)

    def _write(self, batch: WriteBatch) -> None:
        self._run(cy.BEGIN)
        try:
            for label, table in batch.nodes.items():
                self._upsert_nodes(label, table)
            for rel_type, table in batch.relations.items():
                self._upsert_relations(rel_type, table)
            if batch.records is not None:
                self._upsert_records(batch.records)
            self._run(cy.COMMIT)
        except Exception as exc:
            # LadybugDB has already rolled back when one of its statements failed, and then
            # ROLLBACK itself fails ("No active transaction") and would hide the cause.
            with contextlib.suppress(RuntimeError):
                self._run(cy.ROLLBACK)
            if isinstance(exc, RuntimeError):
                raise StoreError(f"write failed, nothing was written: {exc}") from exc
            raise

    def _copy(self, query: str, rows: pa.Table) -> None:
        # LadybugDB 0.22 hangs (idle, never returns) on a COPY from one Arrow table of more
        # than 131,072 rows of non-ASCII keys; slices of COPY_ROWS inside the transaction work.
        for start in range(0, rows.num_rows, COPY_ROWS):
            self._run(query, {"rows": rows.slice(start, COPY_ROWS)})

    def _upsert_nodes(self, label: str, table: pa.Table) -> pa.Array:
        """Insert new nodes and update the changed columns of existing ones; returns new rows."""
        present = node_rows(self.domain, label, table)
        keys = present.column(0).combine_chunks()
        columns = tuple(present.column_names[1:])
        query = cy.existing_node_keys(self.domain, label, columns)
        stored = self._arrow(query, {"rows": pa.table({"k": keys})})
        exists = pc.is_in(keys, value_set=stored["k"].combine_chunks())
        new = _complete(present.filter(pc.invert(exists)), node_columns(self.domain, label))
        changed = _changed(present.filter(exists), stored, columns)
        if new.num_rows:
            self._copy(cy.copy_nodes(self.domain, label), new)
        if changed.num_rows:
            self._run(cy.update_nodes(self.domain, label, columns), {"rows": changed})
        return pc.invert(exists)

    def _upsert_relations(self, rel_type: str, table: pa.Table) -> None:
        present, parts = relation_rows(self.domain, rel_type, table)
        stored_columns = relation_columns(self.domain, rel_type)
        columns = tuple(present.column_names[3:])  # after _from, _to, key
        # One scan of the stored keys and values serves every label pair of this batch.
        stored = self._arrow(cy.all_relation_keys(self.domain, rel_type, columns))
        _refuse_moved_keys(present, stored, rel_type)
        for (from_label, to_label), part in parts:
            exists = pc.is_in(part["key"], value_set=stored["k"].combine_chunks())
            new = _complete(part.filter(pc.invert(exists)), stored_columns, ("_from", "_to"))
            changed = _changed(part.filter(exists).drop(["_from", "_to"]), stored, columns)
            if new.num_rows:
                self._copy(cy.copy_relations(self.domain, rel_type, from_label, to_label), new)
            if changed.num_rows:
                query = cy.update_relations(self.domain, rel_type, from_label, to_label, columns)
                rows = part.filter(pc.is_in(part["key"], value_set=changed["key"]))
                self._run(query, {"rows": rows})

    def _upsert_records(self, table: pa.Table) -> None:
        is_new = self._upsert_nodes("Record", table)
        new = table.filter(is_new)
        if new.num_rows:
            links = pa.table({"_from": new["enterprise_id"], "_to": new["id"]})
            self._copy(cy.copy_relations(self.domain, "HAS_RECORD", "Enterprise", "Record"), links)

    @contextlib.contextmanager
    def loading(self, mark: str) -> Iterator[None]:
        """Writes into a copy of the database, renamed over it when the block ends well."""
        if self.read_only:
            raise StoreError("the store is open read-only")
        staged = _staged(self.path)
        self._run(cy.CHECKPOINT)  # the database file alone then holds everything
        shutil.copyfile(self.path, staged)
        main = (self._db, self._conn)
        # Commits append to the staged copy's write-ahead log, checkpointed once it holds
        # LOAD_CHECKPOINT_BYTES and at the end (a checkpoint at every commit was most of a
        # load's write time; none until the end held the whole load's pages in memory).
        self._db = lb.Database(str(staged), checkpoint_threshold=LOAD_CHECKPOINT_BYTES)
        self._conn = lb.Connection(self._db)
        try:
            yield
            self._run(cy.CHECKPOINT)
        except BaseException:
            self._conn.close()
            self._db.close()
            self._db, self._conn = main
            _remove(staged)
            raise
        self._conn.close()
        self._db.close()
        for handle in reversed(main):
            handle.close()
        os.replace(staged, self.path)
        _sync_folder(self.path.parent)
        self._db = lb.Database(str(self.path))
        self._conn = lb.Connection(self._db)

    def close(self) -> None:
        self._conn.close()
        self._db.close()
        self._lock.close()  # releases the lock

    # -- reader side ------------------------------------------------------------
    def get_entity(self, node_id: str) -> Entity | None:
        rows = self._rows(cy.GET_ENTERPRISE, {"id": node_id})
        if rows:
            rows_ = self._rows(cy.GET_RECORDS, {"id": node_id})
            records = tuple(_record_props(self.domain, r[0]) for r in rows_)
            return Entity("Enterprise", node_id, _props(rows[0][0]), records)
        rows = self._rows(cy.GET_PERSON, {"id": node_id})
        if rows:
            return Entity("Person", node_id, _props(rows[0][0]))
        return None

    def _neighbour_rows(
        self,
        types: tuple[str, ...],
        direction: Direction,
        params: dict[str, Any],
        node_id: str,
    ) -> list[Neighbour]:
        # Asked label by label, each through its key index: enterprise ids and person keys
        # never collide, so the first label with rows is the node's, and nothing from both
        # is the right empty page.
        found: list[Neighbour] = []
        for label in ("Enterprise", "Person"):
            found = self._neighbours(
                cy.neighbours(self.domain, types, direction, label), params, node_id
            )
            if found:
                break
        return found

    def _neighbours(self, query: str, params: dict[str, Any], node_id: str) -> list[Neighbour]:
        items = []
        for rel, node, _ in self._rows(query, params):
            src, dst = _endpoints(rel, node, node_id)
            edge = Edge(rel["_LABEL"], src, dst, _edge_props(self.domain, rel))
            items.append(Neighbour(_ref(node), edge))
        return items

    def _paths(self, query: str, params: dict[str, Any]) -> list[Path]:
        return [_path(self.domain, row[0], row[1]) for row in self._rows(query, params)]

    # -- snapshot export ------------------------------------------------------------
    def _pages(self, query: str, params: dict[str, Any], batch_rows: int) -> Iterator[pa.Table]:
        table = self._arrow(query, params)
        for start in range(0, max(table.num_rows, 1), batch_rows):
            yield table.slice(start, batch_rows)

    def export_nodes(self, label: str, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        return self._pages(cy.export_nodes(self.domain, label), {"as_of": as_of}, batch_rows)

    def export_relations(
        self, rel_type: str, as_of: date, batch_rows: int, *, ended: bool = False
    ) -> Iterator[pa.Table]:
        query = cy.export_relations(self.domain, rel_type)
        return self._pages(query, {"as_of": as_of, "ended": ended}, batch_rows)

    def export_records(self, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        return self._pages(cy.export_records(self.domain), {"as_of": as_of}, batch_rows)


def _staged(path: FsPath) -> FsPath:
    """Where a load writes its copy of the database at ``path``."""
    return path.with_name(f"{path.name}.staged")


def _remove(database: FsPath) -> None:
    """Delete a database file and its write-ahead log, if there."""
    for file in (database, database.with_name(f"{database.name}.wal")):
        file.unlink(missing_ok=True)


def _sync_folder(folder: FsPath) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _recover(path: FsPath) -> None:
    """Replay the write-ahead log a killed writer left, which read-only opens refuse to do.

    Only when no one holds the database (a running load or reader keeps it as it is); a
    read-write open that finds nothing to replay costs a few milliseconds.
    """
    if not (path.parent / f"{path.name}.wal").exists():
        return
    try:
        lock = _take_lock(path, read_only=False)
    except StoreError:
        return  # in use: the read-only open below says why if it cannot proceed
    try:
        lb.Database(str(path)).close()
    except RuntimeError as exc:
        raise StoreError(f"cannot recover the database at {path}: {exc}") from exc
    finally:
        lock.close()


def _take_lock(path: FsPath, read_only: bool) -> IO[bytes]:
    """A lock on the database beside it: shared for readers, exclusive for a writer.

    LadybugDB lets a writer open a database that another process reads, and the reader then
    fails mid-answer ("invalid node offset"): a load while the API serves. So a writer waits
    for no one and is refused while anyone reads, and a reader is refused while a load
    writes; both say what to do.
    """
    lock = (path.parent / f"{path.name}.lock").open("a+b")
    try:
        fcntl.flock(lock, (fcntl.LOCK_SH if read_only else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        if read_only:
            raise StoreError(
                f"the database at {path} is being written (a load is running): wait for it to "
                "finish, then try again"
            ) from None
        raise StoreError(
            f"the database at {path} is open in another process (the API server, or another "
            "command): stop it, load, then start it again"
        ) from None
    return lock


def _refuse_moved_keys(rows: pa.Table, stored: pa.Table, rel_type: str) -> None:
    """Refuse rows whose key is stored between other endpoints.

    A key names one relation; moving it would silently keep the old one (the update matches
    by endpoints), and Neo4j's uniqueness constraint refuses it, so both backends refuse.
    """
    joined = rows.select(["key", "_from", "_to"]).join(
        stored.select(["k", "_from_s", "_to_s"]), keys="key", right_keys="k", join_type="inner"
    )
    moved = joined.filter(
        pc.or_(
            pc.not_equal(joined["_from"], joined["_from_s"]),
            pc.not_equal(joined["_to"], joined["_to_s"]),
        )
    )
    if moved.num_rows:
        raise StoreError(
            f"{rel_type}: {moved.num_rows} row(s) reuse the key of a stored relation between "
            f"other endpoints (first: {moved['key'][0].as_py()}); nothing was written"
        )


def _changed(old: pa.Table, stored: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    """Rows of ``old`` (key first) whose ``columns`` differ from the stored values.

    Loading the same files again then writes nothing, instead of rewriting every row.
    """
    if old.num_rows == 0 or not columns:
        return old.slice(0, 0)
    key = old.column_names[0]
    right = stored.select(["k", *columns]).rename_columns([key, *(f"{c}__stored" for c in columns)])
    joined = old.select([key, *columns]).join(right, keys=key, join_type="inner")
    differs = None
    for c in columns:
        a, b = joined[c], joined[f"{c}__stored"].cast(joined[c].type)
        neq = pc.or_(pc.fill_null(pc.not_equal(a, b), False), pc.xor(pc.is_null(a), pc.is_null(b)))
        differs = neq if differs is None else pc.or_(differs, neq)
    return joined.filter(differs).select([key, *columns])


def _complete(
    table: pa.Table, stored: tuple[FieldSpec, ...], head: tuple[str, ...] = ()
) -> pa.Table:
    """Every stored column for new rows, after the ``head`` columns (COPY needs them all).

    A column the batch does not carry takes the domain's default, or null. Existing rows are
    updated only in the columns the batch carries, so a default never overwrites a stored value.
    """
    schema = pa.schema([*(table.schema.field(h) for h in head), *arrow_schema(stored)])
    fill = column_defaults(stored, tuple(table.column_names))
    columns = []
    for f in schema:
        if f.name in table.column_names:
            columns.append(table[f.name])
        elif f.name in fill:
            columns.append(pa.array([fill[f.name]] * table.num_rows, f.type))
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _props(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in _INTERNAL}


def _record_props(domain: Domain, record: dict[str, Any]) -> dict[str, Any]:
    # The Record table holds every kind's fields: keep this kind's own.
    names = {"id", "kind", *(f.name for f in domain.record(record["kind"]).fields)}
    return {k: v for k, v in record.items() if k in names}


def _edge_props(domain: Domain, rel: dict[str, Any]) -> dict[str, Any]:
    # An untyped pattern returns the union of all relation tables' columns: keep this type's own.
    names = {f.name for f in relation_columns(domain, rel["_LABEL"])}
    return {k: v for k, v in rel.items() if k in names}


def _ref(node: dict[str, Any]) -> NodeRef:
    return NodeRef(node["_LABEL"], node["id"], node.get("name"))


def _internal_id(value: dict[str, Any]) -> tuple[int, int]:
    return (value["table"], value["offset"])


def _endpoints(rel: dict[str, Any], other: dict[str, Any], node_id: str) -> tuple[str, str]:
    if _internal_id(rel["_SRC"]) == _internal_id(other["_ID"]):
        return other["id"], node_id
    return node_id, other["id"]


def _path(domain: Domain, nodes: list[dict[str, Any]], rels: list[dict[str, Any]]) -> Path:
    ids = {_internal_id(n["_ID"]): n["id"] for n in nodes}
    edges = tuple(
        Edge(
            r["_LABEL"],
            ids[_internal_id(r["_SRC"])],
            ids[_internal_id(r["_DST"])],
            _edge_props(domain, r),
        )
        for r in rels
    )
    return Path(tuple(_ref(n) for n in nodes), edges)
