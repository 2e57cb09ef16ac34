"""The Neo4j 5 backend: the production store behind the same ``GraphStore`` protocol.

The driver is injected (``open_store`` builds it from the settings); a store closes it
only when told it owns it. Reads go through ``driver.execute_query(...,
routing_=READ)``, so a cluster serves them from any member. A write batch is one
managed transaction (``session.execute_write``, which the driver retries on
transient errors such as a deadlock or a leader switch) that sends the rows as
``UNWIND $rows`` statements of ``write_batch_rows`` rows each. All Cypher lives in
``neo4j_cypher``.

Upserts follow the embedded backend: a batch sets only the columns it carries,
defaults from the domain apply to new rows only, a batch repeating a key or tying
labels its relation type does not connect is refused whole, and so is a row whose
endpoint or enterprise does not exist (each statement returns how many rows it wrote).

Dates go to the driver as ``datetime.date`` (Neo4j ``DATE``) and come back as
``neo4j.time.Date``, converted so that results equal the embedded backend's. Driver
errors become ``StoreError`` subclasses naming the server (never the password) and
what to check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc
from neo4j import Driver, ManagedTransaction, RoutingControl
from neo4j.exceptions import (
    AuthError,
    ConstraintError,
    DatabaseUnavailable,
    DriverError,
    Forbidden,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)
from neo4j.time import Date

from graph_model.domain import Domain, FieldSpec
from graph_model.store import neo4j_cypher as cy
from graph_model.store.base import (
    RELATION_HEAD,
    StoreBase,
    column_defaults,
    node_rows,
    relation_rows,
)
from graph_model.store.layout import node_columns, relation_columns, relation_pairs
from graph_model.store.protocol import (
    Edge,
    Entity,
    Neighbour,
    NodeRef,
    Path,
    SchemaMismatchError,
    StoreError,
    WriteBatch,
)

_DATABASE_NOT_FOUND = "Neo.ClientError.Database.DatabaseNotFound"
_OUT_OF_MEMORY = frozenset(
    {
        "Neo.ClientError.General.TransactionOutOfMemoryError",
        "Neo.TransientError.General.MemoryPoolOutOfMemoryError",
        "Neo.TransientError.General.OutOfMemoryError",
    }
)
_SHOWN_MISSING = 3  # missing endpoints named in an error message
# Export pages are at most this long, whatever the caller asks: a page is held as driver
# records (about 1 KB each in Python) before it becomes Arrow, so this bounds it near 100 MB.
PAGE_ROWS = 100_000


class Neo4jUnavailableError(StoreError):
    """The Neo4j server or its database cannot be reached."""


class Neo4jAuthError(StoreError):
    """Neo4j refused the credentials, or the user lacks a privilege."""


class Neo4jConstraintError(StoreError):
    """A write broke a uniqueness constraint (a key already used elsewhere)."""


class _Unwritten(StoreError):
    """Some rows of a statement were not written (a missing endpoint): the batch is refused."""


def redact_uri(uri: str) -> str:
    """The URI without any ``user:password@`` part, fit for a message."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


