"""Helpers shared by the browser tests."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from laotie.bench.common import free_port
from laotie.core.clock import SystemClock
from laotie.core.context import unit_of_work
from laotie.db.engine import make_database
from laotie.sim.seed import seed_demo
from tests.conftest import settings_for
from tests.factories import PASSWORD
from tests.servers import serving

TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 900}
# Assertions wait as long as actions: on a loaded machine a form's redirect can take
# longer than `expect`'s own five seconds, which fails a test that is right.
expect.set_options(timeout=TIMEOUT_MS)


async def signed_in(
    browser: Browser, base_url: str, email: str, viewport: dict[str, int] | None = None
) -> Page:
    """Open a fresh browser context and sign in through the form."""
    context = await browser.new_context(base_url=base_url, viewport=viewport or DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".flash")).to_contain_text("Signed in")
    return page


@asynccontextmanager
async def demo_server(
    migrated: Path, folder: Path, emails: list[str], *, history: bool = True
) -> AsyncIterator[str]:
    """Serve the demo world from a copy of a migrated database; yield its URL.

    The demo users named sign in with the tests' password; `history` adds the shops' past.
    """
    database = folder / "laotie.db"
    shutil.copyfile(migrated, database)
    settings = settings_for(f"sqlite+aiosqlite:///{database}")
    db = make_database(settings)
    try:
        async with unit_of_work(db, settings, SystemClock()) as ctx:
            await seed_demo(ctx, dict.fromkeys(emails, PASSWORD), history=history)
    finally:
        await db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(database, port, base, folder / "server.log"):
        yield base
