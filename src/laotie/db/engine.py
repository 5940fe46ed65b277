"""Engine construction: SQLite in WAL mode with immediate transactions, or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from laotie.settings import Settings


@dataclass
class Database:
    """The engine and the session factory of one deployment."""

    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    counter: StatementCounter = field(default_factory=lambda: StatementCounter())
    # SQLite has one writer: transactions take turns on this lock instead of sleeping in
    # SQLite's busy handler, which polls. None on PostgreSQL, where rows lock on their own.
    write_lock: asyncio.Lock | None = None
    # SQLite on a file only: a synchronous engine on the same file, so that a batch of
    # statements costs one trip to a worker thread (`run_batch`) instead of one a statement.
    batch_engine: Engine | None = None

    def turn(self) -> contextlib.AbstractAsyncContextManager[object]:
        """Queue for SQLite's single writer inside the process rather than in its busy loop."""
        return self.write_lock if self.write_lock is not None else contextlib.nullcontext()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self.batch_engine is not None:
            self.batch_engine.dispose()


class StatementCounter:
    """Counts SQL statements on an engine (BEGIN and COMMIT excluded) while enabled."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.enabled = False

    def record(self, statement: str) -> None:
        """Remember one statement if counting is on."""
        if self.enabled and statement.split(None, 1)[0].upper() not in _TRANSACTION_WORDS:
            self.statements.append(statement)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """Count the statements issued inside the block."""
        self.statements = []
        self.enabled = True
        try:
            yield self.statements
        finally:
            self.enabled = False


_TRANSACTION_WORDS = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def make_database(settings: Settings) -> Database:
    """Build the engine the settings ask for."""
    kwargs: dict[str, Any] = {"echo": settings.echo_sql}
    if settings.is_sqlite:
        kwargs["async_creator"] = _connect_inline(make_url(settings.database_url).database)
    else:
        kwargs.update(pool_size=20, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.is_sqlite:
        _configure_sqlite(engine.sync_engine, settings.sqlite_synchronous, busy_timeout_ms=0)
    database = Database(engine, async_sessionmaker(engine, expire_on_commit=False))
    _attach_counter(engine.sync_engine, database.counter)
    if settings.is_sqlite:
        database.write_lock = asyncio.Lock()
        database.batch_engine = _sqlite_batch_engine(settings, database.counter)
    return database


def _sqlite_batch_engine(settings: Settings, counter: StatementCounter) -> Engine | None:
    """Return a synchronous engine on the SQLite file, or None for an in-memory database."""
    url = make_url(settings.database_url)
    if url.database in (None, "", ":memory:"):
        return None
    engine = create_engine(
        url.set(drivername="sqlite"),
        echo=settings.echo_sql,
        # Used from worker threads, one at a time (under the write lock).
        connect_args={"timeout": 30, "check_same_thread": False},
    )
    _configure_sqlite(engine, settings.sqlite_synchronous)
    _attach_counter(engine, counter)
    return engine


Result = TypeVar("Result")


async def run_batch(database: Database, work: Callable[[Connection], Result]) -> Result:
    """Run `work` on a synchronous connection in one transaction, committed if it returns.

    On SQLite it runs in a worker thread on the batch engine, in the process's turn for
    the single writer, so all its statements cost one trip to the thread; a busy event
    loop otherwise delays every statement's trip. Elsewhere it runs on an async
    connection through `run_sync`, each statement awaited as usual.
    """
    async with database.turn():
        if database.batch_engine is not None:
            return await asyncio.to_thread(_in_transaction, database.batch_engine, work)
        async with database.engine.begin() as connection:
            return await connection.run_sync(work)


def _in_transaction(engine: Engine, work: Callable[[Connection], Result]) -> Result:
    with engine.begin() as connection:
        return work(connection)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, each call made on the event loop's thread instead of its worker's.

    A statement of a transaction costs microseconds in SQLite, and a trip to the worker
    thread and back (a queue, a future, a wake-up of the loop) costs more than that, many
    times a statement. The one call that can wait is the one that takes the write lock
    while another process holds it: it runs with no busy timeout here, so it fails at
    once, and is tried again on the worker thread, which may wait without stalling the
    loop. (Inside the process, transactions take turns on `Database.write_lock` first.)
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
        waited = super()._execute
        return await waited(_patiently, self._connection, fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """Tell whether SQLite refused because another connection holds the lock."""
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or (
        "database is locked" in str(error)
    )


def _patiently(
    connection: sqlite3.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """Call `fn` with SQLite's busy timeout on, on the worker thread."""
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        return fn(*args, **kwargs)
    finally:
        connection.execute("PRAGMA busy_timeout=0")


def _connect_inline(path: str | None) -> Callable[..., Any]:
    """Return the engine's `async_creator`: an `InlineConnection` to the SQLite file."""

    async def connect(*_args: Any, **_kwargs: Any) -> InlineConnection:
        def connector() -> sqlite3.Connection:
            # Made on the worker thread, used on the loop's.
            return sqlite3.connect(path or ":memory:", timeout=0, check_same_thread=False)

        connection = InlineConnection(connector, iter_chunk_size=64)
        connection._thread.daemon = True  # a connection never closed must not hold up exit
        await connection
        return connection

    return connect


BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(
    engine: Engine, synchronous: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> None:
    """Use WAL, a busy timeout and BEGIN IMMEDIATE, because SQLite ignores FOR UPDATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A write lock from the first statement: two read-then-write transactions can
        # otherwise deadlock on the upgrade, and conditional UPDATEs must not interleave.
        # Straight to the driver: through the engine's execution path a BEGIN costs as
        # much as a query, and every unit of work begins with one.
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("BEGIN IMMEDIATE")
        finally:
            cursor.close()


def _attach_counter(engine: Engine, counter: StatementCounter) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter.record(statement)
