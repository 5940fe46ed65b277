"""FastAPI plumbing shared by every feature: the unit of work of a request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.errors import (
    IDEMPOTENCY_KEY_MAX,
    IDEMPOTENCY_KEY_MIN,
    IdempotencyError,
    check_idempotency_key,
)
from laotie.core.openapi import DOCUMENTED_REQUIRED, declare_errors


async def request_ctx(request: Request) -> AsyncIterator[Ctx]:
    """Give a handler one transaction, committed before the response is sent."""
    state = request.app.state
    async with unit_of_work_for(state) as ctx:
        yield ctx


# A page further than this is a crawl, not a reader: a bound keeps the offset inside
# every database's integer range.
MAX_OFFSET = 100_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]

# scope="function": the transaction ends when the handler returns, before the answer
# leaves, so an order is durable before the buyer hears yes.
CtxDep = Annotated[Ctx, Depends(request_ctx, scope="function")]


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description=(
                "Chosen by the client; a retry with the same key returns the same orders. "
                f"{IDEMPOTENCY_KEY_MIN} to {IDEMPOTENCY_KEY_MAX} printable characters."
            ),
            json_schema_extra={
                "minLength": IDEMPOTENCY_KEY_MIN,
                "maxLength": IDEMPOTENCY_KEY_MAX,
                "pattern": "^[ -~]*$",
                DOCUMENTED_REQUIRED: True,
            },
        ),
    ] = None,
) -> str:
    """Return the request's Idempotency-Key, refusing a missing or malformed one."""
    # Optional to FastAPI, so that a missing or malformed key answers its own code
    # rather than a validation error; documented as required.
    return check_idempotency_key(key)


declare_errors(idempotency_key, IdempotencyError.MISSING, IdempotencyError.INVALID)
IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]
