"""One-off background work on taskiq: in memory for one process, a Redis list for a cluster.

A feature declares its tasks (`orders/jobs.py: TASKS`); `app.py` registers them on the
broker that the settings choose and starts and stops it with the application. Work is
kicked only after its transaction commits (`ctx.publish_on_commit`), and whatever must
survive a crash is written to the database first: a task is a prompt to act on a row,
never the only copy of anything, and every task is idempotent.

The in-memory broker runs a kicked task at once, before `kick` returns; with Redis
(`LAOTIE_REDIS_URL`) the task goes on a list that every serving process listens to, and
one of them runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import State
from taskiq import AsyncBroker, InMemoryBroker, TaskiqDepends
from taskiq.api import run_receiver_task

from laotie.settings import Settings

log = logging.getLogger(__name__)

QUEUE_NAME = "laotie:tasks"
# A task kicked to run apart (`kick_apart`) gets this long to finish when the queue stops.
APART_GRACE_S = 10.0

Kick = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Task:
    """A named one-off job; it gets the application's state and JSON arguments."""

    name: str
    run: Callable[..., Awaitable[Any]]


def make_broker(settings: Settings) -> AsyncBroker:
    """Return the broker the settings ask for: Redis when configured, else in memory."""
    if settings.redis_url:
        from taskiq_redis import ListQueueBroker

        return ListQueueBroker(settings.redis_url, queue_name=QUEUE_NAME)
    # Awaited in place: the task runs before kick returns, so one process needs no worker.
    return InMemoryBroker(await_inplace=True)


class TaskQueue:
    """The application's broker with its tasks, and the receiver that runs them here."""

    def __init__(self, broker: AsyncBroker, tasks: Sequence[Task], state: State) -> None:
        self.broker = broker
        self._receiver: asyncio.Task[None] | None = None
        self._apart: set[asyncio.Task[None]] = set()
        broker.add_dependency_context({State: state})
        for task in tasks:
            broker.register_task(_with_state(task.run), task_name=task.name)

    @property
    def in_memory(self) -> bool:
        """Tell whether tasks run in this process as they are kicked."""
        return isinstance(self.broker, InMemoryBroker)

    async def start(self) -> None:
        """Connect, and listen for tasks unless they run in memory."""
        await self.broker.startup()
        if not self.in_memory:
            self._receiver = asyncio.create_task(run_receiver_task(self.broker))

    async def stop(self) -> None:
        """Stop listening and disconnect; a task cut short is kicked again by its sweep."""
        if self._apart:
            _, stuck = await asyncio.wait(set(self._apart), timeout=APART_GRACE_S)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
            self._receiver = None
        await self.broker.shutdown()

    async def kick(self, name: str, *args: Any) -> None:
        """Send a task to the broker (call it after commit)."""
        task = self.broker.find_task(name)
        if task is None:
            raise LookupError(f"no task {name!r}")
        await task.kiq(*args)

    async def kick_apart(self, name: str, *args: Any) -> None:
        """Send a task whose run nobody waits for (a long fan-out after a request).

        With Redis the kick only puts it on the list. The in-memory broker would run it
        before `kick` returns, inside the caller's after-commit hooks, so here it is
        kicked from a task of its own.
        """
        if not self.in_memory:
            await self.kick(name, *args)
            return
        if self.broker.find_task(name) is None:
            raise LookupError(f"no task {name!r}")
        task = asyncio.create_task(self._kick_logged(name, args), name=f"task:{name}")
        self._apart.add(task)
        task.add_done_callback(self._apart.discard)

    async def drain(self) -> None:
        """Wait for every task kicked apart in this process to finish."""
        while self._apart:
            await asyncio.gather(*set(self._apart), return_exceptions=True)

    async def _kick_logged(self, name: str, args: tuple[Any, ...]) -> None:
        try:
            await self.kick(name, *args)
        except Exception:
            log.exception("task failed", extra={"task": name})


def _with_state(
    run: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    """Wrap a task so that taskiq hands it the application's state as its first argument."""

    async def task(*args: Any, state: State = TaskiqDepends()) -> Any:
        return await run(state, *args)

    task.__name__ = getattr(run, "__name__", "task")
    task.__doc__ = run.__doc__
    return task
