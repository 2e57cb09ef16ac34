"""The ``GraphStore`` protocol: what every backend offers, and the values it returns.

A store has a writer side (schema, bulk upserts in one transaction per batch)
and a reader side (entities, neighbours, related parties with paths, ownership,
guarantee paths, search, and column exports for snapshots). The same contract
tests (tests/contract/) run against every backend.

Write batches use the *store form* of the data contract: node tables keyed by
their store key (persons by the hashed key), relation tables with the columns
``_from``, ``_from_label``, ``_to``, ``_to_label``, ``key`` and the relation's
property fields, and one records table (``id`` = ``kind:record_no``, ``kind``,
``enterprise_id`` and the union of record fields). Loaders produce that form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol, Self

import pyarrow as pa

from graph_model.errors import CreditGraphError

Direction = Literal["out", "in", "both"]


class StoreError(CreditGraphError):
    """Base class of store failures, with a message meant for the user."""

    http_status = 503
    code = "store_unavailable"


class SaltMismatchError(StoreError):
    """The store's person keys were made with another salt than the one given."""


class SchemaMismatchError(StoreError):
    """The database on disk was created with another version of the domain."""

    code = "store_schema_mismatch"


class UnfinishedLoadError(StoreError):
    """A load stopped half way (killed, crashed): the store holds part of its rows."""


UNFINISHED_LOAD = "unfinished_load"
"""Meta entry a load sets (to its folder and start) before writing and empties once done."""


@dataclass(frozen=True)
class NodeRef:
    """A node in a result: its label, key and display name."""

    label: str
    id: str
    name: str | None = None


@dataclass(frozen=True)
class Edge:
    """A relation in a result, oriented as stored (source → target)."""

    type: str
    source: str
    target: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Path:
    """A path: n+1 nodes and the n relations between them, in walking order."""

    nodes: tuple[NodeRef, ...]
    edges: tuple[Edge, ...]

    @property
    def end(self) -> NodeRef:
        return self.nodes[-1]

    @property
    def length(self) -> int:
        return len(self.edges)


@dataclass(frozen=True)
class Neighbour:
    """A node adjacent to the queried one, with the relation that ties them."""

    node: NodeRef
    edge: Edge


@dataclass(frozen=True)
class Page:
    """One page of neighbours; ``next_offset`` is None on the last page."""

    items: tuple[Neighbour, ...]
    next_offset: int | None


@dataclass(frozen=True)
class Entity:
    """A node with its properties; enterprises also carry their records."""

    label: str
    id: str
    properties: dict[str, Any]
    records: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class StoreCounts:
    """How many nodes, relations and records the store holds."""

    nodes: dict[str, int]
    relations: dict[str, int]
    records: dict[str, int]


@dataclass
class WriteBatch:
    """Rows to upsert in one transaction, in store form (see the module docstring)."""

    nodes: dict[str, pa.Table] = field(default_factory=dict)
    relations: dict[str, pa.Table] = field(default_factory=dict)
    records: pa.Table | None = None

    @property
    def row_count(self) -> int:
        tables = [*self.nodes.values(), *self.relations.values()]
        if self.records is not None:
            tables.append(self.records)
        return sum(t.num_rows for t in tables)


