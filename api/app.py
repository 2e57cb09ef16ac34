"""The FastAPI app factory: ``create_app(settings)``.

The factory opens what the API serves from (:class:`api.services.Services`: the store
read-only, the latest snapshot's index, the stored grades, the audit log), installs the
error table and the audit middleware, and includes the routers (each route's roles are in
its OpenAPI description, see :func:`api.auth.document_roles`). The app's state lives on the
app: two apps made from two settings objects share nothing. The store is closed when the
app shuts down.

Serve with ``creditgraph serve`` (uvicorn). Routes are plain ``def``: the store drivers are
synchronous, so FastAPI runs each request in its worker thread pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from access.audit import AuditMiddleware
from access.settings import AccessSettings
from api import errors
from api.auth import Gate
from api.routers import (
    audit,
    circles,
    enterprises,
    graph,
    health,
    history,
    report,
    screening,
    supervision,
)
from api.schemas.common import ErrorOut
from api.services import Services

API_VERSION = "1.0.0"

DESCRIPTION = """\
Graph analytics for enterprise credit supervision: enterprise profiles and records, related
parties with paths, ownership and beneficial owners, guarantee circles, screening for banks,
sampling plans, extension checks, warnings and watchlists.

Send your API key in the `X-API-Key` header. Your key's role decides what you may read:
`regulator` everything (grades included), `bank` screening and watchlists, `analyst` graph
exploration and aggregates. Person names are masked for banks and analysts; ID numbers are
never stored. Every request is written to an audit log.
"""

_ERRORS = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (401, "No API key, or an unknown one"),
        (403, "Your role may not use this route"),
        (404, "Not found"),
        (422, "Invalid input: the message says which field and why"),
        (503, "The store, the snapshot or the grades are not available"),
    )
}


def create_app(settings: AccessSettings, services: Services | None = None) -> FastAPI:
    """The API app over the data home of ``settings``, or over ``services`` already open
    (then the caller owns them and closes them; the app closes only what it opened)."""
    served = services if services is not None else Services.open(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if services is None:
            served.close()

    app = FastAPI(
        title="CreditGraph API",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.services = served
    errors.install(app)
    app.include_router(health.router)
    for module in (enterprises, graph, circles, screening, supervision, audit, history, report):
        app.include_router(module.router, responses=_ERRORS)  # type: ignore[arg-type]
    # The last added runs first: the audit wraps the gate, so refusals are audited too.
    app.add_middleware(Gate, keyring=served.keyring)
    app.add_middleware(AuditMiddleware, log=served.audit)
    return app