class Neo4jStore(StoreBase):
    """A ``GraphStore`` in a Neo4j 5 database.

    Args:
        driver: an open ``neo4j.Driver``; the store never creates one.
        database: name of the database holding the graph.
        uri: the server's URI, only to name it in error messages (any password in it is
            left out).
        write_batch_rows: rows per ``UNWIND $rows`` statement.
        read_only: refuse writes and schema changes (``ensure_schema`` then only checks).
        owns_driver: ``close()`` closes the driver too. ``open_store`` hands its driver
            over this way; a caller who injects a driver keeps it and closes it.
        domain: the domain model; defaults to ``domain.yaml``.
    """

    def __init__(
        self,
        driver: Driver,
        *,
        database: str = "neo4j",
        uri: str | None = None,
        write_batch_rows: int = 10_000,
        read_only: bool = False,
        owns_driver: bool = False,
        domain: Domain | None = None,
    ) -> None:
        if write_batch_rows < 1:
            raise ValueError(f"write_batch_rows must be ≥ 1, got {write_batch_rows}")
        self.database = database
        self.write_batch_rows = write_batch_rows
        self.location = f"Neo4j at {redact_uri(uri)}" if uri else "the Neo4j server"
        where = f"the database {database!r} of {self.location}"
        super().__init__(cy, domain, read_only=read_only, where=where)
        self._driver = driver
        self._owns_driver = owns_driver

    # -- plumbing -----------------------------------------------------------------------
    def _error(self, exc: Neo4jError | DriverError) -> StoreError:
        """The ``StoreError`` telling the user what failed and what to check."""
        where = f"{self.location} (database {self.database!r})"
        if isinstance(exc, AuthError):
            return Neo4jAuthError(
                f"{where} refused the login: check CREDITGRAPH_NEO4J_USER and "
                f"CREDITGRAPH_NEO4J_PASSWORD ({exc.message})"
            )
        if isinstance(exc, Forbidden):
            return Neo4jAuthError(
                f"{where} does not allow this user to do that: it needs read and write access "
                f"to the database and the right to create constraints ({exc.message})"
            )
        if isinstance(exc, ServiceUnavailable | SessionExpired):
            return Neo4jUnavailableError(
                f"cannot reach {where}: check that the server is running (`docker compose up "
                "-d neo4j` starts one), that CREDITGRAPH_NEO4J_URI names its host and Bolt port "
                f"(7687 by default) with the right scheme (neo4j+s:// for TLS) ({exc})"
            )
        if isinstance(exc, DatabaseUnavailable):
            return Neo4jUnavailableError(
                f"the database {self.database!r} of {self.location} is not available: check "
                f"that it is started (SHOW DATABASES) ({exc.message})"
            )
        if isinstance(exc, ConstraintError):
            return Neo4jConstraintError(
                f"{where} refused the write, nothing was written: {exc.message}"
            )
        if isinstance(exc, Neo4jError) and exc.code == _DATABASE_NOT_FOUND:
            return StoreError(
                f"the database {self.database!r} does not exist on {self.location}: check "
                "CREDITGRAPH_NEO4J_DATABASE (SHOW DATABASES lists them)"
            )
        if isinstance(exc, Neo4jError) and exc.code in _OUT_OF_MEMORY:
            return StoreError(
                f"{where} ran out of transaction memory, nothing was written: lower "
                "CREDITGRAPH_LOAD_BATCH_ROWS (rows per transaction) or give the server more "
                f"(server.memory.heap.max_size, db.memory.transaction.total.max) ({exc.message})"
            )
        if isinstance(exc, Neo4jError):
            return StoreError(f"{where} failed: {exc.code}: {exc.message}")
        return StoreError(f"{where} failed: {exc}")

    @contextlib.contextmanager
    def _driver_errors(self) -> Iterator[None]:
        try:
            yield
        except (Neo4jError, DriverError) as exc:
            raise self._error(exc) from exc

    def _read(self, query: str, params: dict[str, Any] | None = None) -> list[Any]:
        with self._driver_errors():
            result = self._driver.execute_query(
                query, params or {}, routing_=RoutingControl.READ, database_=self.database
            )
        return list(result.records)

    def _tuples(self, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(record.values()) for record in self._read(query, params)]

    def _execute(self, query: str, params: dict[str, Any]) -> None:
        with self._driver_errors():
            self._driver.execute_query(query, params, database_=self.database)

    def verify_connectivity(self) -> None:
        """Reach the server and log in, or raise a ``StoreError`` saying what to check."""
        with self._driver_errors():
            self._driver.verify_connectivity()

    def _fingerprint(self) -> str:
        """Hash of the stored layout: properties and types per label and relation type."""
        d = self.domain
        layout = {
            "nodes": {
                label: [(f.name, f.storage_type) for f in node_columns(d, label)]
                for label in d.labels
            },
            "relations": {
                t: {
                    "pairs": relation_pairs(d, t),
                    "columns": [(f.name, f.storage_type) for f in relation_columns(d, t)],
                }
                for t in d.relation_types
            },
        }
        return hashlib.sha256(json.dumps(layout, sort_keys=True).encode()).hexdigest()[:16]

    # -- writer side --------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create constraints and indexes if missing; refuse a database of another layout.

        Read-only, only check that the database holds CreditGraph data of this layout.
        """
        rows = self._read(cy.GET_META, {"name": "schema"})
        found = rows[0]["value"] if rows else None
        expected = self._fingerprint()
        if found is not None and found != expected:
            raise SchemaMismatchError(
                f"{self.where} was created with another domain layout ({found}, expected "
                f"{expected}); load into an empty database"
            )
        if self.read_only:
            if found is None:
                raise StoreError(
                    f"{self.where} holds no CreditGraph data: run `creditgraph load` first"
                )
            return
        with self._driver_errors():
            for statement in cy.schema_statements(self.domain):
                self._driver.execute_query(statement, database_=self.database)
        if found is None:
            self.set_meta("schema", expected)

    def existing_keys(self, label: str, keys: pa.Array) -> pa.Array:
        query = cy.existing_keys(self.domain, label)
        found: list[str] = []
        for start in range(0, len(keys), self.write_batch_rows):
            chunk = keys.slice(start, self.write_batch_rows).to_pylist()
            found.extend(r["k"] for r in self._read(query, {"keys": chunk}))
        return pc.is_in(keys, value_set=pa.array(found, pa.string()))

    def node_values(self, label: str, keys: pa.Array, column: str) -> pa.Array:
        kind = self.stored_field(label, column).arrow_type
        query = cy.node_values(self.domain, label, column)
        found: dict[str, Any] = {}
        for start in range(0, len(keys), self.write_batch_rows):
            chunk = keys.slice(start, self.write_batch_rows).to_pylist()
            found.update((r["k"], _native(r["v"])) for r in self._read(query, {"keys": chunk}))
        return pa.array([found.get(k) for k in keys.to_pylist()], kind)

    def _write(self, batch: WriteBatch) -> None:
        # Checked before the transaction starts: a refused batch costs no round trip.
        d = self.domain
        nodes = [(label, node_rows(d, label, t)) for label, t in batch.nodes.items()]
        relations = [
            (rel_type, part)
            for rel_type, table in batch.relations.items()
            for part in relation_rows(d, rel_type, table)[1]
        ]
        records = None if batch.records is None else node_rows(d, "Record", batch.records)
        if batch.row_count == 0:
            return
        with self._driver_errors(), self._driver.session(database=self.database) as session:
            session.execute_write(self._write_in, nodes, relations, records)

    def _write_in(
        self,
        tx: ManagedTransaction,
        nodes: list[tuple[str, pa.Table]],
        relations: list[tuple[str, tuple[tuple[str, str], pa.Table]]],
        records: pa.Table | None,
    ) -> None:
        """The transaction function: everything of one batch (the driver may run it again)."""
        d = self.domain
        for label, table in nodes:
            columns = tuple(table.column_names[1:])
            query = cy.merge_nodes(d, label, columns)
            defaults = column_defaults(node_columns(d, label), columns)
            for chunk in self._chunks(table):
                self._run_rows(tx, query, chunk, {"defaults": defaults})
        for rel_type, ((a, b), table) in relations:
            columns = tuple(table.column_names[3:])  # after _from, _to, key
            query = cy.merge_relations(d, rel_type, a, b, columns)
            defaults = column_defaults(relation_columns(d, rel_type), columns)
            for chunk in self._chunks(table):
                try:
                    self._run_rows(tx, query, chunk, {"defaults": defaults})
                except _Unwritten as exc:
                    ends = [(a, chunk["_from"]), (b, chunk["_to"])]
                    raise self._refusal(tx, rel_type, ends, exc) from exc
        if records is not None:
            for chunk in self._chunks(records):
                self._write_records(tx, chunk)

    def _write_records(self, tx: ManagedTransaction, chunk: pa.Table) -> None:
        # New records are created with their link; existing ones only updated, their link
        # left as it is, as the embedded backend does.
        d = self.domain
        keys = chunk["id"].to_pylist()
        found = {r["k"] for r in tx.run(cy.existing_keys(d, "Record"), {"keys": keys})}
        exists = pc.is_in(chunk["id"], value_set=pa.array(list(found), pa.string()))
        columns = tuple(chunk.column_names[1:])
        new = chunk.filter(pc.invert(exists))
        if new.num_rows:
            if "enterprise_id" not in columns:
                raise StoreError(f"records: {new.num_rows} new record(s) without enterprise_id")
            query = cy.create_records(d, columns)
            defaults = column_defaults(node_columns(d, "Record"), columns)
            try:
                self._run_rows(tx, query, new, {"defaults": defaults})
            except _Unwritten as exc:
                owners = [("Enterprise", new["enterprise_id"])]
                raise self._refusal(tx, "records", owners, exc) from exc
        old = chunk.filter(exists)
        if old.num_rows and columns:
            self._run_rows(tx, cy.update_records(d, columns), old, {})

    def _chunks(self, table: pa.Table) -> Iterator[pa.Table]:
        for start in range(0, table.num_rows, self.write_batch_rows):
            yield table.slice(start, self.write_batch_rows)

    @staticmethod
    def _run_rows(
        tx: ManagedTransaction, query: str, rows: pa.Table, params: dict[str, Any]
    ) -> None:
        """Run a write statement on ``rows``; raise ``_Unwritten`` unless it wrote them all."""
        (result,) = list(tx.run(query, {"rows": rows.to_pylist(), **params}))
        if result["written"] != rows.num_rows:
            raise _Unwritten(
                f"a statement wrote {result['written']} of its {rows.num_rows} rows; "
                "nothing was written"
            )

    def _missing(self, tx: ManagedTransaction, label: str, keys: pa.ChunkedArray) -> list[str]:
        wanted = pc.unique(keys).to_pylist()
        found = {r["k"] for r in tx.run(cy.existing_keys(self.domain, label), {"keys": wanted})}
        return [k for k in wanted if k not in found]

    def _refusal(
        self,
        tx: ManagedTransaction,
        what: str,
        references: list[tuple[str, pa.ChunkedArray]],
        short: _Unwritten,
    ) -> StoreError:
        """Why a write fell short: the referenced nodes (label, keys) that do not exist.

        Looked up only once a statement wrote fewer rows than it was sent.
        """
        missing = [
            f"{label} {key}" for label, keys in references for key in self._missing(tx, label, keys)
        ]
        if not missing:
            return StoreError(f"{what}: {short}")
        return StoreError(
            f"{what}: {len(missing)} referenced node(s) do not exist ({_listed(missing)}); "
            "nothing was written"
        )

    def close(self) -> None:
        """Close the driver if this store owns it (see ``owns_driver``)."""
        if self._owns_driver:
            self._driver.close()

    # -- reader side --------------------------------------------------------------------
    def get_entity(self, node_id: str) -> Entity | None:
        rows = self._read(cy.GET_ENTERPRISE, {"id": node_id})
        if rows:
            records = tuple(self._record_props(r) for r in rows[0]["records"])
            return Entity(
                "Enterprise", node_id, self._node_props("Enterprise", rows[0]["props"]), records
            )
        rows = self._read(cy.GET_PERSON, {"id": node_id})
        if rows:
            return Entity("Person", node_id, self._node_props("Person", rows[0]["props"]))
        return None

    def _node_props(self, label: str, props: dict[str, Any]) -> dict[str, Any]:
        # Neo4j does not store nulls: every column of the label, absent ones as None.
        return {f.name: _native(props.get(f.name)) for f in node_columns(self.domain, label)}

    def _record_props(self, props: dict[str, Any]) -> dict[str, Any]:
        # A record carries only its own kind's fields.
        names = ("id", "kind", *(f.name for f in self.domain.record(props["kind"]).fields))
        return {name: _native(props.get(name)) for name in names}

    def _edge(self, rel_type: str, source: str, target: str, props: dict[str, Any]) -> Edge:
        columns = relation_columns(self.domain, rel_type)
        return Edge(rel_type, source, target, {f.name: _native(props.get(f.name)) for f in columns})

    def _neighbours(self, query: str, params: dict[str, Any], node_id: str) -> list[Neighbour]:
        return [
            Neighbour(
                NodeRef(r["label"], r["id"], r["name"]),
                self._edge(r["type"], r["source"], r["target"], r["props"]),
            )
            for r in self._read(query, params)
        ]

    def _paths(self, query: str, params: dict[str, Any]) -> list[Path]:
        return [
            Path(
                tuple(NodeRef(n["label"], n["id"], n["name"]) for n in row["nodes"]),
                tuple(
                    self._edge(e["type"], e["source"], e["target"], e["props"]) for e in row["rels"]
                ),
            )
            for row in self._read(query, params)
        ]

    # -- snapshot export ----------------------------------------------------------------
    def _pages(
        self,
        build: Callable[[bool], str],
        key: str,
        fields: tuple[tuple[str, pa.DataType], ...],
        params: dict[str, Any],
        batch_rows: int,
    ) -> Iterator[pa.Table]:
        """Keyset pages: each one read transaction of at most ``batch_rows`` (and
        ``PAGE_ROWS``) rows.

        Memory stays at one page whatever the size of the graph. The first page is always
        yielded, so that an empty export still has its columns.
        """
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be ≥ 1, got {batch_rows}")
        batch_rows = min(batch_rows, PAGE_ROWS)
        schema = pa.schema(fields)
        after: str | None = None
        while True:
            page_params = {**params, "limit": batch_rows}
            if after is not None:
                page_params["after"] = after
            rows = self._read(build(after is not None), page_params)
            if rows or after is None:
                yield pa.Table.from_pylist(
                    [{name: _native(r[name]) for name, _ in fields} for r in rows], schema
                )
            if len(rows) < batch_rows:
                return
            after = rows[-1][key]

    def export_nodes(self, label: str, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        columns = node_columns(self.domain, label)
        params = {"as_of": as_of} if label == "Enterprise" else {}
        return self._pages(
            lambda after: cy.export_nodes(self.domain, label, after),
            columns[0].name,
            _arrow_fields(columns),
            params,
            batch_rows,
        )

    def export_relations(
        self, rel_type: str, as_of: date, batch_rows: int, *, ended: bool = False
    ) -> Iterator[pa.Table]:
        head = tuple((name, pa.string()) for name in RELATION_HEAD[:-1])
        return self._pages(
            lambda after: cy.export_relations(self.domain, rel_type, after),
            "key",
            head + _arrow_fields(relation_columns(self.domain, rel_type)),
            {"as_of": as_of, "ended": ended},
            batch_rows,
        )

    def export_records(self, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        return self._pages(
            lambda after: cy.export_records(self.domain, after),
            "id",
            _arrow_fields(node_columns(self.domain, "Record")),
            {"as_of": as_of},
            batch_rows,
        )


def _listed(items: list[str]) -> str:
    """The first few items, comma-separated, with an ellipsis when there are more."""
    shown = ", ".join(items[:_SHOWN_MISSING])
    return shown + (", …" if len(items) > _SHOWN_MISSING else "")


def _arrow_fields(columns: tuple[FieldSpec, ...]) -> tuple[tuple[str, pa.DataType], ...]:
    return tuple((f.name, f.arrow_type) for f in columns)


def _native(value: Any) -> Any:
    """A value read from Neo4j as the embedded backend returns it (dates as ``date``)."""
    return value.to_native() if isinstance(value, Date) else value
