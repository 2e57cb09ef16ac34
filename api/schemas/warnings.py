"""Models of warnings (with their state history) and watchlists."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from api.schemas.common import USCC_EXAMPLE, Model, Paged, check_enterprise_id

WarningState = Literal["new", "seen", "closed"]
WarningType = Literal[
    "grade_worsened",
    "related_bad_record",
    "circle_member_default",
    "person_tied_to_listed",
    "legal_rep_changed",
    "controller_changed",
    "joined_circle",
]


class WarningOut(Model):
    id: int
    type: str
    enterprise_id: str
    subject: str
    event_on: str
    as_of: str
    evidence: str = Field(
        description="The path to the cause in store ids and relation types, as raised",
        examples=["F8 <-[LEGAL_REP]- P2 -[LEGAL_REP]-> F7 -[HAS_RECORD]-> black_list:HM-1"],
    )
    evidence_text: str = Field(
        description="The same path in words, in the Accept-Language language (ids as stored)",
        examples=[
            "F8 ←legal representative– P2 –legal representative→ F7 –record→ black list HM-1"
        ],
    )
    disputed: bool
    state: str


class WarningsOut(Paged):
    items: list[WarningOut]


class StateChangeOut(Model):
    at: str
    actor: str
    from_state: str
    to_state: str
    note: str | None


class WarningDetailOut(Model):
    warning: WarningOut
    history: list[StateChangeOut]


class StateIn(Model):
    state: Literal["seen", "closed"]
    note: str | None = Field(default=None, max_length=1000)


class WatchlistIn(Model):
    name: str = Field(min_length=1, max_length=100, examples=["重点客户"])


class MembersIn(Model):
    enterprise_ids: list[
        Annotated[str, Field(max_length=100), AfterValidator(check_enterprise_id)]
    ] = Field(min_length=1, max_length=1000, examples=[[USCC_EXAMPLE]])


class WatchlistOut(Model):
    name: str
    owner: str
    owner_kind: str
    created_at: str
    members: list[str]


class WatchlistsOut(Paged):
    items: list[WatchlistOut]


class MembersChangedOut(Model):
    watchlist: str
    changed: int
