"""Guarantee circles (担保圈), precomputed from the served snapshot when the app starts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Caller, Explorer, document_roles
from api.errors import NotFound
from api.schemas.circles import (
    CircleEdgeOut,
    CircleMemberOut,
    CircleOut,
    CirclesOut,
    CircleSummaryOut,
    EnterpriseCircleOut,
)
from api.schemas.common import EnterpriseIdPath, Limit, NodeOut, Offset, Paged
from api.services import ServicesDep
from risk.snapshot_index import CircleDetail, CircleSummary, SnapshotIndex, finite

router = APIRouter(prefix="/v1", tags=["guarantee circles"])


def summary_out(summary: CircleSummary) -> CircleSummaryOut:
    return CircleSummaryOut(
        circle_id=summary.circle_id,
        size=summary.size,
        guarantees=summary.guarantees,
        total_amount=summary.amount,
        unconverted=summary.unconverted,
        bad_share=round(summary.bad_share, 4),
        defaulted=summary.defaulted,
    )


def circle_out(index: SnapshotIndex, detail: CircleDetail, caller: Caller) -> CircleOut:
    ids = index.ids
    return CircleOut(
        **summary_out(detail.summary).model_dump(),
        as_of=index.as_of,
        members=[
            CircleMemberOut(enterprise=NodeOut.at(index, int(m), caller), bad=bool(index.bad[m]))
            for m in detail.members
        ],
        edges=[
            CircleEdgeOut(
                guarantor=str(ids[s]),
                guaranteed=str(ids[d]),
                amount=float(given),
                currency=str(currency),
                amount_cny=finite(float(cny)),
                defaulted=bool(f),
            )
            for s, d, given, currency, cny, f in zip(
                detail.src,
                detail.dst,
                detail.original,
                detail.currency,
                detail.amount,
                detail.defaulted,
                strict=True,
            )
        ],
    )


@router.get("/guarantee-circles", summary="Guarantee circles, largest amount first")
def list_circles(
    services: ServicesDep,
    caller: Explorer,
    min_size: Annotated[int, Query(ge=2, le=100_000, description="Only circles this large")] = 2,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CirclesOut:
    """Every guarantee circle of the served snapshot: size, guarantees, total CNY amount (and
    amounts without a rate to CNY, per currency), share of members with bad records,
    defaulted guarantees."""
    index = services.require_index()
    chosen = [c for c in index.circles if c.size >= min_size]
    page = chosen[offset : offset + limit]
    return CirclesOut(
        as_of=index.as_of,
        items=[summary_out(c) for c in page],
        **Paged.of(len(chosen), offset, limit),
    )


@router.get("/guarantee-circles/{circle_id}", summary="One circle: members and guarantees")
def get_circle(services: ServicesDep, caller: Explorer, circle_id: EnterpriseIdPath) -> CircleOut:
    """A circle by its id (its smallest member id)."""
    index = services.require_index()
    detail = index.circle(circle_id)
    if detail is None:
        raise NotFound(f"no guarantee circle {circle_id} in the snapshot of {index.as_of}")
    return circle_out(index, detail, caller)


@router.get("/enterprises/{enterprise_id}/guarantee-circle", summary="The circle of an enterprise")
def circle_of(
    services: ServicesDep, caller: Explorer, enterprise_id: EnterpriseIdPath
) -> EnterpriseCircleOut:
    """The guarantee circle the enterprise belongs to; ``circle`` is null when none."""
    index = services.require_index()
    row = index.enterprise(enterprise_id)
    if row is None:
        raise NotFound(f"no enterprise {enterprise_id} in the snapshot of {index.as_of}")
    detail = index.circle_of(row)
    return EnterpriseCircleOut(
        enterprise_id=enterprise_id,
        circle=circle_out(index, detail, caller) if detail is not None else None,
    )


document_roles(router)
