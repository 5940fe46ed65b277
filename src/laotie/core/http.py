"""HTTP error answers: every refusal is JSON with a stable `code` and a message."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from laotie.core.errors import AppError, CommonError
from laotie.core.text import refusal_code

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: CommonError.MALFORMED_BODY,  # FastAPI's answer to a body that does not parse
    401: CommonError.NOT_AUTHENTICATED,
    403: CommonError.FORBIDDEN,
    404: CommonError.NOT_FOUND,
    409: CommonError.CONFLICT,
    429: CommonError.RATE_LIMITED,
}
BUSY_RETRY_AFTER_S = 1


def install_error_handlers(app: FastAPI) -> None:
    """Turn every expected failure into a JSON answer with a code."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return refusal(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_describe(error) for error in exc.errors()]
        message = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:5])
        body = {"code": refusal_code(exc.errors()), "message": message, "errors": errors}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, CommonError.INVALID_INPUT)
        return JSONResponse(
            {"code": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(PoolTimeoutError)
    async def _busy(_request: Request, exc: PoolTimeoutError) -> JSONResponse:
        return busy(exc)

    @app.exception_handler(Exception)
    async def _internal(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette logs the exception and re-raises it after this answer has been sent.
        return internal_error()


def error_response(exc: Exception) -> JSONResponse:
    """Answer a failure caught outside FastAPI's handlers as they would have answered it."""
    if isinstance(exc, AppError):
        return refusal(exc)
    if isinstance(exc, PoolTimeoutError):
        return busy(exc)
    log.error("an unexpected failure answered 500", exc_info=exc)
    return internal_error()


def refusal(exc: AppError) -> JSONResponse:
    """Answer a refusal the client can act on with its status, code and message."""
    return JSONResponse(exc.as_dict(), status_code=exc.status, headers=exc.headers)


def busy(exc: PoolTimeoutError) -> JSONResponse:
    """Answer 503 when no database connection came free in time: overload, nothing written."""
    # Every database connection stayed taken for the pool's whole timeout: overload.
    # Nothing was written for this request; the client may retry a moment later.
    log.warning("no database connection free: %s", exc)
    return JSONResponse(
        {"code": CommonError.BUSY, "message": "the server is busy; retry in a moment"},
        status_code=503,
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
    )


def internal_error() -> JSONResponse:
    """Answer 500 with a JSON body; the failure itself is logged by whoever caught it."""
    return JSONResponse(
        {"code": CommonError.INTERNAL, "message": "something failed on our side"},
        status_code=500,
    )


def _describe(error: dict[str, Any]) -> dict[str, str]:
    """Keep the parts of a validation error a client can use."""
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
    return {
        "field": ".".join(location) or "request",
        "problem": str(error.get("msg", "")),
        "code": str(error.get("type", "")),
    }
