"""Graph exploration: neighbours, related parties with paths, ownership, beneficial owners,
the paths between two enterprises, the ownership tree with the actual controller."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.auth import Explorer, document_roles
from api.errors import Invalid, NotFound
from api.language import AnswerLanguage
from api.routers.enterprises import enterprise_or_404
from api.schemas.common import (
    COUNTED,
    AsOf,
    EdgeOut,
    EnterpriseIdPath,
    EnterpriseIdQuery,
    Limit,
    NodeOut,
    Offset,
    Paged,
    PathOut,
)
from api.schemas.graph import (
    BeneficialOwnersOut,
    NeighbourOut,
    NeighboursOut,
    OwnershipOut,
    OwnershipTreeOut,
    PathBetweenOut,
    RelatedPartiesOut,
    StakeOut,
)
from api.services import ServicesDep
from risk.ownership_tree import DEFAULT_CHILDREN as TREE_CHILDREN
from risk.ownership_tree import DEFAULT_DEPTH as TREE_DEPTH
from risk.ownership_tree import MAX_CHILDREN as TREE_MAX_CHILDREN
from risk.ownership_tree import MAX_DEPTH as TREE_MAX_DEPTH
from risk.paths import DEFAULT_KINDS, DEFAULT_PATHS, MAX_PATH_HOPS, MAX_PATHS

router = APIRouter(prefix="/v1", tags=["graph"])

RELATED_COUNTED = 1_000
"""Related parties counted for ``total``; beyond, ``total_exact`` is false."""

RelationType = Literal["LEGAL_REP", "OFFICER", "HOLDS_SHARES", "GUARANTEES"]
PathKind = Literal["legal_rep", "officer", "shareholding", "guarantee", "branch", "suspected"]


@router.get("/enterprises/{enterprise_id}/neighbours", summary="Adjacent nodes, paged")
def neighbours(
    services: ServicesDep,
    caller: Explorer,
    enterprise_id: EnterpriseIdPath,
    rel_type: Annotated[
        list[RelationType] | None, Query(description="Only these relations")
    ] = None,
    direction: Annotated[Literal["out", "in", "both"], Query()] = "both",
    limit: Limit = 50,
    offset: Offset = 0,
) -> NeighboursOut:
    """People, owners, holdings and guarantees next to the enterprise, by relation type then
    neighbour id: page through high-degree nodes with ``offset``."""
    # Every reachable neighbour is read, to count them: one query, bounded by COUNTED.
    found = services.require_store().neighbours(
        enterprise_id, tuple(rel_type) if rel_type else None, direction, COUNTED, 0
    )
    if not found.items:
        enterprise_or_404(services, enterprise_id)
    return NeighboursOut(
        enterprise_id=enterprise_id,
        items=[
            NeighbourOut(node=NodeOut.of(n.node, caller), edge=EdgeOut.of(n.edge))
            for n in found.items[offset : offset + limit]
        ],
        **Paged.of(len(found.items), offset, limit, exact=found.next_offset is None),
    )


@router.get(
    "/enterprises/{enterprise_id}/related-parties",
    summary="Related parties within k hops, with paths",
)
def related_parties(
    services: ServicesDep,
    caller: Explorer,
    enterprise_id: EnterpriseIdPath,
    hops: Annotated[int, Query(ge=1, le=4, description="1–4; a shared person is 2 hops")] = 2,
    as_of: AsOf = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RelatedPartiesOut:
    """Enterprises tied through legal representatives, officers, shareholdings and
    guarantees valid on ``as_of``, one shortest path each, nearest first; paged."""
    day = as_of or services.served_day()
    # Counted up to RELATED_COUNTED (or the page asked for): paths of 3–4 hops around a hub
    # multiply, and each counted party costs a walk.
    cap = max(RELATED_COUNTED, offset + limit)
    paths = services.require_store().related_parties(enterprise_id, hops, day, cap + 1)
    if not paths:
        # Only an empty answer needs the extra query that tells "unknown" from "alone".
        enterprise_or_404(services, enterprise_id)
    return RelatedPartiesOut(
        enterprise_id=enterprise_id,
        hops=hops,
        as_of=day,
        items=[PathOut.of(p, caller) for p in paths[offset : offset + limit]],
        **Paged.of(min(len(paths), cap), offset, limit, exact=len(paths) <= cap),
    )


@router.get(
    "/enterprises/{enterprise_id}/ownership", summary="Shareholding chains and integrated ownership"
)
def ownership(
    services: ServicesDep,
    caller: Explorer,
    enterprise_id: EnterpriseIdPath,
    direction: Annotated[
        Literal["up", "down"], Query(description="up: owners; down: holdings")
    ] = "up",
    depth: Annotated[int, Query(ge=1, le=8, description="Chain length, 1–8")] = 4,
    as_of: AsOf = None,
    limit: Limit = 100,
) -> OwnershipOut:
    """Chains from the store (valid on ``as_of``) and, from the served snapshot, the
    integrated stake of every holder in the enterprise (``up``) or of the enterprise in
    every firm it holds (``down``): the sum over all paths of the product of the stakes,
    cross-holdings included."""
    day = as_of or services.served_day()
    chains = services.require_store().ownership(enterprise_id, direction, depth, day, limit)
    if not chains:
        enterprise_or_404(services, enterprise_id)
    index = services.index
    stakes: list[StakeOut] = []
    row = index.enterprise(enterprise_id) if index is not None else None
    if index is not None and row is not None:
        found = index.holders(row) if direction == "up" else index.holdings(row)
        stakes = [
            StakeOut(
                node=NodeOut.at(index, s.holder if direction == "up" else s.enterprise, caller),
                direct=s.direct,
                integrated=s.integrated,
            )
            for s in found[:limit]
        ]
    return OwnershipOut(
        enterprise_id=enterprise_id,
        direction=direction,
        depth=depth,
        as_of=day,
        chains=[PathOut.of(p, caller) for p in chains],
        stakes_as_of=index.as_of if index is not None else None,
        stakes=stakes,
    )


@router.get("/enterprises/{enterprise_id}/beneficial-owners", summary="Beneficial owners (≥ 25 %)")
def beneficial_owners(
    services: ServicesDep, caller: Explorer, enterprise_id: EnterpriseIdPath
) -> BeneficialOwnersOut:
    """Persons with at least 25 % of the equity, directly and indirectly, on the served
    snapshot's date; failing any, the legal representative as senior manager."""
    index = services.require_index()
    row = index.enterprise(enterprise_id)
    if row is None:
        raise NotFound(f"no enterprise {enterprise_id} in the snapshot of {index.as_of}")
    owners = index.beneficial_owners(row)
    if owners:
        out = [
            StakeOut(
                node=NodeOut.at(index, s.holder, caller), direct=s.direct, integrated=s.integrated
            )
            for s in owners
        ]
        basis: Literal["equity", "senior_manager", "none"] = "equity"
    else:
        reps = index.legal_representatives(row)
        out = [
            StakeOut(node=NodeOut.at(index, p, caller), direct=None, integrated=0.0) for p in reps
        ]
        basis = "senior_manager" if reps else "none"
    return BeneficialOwnersOut(
        enterprise_id=enterprise_id, as_of=index.as_of, basis=basis, owners=out
    )


