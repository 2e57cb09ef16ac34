"""Errors of the HTTP API: its own kinds, and the one handler of every CreditGraph error.

Routers raise :class:`ApiError` subclasses, or let the domain's own errors through (a store
that cannot be reached, a plan that cannot be replayed). Every one is a
:class:`~graph_model.errors.CreditGraphError` that carries its status and code, so one handler
answers them all, and every answer has the same body, :class:`~api.schemas.common.ErrorOut`:
``{"code": ..., "message": ..., "errors": [...]}``. Messages are the domain's own, written
for the user; a 500 never carries internals.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph_model.errors import CreditGraphError
from graph_model.identifiers import mask_id_numbers_in
from graph_model.store.protocol import SchemaMismatchError

log = logging.getLogger("creditgraph.api")


class ApiError(CreditGraphError):
    """Base of the API's own errors; the message is shown to the client as it is."""


class Unauthenticated(ApiError):
    """No API key, or an unknown one."""

    http_status = 401
    code = "unauthenticated"


class Forbidden(ApiError):
    """The key's role may not use this route."""

    http_status = 403
    code = "forbidden"


class NotFound(ApiError):
    """The enterprise, circle, plan or grade asked for does not exist."""

    http_status = 404
    code = "not_found"


class Invalid(ApiError):
    """A request that passed the schema but not a domain check (a plan on another date)."""


class TooLarge(ApiError):
    """A request body over the documented limit."""

    http_status = 413
    code = "too_large"


class Busy(ApiError):
    """A one-at-a-time job (a plan draw) is already running."""

    http_status = 429
    code = "busy"


class Unavailable(ApiError):
    """Data the route needs is not served (no snapshot, no stored grades)."""

    http_status = 503
    code = "unavailable"


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}


def status_of(exc: CreditGraphError) -> tuple[int, str]:
    """Status and code of an error, as its kind says."""
    return exc.http_status, exc.code


def error_body(code: str, message: str, errors: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """The one error body; an ID number a caller sent (as an enterprise id, in a name) is
    masked wherever the message repeats it."""
    return {
        "code": code,
        "message": mask_id_numbers_in(message),
        "errors": [{k: mask_id_numbers_in(v) for k, v in e.items()} for e in errors],
    }


def _message(exc: Exception) -> str:
    if isinstance(exc, SchemaMismatchError):
        return f"{exc}. The server must be restarted on a data home loaded by this version."
    return str(exc)


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    """Register the handlers of CreditGraph errors, validation errors and HTTP errors."""

    def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CreditGraphError)
        status, code = status_of(exc)
        headers = {"Retry-After": "10"} if status in (429, 503) else None
        if status == 401:
            headers = {"WWW-Authenticate": "ApiKey"}
        return JSONResponse(error_body(code, _message(exc)), status, headers=headers)

    app.add_exception_handler(CreditGraphError, domain_error)

    def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"location": _location(e["loc"]), "message": str(e["msg"])} for e in exc.errors()]
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        message = f"{first['location']}: {first['message']}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        return JSONResponse(error_body("validation_error", message, errors), 422)

    app.add_exception_handler(RequestValidationError, validation_error)

    def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    app.add_exception_handler(StarletteHTTPException, http_error)

    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # What went wrong stays in the server log, under an id the client can quote.
        request_id = secrets.token_hex(8)
        log.error("request %s: %s %s failed", request_id, request.method, request.url.path,
                  exc_info=exc)  # fmt: skip
        message = f"internal error; the server log has it under request id {request_id}"
        return JSONResponse(
            error_body("internal_error", message), 500, headers={"X-Request-Id": request_id}
        )

    app.add_exception_handler(Exception, unexpected)
