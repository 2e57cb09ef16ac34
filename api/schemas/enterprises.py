"""Models of an enterprise's profile (records, stored grade with reasons) and of search."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from api.schemas.common import USCC_EXAMPLE, Model, NodeOut, Paged
from risk.model.reasons import Reason
from risk.model.scores import GradeRecord
from risk.snapshot_index import finite
from risk.wording import Language, evidence_text, reason_sentence


class RecordOut(Model):
    """A record on an enterprise (list entry, penalty, commitment, inspection…)."""

    id: str = Field(examples=["black_list:浙甬市监严〔2024〕12号"])
    kind: str = Field(examples=["black_list"])
    start: date | None
    end: date | None = Field(description="Effective end: the given end cut by the publicity window")
    in_force: bool = Field(description="In force today")
    disputed: bool = Field(description="An objection (异议) is pending; the record still counts")
    fields: dict[str, Any] = Field(description="The kind's own fields (reason, authority, amount…)")


class EvidenceOut(Model):
    text: str = Field(description="The evidence in words, in the Accept-Language language")
    nodes: list[str]


class ReasonOut(Model):
    """A feature that raised the score, with the catalog's sentence and graph evidence."""

    feature: str = Field(examples=["legal_rep_bad_firms"])
    value: float | None
    contribution: float = Field(description="Log-odds contribution (TreeSHAP)")
    sentence: str = Field(
        description="The catalog's sentence for the value, in the Accept-Language language",
        examples=["Its legal representative leads 3 other firm(s) with bad records"],
    )
    evidence: list[EvidenceOut]

    @classmethod
    def of(cls, reason: Reason, lang: Language = "en") -> ReasonOut:
        return cls(
            feature=reason.feature,
            value=finite(reason.value),
            contribution=reason.contribution,
            sentence=reason_sentence(reason.feature, reason.value, lang, reason.sentence),
            evidence=[
                EvidenceOut(text=evidence_text(e.steps, lang, e.text), nodes=list(e.nodes))
                for e in reason.evidence
            ],
        )


class GradeOut(Model):
    """A stored grade (regulators only): class, score, rank and reasons of one date."""

    as_of: date = Field(examples=["2025-12-31"])
    model_version: str
    grade: str = Field(examples=["C"])
    score: float = Field(description="Calibrated probability of a bad outcome in the horizon")
    rank: int = Field(description="1 = highest score of the date")
    population: int
    reasons: list[ReasonOut] | None = Field(
        description="Top reasons with evidence; null when the date did not explain this firm"
    )

    @classmethod
    def of(cls, record: GradeRecord, lang: Language = "en") -> GradeOut:
        return cls(
            as_of=record.as_of,
            model_version=record.model_version,
            grade=record.grade,
            score=record.score,
            rank=record.rank,
            population=record.population,
            reasons=[ReasonOut.of(r, lang) for r in record.reasons]
            if record.reasons is not None
            else None,
        )


class EnterpriseOut(Model):
    """An enterprise's profile: register data, records with validity, grade for regulators."""

    id: str = Field(examples=[USCC_EXAMPLE])
    name: str | None = Field(examples=["宁波甬信贸易有限公司"])
    properties: dict[str, Any] = Field(
        examples=[{"region_code": "330203", "industry": "F", "status": "active"}]
    )
    region_name: str | None = Field(
        default=None,
        description="Name of `region_code` in the answer's language; null when none is stored",
        examples=["宁波市海曙区"],
    )
    industry_name: str | None = Field(
        default=None,
        description="Name of the `industry` section (GB/T 4754-2017) in the answer's language",
        examples=["批发和零售业"],
    )
    records: list[RecordOut]
    grade: GradeOut | None = Field(
        default=None,
        description="Latest stored grade: regulators only; null for other roles or when ungraded",
    )


class SearchOut(Paged):
    items: list[NodeOut]