class GraphStore(Protocol):
    """The store protocol shared by the embedded and the Neo4j backends."""

    # -- writer side ------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create node and relation tables (or constraints) if missing."""

    def claim_salt(self, fingerprint: str) -> None:
        """Record the fingerprint of the person-key salt on the first load; raise
        ``SaltMismatchError`` when the store was built with another one."""

    def meta(self, name: str) -> str | None:
        """The store's own entry ``name`` (schema fingerprint, salt fingerprint, load mark)."""

    def set_meta(self, name: str, value: str) -> None:
        """Set the store's own entry ``name``, in a transaction of its own."""

    def existing_keys(self, label: str, keys: pa.Array) -> pa.Array:
        """A boolean per key: does a node of ``label`` with that key exist?"""

    def node_values(self, label: str, keys: pa.Array, column: str) -> pa.Array:
        """The stored value of property ``column`` of each ``label`` node keyed by ``keys``
        (null where the node or the value is missing), in the column's domain type."""

    def write(self, batch: WriteBatch) -> None:
        """Upsert a batch in one transaction: all of it lands, or none of it."""

    def loading(self, mark: str) -> AbstractContextManager[None]:
        """The writes of one load, made inside this block.

        Neo4j writes batch by batch under :data:`UNFINISHED_LOAD` set to ``mark``, which a
        load stopped half way leaves behind (readers are then refused). The embedded store
        writes into a copy of its database and swaps it in whole when the block ends: a load
        that fails or is killed leaves the store as it was.
        """

    def close(self) -> None:
        """Release the database."""

    def __enter__(self) -> Self:
        """The store itself, closed when the ``with`` block ends."""

    def __exit__(self, *exc: object) -> None:
        """Close the store."""

    # -- reader side ------------------------------------------------------
    def counts(self) -> StoreCounts:
        """Nodes per label, relations per type, records per kind."""

    def get_entity(self, node_id: str) -> Entity | None:
        """An enterprise (by USCC or external id) or a person (by key), or None."""

    def neighbours(
        self,
        node_id: str,
        rel_types: tuple[str, ...] | None = None,
        direction: Direction = "both",
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Adjacent nodes, ordered by relation type then neighbour key, one page at a time."""

    def related_parties(
        self, enterprise_id: str, max_hops: int = 2, as_of: date | None = None, limit: int = 100
    ) -> list[Path]:
        """Enterprises tied within ``max_hops`` through people, shareholdings and guarantees,
        with the paths; only relations valid on ``as_of`` (default today) are walked.

        One path per enterprise, nearest first, then by id. Of several shortest paths the
        one whose relation keys, joined in walking order, sort first: the same answer from
        every backend and every run."""

    def ownership(
        self,
        enterprise_id: str,
        direction: Literal["up", "down"],
        max_depth: int = 5,
        as_of: date | None = None,
        limit: int = 200,
    ) -> list[Path]:
        """Shareholding chains: ``up`` to the owners, ``down`` to the holdings."""

    def guarantee_paths(
        self,
        enterprise_id: str,
        direction: Literal["out", "in"] = "out",
        max_hops: int = 4,
        as_of: date | None = None,
        limit: int = 200,
    ) -> list[Path]:
        """Guarantee chains starting (``out``: whom it guarantees) or ending at the enterprise."""

    def search(self, text: str, limit: int = 20) -> list[NodeRef]:
        """Enterprises whose id equals ``text`` or whose name starts with it."""

    # -- snapshot export ----------------------------------------------------
    def export_nodes(self, label: str, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        """Node rows that exist on ``as_of``, in pages of at most ``batch_rows``."""

    def export_relations(
        self, rel_type: str, as_of: date, batch_rows: int, *, ended: bool = False
    ) -> Iterator[pa.Table]:
        """Relations valid on ``as_of`` with ``_from``, ``_to`` and properties, paged; with
        ``ended``, also those that had ended by then (their ``valid_to`` says when)."""

    def export_records(self, as_of: date, batch_rows: int) -> Iterator[pa.Table]:
        """Records that started on or before ``as_of``, paged."""


KEY_SEPARATOR = "\x01"
"""Joins relation keys for ordering paths: below every character a key may hold, so joined
keys sort as their lists do."""


def path_params(enterprise_id: str, as_of: date | None) -> dict[str, Any]:
    """The parameters every path query takes besides its limit (``as_of`` default today)."""
    return {"id": enterprise_id, "as_of": as_of or date.today(), "sep": KEY_SEPARATOR}


def first_path_per_target(fetch: Callable[[int], list[Path]], limit: int) -> list[Path]:
    """The first path to each of the first ``limit`` end nodes.

    ``fetch(cap)`` returns at most ``cap`` paths sorted by length, end node id, then joined
    relation keys, so the first path to each end node is its chosen one. Ties (two people
    shared by the same two firms) make more paths than end nodes: the cap grows until
    ``limit`` end nodes are in, or every path is.
    """
    cap = limit
    while True:
        paths = fetch(cap)
        chosen: dict[str, Path] = {}
        for path in paths:
            chosen.setdefault(path.end.id, path)
        if len(chosen) >= limit or len(paths) < cap:
            return list(chosen.values())[:limit]
        cap *= 4


def salt_refusal(location: str, found: str, given: str) -> SaltMismatchError:
    """The refusal of a load whose person-key salt is not the store's."""
    return SaltMismatchError(
        f"{location} was built with another CREDITGRAPH_PERSON_ID_SALT (fingerprint {found}, "
        f"this one {given}): the same people would be stored twice under new keys. Use the "
        "salt the store was built with, or load into a new store"
    )


def refuse_unfinished_load(store: GraphStore, location: str) -> None:
    """Raise :class:`UnfinishedLoadError` when the last load into the store did not finish."""
    mark = store.meta(UNFINISHED_LOAD)
    if mark:
        raise UnfinishedLoadError(
            f"the last load into {location} did not finish ({mark}): the store holds part "
            "of it. Run `creditgraph load` on that folder again to complete it (loads are "
            "idempotent), or restore the store from your backup"
        )
