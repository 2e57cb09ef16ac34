"""Errors of the HTTP API: one base class, and one table from errors to HTTP answers.

Routers raise :class:`ApiError` subclasses, or let the domain's own errors through (a store
that cannot be reached, a plan that cannot be replayed); :data:`ERROR_TABLE` maps each to a
status and a code, and every answer has the same body, :class:`~api.schemas.ErrorOut`:
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

from graph_model.identifiers import mask_id_numbers_in
from graph_model.store.protocol import SchemaMismatchError, StoreError
from risk.model.errors import ModelError
from risk.supervision.inspectors import InspectorFileError
from risk.supervision.plans import PlanError
from risk.supervision.registry import SupervisionError
from risk.supervision.sampling import SamplingError

log = logging.getLogger("creditgraph.api")


class ApiError(Exception):
    """Base of the API's own errors; the message is shown to the client as it is."""


class Unauthenticated(ApiError):
    """No API key, or an unknown one."""


class Forbidden(ApiError):
    """The key's role may not use this route."""


class NotFound(ApiError):
    """The enterprise, circle, plan or grade asked for does not exist."""


class Invalid(ApiError):
    """A request that passed the schema but not a domain check (a plan on another date)."""


class TooLarge(ApiError):
    """A request body over the documented limit."""


class Busy(ApiError):
    """A one-at-a-time job (a plan draw) is already running."""


class Unavailable(ApiError):
    """Data the route needs is not served (no snapshot, no stored grades)."""


ERROR_TABLE: dict[type[Exception], tuple[int, str]] = {
    Unauthenticated: (401, "unauthenticated"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Invalid: (422, "invalid"),
    Busy: (429, "busy"),
    TooLarge: (413, "too_large"),
    Unavailable: (503, "unavailable"),
    SamplingError: (422, "invalid_plan"),
    InspectorFileError: (422, "invalid_inspectors"),
    PlanError: (409, "plan_conflict"),
    SupervisionError: (422, "supervision_refused"),
    ModelError: (503, "model_unavailable"),
    SchemaMismatchError: (503, "store_schema_mismatch"),
    StoreError: (503, "store_unavailable"),
}
"""Error class → (HTTP status, code). The most specific class wins (SchemaMismatchError
before StoreError)."""

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}


def status_of(exc: Exception) -> tuple[int, str]:
    """Status and code of an error by :data:`ERROR_TABLE`, through its class hierarchy."""
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    raise KeyError(type(exc))


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
    """Register the handlers of :data:`ERROR_TABLE`, validation errors and HTTP errors."""

    def domain_error(request: Request, exc: Exception) -> JSONResponse:
        status, code = status_of(exc)
        headers = {"Retry-After": "10"} if status in (429, 503) else None
        if status == 401:
            headers = {"WWW-Authenticate": "ApiKey"}
        return JSONResponse(error_body(code, _message(exc)), status, headers=headers)

    for cls in ERROR_TABLE:
        app.add_exception_handler(cls, domain_error)

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
