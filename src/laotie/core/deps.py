"""FastAPI plumbing shared by every feature: the unit of work of a request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from laotie.core.context import Ctx, unit_of_work_for


async def request_ctx(request: Request) -> AsyncIterator[Ctx]:
    """Give a handler one transaction, committed before the response is sent."""
    state = request.app.state
    async with unit_of_work_for(state) as ctx:
        yield ctx


# scope="function": the transaction ends when the handler returns, before the answer
# leaves, so an order is durable before the buyer hears yes.
CtxDep = Annotated[Ctx, Depends(request_ctx, scope="function")]
