"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from laotie.db.migrate import alembic_config, upgrade
from laotie.models import metadata
from tests.conftest import BACKEND, POSTGRES_URL, _pg_execute

# SQLite always; PostgreSQL too when the run targets it.
BACKENDS = ["sqlite", "postgres"] if BACKEND == "postgres" else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of a database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"laotie_mig_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_execute(POSTGRES_URL, f"CREATE DATABASE {name}"))
    yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    asyncio.run(_pg_execute(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _inspect(url: str, look: Callable[[Connection], Any]) -> Any:
    """Run a synchronous look at the database through the async engine."""

    async def run() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _differences(connection: Connection) -> list[Any]:
    """Return what autogenerate would write to turn the database into the models."""
    # The same options as migrations/env.py, so "no difference" means an empty revision.
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


# The tests are synchronous on purpose: Alembic's env.py runs its own event loop.


def test_upgrading_a_fresh_database_matches_the_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    differences = _inspect(empty_database_url, _differences)
    assert not differences, (
        "the models and the migrations disagree; write a revision "
        "(laotie.db.migrate.make_revision). Differences:\n"
        + "\n".join(repr(difference) for difference in differences)
    )


def test_downgrade_to_base_then_upgrade_rebuilds_every_table(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgraded = _inspect(empty_database_url, _tables)
    command.downgrade(alembic_config(empty_database_url), "base")
    assert _inspect(empty_database_url, _tables) == {"alembic_version"}
    upgrade(empty_database_url)
    assert _inspect(empty_database_url, _tables) == upgraded


def _seed_ledger_before_0005(connection: Connection) -> None:
    connection.exec_driver_sql(
        "INSERT INTO ledger_transactions (id, kind, order_id, created_at) "
        "VALUES ('txn_a', 'capture', 'ord_a', '2026-12-01 10:00:00.000000+00:00')"
    )
    connection.exec_driver_sql(
        "INSERT INTO ledger_entries (txn_id, account, amount_minor, currency) "
        "VALUES ('txn_a', 'provider:sandbox', 500, 'CNY'), ('txn_a', 'escrow', -500, 'CNY')"
    )


def _ledger_rows(connection: Connection) -> list[tuple[Any, ...]]:
    rows = connection.exec_driver_sql(
        "SELECT txn_id, kind, order_id, account, amount_minor FROM ledger_entries ORDER BY id"
    )
    return [tuple(row) for row in rows]


def test_the_ledger_legs_keep_their_transaction_through_the_upgrade_and_back(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0004_tokens")
    _inspect(empty_database_url, lambda c: (_seed_ledger_before_0005(c), c.commit()))
    command.upgrade(config, "0005_ledger_legs")
    assert _inspect(empty_database_url, _ledger_rows) == [
        ("txn_a", "capture", "ord_a", "provider:sandbox", 500),
        ("txn_a", "capture", "ord_a", "escrow", -500),
    ]
    assert "ledger_transactions" not in _inspect(empty_database_url, _tables)
    command.downgrade(config, "0004_tokens")
    back = _inspect(
        empty_database_url,
        lambda c: list(c.exec_driver_sql("SELECT id, kind, order_id FROM ledger_transactions")),
    )
    assert [tuple(row) for row in back] == [("txn_a", "capture", "ord_a")]
