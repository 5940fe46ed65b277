"""Fresh test databases outside fixtures, made the way tests/conftest.py makes them.

A Hypothesis state machine needs a new database per example, which a function-scoped
fixture cannot give; these helpers copy the session's SQLite template file or clone its
PostgreSQL template database.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from laotie.settings import Settings

BACKEND = os.environ.get("LAOTIE_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get("LAOTIE_TEST_POSTGRES_URL", "")
TEST_ORIGIN = "http://testserver"


def settings_for(database_url: str, **overrides: object) -> Settings:
    """Return the settings of a test deployment (those of conftest's `settings` fixture)."""
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": "test-secret-key-not-for-production",
        "payment_webhook_secret": "test-webhook-secret",
        "public_url": TEST_ORIGIN,
        "run_jobs": False,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1_024,
        "sign_up_rate_per_minute": 1_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def copy_sqlite(template: Path, directory: Path) -> str:
    """Copy the SQLite template into a new file and return its URL."""
    path = directory / f"laotie_{uuid.uuid4().hex[:10]}.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


def _server_url(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


async def _admin(statement: str) -> None:
    engine = create_async_engine(_server_url("postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


async def clone_postgres(template: str) -> str:
    """Create a database from the PostgreSQL template and return its URL."""
    name = f"laotie_f_{uuid.uuid4().hex[:10]}"
    await _admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    return _server_url(name)


async def drop_postgres(url: str) -> None:
    """Drop a database made by clone_postgres."""
    name = url.rsplit("/", 1)[1]
    await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
