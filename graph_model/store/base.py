"""What every store backend shares, so that a backend fills in only what differs.

``StoreBase`` answers the parts of the ``GraphStore`` protocol that read the same on every
backend once it can run a read (``_tuples``) and a one-statement write (``_execute``) in its
own Cypher dialect, and turn its own neighbour and path rows into protocol values: the
store's own entries and the salt claim, counts, search, neighbour pages and the three path
questions. The functions after it are the checks every write batch passes before a backend
writes it, so both refuse the same batches with the same words.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, Literal, Protocol, Self

import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import Domain, FieldSpec, load_domain
from graph_model.store.layout import node_columns, relation_columns, relation_pairs
from graph_model.store.protocol import (
    UNFINISHED_LOAD,
    Direction,
    Entity,
    Neighbour,
    NodeRef,
    Page,
    Path,
    StoreCounts,
    StoreError,
    WriteBatch,
    first_path_per_target,
    path_params,
    salt_refusal,
)

PERSON_SALT = "person_salt"
"""Meta entry holding the fingerprint of the salt the store's person keys were made with."""

RELATION_HEAD = ("_from", "_from_label", "_to", "_to_label", "key")
"""Columns every relation batch carries before its properties (see ``protocol``)."""


class Dialect(Protocol):
    """What ``StoreBase`` asks of a backend's Cypher module (``ladybug_cypher``,
    ``neo4j_cypher``): the statements whose answers read the same on every backend."""

    GET_META: str
    SET_META: str
    COUNT_RECORDS_BY_KIND: str
    SEARCH: str

    def count_nodes(self, domain: Domain, label: str) -> str: ...

    def count_relations(self, domain: Domain, rel_type: str) -> str: ...

    def neighbours(self, domain: Domain, rel_types: tuple[str, ...], direction: str) -> str: ...

    def related_parties(self, domain: Domain, max_hops: int) -> str: ...

    def ownership(self, domain: Domain, direction: str, max_depth: int) -> str: ...

    def guarantee_paths(self, domain: Domain, direction: str, max_hops: int) -> str: ...


