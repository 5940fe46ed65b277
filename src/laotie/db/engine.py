"""Engine construction: SQLite in WAL mode with immediate transactions, or PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
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

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


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
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=20, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.is_sqlite:
        _configure_sqlite(engine)
    database = Database(engine, async_sessionmaker(engine, expire_on_commit=False))
    if settings.is_sqlite:
        database.write_lock = asyncio.Lock()
    _attach_counter(engine, database.counter)
    return database


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Use WAL, a busy timeout and BEGIN IMMEDIATE, because SQLite ignores FOR UPDATE."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A write lock from the first statement: two read-then-write transactions can
        # otherwise deadlock on the upgrade, and conditional UPDATEs must not interleave.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _attach_counter(engine: AsyncEngine, counter: StatementCounter) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter.record(statement)
