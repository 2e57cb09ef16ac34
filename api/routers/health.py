"""Liveness and readiness: the only routes without an API key."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth import document_roles
from api.schemas.health import HealthOut, ReadyOut
from api.services import ServicesDep
from graph_model.store.protocol import StoreError
from risk.model.artefact import current_version

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> HealthOut:
    """Always ``ok`` while the server runs; no key needed."""
    return HealthOut(status="ok")


@router.get(
    "/health/ready",
    summary="Readiness: store reachable, snapshot and grades served, model version",
    responses={503: {"model": ReadyOut, "description": "Not ready: see problems"}},
)
def ready(services: ServicesDep, response: Response) -> ReadyOut:
    """Ready when the store answers a query and a snapshot is served; grades are reported
    (a server without stored grades still serves graph routes). No key needed."""
    problems = []
    store_state = "ok"
    if services.store is None:
        store_state = f"not open: {services.store_problem}"
    else:
        try:
            services.store.get_entity("")
        except StoreError as exc:
            store_state = f"not reachable: {exc}"
    if store_state != "ok":
        problems.append(f"store {store_state}")
    if services.index is None:
        problems.append(f"no snapshot served: {services.snapshot_problem}")
    grades = services.grades
    if grades is None:
        problems.append("no stored grades: run `creditgraph score` (graph routes still work)")
    mismatch = services.mismatch()
    if mismatch is not None:
        problems.append(mismatch)
    if services.index is None or store_state != "ok":
        response.status_code = 503
    return ReadyOut(
        ready=response.status_code != 503,
        store=store_state,
        snapshot_as_of=services.index.as_of if services.index is not None else None,
        grades_as_of=grades.as_of if grades is not None else None,
        model_version=grades.model_version if grades is not None else None,
        current_model=current_version(services.settings.models_dir),
        dates_match=None if services.index is None or grades is None else mismatch is None,
        problems=problems,
    )


document_roles(router)
