"""Enterprises: search, profile (records with validity; grade for regulators), grades."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Explorer, Regulator, document_roles
from api.errors import NotFound
from api.language import AnswerLanguage
from api.schemas.common import (
    COUNTED,
    EARLIEST,
    LATEST,
    EnterpriseIdPath,
    Limit,
    NodeOut,
    Offset,
    Paged,
)
from api.schemas.enterprises import EnterpriseOut, GradeOut, RecordOut, SearchOut
from api.services import Services, ServicesDep
from graph_model.industries import industry_name
from graph_model.regions import region_name
from graph_model.store.protocol import Entity
from risk.model.artefact import MODEL_VERSION_PATTERN
from risk.screening import RecordStatus, record_statuses

router = APIRouter(prefix="/v1/enterprises", tags=["enterprises"])

_RECORD_HEAD = ("id", "kind", "start", "end", "enterprise_id")


def record_out(status: RecordStatus) -> RecordOut:
    """A record as the API shows it."""
    rec = status.record
    return RecordOut(
        id=rec["id"],
        kind=rec["kind"],
        start=rec.get("start"),
        end=rec.get("end"),
        in_force=status.in_force,
        disputed=status.disputed,
        fields={k: v for k, v in rec.items() if k not in _RECORD_HEAD},
    )


def enterprise_or_404(services: Services, enterprise_id: str) -> Entity:
    """The enterprise from the store, or 404."""
    entity = services.require_store().get_entity(enterprise_id)
    if entity is None or entity.label != "Enterprise":
        raise NotFound(f"no enterprise {enterprise_id}")
    return entity


@router.get("", summary="Search by USCC or name prefix")
def search(
    services: ServicesDep,
    caller: Explorer,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            description="A USCC / external id (exact) or the start of a registered name",
            examples=["宁波"],
        ),
    ],
    limit: Limit = 20,
    offset: Offset = 0,
) -> SearchOut:
    """Enterprises whose id equals ``q`` or whose name starts with it: the id first, then by
    name; paged."""
    found = services.require_store().search(q.strip() or q, COUNTED + 1)
    return SearchOut(
        items=[NodeOut.of(ref, caller) for ref in found[offset : offset + limit]],
        **Paged.of(min(len(found), COUNTED), offset, limit, exact=len(found) <= COUNTED),
    )


@router.get("/{enterprise_id}", summary="Profile: register data, records, grade")
def profile(
    services: ServicesDep, caller: Explorer, enterprise_id: EnterpriseIdPath, lang: AnswerLanguage
) -> EnterpriseOut:
    """Register data and every record with its validity as of today (repaired and annulled
    records left out). Regulators also get the latest stored grade with its reasons."""
    entity = enterprise_or_404(services, enterprise_id)
    props = dict(entity.properties)
    grade = None
    if caller.sees_grades and services.grades is not None:
        found = services.grades.get(enterprise_id)
        grade = GradeOut.of(found, lang) if found is not None else None
    region, industry = props.get("region_code"), props.get("industry")
    return EnterpriseOut(
        id=enterprise_id,
        name=props.pop("name", None),
        properties={k: v for k, v in props.items() if k != "id"},
        region_name=region_name(region, lang) if region else None,
        industry_name=industry_name(industry, lang),
        records=[record_out(s) for s in record_statuses(entity.records, date.today())],
        grade=grade,
    )


@router.get("/{enterprise_id}/grade", summary="Grade, score and reasons on a date")
def grade(
    services: ServicesDep,
    caller: Regulator,
    enterprise_id: EnterpriseIdPath,
    lang: AnswerLanguage,
    as_of: Annotated[
        date | None,
        Query(ge=EARLIEST, le=LATEST, description="Scored date; default the latest served"),
    ] = None,
    model_version: Annotated[
        str | None,
        Query(pattern=MODEL_VERSION_PATTERN, description="Default: current"),
    ] = None,
) -> GradeOut:
    """What was stored that day: "why was X graded D on 2025-03-31?" (regulators only)."""
    if as_of is None and model_version is None and services.grades is not None:
        found = services.grades.get(enterprise_id)
    else:
        day = as_of or (services.grades.as_of if services.grades is not None else None)
        if day is None:
            raise NotFound("no stored grades: run `creditgraph score` first")
        found = services.home.read_grade(
            enterprise_id,
            day,
            model_version,
            preferred=services.grades.model_version if services.grades is not None else None,
        )
    if found is None:
        raise NotFound(f"no stored grade of {enterprise_id} on that date")
    return GradeOut.of(found, lang)


@router.get("/{enterprise_id}/grades", summary="Every stored grade, oldest first")
def grades(
    services: ServicesDep, caller: Regulator, enterprise_id: EnterpriseIdPath, lang: AnswerLanguage
) -> list[GradeOut]:
    """The enterprise's grade on every scored date and model version (regulators only)."""
    history = services.home.grade_history(enterprise_id)
    return [GradeOut.of(r, lang) for r in history]


document_roles(router)
