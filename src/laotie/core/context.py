"""The context of one unit of work: its database session, settings, clock and after-commit hooks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from laotie.core.clock import Clock
from laotie.core.errors import AppError
from laotie.db.engine import Database
from laotie.settings import Settings

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]


@dataclass
class Ctx:
    """What a use-case needs: the transaction it runs in, the settings and the time."""

    db: AsyncSession
    settings: Settings
    clock: Clock
    after_commit: list[AfterCommit] = field(default_factory=list)
    # Set by a use-case whose refusal must still be recorded (a failed sign-in counts).
    commit_on_refusal: bool = False

    def now(self) -> datetime:
        """Return the current time from the injectable clock."""
        return self.clock.now()

    def publish_on_commit(self, callback: AfterCommit) -> None:
        """Run a side effect (broadcast, webhook, enqueue) only once the transaction commits."""
        self.after_commit.append(callback)


@asynccontextmanager
async def unit_of_work(database: Database, settings: Settings, clock: Clock) -> AsyncIterator[Ctx]:
    """Open one transaction; commit it if the block succeeds, then run the after-commit hooks."""
    refusal: AppError | None = None
    async with database.turn(), database.sessions() as session:
        ctx = Ctx(session, settings, clock)
        await session.begin()
        try:
            yield ctx
        except AppError as error:
            if not ctx.commit_on_refusal:
                await session.rollback()
                raise
            await session.commit()
            refusal = error
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
    # Outside the turn: a hook may open a unit of work of its own (a webhook to ourselves).
    await run_after_commit(ctx)
    if refusal is not None:
        raise refusal


async def run_after_commit(ctx: Ctx) -> None:
    """Run the hooks of a committed unit of work; a failing hook never undoes the commit."""
    hooks, ctx.after_commit = ctx.after_commit, []
    for hook in hooks:
        try:
            await hook()
        except Exception:
            log.exception("after-commit hook failed")
