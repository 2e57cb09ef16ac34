"""Models of an enterprise's change history (risk/history.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from api.schemas.common import Model, NodeOut, Paged


class ChangeOut(Model):
    """One dated event: a relation began or ended, a record started or ended."""

    day: date | None = Field(
        description="Day of the event; null when the store does not know it (date unknown)",
        examples=["2021-09-17"],
    )
    kind: str = Field(
        description="shareholder_in/out, holding_in/out, legal_rep_in/out, officer_in/out, "
        "guarantee_given_opened/closed, guarantee_received_opened/closed, "
        "branch_opened/closed, head_office_in/out, record_start/end",
        examples=["legal_rep_in"],
    )
    counterpart: NodeOut | None = Field(description="The other party; null for records")
    details: dict[str, Any] = Field(
        default={},
        description="The relation's properties (stake, role, amount and currency, valid_to) "
        "or the record's fields (kind, record_no, authority…)",
        examples=[{"share": 0.2515, "valid_to": "2019-10-29"}],
    )


class HistoryOut(Paged):
    """An enterprise's changes, newest first; events of unknown date last."""

    enterprise_id: str
    since: date | None
    until: date
    items: list[ChangeOut]
