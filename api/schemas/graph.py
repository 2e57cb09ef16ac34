"""Models of the graph's answers: neighbours, related parties, ownership and beneficial
owners, a path between two nodes, the ownership tree with the actual controller."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from api.auth import Caller
from api.schemas.common import EdgeOut, Model, NodeOut, Paged, PathOut
from risk.ownership_tree import (
    Controller,
    Direction,
    TreeNode,
    actual_controller,
    ownership_tree,
)
from risk.snapshot_index import SnapshotIndex
from risk.wording import Language


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


class TreeNodeOut(Model):
    """A node of an ownership tree (股权穿透) and the children shown, largest stake first."""

    node: NodeOut
    stake: float | None = Field(
        description="Direct stake on the edge to the parent (up: of this node in the parent; "
        "down: of the parent in this node); null at the root",
        examples=[0.6],
    )
    integrated: float | None = Field(
        description="Integrated stake between this node and the root over every path; null "
        "at the root or when none",
        examples=[0.54],
    )
    stop: Literal["cycle", "depth", "limit"] | None = Field(
        description="Why a node with more below it was not expanded: met again on its own "
        "branch (cross-holding), last layer, or the tree's node limit"
    )
    more: int = Field(description='Children not shown ("and N more")', examples=[0])
    more_stake: float = Field(description="Their summed direct stake", examples=[0.0])
    children: list[TreeNodeOut]

    @classmethod
    def of(cls, index: SnapshotIndex, tree: TreeNode, caller: Caller) -> TreeNodeOut:
        return cls(
            node=NodeOut.at(index, tree.node, caller),
            stake=tree.stake,
            integrated=tree.integrated,
            stop=tree.stop,
            more=tree.more,
            more_stake=tree.more_stake,
            children=[cls.of(index, c, caller) for c in tree.children],
        )


class ControlStepOut(Model):
    """One link of a control chain: ``holder`` holds ``stake`` of ``enterprise`` directly."""

    holder: NodeOut
    enterprise: NodeOut
    stake: float = Field(examples=[0.6])


class ControllerOut(Model):
    """The actual controller (实际控制人, 公司法 第265条) by the documented equity rule:
    over 50 % integrated, or at least 25 % and 10 points ahead of the next ultimate holder."""

    basis: Literal["majority", "largest", "dispersed", "no_lead", "no_holders"]
    node: NodeOut | None = Field(description="The controller; null when nobody qualifies")
    integrated: float = Field(
        description="Integrated stake of the largest ultimate holder", examples=[0.54]
    )
    runner_up: float = Field(description="Integrated stake of the next ultimate holder")
    reason: str = Field(
        description="Why, in the language of Accept-Language",
        examples=["holds 54.0% through all paths, over half"],
    )
    chain: list[ControlStepOut] = Field(description="From the controller down to the firm")

    @classmethod
    def of(
        cls, index: SnapshotIndex, found: Controller, caller: Caller, lang: Language
    ) -> ControllerOut:
        return cls(
            basis=found.basis,
            node=None if found.node is None else NodeOut.at(index, found.node, caller),
            integrated=found.share,
            runner_up=found.runner_up,
            reason=found.reason(lang),
            chain=[
                ControlStepOut(
                    holder=NodeOut.at(index, s.holder, caller),
                    enterprise=NodeOut.at(index, s.enterprise, caller),
                    stake=s.stake,
                )
                for s in found.chain
            ],
        )


class OwnershipTreeOut(Model):
    """The ownership tree up (holders) or down (holdings), the actual controller with its
    chain and the beneficial owners (≥ 25 %), on the served snapshot's date."""

    enterprise_id: str
    direction: Literal["up", "down"]
    depth: int
    children: int = Field(description="Children shown per node at most")
    as_of: date = Field(description="Date of the snapshot the tree comes from")
    nodes: int = Field(description="Nodes in the tree")
    tree: TreeNodeOut
    controller: ControllerOut
    beneficial_owners: list[StakeOut]

    @classmethod
    def of(
        cls,
        index: SnapshotIndex,
        row: int,
        direction: Direction,
        depth: int,
        children: int,
        caller: Caller,
        lang: Language,
    ) -> OwnershipTreeOut:
        """The answer for enterprise ``row``, persons' names as ``caller`` may see them, the
        controller's reason in ``lang``."""
        tree = ownership_tree(index, row, direction, depth, children)
        return cls(
            enterprise_id=str(index.ids[row]),
            direction=direction,
            depth=depth,
            children=children,
            as_of=index.as_of,
            nodes=tree.nodes,
            tree=TreeNodeOut.of(index, tree.root, caller),
            controller=ControllerOut.of(index, actual_controller(index, row), caller, lang),
            beneficial_owners=[
                StakeOut(
                    node=NodeOut.at(index, s.holder, caller),
                    direct=s.direct,
                    integrated=s.integrated,
                )
                for s in index.beneficial_owners(row)
            ],
        )
