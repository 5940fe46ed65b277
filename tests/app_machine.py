"""A hypothesis state machine that drives the real application in-process: a fresh
database per example, a frozen clock, an HTTP client, and the sandbox's webhooks
delivered in-process and kept for replays."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from laotie.app import JOBS, create_app
from laotie.core.clock import FrozenClock
from laotie.core.context import unit_of_work
from tests.fresh_db import (
    BACKEND,
    TEST_ORIGIN,
    clone_postgres,
    copy_sqlite,
    drop_postgres,
    settings_for,
)

T = TypeVar("T")


class AppMachine(RuleBasedStateMachine):
    """The plumbing of a machine over the whole application; subclasses add the rules."""

    # Set by the test before the run: where fresh databases come from.
    template: ClassVar[Path | str]
    workdir: ClassVar[Path]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FrozenClock()
        self.url = self.run(self._fresh_database())
        # Tokens must outlive the longest walk of the clock.
        self.settings = settings_for(self.url, session_days=36_500, token_days=36_500)
        self.app = create_app(self.settings, clock=self.clock)
        self.app.state.webhook_sender = self._deliver_webhook
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=TEST_ORIGIN
        )
        self.delivered: list[tuple[bytes, dict[str, str]]] = []
        self.webhook_failures: list[str] = []

    def run(self, work: Awaitable[T]) -> T:
        """Run a coroutine on the machine's own event loop."""
        return self.loop.run_until_complete(work)

    async def _fresh_database(self) -> str:
        if BACKEND == "postgres":
            return await clone_postgres(str(self.template))
        return copy_sqlite(Path(self.template), self.workdir)

    def teardown(self) -> None:
        """Close the client and the database, and drop the example's database."""
        self.run(self.http.aclose())
        self.run(self.app.state.database.dispose())
        if BACKEND == "postgres":
            self.run(drop_postgres(self.url))
        else:
            Path(self.url.removeprefix("sqlite+aiosqlite:///")).unlink(missing_ok=True)
        self.loop.close()

    def uow(self) -> Any:
        """Open a unit of work on the example's database."""
        return unit_of_work(self.app.state.database, self.settings, self.clock)

    async def _deliver_webhook(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        """Deliver the sandbox's webhook in-process and keep it for replays."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            answer = await http.post(path, content=body, headers=headers)
        if answer.status_code != 200:
            self.webhook_failures.append(f"{answer.status_code} {answer.text}")
        else:
            self.delivered.append((body, headers))

    def run_jobs(self) -> None:
        """Run every periodic job once (a failing job fails the test)."""

        async def sweep() -> None:
            for job in JOBS:
                await job.run(self.app.state)

        self.run(sweep())


def run_machine(
    machine: type[AppMachine], request: pytest.FixtureRequest, tmp_path: Path, steps: int
) -> None:
    """Drive a machine on fresh databases of the configured backend."""
    template = "postgres_template" if BACKEND == "postgres" else "sqlite_template"
    machine.template = request.getfixturevalue(template)
    machine.workdir = tmp_path
    run_state_machine_as_test(
        machine,
        settings=hypothesis_settings(
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
