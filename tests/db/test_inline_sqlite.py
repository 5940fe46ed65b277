"""SQLite calls run on the loop's thread, and a write lock held elsewhere is waited for off it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from laotie.db.engine import make_database
from laotie.settings import Settings


def _settings(path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{path}", run_jobs=False)


async def test_a_transaction_waits_for_another_process_lock_without_stalling_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE t (n INTEGER)")
    database = make_database(_settings(path))
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(tick())
        started = time.monotonic()

        async def write() -> None:
            async with database.engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done()  # it waits for the lock rather than failing
        ticks_while_waiting = ticks
        holder.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
        ticking.cancel()
        assert time.monotonic() - started >= 0.3
        assert ticks_while_waiting >= 5  # the loop ran on while the writer waited
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1
            # The wait was the worker's: the loop's calls go on refusing at once.
            busy = await connection.execute(text("PRAGMA busy_timeout"))
            assert busy.scalar() == 0
    finally:
        holder.close()
        await database.dispose()


async def test_an_error_that_is_not_the_lock_is_raised_at_once(tmp_path: Path) -> None:
    database = make_database(_settings(tmp_path / "plain.db"))
    try:
        async with database.engine.connect() as connection:
            with pytest.raises(Exception, match="no such table"):
                await connection.execute(text("SELECT * FROM missing"))
    finally:
        await database.dispose()
