"""Browser fixtures: Playwright driving the system's Chromium, and a real server to browse.

Every test under tests/browser/ is marked `browser`: it runs in the browser suite
(`scripts/test browser`) and not in the database suites. Browser tests are async
(Playwright's async API), like the rest of the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from laotie.bench.common import free_port, wait_until_healthy
from laotie.db.migrate import upgrade

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

HERE = Path(__file__).parent
# The distribution's Chromium, never a downloaded one; these flags keep it quiet and
# able to run as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-gpu",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder `browser`, before `-m` selects."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _chromium() -> str | None:
    candidates = [os.environ.get("LAOTIE_TEST_CHROMIUM"), "/usr/bin/chromium"]
    candidates.append(shutil.which("chromium"))
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


# The async API, one browser per test: the sync API marks an event loop as running in
# the main thread for as long as it lives, which breaks every later asyncio.run().
@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium, closed after the test."""
    executable = _chromium()
    if executable is None:
        pytest.skip("chromium not found (set LAOTIE_TEST_CHROMIUM or install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a fresh browser context: no cookies or storage from other tests."""
    context = await browser.new_context()
    yield await context.new_page()
    await context.close()


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


@pytest.fixture
def live_server(migrated_sqlite: Path, tmp_path: Path) -> Iterator[str]:
    """Run `laotie serve` on a free port against a fresh migrated database; yield its URL."""
    database = tmp_path / "laotie.db"
    shutil.copyfile(migrated_sqlite, database)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        LAOTIE_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        LAOTIE_SECRET_KEY="test-secret-key-not-for-production",
        LAOTIE_PAYMENT_WEBHOOK_SECRET="test-webhook-secret",
        LAOTIE_PUBLIC_URL=base_url,
    )
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [_laotie(), "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    try:
        wait_until_healthy(base_url, server, log)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
