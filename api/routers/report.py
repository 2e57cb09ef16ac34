"""The one-enterprise report (HTML, printable to PDF) of the served snapshot: every role,
each seeing what its routes show (risk/report.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from api.auth import Anyone, document_roles
from api.errors import NotFound
from api.language import AnswerLanguage
from api.schemas.common import EnterpriseIdPath
from api.services import ServicesDep
from risk.report import Source, render, report_context

router = APIRouter(prefix="/v1/enterprises", tags=["enterprises"])


@router.get(
    "/{enterprise_id}/report",
    summary="A report to file: identity, risk, records, owners, related parties",
    # A plain Response class, so that the error answers stay documented as JSON.
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "The report as HTML"}},
)
def report(
    services: ServicesDep, caller: Anyone, enterprise_id: EnterpriseIdPath, lang: AnswerLanguage
) -> HTMLResponse:
    """The enterprise on the served snapshot's date as a self-contained HTML page (A4 when
    printed; no script, no external file). Grade, score and reasons for regulators; the
    screening level for regulators and banks; holders, beneficial owners and the
    related-party picture for regulators and analysts; persons' names as the role sees them
    elsewhere."""
    index = services.require_index()
    snapshot = services.snapshot
    assert snapshot is not None  # served with the index
    grades = services.grades
    graded = grades.get(enterprise_id) if grades is not None and caller.sees_grades else None
    context = report_context(
        index,
        snapshot,
        enterprise_id,
        caller,
        grade=graded,
        source=Source.of(services.settings.neo4j_uri, grades),
        lang=lang,
    )
    if context is None:
        raise NotFound(f"no enterprise {enterprise_id} in the snapshot of {index.as_of}")
    return HTMLResponse(render(context))


document_roles(router)
