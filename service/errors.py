"""One JSON error shape for every 4xx and 5xx: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from formats.errors import LISTED_ITEMS

log = logging.getLogger(__name__)
Handler = Callable[[Request, Exception], Awaitable[Response]]
# What a busy answer (503) tells the client to wait before it tries again, in seconds.
RETRY_AFTER_S = 1


class ServiceError(Exception):
    """An error a client can act on; services raise its subclasses, routers let them pass."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class InvalidInput(ServiceError):
    status = 422
    code = "invalid_input"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "upload_too_large"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Unavailable(ServiceError):
    status = 503
    code = "unavailable"


class BodyTooLarge(StarletteHTTPException):
    """A request body that grew past its limit while it streamed in. An HTTPException, not a
    :class:`ServiceError`: FastAPI turns any other error raised while it reads a body into 400.
    """

    code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"the request body is larger than {limit:,} bytes (LABELAUDIT_MAX_BODY_BYTES)"
        )


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The body of every error answer (documented in the OpenAPI schema)."""

    error: ErrorBody


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(exc.status, exc.code, exc.message, exc.details)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    # The first LISTED_ITEMS problems and a count: a batch of 1,000 bad items has 2,000.
    problems = [
        {"location": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
        for error in errors[:LISTED_ITEMS]
    ]
    summary = "; ".join(f"{p['location']}: {p['message']}" for p in problems)
    if len(errors) > LISTED_ITEMS:
        summary += f"; and {len(errors) - LISTED_ITEMS:,} more problems"
    return error_response(422, "invalid_request", summary or "invalid request", problems)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    code = getattr(exc, "code", None) or phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.detail if isinstance(exc.detail, str) else phrase
    return error_response(exc.status_code, code, message)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is down, restarting or unreachable: a 503 the client may retry; the
    pool's pre-ping replaces the dead connections once it is back. SQLite's write lock held
    past the busy timeout is a 503 too, saying so. One log line, no traceback: under
    overload a traceback per request would bury the log."""
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    log.warning("database error on %s %s: %s", request.method, request.url.path, reason)
    if "database is locked" in reason:
        return error_response(
            503, "database_busy", "the database is busy with other writes; try again shortly"
        )
    return error_response(
        503, "database_unavailable", "the database is unreachable; try again shortly"
    )


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    """No database connection came free within the busy timeout (LABELAUDIT_BUSY_TIMEOUT)."""
    log.warning("no database connection free on %s %s", request.method, request.url.path)
    return error_response(503, "server_busy", "the server is busy; try again shortly")


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error; the server log has details")


# The errors with an answer of their own, most specific first; anything else is a 500.
HANDLERS: tuple[tuple[type[Exception], Handler], ...] = (
    (ServiceError, _service_error),
    (RequestValidationError, _validation_error),
    (StarletteHTTPException, _http_error),
    (OperationalError, _database_unavailable),
    (InterfaceError, _database_unavailable),
    (PoolTimeout, _pool_exhausted),
)


def install_error_handlers(app: FastAPI) -> None:
    for error, handler in HANDLERS:
        app.add_exception_handler(error, handler)
    app.add_exception_handler(Exception, _unexpected_error)


async def handled_error(request: Request, exc: Exception) -> Response:
    """The answer to ``exc`` raised outside the app's handlers (in a middleware); an error
    without an answer of its own propagates (a 500 from the server-error middleware)."""
    for error, handler in HANDLERS:
        if isinstance(exc, error):
            return await handler(request, exc)
    raise exc


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase}
        for status in statuses
    }


# What any route may answer (503: the database is unreachable).
ERROR_RESPONSES = _documented(401, 403, 404, 409, 422, 503)
# What a route that reads a JSON body also answers when the body is not UTF-8 text.
BODY_ERROR_RESPONSES = _documented(400)
