"""HTTP error answers: every refusal is JSON with a stable `code` and a message."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from laotie.core.errors import AppError, CommonError

log = logging.getLogger(__name__)

_STATUS_CODES = {
    401: CommonError.NOT_AUTHENTICATED,
    403: CommonError.FORBIDDEN,
    404: CommonError.NOT_FOUND,
    409: CommonError.CONFLICT,
    429: CommonError.RATE_LIMITED,
}


def install_error_handlers(app: FastAPI) -> None:
    """Turn every expected failure into a JSON answer with a code."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_describe(error) for error in exc.errors()]
        message = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:5])
        body = {"code": CommonError.INVALID_INPUT, "message": message, "errors": errors}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, CommonError.INVALID_INPUT)
        return JSONResponse(
            {"code": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


def _describe(error: dict[str, Any]) -> dict[str, str]:
    """Keep the parts of a validation error a client can use."""
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
    return {"field": ".".join(location) or "request", "problem": str(error.get("msg", ""))}
