"""Errors that become HTTP answers with a stable `code` and a message.

Each domain's `errors.py` holds an enum of its codes and one table from code to HTTP
status (`status_table`), so that `AppError.of(code, message)` answers the same status
wherever the code is raised and the API documents it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)

# Every registered code's status, across domains: a code answers one status everywhere.
_STATUS: dict[str, int] = {}
DEFAULT_STATUS = 400


def status_table(codes: type[E], table: Mapping[E, int]) -> Mapping[E, int]:
    """Register a domain's code-to-status table; every code of the enum needs its status."""
    missing = [str(code) for code in codes if code not in table]
    if missing:
        raise TypeError(f"{codes.__name__} has no status for {', '.join(missing)}")
    for code, status in table.items():
        known = _STATUS.setdefault(str(code), status)
        if known != status:
            raise TypeError(f"{code} answers {known} elsewhere, not {status}")
    return MappingProxyType(dict(table))


def status_of(code: StrEnum | str) -> int:
    """Return the HTTP status a code answers with."""
    return _STATUS.get(str(code), DEFAULT_STATUS)


class CommonError(StrEnum):
    """Codes shared by every feature."""

    INVALID_INPUT = "invalid_input"
    MALFORMED_BODY = "malformed_body"
    NOT_FOUND = "not_found"
    NOT_AUTHENTICATED = "not_authenticated"
    FORBIDDEN = "forbidden"
    CSRF_FAILED = "csrf_failed"
    RATE_LIMITED = "rate_limited"
    CONFLICT = "conflict"
    BODY_TOO_LARGE = "body_too_large"
    BUSY = "busy"
    CONTROL_CHARACTERS = "control_characters"  # a text holds NUL or another control character
    BLANK = "blank"  # a name or title is only whitespace
    INTERNAL = "internal_error"


COMMON_STATUS = status_table(
    CommonError,
    {
        CommonError.INVALID_INPUT: 422,
        CommonError.MALFORMED_BODY: 400,
        CommonError.NOT_FOUND: 404,
        CommonError.NOT_AUTHENTICATED: 401,
        CommonError.FORBIDDEN: 403,
        CommonError.CSRF_FAILED: 403,
        CommonError.RATE_LIMITED: 429,
        CommonError.CONFLICT: 409,
        CommonError.BODY_TOO_LARGE: 413,
        CommonError.BUSY: 503,
        CommonError.CONTROL_CHARACTERS: 422,
        CommonError.BLANK: 422,
        CommonError.INTERNAL: 500,
    },
)


class IdempotencyError(StrEnum):
    """Codes of the Idempotency-Key, shared by checkout and the room's orders."""

    MISSING = "idempotency_key_missing"
    INVALID = "idempotency_key_invalid"
    IN_FLIGHT = "idempotency_key_in_flight"
    REUSED = "idempotency_key_reused"
    RELEASED = "idempotency_key_released"


IDEMPOTENCY_STATUS = status_table(
    IdempotencyError,
    {
        IdempotencyError.MISSING: 400,
        IdempotencyError.INVALID: 400,
        IdempotencyError.IN_FLIGHT: 409,
        IdempotencyError.REUSED: 422,
        IdempotencyError.RELEASED: 409,
    },
)

# The bounds of a client's Idempotency-Key, documented with the header.
IDEMPOTENCY_KEY_MIN = 8
IDEMPOTENCY_KEY_MAX = 80


def check_idempotency_key(key: str | None) -> str:
    """Require a client-chosen key of sensible size, so that a retry is recognised."""
    if key is None:
        raise AppError.of(
            IdempotencyError.MISSING,
            f"send an Idempotency-Key header of {IDEMPOTENCY_KEY_MIN} to "
            f"{IDEMPOTENCY_KEY_MAX} printable characters",
        )
    if not IDEMPOTENCY_KEY_MIN <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise AppError.of(
            IdempotencyError.INVALID,
            f"the Idempotency-Key must be {IDEMPOTENCY_KEY_MIN} to {IDEMPOTENCY_KEY_MAX} "
            "printable characters",
        )
    return key


class AppError(Exception):
    """A refusal the client can act on: a 4xx with a stable code."""

    def __init__(
        self,
        code: StrEnum,
        message: str,
        status: int | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.status = status_of(code) if status is None else status
        self.headers = headers  # e.g. Retry-After with a 429

    @classmethod
    def of(cls, code: StrEnum, message: str) -> AppError:
        """Refuse with a code, answering the status its domain's table gives it."""
        return cls(code, message)

    def as_dict(self) -> dict[str, str]:
        """Return the wire form of the error."""
        return {"code": self.code, "message": self.message}


def not_found(what: str) -> AppError:
    """Say that a thing does not exist, or is not the caller's to see."""
    return AppError.of(CommonError.NOT_FOUND, f"{what} not found")


def forbidden(message: str = "you may not do that") -> AppError:
    """Refuse an action the caller has no right to."""
    return AppError.of(CommonError.FORBIDDEN, message)
