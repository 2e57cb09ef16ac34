"""Screening for banks (and regulators): one enterprise or a batch of up to 100."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from access.audit import note_subjects
from api.auth import Caller, Screener, document_roles
from api.errors import Invalid, NotFound
from api.language import AnswerLanguage
from api.routers.circles import summary_out
from api.routers.enterprises import record_out
from api.schemas.common import NodeOut, PathOut
from api.schemas.enterprises import GradeOut
from api.schemas.screening import (
    ApplicantIn,
    BatchScreeningIn,
    BatchScreeningOut,
    CandidateOut,
    FindingOut,
    MatchIn,
    MatchItemOut,
    MatchOut,
    RelatedExposureOut,
    ScreeningItemOut,
    ScreeningOut,
    SharedContactOut,
)
from api.services import Services, ServicesDep
from graph_model.identifiers import mask_id_numbers_in
from graph_model.store.protocol import NodeRef
from risk.matching import CONFIDENT, Candidate, NameMatcher
from risk.screening import (
    RELATED_HOPS,
    Applicant,
    Resolved,
    match_applicant,
    resolve,
    screen,
    shown_value,
)
from risk.snapshot_index import SnapshotIndex
from risk.wording import Language

router = APIRouter(prefix="/v1/screening", tags=["screening"])


def _screen(
    services: Services, caller: Caller, resolved: Resolved, lang: Language = "en"
) -> ScreeningItemOut:
    """One query's answer; an unknown id is ``not_found``, never an error of the batch."""
    if resolved.status != "ok" or resolved.enterprise_id is None:
        # An ID number sent by mistake is not echoed: the caller matches items by order.
        return ScreeningItemOut(
            query=mask_id_numbers_in(resolved.query),
            status=resolved.status,
            message=resolved.message and mask_id_numbers_in(resolved.message),
            candidates=[NodeOut.of(c, caller) for c in resolved.candidates],
        )
    entity = services.require_store().get_entity(resolved.enterprise_id)
    if entity is None or entity.label != "Enterprise":
        return ScreeningItemOut(
            query=mask_id_numbers_in(resolved.query),
            status="not_found",
            message=mask_id_numbers_in(f"no enterprise {resolved.enterprise_id}"),
        )
    index = services.require_index()  # 503 with the reason: never a level without the graph
    found = screen(entity.id, entity.records, index)
    row = index.enterprise(entity.id)
    related = None
    if found.graph_screened and row is not None:
        related = RelatedExposureOut(
            hops=RELATED_HOPS,
            bad=found.related_bad,
            black_listed=found.related_black_listed,
            examples=[PathOut.from_steps(index, row, r.path, caller) for r in found.related],
        )
    grade = None
    if caller.sees_grades and services.grades is not None:
        stored = services.grades.get(entity.id)
        grade = GradeOut.of(stored, lang) if stored is not None else None
    result = ScreeningOut(
        enterprise=NodeOut.of(
            NodeRef("Enterprise", entity.id, entity.properties.get("name")), caller
        ),
        level=found.level,
        findings=[
            FindingOut(code=f.code, level=f.level, text=f.text, subjects=list(f.subjects))
            for f in found.findings
        ],
        active_records=[record_out(s) for s in found.records],
        related=related,
        shared_contacts=[
            SharedContactOut(
                contact=c.contact,
                value=shown_value(c),
                firms=c.firms,
                bad=c.bad,
                black_listed=c.black_listed,
                weak=c.weak,
                examples=[NodeOut.at(index, n, caller) for n in c.examples],
            )
            for c in found.shared
        ],
        circle=summary_out(found.circle) if found.circle is not None else None,
        snapshot_as_of=found.snapshot_as_of,
        notes=list(found.notes),
        grade=grade,
    )
    return ScreeningItemOut(query=resolved.query, status="ok", result=result)


