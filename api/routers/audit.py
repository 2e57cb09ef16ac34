"""The audit log, for regulators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from access.audit import AuditFilter
from api.auth import Regulator, document_roles
from api.schemas.audit import AuditEntryOut, AuditOut
from api.schemas.common import Limit, OptionalEnterpriseIdQuery, Paged, TableOffset
from api.services import ServicesDep

router = APIRouter(prefix="/v1", tags=["audit"])

_OUTCOMES = {"ok": (100, 399), "refused": (400, 499), "failed": (500, 599)}


@router.get("/audit", summary="Who asked what, when, with what outcome")
def audit(
    services: ServicesDep,
    caller: Regulator,
    client: Annotated[str | None, Query(max_length=100, description="Key holder's name")] = None,
    role: Annotated[Literal["regulator", "bank", "analyst"] | None, Query()] = None,
    subject: OptionalEnterpriseIdQuery = None,
    route: Annotated[
        str | None, Query(max_length=200, description="Route template", examples=["/v1/screening"])
    ] = None,
    outcome: Annotated[
        Literal["ok", "refused", "failed"] | None,
        Query(description="ok: 1xx–3xx; refused: 4xx; failed: 5xx"),
    ] = None,
    since: Annotated[datetime | None, Query(description="From this instant (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Before this instant")] = None,
    before_id: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**62,
            description="Rows older than this one; give the before_id of the first page with "
            "each next offset (default: every row logged so far)",
        ),
    ] = None,
    limit: Limit = 100,
    offset: TableOffset = 0,
) -> AuditOut:
    """Rows of the append-only audit log, newest first, paged. Each request is logged too:
    pass the first page's ``before_id`` on with ``next_offset`` to page through a fixed list."""
    low, high = _OUTCOMES[outcome] if outcome is not None else (None, None)
    found = services.audit.read(
        AuditFilter(
            client=client,
            role=role,
            subject=subject,
            route=route,
            status_min=low,
            status_max=high,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
            offset=offset,
        )
    )
    rows = found.rows
    return AuditOut(
        items=[
            AuditEntryOut(
                id=r.id,
                at=r.at,
                client=r.client,
                role=r.role,
                method=r.method,
                route=r.route,
                path=r.path,
                status=r.status,
                duration_ms=r.duration_ms,
                subjects=list(r.subjects),
            )
            for r in rows
        ],
        before_id=found.before_id,
        **Paged.of(found.total, offset, limit),
    )


document_roles(router)
