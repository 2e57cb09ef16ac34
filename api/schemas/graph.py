"""Models of the graph's answers: neighbours, related parties, ownership and beneficial
owners, a path between two nodes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from api.schemas.common import EdgeOut, Model, NodeOut, Paged, PathOut


class NeighbourOut(Model):
    node: NodeOut
    edge: EdgeOut


class NeighboursOut(Paged):
    enterprise_id: str
    items: list[NeighbourOut]


class RelatedPartiesOut(Paged):
    """Enterprises tied within ``hops`` through people, holdings and guarantees (关联方)."""

    enterprise_id: str
    hops: int
    as_of: date
    items: list[PathOut] = Field(description="One shortest path per related enterprise")


class StakeOut(Model):
    """A stake: direct (null when none) and integrated over every ownership path."""

    node: NodeOut
    direct: float | None = Field(examples=[0.4])
    integrated: float = Field(examples=[0.52])


class OwnershipOut(Model):
    enterprise_id: str
    direction: Literal["up", "down"]
    depth: int
    as_of: date
    chains: list[PathOut] = Field(description="Shareholding chains from the store (as_of)")
    stakes_as_of: date | None = Field(description="Date of the snapshot the stakes come from")
    stakes: list[StakeOut] = Field(
        description="Integrated ownership: of each holder in it (up), or its own in each firm"
    )


class BeneficialOwnersOut(Model):
    """Beneficial owners (PBoC/SAMR Order 〔2024〕3号): persons with ≥ 25 % of the equity,
    directly and indirectly; failing that, the senior manager (here the legal representative)."""

    enterprise_id: str
    as_of: date
    basis: Literal["equity", "senior_manager", "none"]
    owners: list[StakeOut]


class PathBetweenOut(Model):
    """Paths between two enterprises, shortest first. A step's edge carries what the
    relation says: ``role``, ``share``, ``amount`` and ``currency`` (a shareholding's
    subscribed capital in CNY), ``valid_from`` and ``valid_to``; a suspected step
    (``SHARES_ADDRESS``, ``SHARES_PHONE``, ``SHARES_EMAIL``) its ``contact``, the ``value``
    (phone and e-mail masked), the ``firms`` sharing it and ``weak`` when more than 10 do."""

    source: str
    target: str
    max_hops: int
    kinds: list[str] = Field(description="Relation kinds searched", examples=[["shareholding"]])
    k: int = Field(description="Paths asked for at most", examples=[5])
    as_of: date = Field(description="Date of the snapshot searched")
    path: PathOut | None = Field(description="The first of paths; null when there is none")
    paths: list[PathOut] = Field(description="Distinct paths within max_hops, shortest first")
