"""Browser fixtures: Playwright driving the system's Chromium, and a real server to browse.

Every test under tests/browser/ is marked `browser`: it runs in the browser suite
(`scripts/test browser`) and not in the database suites. Browser tests are async
(Playwright's async API), like the rest of the suite.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.servers import live_server, migrated_sqlite

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


__all__ = ["browser", "live_server", "migrated_sqlite", "page"]
