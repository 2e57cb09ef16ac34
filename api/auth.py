"""The API's side of the keys: the ``X-API-Key`` header, the role each route admits, and the
gate in front of the routes.

Keys, roles and the constant-time key check are in :mod:`access.keyring`, shared with the board.
Every route but health takes an API key in the ``X-API-Key`` header; a route admits the roles
its :class:`Allow` dependency names, and its OpenAPI description lists them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from access.keyring import HEADER, ROLES, Caller, KeyRing
from api.errors import ApiError, Forbidden, TooLarge, Unauthenticated, error_body, status_of

api_key_header = APIKeyHeader(
    name=HEADER,
    auto_error=False,
    description="API key given to your organisation; its role decides what you may read.",
)


class Allow:
    """Dependency that admits callers of some roles and returns the :class:`Caller`.

    It also names the caller in the request's audit note, so that refused requests are
    logged with who made them.
    """

    def __init__(self, *roles: str) -> None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}")
        self.roles = roles

    def __call__(
        self, request: Request, key: Annotated[str | None, Security(api_key_header)] = None
    ) -> Caller:
        keyring: KeyRing = request.app.state.services.keyring
        client = keyring.lookup(key) if key else None
        if client is None:
            raise Unauthenticated(
                f"missing or unknown API key: send your key in the {HEADER} header"
            )
        note = getattr(request.state, "audit", None)
        if note is not None:
            note.client, note.role = client.name, client.role
        if client.role not in self.roles:
            raise Forbidden(
                f"the {client.role} role may not use this route (allowed: {', '.join(self.roles)})"
            )
        return Caller(client.name, client.role)


# One dependency per audience; a route's roles are listed in its OpenAPI description.
Regulator = Annotated[Caller, Depends(Allow("regulator"))]
Explorer = Annotated[Caller, Depends(Allow("regulator", "analyst"))]
Screener = Annotated[Caller, Depends(Allow("regulator", "bank"))]
Watcher = Annotated[Caller, Depends(Allow("regulator", "bank"))]
Anyone = Annotated[Caller, Depends(Allow(*ROLES))]


def route_roles(route: APIRoute) -> tuple[str, ...] | None:
    """The roles a route admits (None: no key needed), read from its :class:`Allow`."""
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Allow):
            return dependency.call.roles
    return None


def document_roles(router: APIRouter) -> APIRouter:
    """Write each route's roles into its OpenAPI description and ``x-roles``; called once
    per router module, after its routes, so the document cannot drift from the checks."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            roles = route_roles(route)
            text = f"Roles: {', '.join(roles)}." if roles is not None else "No API key needed."
            route.description = f"{route.description}\n\n{text}".strip()
            route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": list(roles or ())}
    return router


MAX_BODY_BYTES = 10 * 2**20
"""The largest request body the API takes (a batch of 100 screenings is a few KB)."""


class Gate:
    """ASGI middleware in front of the routes.

    A request to ``/v1`` with a body and without a known key is refused (401) before its body
    is read; a body over ``MAX_BODY_BYTES`` (413) by its length or, sent without one, once
    that much has come. The key's holder is put in the audit note first, so that every
    answer, 400s, 405s and 413s included, is audited with who sent it."""

    def __init__(self, app: ASGIApp, keyring: KeyRing) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(HEADER.lower().encode(), b"").decode("latin-1")
        client = self.keyring.lookup(key) if key else None
        note = scope.get("state", {}).get("audit")
        if note is not None and client is not None:
            note.client, note.role = client.name, client.role
        if scope["path"].startswith("/v1") and client is None and scope["method"] != "GET":
            # Only a request with a body is refused here; others reach the route's own check,
            # which audits the enterprise they asked about.
            why = f"missing or unknown API key: send your key in the {HEADER} header"
            await _refuse(Unauthenticated(why), scope, receive, send)
            return
        if int(headers.get(b"content-length", b"0") or 0) > MAX_BODY_BYTES:
            await _refuse(_too_large(), scope, receive, send)
            return
        if b"content-length" in headers or scope["method"] == "GET":
            await self.app(scope, receive, send)
            return
        # A body without a length (chunked): read it here, up to the limit, then hand it on.
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = bool(message.get("more_body"))
            if size > MAX_BODY_BYTES:
                await _refuse(_too_large(), scope, receive, send)
                return
        body = b"".join(chunks)
        given = False

        async def replay() -> Message:
            nonlocal given
            if given:
                return await receive()
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _too_large() -> TooLarge:
    return TooLarge(f"the request body is over {MAX_BODY_BYTES // 2**20} MB")


async def _refuse(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``error`` by the error table, before any route runs."""
    status, code = status_of(error)
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    await JSONResponse(error_body(code, str(error)), status, headers=headers)(scope, receive, send)
