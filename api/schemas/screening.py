"""Models of screening (for banks): one enterprise's level with its findings, and batches."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from api.schemas.circles import CircleSummaryOut
from api.schemas.common import USCC_EXAMPLE, Model, NodeOut, PathOut
from api.schemas.enterprises import GradeOut, RecordOut
from risk.screening import Level, Status


class FindingOut(Model):
    code: str = Field(examples=["own_black_list"])
    level: Level
    text: str
    subjects: list[str]


class RelatedExposureOut(Model):
    hops: int
    bad: int = Field(description="Related enterprises with bad records")
    black_listed: int
    examples: list[PathOut] = Field(description="The nearest ones, black-listed first")


class SharedContactOut(Model):
    """A suspected relation (疑似关系): a contact the enterprise shares with other firms."""

    contact: str = Field(description="address, phone or email", examples=["phone"])
    value: str = Field(
        description="The shared value; a phone or e-mail masked, as it may be a person's",
        examples=["138*****21"],
    )
    firms: int = Field(description="Firms using it, the enterprise itself included")
    bad: int = Field(description="Of the others, those with bad records")
    black_listed: int
    weak: bool = Field(
        description="Used by more than 10 firms (an agent's or a cluster address): weak "
        "evidence of a tie, noted but not raising the level"
    )
    examples: list[NodeOut] = Field(description="Up to 5 of the others, black-listed first")


class ScreeningOut(Model):
    """A screening level from public facts (not the grade) with its reasons, as of the
    served snapshot's date (records included)."""

    enterprise: NodeOut
    level: Level
    findings: list[FindingOut]
    active_records: list[RecordOut] = Field(description="Records in force on snapshot_as_of")
    related: RelatedExposureOut | None
    shared_contacts: list[SharedContactOut] = Field(
        description="Addresses, phones and e-mails shared with other firms, rare ones first"
    )
    circle: CircleSummaryOut | None
    snapshot_as_of: date | None
    notes: list[str]
    grade: GradeOut | None = Field(default=None, description="Regulators only")


class BatchScreeningIn(Model):
    """Up to 100 queries: USCCs, external ids or enterprise names."""

    queries: list[Annotated[str, Field(max_length=200)]] = Field(
        min_length=1,
        max_length=100,
        examples=[[USCC_EXAMPLE, "宁波甬信贸易有限公司"]],
    )


class ScreeningItemOut(Model):
    query: str
    status: Status
    message: str | None = None
    candidates: list[NodeOut] = Field(default=[])
    result: ScreeningOut | None = None


class BatchScreeningOut(Model):
    items: list[ScreeningItemOut]


class ApplicantIn(Model):
    """An applicant as the bank's file gives it; only the name is required."""

    name: str = Field(min_length=1, max_length=200, examples=["宁波帆祥电子商务有限责任公司"])
    uscc: str | None = Field(default=None, max_length=40, examples=[USCC_EXAMPLE])
    legal_representative: str | None = Field(
        default=None, max_length=100, description="Confirms or vetoes a candidate; never echoed"
    )
    address: str | None = Field(default=None, max_length=300)


class MatchIn(Model):
    """Up to 100 applicants, answered in order."""

    applicants: list[ApplicantIn] = Field(min_length=1, max_length=100)
    limit: int = Field(default=5, ge=1, le=20, description="Candidates per applicant")


class CandidateOut(Model):
    enterprise: NodeOut
    score: float = Field(
        description="0-100: how alike the names are once forms, width and "
        "繁简 are set aside (docs/matching.md)"
    )
    reasons: list[str]


class MatchItemOut(Model):
    name: str = Field(description="The applicant's name, as given (ID-like runs masked)")
    matched: CandidateOut | None = Field(
        description="The enterprise taken to be the applicant: a USCC of a registered firm, "
        "or the best name at the threshold or more, alone at its score and not vetoed"
    )
    candidates: list[CandidateOut]
    screening: ScreeningOut | None = Field(description="The matched enterprise's screening")


class MatchOut(Model):
    threshold: float = Field(description="Score from which a name is taken as a match")
    items: list[MatchItemOut]
