"""Errors that become HTTP answers with a stable `code` and a message."""

from __future__ import annotations

from enum import StrEnum


class CommonError(StrEnum):
    """Codes shared by every feature."""

    INVALID_INPUT = "invalid_input"
    NOT_FOUND = "not_found"
    NOT_AUTHENTICATED = "not_authenticated"
    FORBIDDEN = "forbidden"
    CSRF_FAILED = "csrf_failed"
    RATE_LIMITED = "rate_limited"
    CONFLICT = "conflict"
    BUSY = "busy"
    BODY_TOO_LARGE = "body_too_large"
    CONTROL_CHARACTERS = "control_characters"  # a text holds NUL or another control character
    BLANK = "blank"  # a name or title is only whitespace
    INTERNAL = "internal_error"


class AppError(Exception):
    """A refusal the client can act on: a 4xx with a stable code."""

    def __init__(
        self,
        code: StrEnum,
        message: str,
        status: int = 400,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.status = status
        self.headers = headers  # e.g. Retry-After with a 429

    def as_dict(self) -> dict[str, str]:
        """Return the wire form of the error."""
        return {"code": self.code, "message": self.message}


def not_found(what: str) -> AppError:
    """Say that a thing does not exist, or is not the caller's to see."""
    return AppError(CommonError.NOT_FOUND, f"{what} not found", 404)


def forbidden(message: str = "you may not do that") -> AppError:
    """Refuse an action the caller has no right to."""
    return AppError(CommonError.FORBIDDEN, message, 403)
