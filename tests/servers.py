"""A real `laotie serve` process on a free port, for tests that need one (browser, sockets)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from laotie.bench.common import free_port, stop_process, wait_until_healthy
from laotie.db.migrate import upgrade


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file once; each live server starts from a copy."""
    path = tmp_path_factory.mktemp("migrated") / "laotie.db"
    # In a thread: Alembic runs its own event loop, and a test's loop may be running here.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, f"sqlite+aiosqlite:///{path}").result()
    return path


def _laotie() -> str:
    """The `laotie` command of this environment."""
    beside_python = Path(sys.executable).parent / "laotie"
    return str(beside_python) if beside_python.exists() else shutil.which("laotie") or "laotie"


@contextlib.contextmanager
def serving(
    database: Path, port: int, public_url: str, log: Path, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `laotie serve` on a port against a database until the block ends."""
    env = dict(
        os.environ,
        LAOTIE_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        LAOTIE_SECRET_KEY="test-secret-key-not-for-production",
        LAOTIE_PAYMENT_WEBHOOK_SECRET="test-webhook-secret",
        LAOTIE_PUBLIC_URL=public_url,
        LAOTIE_SIGN_UP_RATE_PER_MINUTE="1000",
        **settings,
    )
    with log.open("ab") as out:
        server = subprocess.Popen(
            [_laotie(), "serve", "--port", str(port)],
            cwd=database.parent,
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server, log)
        yield server
    finally:
        stop_process(server)


@pytest.fixture
def live_server(migrated_sqlite: Path, tmp_path: Path) -> Iterator[str]:
    """Run `laotie serve` on a free port against a fresh migrated database; yield its URL."""
    database = tmp_path / "laotie.db"
    shutil.copyfile(migrated_sqlite, database)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with serving(database, port, base_url, tmp_path / "server.log"):
        yield base_url
