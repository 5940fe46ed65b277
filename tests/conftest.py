"""Test fixtures: a fresh database per test, or units of work rolled back on a shared one."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from laotie.app import create_app
from laotie.core.clock import FrozenClock
from laotie.core.context import Ctx, run_after_commit, unit_of_work
from laotie.db.engine import make_database
from laotie.models import metadata
from laotie.realtime.events import RoomEvent
from laotie.settings import Settings

hypothesis_settings.register_profile(
    "ci", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile("dev", max_examples=15, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

BACKEND = os.environ.get("LAOTIE_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get("LAOTIE_TEST_POSTGRES_URL", "")
TEST_ORIGIN = "http://testserver"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts its own server makes its own databases: it needs one backend's run."""
    for item in items:
        if item.get_closest_marker("server") is not None:
            item.add_marker(pytest.mark.any_backend)


def pytest_report_header() -> str:
    """Say which database the run uses."""
    return f"laotie test backend: {BACKEND}"


async def _create_schema(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Create the schema once; each test copies the file."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_create_schema(f"sqlite+aiosqlite:///{path}"))
    return path


def _admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


async def _pg_execute(url: str, *statements: str) -> None:
    engine = create_async_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """Create a template database once; each test clones it."""
    if not POSTGRES_URL:
        pytest.fail("LAOTIE_TEST_BACKEND=postgres needs LAOTIE_TEST_POSTGRES_URL")
    name = f"laotie_tpl_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_execute(POSTGRES_URL, f"CREATE DATABASE {name}"))
    asyncio.run(_create_schema(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name))
    yield name
    asyncio.run(_pg_execute(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of a fresh database holding the current schema."""
    if BACKEND == "postgres":
        template = request.getfixturevalue("postgres_template")
        name = f"laotie_t_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_execute(POSTGRES_URL, f"CREATE DATABASE {name} TEMPLATE {template}"))
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        asyncio.run(_pg_execute(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    else:
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "laotie.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def shared_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return one database for the whole run, for tests that roll back all they did."""
    if BACKEND == "postgres":
        if not POSTGRES_URL:
            pytest.fail("LAOTIE_TEST_BACKEND=postgres needs LAOTIE_TEST_POSTGRES_URL")
        name = f"laotie_shared_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_execute(POSTGRES_URL, f"CREATE DATABASE {name}"))
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        asyncio.run(_create_schema(url))
        yield url
        asyncio.run(_pg_execute(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    else:
        path = tmp_path_factory.mktemp("shared") / "shared.db"
        asyncio.run(_create_schema(f"sqlite+aiosqlite:///{path}"))
        yield f"sqlite+aiosqlite:///{path}"


class RecordingBroadcaster:
    """Keeps the room events a unit of work sent, in order, instead of delivering them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, RoomEvent]] = []

    async def publish(self, room: str, event: RoomEvent) -> RoomEvent:
        """Remember one event."""
        self.sent.append((room, event))
        return event


@pytest.fixture
async def savepoint_uow(
    shared_database_url: str, clock: FrozenClock
) -> AsyncIterator[Callable[[], Any]]:
    """Units of work inside one transaction that is rolled back when the test ends.

    Each `async with savepoint_uow() as ctx` is a savepoint, released (and its
    after-commit hooks run) when the block succeeds, rolled back when it raises; the
    outer transaction is never committed, so the shared database stays empty.
    """
    settings = settings_for(shared_database_url)
    database = make_database(settings)
    broadcaster = RecordingBroadcaster()
    async with database.engine.connect() as connection:
        outer = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

        @asynccontextmanager
        async def unit() -> AsyncIterator[Ctx]:
            ctx = Ctx(session, settings, clock, broadcaster=broadcaster)
            async with session.begin_nested():
                yield ctx
            await run_after_commit(ctx)

        try:
            yield unit
        finally:
            await session.close()
            await outer.rollback()
    await database.dispose()


def settings_for(database_url: str) -> Settings:
    """Return the settings of a test deployment on this database."""
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        payment_webhook_secret="test-webhook-secret",
        public_url=TEST_ORIGIN,
        run_jobs=False,
        log_json=False,
        argon2_time_cost=1,
        argon2_memory_kib=1_024,
        sign_up_rate_per_minute=1_000,  # tests sign many users up from one address
        gc_tuning=False,  # freezing would pin the test runner's objects, test after test
        feed_board_seconds=0,  # the feed reads the rooms afresh: tests move no clock for it
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings of a test deployment: fixed secrets, no background jobs, the test's own GC."""
    return settings_for(database_url)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock the test moves by hand."""
    return FrozenClock()


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[object]:
    """The application under test."""
    application = create_app(settings, clock=clock)
    application.state.webhook_sender = asgi_webhook_sender(application)
    yield application
    await application.state.database.dispose()


def asgi_webhook_sender(application: object):  # type: ignore[no-untyped-def]
    """Deliver the sandbox's webhooks to the app in-process, over real HTTP semantics."""

    async def send(path: str, body: bytes, headers: dict[str, str]) -> None:
        transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            answer = await http.post(path, content=body, headers=headers)
        assert answer.status_code == 200, answer.text

    return send


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that talks to the app in-process."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
        yield http


@pytest.fixture
def uow(app: object, settings: Settings, clock: FrozenClock):  # type: ignore[no-untyped-def]
    """Open a committed unit of work on the test database: `async with uow() as ctx`."""
    database = app.state.database  # type: ignore[attr-defined]

    def _open():  # type: ignore[no-untyped-def]
        return unit_of_work(database, settings, clock, app.state.hub)  # type: ignore[attr-defined]

    return _open


__all__ = ["TEST_ORIGIN", "Ctx"]
