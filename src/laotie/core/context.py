"""The context of one unit of work: its database session, settings, clock and after-commit hooks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from laotie.core.clock import Clock
from laotie.core.errors import AppError
from laotie.db.engine import Database
from laotie.realtime.events import RoomEvent
from laotie.settings import Settings

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]


class Broadcaster(Protocol):
    """Where room events go: the realtime hub of this process."""

    async def publish(self, room: str, event: RoomEvent) -> Any:
        """Number an event in the room's log and deliver it."""
        ...


@dataclass
class Ctx:
    """What a use-case needs: the transaction it runs in, the settings and the time."""

    db: AsyncSession
    settings: Settings
    clock: Clock
    after_commit: list[AfterCommit] = field(default_factory=list)
    # Set by a use-case whose refusal must still be recorded (a failed sign-in counts).
    commit_on_refusal: bool = False
    # The hub that room events go to; None where nothing may broadcast (the command line).
    broadcaster: Broadcaster | None = None

    def now(self) -> datetime:
        """Return the current time from the injectable clock."""
        return self.clock.now()

    def publish_on_commit(self, callback: AfterCommit) -> None:
        """Run a side effect (broadcast, webhook, enqueue) only once the transaction commits."""
        self.after_commit.append(callback)

    def broadcast_on_commit(self, room: str, events: Sequence[RoomEvent]) -> None:
        """Send a room these events, in order, once the transaction commits (never before)."""
        if not events:
            return
        if self.broadcaster is None:
            raise RuntimeError("this unit of work has no broadcaster for room events")
        broadcaster, queued = self.broadcaster, list(events)

        async def send() -> None:
            for event in queued:
                await broadcaster.publish(room, event)

        self.publish_on_commit(send)


@asynccontextmanager
async def unit_of_work(
    database: Database, settings: Settings, clock: Clock, broadcaster: Broadcaster | None = None
) -> AsyncIterator[Ctx]:
    """Open one transaction; commit it if the block succeeds, then run the after-commit hooks."""
    refusal: AppError | None = None
    async with database.turn(), database.sessions() as session:
        ctx = Ctx(session, settings, clock, broadcaster=broadcaster)
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


def unit_of_work_for(state: Any) -> AbstractAsyncContextManager[Ctx]:
    """Open a unit of work with what the application's state holds, its hub included."""
    return unit_of_work(state.database, state.settings, state.clock, getattr(state, "hub", None))
