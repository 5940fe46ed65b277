"""The stage a world runs on: its database, the services' state, one clock, and the agenda.

Everything the services need from a serving process (`app.state`: database, settings,
clock, the live runtime and its hub, the user pushes, the payment providers) is built
here around one `FrozenClock`, which only the agenda moves: an event is taken from the
agenda in time order (ties in the order they were put in), the clock is set to its time,
and it runs. Nothing ticks on the wall clock, and every draw comes from generators named
by the world's seed, so the same seed plays the same world.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from starlette.datastructures import State

from laotie.core.clock import FrozenClock
from laotie.core.context import Ctx, unit_of_work_for
from laotie.db.engine import Database
from laotie.live.runtime import make_runtime
from laotie.orders.payments import SandboxProvider
from laotie.realtime.users import MemoryUserPush
from laotie.settings import Settings

Action = Callable[[], Awaitable[None]]


def make_state(database: Database, settings: Settings, clock: FrozenClock) -> State:
    """Build what the services and jobs read of a process, on the world's clock."""
    state = State()
    state.settings = settings
    state.clock = clock
    state.database = database
    state.live = make_runtime(settings)
    state.hub = state.live.hub
    state.user_push = MemoryUserPush()
    state.payment_providers = {"sandbox": SandboxProvider(settings.payment_webhook_secret)}
    return state


@dataclass
class Stage:
    """The world's state, clock, generators and agenda of events to come."""

    state: State
    clock: FrozenClock
    seed: int
    _agenda: list[tuple[datetime, int, Action]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _generators: dict[str, random.Random] = field(default_factory=dict)
    events: int = 0
    # Wall seconds and counts by kind of event: where a world's time goes (never in its
    # summary, which must not depend on the machine).
    spent: dict[str, float] = field(default_factory=dict)
    counted: Counter[str] = field(default_factory=Counter)

    def rng(self, name: str) -> random.Random:
        """The generator of one named stream of draws, seeded from the world's seed."""
        if name not in self._generators:
            self._generators[name] = random.Random(f"{self.seed}:{name}")  # noqa: S311
        return self._generators[name]

    def at(self, moment: datetime, act: Callable[..., Awaitable[None]], *args: object) -> None:
        """Put `act(*args)` on the agenda at a moment (never in the past)."""
        action: Action = partial(act, *args)
        heapq.heappush(self._agenda, (max(moment, self.clock.now()), next(self._order), action))

    def uow(self) -> AbstractAsyncContextManager[Ctx]:
        """Open a unit of work at the world's current time."""
        return unit_of_work_for(self.state)

    def now(self) -> datetime:
        """The world's current time."""
        return self.clock.now()

    async def run_until(self, end: datetime) -> None:
        """Run the agenda's events in time order up to `end` (excluded)."""
        while self._agenda and self._agenda[0][0] < end:
            moment, _, action = heapq.heappop(self._agenda)
            if moment > self.clock.now():
                self.clock.advance(moment - self.clock.now())
            started = time.perf_counter()
            await action()
            kind = getattr(action, "func", action).__name__
            self.spent[kind] = self.spent.get(kind, 0.0) + time.perf_counter() - started
            self.counted[kind] += 1
            self.events += 1
        if end > self.clock.now():
            self.clock.advance(end - self.clock.now())
