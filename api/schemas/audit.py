"""Models of the audit log's pages."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Model, Paged


class AuditEntryOut(Model):
    id: int
    at: str = Field(examples=["2026-11-21T23:59:01.123Z"])
    client: str
    role: str | None
    method: str
    route: str | None
    path: str
    status: int
    duration_ms: float
    subjects: list[str]


class AuditOut(Paged):
    items: list[AuditEntryOut]
    before_id: int = Field(
        description="The rows listed are older than this one: pass it back with the next "
        "offset, so that rows logged meanwhile (this request's among them) do not shift pages"
    )
