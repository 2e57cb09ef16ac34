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
from typing import Any, Literal
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

from graph_model.domain import Domain, FieldSpec, load_domain
from graph_model.store import neo4j_cypher as cy
from graph_model.store.ladybug_cypher import node_columns, relation_columns, relation_pairs
from graph_model.store.protocol import (
    Direction,
    Edge,
    Entity,
    Neighbour,
    NodeRef,
    Page,
    Path,
    SchemaMismatchError,
    StoreCounts,
    StoreError,
    WriteBatch,
    first_path_per_target,
    path_params,
    salt_refusal,
)

_RELATION_HEAD = ("_from", "_from_label", "_to", "_to_label")
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


class Neo4jStore:
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
        self.domain = domain or load_domain()
        self.database = database
        self.read_only = read_only
        self.write_batch_rows = write_batch_rows
        self.location = f"Neo4j at {redact_uri(uri)}" if uri else "the Neo4j server"
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
                f"the database {self.database!r} of {self.location} was created with another "
                f"domain layout ({found}, expected {expected}); load into an empty database"
            )
        if self.read_only:
            if found is None:
                raise StoreError(
                    f"the database {self.database!r} of {self.location} holds no CreditGraph "
                    "data: run `creditgraph load` first"
                )
            return
        with self._driver_errors():
            for statement in cy.schema_statements(self.domain):
                self._driver.execute_query(statement, database_=self.database)
            if found is None:
                self._driver.execute_query(
                    cy.SET_META, {"name": "schema", "value": expected}, database_=self.database
                )

    def meta(self, name: str) -> str | None:
        rows = self._read(cy.GET_META, {"name": name})
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, name: str, value: str) -> None:
        with self._driver_errors():
            self._driver.execute_query(
                cy.SET_META, {"name": name, "value": value}, database_=self.database
            )

    def claim_salt(self, fingerprint: str) -> None:
        rows = self._read(cy.GET_META, {"name": "person_salt"})
        if rows and rows[0]["value"] != fingerprint:
            where = f"the database {self.database!r} of {self.location}"
            raise salt_refusal(where, rows[0]["value"], fingerprint)
        if not rows:
            with self._driver_errors():
                self._driver.execute_query(
                    cy.SET_META,
                    {"name": "person_salt", "value": fingerprint},
                    database_=self.database,
                )

    def existing_keys(self, label: str, keys: pa.Array) -> pa.Array:
        query = cy.existing_keys(self.domain, label)
        found: list[str] = []
        for start in range(0, len(keys), self.write_batch_rows):
            chunk = keys.slice(start, self.write_batch_rows).to_pylist()
            found.extend(r["k"] for r in self._read(query, {"keys": chunk}))
        return pc.is_in(keys, value_set=pa.array(found, pa.string()))

    def node_values(self, label: str, keys: pa.Array, column: str) -> pa.Array:
        columns = node_columns(self.domain, label)
        spec = next((f for f in columns[1:] if f.name == column), None)
        if spec is None:
            raise ValueError(f"{column!r} is not a stored property of {label}")
        kind = spec.arrow_type
        query = cy.node_values(self.domain, label, column)
        found: dict[str, Any] = {}
        for start in range(0, len(keys), self.write_batch_rows):
            chunk = keys.slice(start, self.write_batch_rows).to_pylist()
            found.update((r["k"], _native(r["v"])) for r in self._read(query, {"keys": chunk}))
        return pa.array([found.get(k) for k in keys.to_pylist()], kind)

    def write(self, batch: WriteBatch) -> None:
        """Upsert nodes, then relations, then records, in one transaction."""
        if self.read_only:
            raise StoreError("the store is open read-only")
        # Checked before the transaction starts: a refused batch costs no round trip.
        nodes = [(label, self._nodes_form(label, t)) for label, t in batch.nodes.items()]
        relations = [
            (rel_type, part)
            for rel_type, table in batch.relations.items()
            for part in self._relations_form(rel_type, table)
        ]
        records = None if batch.records is None else self._nodes_form("Record", batch.records)
        if batch.row_count == 0:
            return
        with self._driver_errors(), self._driver.session(database=self.database) as session:
            session.execute_write(self._write_in, nodes, relations, records)

    def _nodes_form(self, label: str, table: pa.Table) -> pa.Table:
        present = _conform(table, node_columns(self.domain, label))
        _require_unique_keys(present.column(0), label)
        return present

    def _relations_form(
        self, rel_type: str, table: pa.Table
    ) -> list[tuple[tuple[str, str], pa.Table]]:
        """The batch's rows of one relation type, split by the label pair they connect."""
        missing = [c for c in (*_RELATION_HEAD, "key") if c not in table.column_names]
        if missing:
            raise StoreError(f"{rel_type}: the batch lacks the column(s) {', '.join(missing)}")
        _require_unique_keys(table["key"], rel_type)
        pairs = relation_pairs(self.domain, rel_type)
        masks = [
            pc.fill_null(
                pc.and_(pc.equal(table["_from_label"], a), pc.equal(table["_to_label"], b)), False
            )
            for a, b in pairs
        ]
        unmatched = table.num_rows - sum(pc.sum(m).as_py() or 0 for m in masks)
        if unmatched:  # these rows would otherwise be dropped without a word
            raise StoreError(
                f"{rel_type}: {unmatched} row(s) connect labels it does not allow "
                f"(allowed: {pairs})"
            )
        columns = relation_columns(self.domain, rel_type)
        endpoints = table.select(["_from", "_to"]).cast(
            pa.schema([("_from", pa.string()), ("_to", pa.string())])
        )
        present = _conform(table, columns)
        rows = pa.Table.from_arrays(
            [*endpoints.columns, *present.columns],
            names=[*endpoints.column_names, *present.column_names],
        )
        return [
            (pair, rows.filter(mask))
            for pair, mask in zip(pairs, masks, strict=True)
            if pc.any(mask).as_py()
        ]

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
            defaults = _defaults(node_columns(d, label), columns)
            for chunk in self._chunks(table):
                self._run_rows(tx, query, chunk, {"defaults": defaults})
        for rel_type, ((a, b), table) in relations:
            columns = tuple(table.column_names[3:])  # after _from, _to, key
            query = cy.merge_relations(d, rel_type, a, b, columns)
            defaults = _defaults(relation_columns(d, rel_type), columns)
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
            defaults = _defaults(node_columns(d, "Record"), columns)
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

    def __enter__(self) -> Neo4jStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reader side --------------------------------------------------------------------
    def counts(self) -> StoreCounts:
        d = self.domain
        nodes = {n.label: int(self._read(cy.count_nodes(d, n.label))[0]["n"]) for n in d.nodes}
        rels = {r.type: int(self._read(cy.count_relations(d, r.type))[0]["n"]) for r in d.relations}
        found = {r["kind"]: int(r["n"]) for r in self._read(cy.COUNT_RECORDS_BY_KIND)}
        records = {r.kind: found.get(r.kind, 0) for r in d.records}
        return StoreCounts(nodes=nodes, relations=rels, records=records)

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

    def neighbours(
        self,
        node_id: str,
        rel_types: tuple[str, ...] | None = None,
        direction: Direction = "both",
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        if limit < 1 or offset < 0:
            raise ValueError(f"limit must be ≥ 1 and offset ≥ 0, got {limit} and {offset}")
        types = rel_types or tuple(r.type for r in self.domain.relations)
        query = cy.neighbours(self.domain, types, direction)
        rows = self._read(query, {"id": node_id, "offset": offset, "limit": limit + 1})
        items = tuple(
            Neighbour(
                NodeRef(r["label"], r["id"], r["name"]),
                self._edge(r["type"], r["source"], r["target"], r["props"]),
            )
            for r in rows[:limit]
        )
        return Page(items, offset + limit if len(rows) > limit else None)

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

    def related_parties(
        self, enterprise_id: str, max_hops: int = 2, as_of: date | None = None, limit: int = 100
    ) -> list[Path]:
        query = cy.related_parties(self.domain, max_hops)
        params = path_params(enterprise_id, as_of)
        return first_path_per_target(
            lambda cap: self._paths(query, {**params, "limit": cap}), limit
        )

    def ownership(
        self,
        enterprise_id: str,
        direction: Literal["up", "down"],
        max_depth: int = 5,
        as_of: date | None = None,
        limit: int = 200,
    ) -> list[Path]:
        query = cy.ownership(self.domain, direction, max_depth)
        return self._paths(query, {**path_params(enterprise_id, as_of), "limit": limit})

    def guarantee_paths(
        self,
        enterprise_id: str,
        direction: Literal["out", "in"] = "out",
        max_hops: int = 4,
        as_of: date | None = None,
        limit: int = 200,
    ) -> list[Path]:
        query = cy.guarantee_paths(self.domain, direction, max_hops)
        return self._paths(query, {**path_params(enterprise_id, as_of), "limit": limit})

    def search(self, text: str, limit: int = 20) -> list[NodeRef]:
        rows = self._read(cy.SEARCH, {"text": text, "limit": limit})
        return [NodeRef("Enterprise", r["id"], r["name"]) for r in rows]

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

    def export_relations(self, rel_type: str, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        head = tuple((name, pa.string()) for name in _RELATION_HEAD)
        return self._pages(
            lambda after: cy.export_relations(self.domain, rel_type, after),
            "key",
            head + _arrow_fields(relation_columns(self.domain, rel_type)),
            {"as_of": as_of},
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


def _conform(table: pa.Table, columns: tuple[FieldSpec, ...]) -> pa.Table:
    """The stored columns that ``table`` has, key first, in the domain's order and types."""
    fields = [(name, t) for name, t in _arrow_fields(columns) if name in table.column_names]
    if not fields or fields[0][0] != columns[0].name:
        raise StoreError(f"the batch lacks the key column {columns[0].name!r}")
    return table.select([name for name, _ in fields]).cast(pa.schema(fields))


def _require_unique_keys(keys: pa.ChunkedArray | pa.Array, what: str) -> None:
    """Refuse null or repeated keys: either would make an upsert ambiguous or not idempotent."""
    if keys.null_count:
        raise StoreError(f"{what}: {keys.null_count} row(s) without a key")
    if pc.count_distinct(keys).as_py() < len(keys):
        raise StoreError(f"{what}: the batch repeats a key")


def _defaults(columns: tuple[FieldSpec, ...], carried: tuple[str, ...]) -> dict[str, Any]:
    """Domain defaults of the columns a batch does not carry, for the rows it creates."""
    return {
        f.name: pa.scalar(f.default).cast(f.arrow_type).as_py()
        for f in columns
        if f.default is not None and f.name not in carried
    }