class StoreBase(ABC):
    """The glue of a ``GraphStore``; a backend subclasses it and fills in the rest.

    Args:
        dialect: the backend's Cypher module.
        domain: the domain model; ``None`` reads ``domain.yaml``.
        read_only: refuse writes.
        where: the database as messages name it ("the database at …").
    """

    def __init__(
        self, dialect: Dialect, domain: Domain | None, *, read_only: bool, where: str
    ) -> None:
        self._cy = dialect
        self.domain = domain or load_domain()
        self.read_only = read_only
        self.where = where

    # -- what a backend fills in ------------------------------------------------------
    @abstractmethod
    def _tuples(self, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read; each row's values in the order the query returns them."""

    @abstractmethod
    def _execute(self, query: str, params: dict[str, Any]) -> None:
        """Run one write statement in a transaction of its own."""

    @abstractmethod
    def _neighbours(self, query: str, params: dict[str, Any], node_id: str) -> list[Neighbour]:
        """The rows of a ``neighbours`` query as neighbours of ``node_id``."""

    @abstractmethod
    def _paths(self, query: str, params: dict[str, Any]) -> list[Path]:
        """The rows of a path query (nodes and relations in walking order) as paths."""

    @abstractmethod
    def _write(self, batch: WriteBatch) -> None:
        """Upsert a batch in one transaction (the store is writable)."""

    @abstractmethod
    def ensure_schema(self) -> None: ...

    @abstractmethod
    def existing_keys(self, label: str, keys: pa.Array) -> pa.Array: ...

    @abstractmethod
    def node_values(self, label: str, keys: pa.Array, column: str) -> pa.Array: ...

    @abstractmethod
    def get_entity(self, node_id: str) -> Entity | None: ...

    @abstractmethod
    def export_nodes(self, label: str, as_of: date, batch_rows: int) -> Iterator[pa.Table]: ...

    @abstractmethod
    def export_relations(
        self, rel_type: str, as_of: date, batch_rows: int
    ) -> Iterator[pa.Table]: ...

    @abstractmethod
    def export_records(self, as_of: date, batch_rows: int) -> Iterator[pa.Table]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writer side --------------------------------------------------------------------
    def meta(self, name: str) -> str | None:
        rows = self._tuples(self._cy.GET_META, {"name": name})
        return str(rows[0][0]) if rows else None

    def set_meta(self, name: str, value: str) -> None:
        self._execute(self._cy.SET_META, {"name": name, "value": value})

    def claim_salt(self, fingerprint: str) -> None:
        found = self.meta(PERSON_SALT)
        if found is not None and found != fingerprint:
            raise salt_refusal(self.where, found, fingerprint)
        if found is None:
            self.set_meta(PERSON_SALT, fingerprint)

    def write(self, batch: WriteBatch) -> None:
        """Upsert nodes, then relations, then records, in one transaction."""
        if self.read_only:
            raise StoreError("the store is open read-only")
        self._write(batch)

    @contextmanager
    def loading(self, mark: str) -> Iterator[None]:
        """Batch by batch under the unfinished-load mark, emptied once the block ends well."""
        self.set_meta(UNFINISHED_LOAD, mark)
        yield
        self.set_meta(UNFINISHED_LOAD, "")

    def stored_field(self, label: str, column: str) -> FieldSpec:
        """The stored property ``column`` of ``label`` nodes (not the key)."""
        spec = next((f for f in node_columns(self.domain, label)[1:] if f.name == column), None)
        if spec is None:
            raise ValueError(f"{column!r} is not a stored property of {label}")
        return spec

    # -- reader side --------------------------------------------------------------------
    def counts(self) -> StoreCounts:
        d, cy = self.domain, self._cy
        nodes = {n.label: int(self._tuples(cy.count_nodes(d, n.label))[0][0]) for n in d.nodes}
        rels = {r.type: int(self._tuples(cy.count_relations(d, r.type))[0][0]) for r in d.relations}
        found = {kind: int(n) for kind, n in self._tuples(cy.COUNT_RECORDS_BY_KIND)}
        records = {r.kind: found.get(r.kind, 0) for r in d.records}
        return StoreCounts(nodes=nodes, relations=rels, records=records)

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
        params = {"id": node_id, "offset": offset, "limit": limit + 1}
        found = self._neighbour_rows(types, direction, params, node_id)
        return Page(tuple(found[:limit]), offset + limit if len(found) > limit else None)

    def _neighbour_rows(
        self,
        types: tuple[str, ...],
        direction: Direction,
        params: dict[str, Any],
        node_id: str,
    ) -> list[Neighbour]:
        """One page (and one more row) of the neighbours asked; a backend may find the
        node its own way."""
        query = self._cy.neighbours(self.domain, types, direction)
        return self._neighbours(query, params, node_id)

    def related_parties(
        self, enterprise_id: str, max_hops: int = 2, as_of: date | None = None, limit: int = 100
    ) -> list[Path]:
        query = self._cy.related_parties(self.domain, max_hops)
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
        query = self._cy.ownership(self.domain, direction, max_depth)
        return self._paths(query, {**path_params(enterprise_id, as_of), "limit": limit})

    def guarantee_paths(
        self,
        enterprise_id: str,
        direction: Literal["out", "in"] = "out",
        max_hops: int = 4,
        as_of: date | None = None,
        limit: int = 200,
    ) -> list[Path]:
        query = self._cy.guarantee_paths(self.domain, direction, max_hops)
        return self._paths(query, {**path_params(enterprise_id, as_of), "limit": limit})

    def search(self, text: str, limit: int = 20) -> list[NodeRef]:
        rows = self._tuples(self._cy.SEARCH, {"text": text, "limit": limit})
        return [NodeRef("Enterprise", node_id, name) for node_id, name in rows]


# -- the checks of a write batch ------------------------------------------------------------


def arrow_schema(columns: tuple[FieldSpec, ...]) -> pa.Schema:
    """The Arrow schema of stored columns, in the domain's types."""
    return pa.schema([(f.name, f.arrow_type) for f in columns])


def require_unique_keys(keys: pa.ChunkedArray | pa.Array, what: str) -> None:
    """Refuse null or repeated keys: either would make an upsert ambiguous or not idempotent."""
    if keys.null_count:
        raise StoreError(f"{what}: {keys.null_count} row(s) without a key")
    if pc.count_distinct(keys).as_py() < len(keys):
        raise StoreError(f"{what}: the batch repeats a key")


def conform(table: pa.Table, columns: tuple[FieldSpec, ...]) -> pa.Table:
    """The stored columns that ``table`` has, key first, in the domain's order and types."""
    schema = arrow_schema(columns)
    names = [name for name in schema.names if name in table.column_names]
    if not names or names[0] != columns[0].name:
        raise StoreError(f"the batch lacks the key column {columns[0].name!r}")
    return table.select(names).cast(pa.schema([schema.field(n) for n in names]))


def node_rows(domain: Domain, label: str, table: pa.Table) -> pa.Table:
    """A batch's ``label`` rows in stored form, its keys checked."""
    rows = conform(table, node_columns(domain, label))
    require_unique_keys(rows.column(0), label)
    return rows


def relation_rows(
    domain: Domain, rel_type: str, table: pa.Table
) -> tuple[pa.Table, list[tuple[tuple[str, str], pa.Table]]]:
    """A batch's ``rel_type`` rows in stored form (``_from``, ``_to``, then the stored
    columns it carries, key first), whole and split by the label pair they connect.

    Refuses a batch lacking a head column, repeating a key, or with rows between labels the
    relation type does not connect (those would otherwise be dropped without a word).
    """
    missing = [c for c in RELATION_HEAD if c not in table.column_names]
    if missing:
        raise StoreError(f"{rel_type}: the batch lacks the column(s) {', '.join(missing)}")
    require_unique_keys(table["key"], rel_type)
    pairs = relation_pairs(domain, rel_type)
    masks = [
        pc.fill_null(
            pc.and_(pc.equal(table["_from_label"], a), pc.equal(table["_to_label"], b)), False
        )
        for a, b in pairs
    ]
    unmatched = table.num_rows - sum(pc.sum(m).as_py() or 0 for m in masks)
    if unmatched:
        raise StoreError(
            f"{rel_type}: {unmatched} row(s) connect labels it does not allow (allowed: {pairs})"
        )
    endpoints = table.select(["_from", "_to"]).cast(
        pa.schema([("_from", pa.string()), ("_to", pa.string())])
    )
    present = conform(table, relation_columns(domain, rel_type))
    rows = pa.Table.from_arrays(
        [*endpoints.columns, *present.columns],
        names=[*endpoints.column_names, *present.column_names],
    )
    parts = [
        (pair, rows.filter(mask))
        for pair, mask in zip(pairs, masks, strict=True)
        if pc.any(mask).as_py()
    ]
    return rows, parts


def column_defaults(
    columns: tuple[FieldSpec, ...], carried: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The domain's defaults of the columns a batch does not carry, for the rows it creates
    (a default never overwrites a stored value)."""
    return {
        f.name: pa.scalar(f.default).cast(f.arrow_type).as_py()
        for f in columns
        if f.default is not None and f.name not in carried
    }
