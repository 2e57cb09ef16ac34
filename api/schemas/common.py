"""What the API's models share, and the checks made at the edge.

The base model (unknown fields refused), the page envelope, the error body, nodes, relations
and paths, and the parameters the routers share.

Enterprise ids are checked here, before anything reaches a query: a USCC must have the
right check character (GB 32100-2015), other ids must follow a documented external scheme.
Page sizes, offsets and dates are bounded here; depths by the routers that take one.

Person names pass through :meth:`api.auth.Caller.person_name` wherever a node is built, so a
bank or analyst never sees a whole name.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.auth import Caller
from graph_model.identifiers import USCC_ALPHABET, enterprise_id_valid_array, uscc_check_char
from graph_model.store.protocol import Edge, NodeRef
from graph_model.store.protocol import Path as StorePath
from risk.paths import TiePath
from risk.snapshot_index import SnapshotIndex
from risk.supervision.walk import Step

USCC_EXAMPLE = "91350100M000100Y43"
MAX_LIMIT = 200
MAX_OFFSET = 10_000
"""Deepest page of a list computed from the graph (each page walks everything before it)."""
MAX_TABLE_OFFSET = 10_000_000
"""Deepest page of a stored list (warnings): an index makes any page cheap, and every row
must stay reachable."""
EARLIEST = date(1949, 10, 1)
LATEST = date(2999, 12, 31)


def check_enterprise_id(value: str) -> str:
    """A USCC with a valid check character (upper-cased) or a documented external id."""
    upper = value.upper()
    if len(upper) == 18 and enterprise_id_valid_array([upper])[0]:
        return upper
    if enterprise_id_valid_array([value])[0]:
        return value
    if len(upper) == 18 and all(c in USCC_ALPHABET for c in upper):
        raise ValueError(
            f"{value!r} is not a valid USCC: its check character (position 18) should be "
            f"{uscc_check_char(upper[:17])!r}"
        )
    raise ValueError(
        f"{value[:40]!r} is not an enterprise id: give a USCC (18 characters of "
        f"{USCC_ALPHABET}, GB 32100-2015) or an external id REG:…, FOREIGN:…, SRC:…"
    )


EnterpriseIdPath = Annotated[
    str,
    Path(
        description="USCC (统一社会信用代码) or external id (REG:…, FOREIGN:…, SRC:…)",
        examples=[USCC_EXAMPLE],
        min_length=1,
        max_length=100,
    ),
    AfterValidator(check_enterprise_id),
]
EnterpriseIdQuery = Annotated[
    str,
    Query(description="USCC or external id", examples=[USCC_EXAMPLE], min_length=1, max_length=100),
    AfterValidator(check_enterprise_id),
]


def _check_optional_id(value: str | None) -> str | None:
    return None if value is None else check_enterprise_id(value)


OptionalEnterpriseIdQuery = Annotated[
    str | None,
    Query(description="USCC or external id", examples=[USCC_EXAMPLE], max_length=100),
    AfterValidator(_check_optional_id),
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1–{MAX_LIMIT}", examples=[50])
]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"Items to skip, 0–{MAX_OFFSET}", examples=[0])
]
TableOffset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_TABLE_OFFSET,
        description=f"Items to skip, 0–{MAX_TABLE_OFFSET:,}",
        examples=[0],
    ),
]
COUNTED = MAX_OFFSET + MAX_LIMIT
"""Items of a list walked from the graph that are counted: every reachable page, no more."""


AsOf = Annotated[
    date | None,
    Query(
        ge=EARLIEST,
        le=LATEST,
        description="Relations valid on this day (yyyy-mm-dd); default: the date of the "
        "served snapshot (today without one)",
        examples=["2025-12-31"],
    ),
]


class Model(BaseModel):
    """Base of every API model: unknown fields are refused in requests."""

    model_config = ConfigDict(extra="forbid")


class Paged(Model):
    """The envelope of every list answer: the page's ``items`` (in each model), how many the
    whole list holds and where the next page starts. Page with ``offset`` and ``limit``."""

    total: int = Field(
        description="Items of the whole list, the same on every page (see total_exact)",
        examples=[2644],
    )
    total_exact: bool = Field(
        description="false when counting stopped at the deepest reachable page of a list "
        f"walked from the graph ({COUNTED:,} items): there are at least `total`",
        examples=[True],
    )
    next_offset: int | None = Field(
        description="Offset of the next page; null on the last", examples=[50]
    )

    @staticmethod
    def of(total: int, offset: int, limit: int, exact: bool = True) -> dict[str, Any]:
        """The envelope's fields for a page at ``offset`` of ``limit`` items of ``total``
        (not ``exact``: at least ``total``, so there is a next page while one is reachable)."""
        end = offset + limit
        more = total > end or (not exact and end <= MAX_OFFSET)
        return {"total": total, "total_exact": exact, "next_offset": end if more else None}


# -- errors ------------------------------------------------------------------------------


class FieldError(Model):
    location: str = Field(description="Where: path, query or body, then the field")
    message: str


class ErrorOut(Model):
    """Every error answer."""

    code: str = Field(examples=["not_found"], description="Stable error code")
    message: str = Field(examples=["no enterprise 91350100M000100Y43"])
    errors: list[FieldError] = Field(default=[], description="Per-field problems (422)")


# -- graph values ------------------------------------------------------------------------


class NodeOut(Model):
    """A node: enterprise (by its id) or person (by its salted key; name masked for banks
    and analysts)."""

    label: Literal["Enterprise", "Person"] = Field(examples=["Enterprise"])
    id: str = Field(examples=[USCC_EXAMPLE])
    name: str | None = Field(examples=["宁波甬信贸易有限公司"])

    @classmethod
    def of(cls, ref: NodeRef, caller: Caller) -> NodeOut:
        name = caller.person_name(ref.name) if ref.label == "Person" else ref.name
        return cls(label="Person" if ref.label == "Person" else "Enterprise", id=ref.id, name=name)

    @classmethod
    def at(cls, index: SnapshotIndex, node: int, caller: Caller) -> NodeOut:
        label = "Person" if index.is_person(node) else "Enterprise"
        return cls.of(NodeRef(label, str(index.ids[node]), index.names[node]), caller)


class EdgeOut(Model):
    """A relation as stored: source → target, with its properties (dates, amounts, stakes)."""

    type: str = Field(examples=["HOLDS_SHARES"])
    source: str
    target: str
    properties: dict[str, Any] = Field(default={}, examples=[{"share": 0.6}])

    @classmethod
    def of(cls, edge: Edge) -> EdgeOut:
        return cls(
            type=edge.type, source=edge.source, target=edge.target, properties=edge.properties
        )


class PathOut(Model):
    """A path: n+1 nodes and the n relations between them, in walking order."""

    length: int
    nodes: list[NodeOut]
    edges: list[EdgeOut]

    @classmethod
    def of(cls, path: StorePath, caller: Caller) -> PathOut:
        return cls(
            length=path.length,
            nodes=[NodeOut.of(n, caller) for n in path.nodes],
            edges=[EdgeOut.of(e) for e in path.edges],
        )

    @classmethod
    def from_steps(
        cls, index: SnapshotIndex, start: int, steps: tuple[Step, ...], caller: Caller
    ) -> PathOut:
        """A path of snapshot steps (relations as stored) walked from node ``start``."""
        nodes = [NodeOut.at(index, start, caller)]
        current = nodes[0].id
        for step in steps:
            current = step.target if step.source == current else step.source
            found = index.node(current)
            nodes.append(
                NodeOut.at(index, found, caller)
                if found is not None
                else NodeOut(label="Enterprise", id=current, name=None)
            )
        edges = [EdgeOut(type=s.type, source=s.source, target=s.target) for s in steps]
        return cls(length=len(steps), nodes=nodes, edges=edges)

    @classmethod
    def from_path(cls, index: SnapshotIndex, path: TiePath, caller: Caller) -> PathOut:
        """A path of the path graph (risk/paths.py), each edge with what its step says."""
        ids = index.ids
        return cls(
            length=path.length,
            nodes=[NodeOut.at(index, n, caller) for n in path.nodes],
            edges=[
                EdgeOut(
                    type=s.relation,
                    source=str(ids[s.source]),
                    target=str(ids[s.target]),
                    properties=s.properties,
                )
                for s in path.steps
            ],
        )
