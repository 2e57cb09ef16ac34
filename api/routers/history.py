"""An enterprise's change history: shareholders, legal representatives, officers,
guarantees, branches and records as dated events (risk/history.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Explorer, document_roles
from api.errors import Invalid
from api.routers.enterprises import enterprise_or_404
from api.schemas.common import EARLIEST, LATEST, EnterpriseIdPath, Limit, NodeOut, Offset, Paged
from api.schemas.history import ChangeOut, HistoryOut
from api.services import ServicesDep
from risk.history import enterprise_history

router = APIRouter(prefix="/v1", tags=["graph"])

Day = Annotated[date | None, Query(ge=EARLIEST, le=LATEST, examples=["2024-01-01"])]


@router.get("/enterprises/{enterprise_id}/history", summary="Change history, newest first")
def history(
    services: ServicesDep,
    caller: Explorer,
    enterprise_id: EnterpriseIdPath,
    since: Annotated[
        Day, Query(description="Only events on or after this day (yyyy-mm-dd)")
    ] = None,
    until: Annotated[Day, Query(description="Only events up to this day; default today")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> HistoryOut:
    """Shareholders in and out (with stakes), legal representatives and officers who came
    and left, guarantees given and received opened and closed (amount, currency), branches,
    and records started and ended: newest first, events of unknown date last (left out with
    ``since``). Person names are masked as everywhere for banks and analysts."""
    last = until or date.today()
    if since is not None and since > last:
        raise Invalid(f"since ({since}) is after until ({last})")
    enterprise_or_404(services, enterprise_id)
    changes = enterprise_history(services.require_store(), enterprise_id, since, last)
    return HistoryOut(
        enterprise_id=enterprise_id,
        since=since,
        until=last,
        items=[
            ChangeOut(
                day=c.day,
                kind=c.kind,
                counterpart=NodeOut.of(c.counterpart, caller) if c.counterpart else None,
                details=c.details,
            )
            for c in changes[offset : offset + limit]
        ],
        **Paged.of(len(changes), offset, limit),
    )


document_roles(router)