@router.get("/paths", summary="Paths between two enterprises, shortest first")
def paths_between(
    services: ServicesDep,
    caller: Explorer,
    source: EnterpriseIdQuery,
    target: EnterpriseIdQuery,
    max_hops: Annotated[int, Query(ge=1, le=MAX_PATH_HOPS, description=f"1–{MAX_PATH_HOPS}")] = 4,
    kinds: Annotated[
        list[PathKind] | None,
        Query(
            description="Relation kinds a path may take (repeat the parameter); default: "
            f"{', '.join(DEFAULT_KINDS)}. suspected: firms sharing an address, phone or e-mail",
            examples=[["shareholding", "guarantee"]],
        ),
    ] = None,
    k: Annotated[int, Query(ge=1, le=MAX_PATHS, description=f"Paths, 1–{MAX_PATHS}")] = (
        DEFAULT_PATHS
    ),
    as_of: AsOf = None,
) -> PathBetweenOut:
    """Up to ``k`` distinct chains of people, holdings, guarantees, branches or shared
    contacts between two enterprises on the served snapshot, the shortest first, then ones
    a step longer; each step with its relation, role, stake or amount and dates. Agents
    with more than 50 firms are not walked through; a contact shared by more than 10 firms
    is marked weak. Another ``as_of`` than the served snapshot's date is refused with the
    dates saved (`creditgraph paths --as-of` searches those)."""
    index = services.require_index()
    if as_of is not None and as_of != index.as_of:
        saved = ", ".join(d.isoformat() for d in services.home.snapshot_dates())
        raise Invalid(
            f"paths are searched on the served snapshot of {index.as_of}, not {as_of}; "
            f"snapshots saved: {saved or 'none'} (search them with `creditgraph paths "
            "--as-of`)"
        )
    a, b = index.enterprise(source), index.enterprise(target)
    for given, row in ((source, a), (target, b)):
        if row is None:
            raise NotFound(f"no enterprise {given} in the snapshot of {index.as_of}")
    assert a is not None and b is not None
    chosen: list[str] = list(dict.fromkeys(kinds)) if kinds else list(DEFAULT_KINDS)
    found = [
        PathOut.from_path(index, p, caller) for p in index.paths.paths(a, b, max_hops, chosen, k)
    ]
    return PathBetweenOut(
        source=source,
        target=target,
        max_hops=max_hops,
        kinds=chosen,
        k=k,
        as_of=index.as_of,
        path=found[0] if found else None,
        paths=found,
    )


@router.get(
    "/enterprises/{enterprise_id}/ownership-tree",
    summary="Ownership seen through: tree, actual controller, beneficial owners",
)
def ownership_tree(
    services: ServicesDep,
    caller: Explorer,
    lang: AnswerLanguage,
    enterprise_id: EnterpriseIdPath,
    direction: Annotated[
        Literal["up", "down"], Query(description="up: holders; down: holdings")
    ] = "up",
    depth: Annotated[
        int, Query(ge=1, le=TREE_MAX_DEPTH, description=f"Layers, 1–{TREE_MAX_DEPTH}")
    ] = TREE_DEPTH,
    children: Annotated[
        int,
        Query(
            ge=1,
            le=TREE_MAX_CHILDREN,
            description=f"Children shown per node, largest first, 1–{TREE_MAX_CHILDREN}; the "
            "rest are counted and summed",
        ),
    ] = TREE_CHILDREN,
) -> OwnershipTreeOut:
    """The tree of holders (``up``) or holdings (``down``) of the served snapshot, each node
    with its direct and integrated stake, cross-holdings stopped where they come back; the
    actual controller (实际控制人) with the chain of stakes that makes them so, or why there
    is none; the persons with at least 25 % (受益所有人)."""
    index = services.require_index()
    row = index.enterprise(enterprise_id)
    if row is None:
        raise NotFound(f"no enterprise {enterprise_id} in the snapshot of {index.as_of}")
    return OwnershipTreeOut.of(index, row, direction, depth, children, caller, lang)


document_roles(router)