@router.get("", summary="Screen one enterprise by USCC or registered name")
def screen_one(
    services: ServicesDep,
    caller: Screener,
    request: Request,
    lang: AnswerLanguage,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="USCC, external id or exact registered name",
            examples=["91350100M000100Y43"],
        ),
    ],
) -> ScreeningOut:
    """A screening level (low / elevated / high) from public facts — records in force,
    related parties with bad records within 2 hops, addresses and phones shared with firms
    with bad records, guarantee circle — with the reasons, all as of the served snapshot's
    date (``snapshot_as_of``). Not the regulator's grade, which regulators get alongside."""
    resolved = resolve(services.require_store(), q, _matcher(services))
    if resolved.enterprise_id is not None:
        note_subjects(request, [resolved.enterprise_id])
    item = _screen(services, caller, resolved, lang)
    if item.status == "invalid":
        raise Invalid(item.message or "invalid query")
    if item.status == "ambiguous":
        names = ", ".join(c.id for c in item.candidates)
        raise Invalid(f"{item.message} ({names})")
    if item.result is None:
        # Never a bare 404 where near matches exist: name them, to screen by USCC.
        near = "; ".join(f"{c.id} {c.name or ''}".strip() for c in item.candidates)
        message = item.message or f"nothing found for {q!r}"
        raise NotFound(f"{message}: {near}" if near else message)
    return item.result


@router.post("/batch", summary="Screen up to 100 enterprises in one request")
def screen_batch(
    services: ServicesDep,
    caller: Screener,
    body: BatchScreeningIn,
    request: Request,
    lang: AnswerLanguage,
) -> BatchScreeningOut:
    """One item per query, in order. A malformed code, an unknown id or an ambiguous name is
    an item with its status and message; the batch itself never fails for them."""
    store, matcher = services.require_store(), _matcher(services)
    items = [_screen(services, caller, resolve(store, q, matcher), lang) for q in body.queries]
    note_subjects(request, [i.result.enterprise.id for i in items if i.result is not None])
    return BatchScreeningOut(items=items)


def _matcher(services: Services) -> NameMatcher | None:
    """The served snapshot's names for near matches; None without a snapshot."""
    return services.index.matcher if services.index is not None else None


def _candidate_out(index: SnapshotIndex, found: Candidate, caller: Caller) -> CandidateOut:
    row = index.enterprise(found.id)
    enterprise = (
        NodeOut.at(index, row, caller)
        if row is not None
        else NodeOut.of(NodeRef("Enterprise", found.id, found.name), caller)
    )
    return CandidateOut(enterprise=enterprise, score=found.score, reasons=list(found.reasons))


def _match_item(
    services: Services, caller: Caller, applicant: ApplicantIn, limit: int, lang: Language
) -> MatchItemOut:
    index = services.require_index()
    found = match_applicant(
        index,
        Applicant(
            applicant.name, applicant.uscc, applicant.legal_representative, applicant.address
        ),
        limit,
    )
    screening = None
    if found.matched is not None:
        resolved = Resolved(applicant.name, "ok", enterprise_id=found.matched.id)
        screening = _screen(services, caller, resolved, lang).result
    return MatchItemOut(
        name=mask_id_numbers_in(applicant.name),
        matched=_candidate_out(index, found.matched, caller) if found.matched else None,
        candidates=[_candidate_out(index, c, caller) for c in found.candidates],
        screening=screening,
    )


@router.post("/match", summary="Match up to 100 applicants by name, USCC, representative")
def match(
    services: ServicesDep, caller: Screener, body: MatchIn, request: Request, lang: AnswerLanguage
) -> MatchOut:
    """Each applicant answered with scored candidates, best first, each with its reasons
    (legal form, width, 繁简, pinyin, typos; a given legal representative or address
    confirming or speaking against it); a confident match is screened too. How the
    threshold was chosen, with the matcher's precision and recall: docs/matching.md."""
    items = [_match_item(services, caller, a, body.limit, lang) for a in body.applicants]
    note_subjects(request, [i.matched.enterprise.id for i in items if i.matched is not None])
    return MatchOut(threshold=CONFIDENT, items=items)


@router.get("/match", summary="Candidates for one name, scored, with reasons")
def match_one(
    services: ServicesDep,
    caller: Screener,
    request: Request,
    lang: AnswerLanguage,
    name: Annotated[str, Query(min_length=1, max_length=200, examples=["宁波帆祥电子商务"])],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> MatchItemOut:
    """The candidates for a name as ``POST /match`` answers one applicant."""
    item = _match_item(services, caller, ApplicantIn(name=name), limit, lang)
    if item.matched is not None:
        note_subjects(request, [item.matched.enterprise.id])
    return item


document_roles(router)
