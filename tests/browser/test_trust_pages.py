"""The trust pages in a real browser: the seller reads its score and sees its history
drawn by the chart library; a buyer sees the tier and the badge before buying."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from laotie.bench.common import free_port
from laotie.core.clock import SystemClock
from laotie.core.context import unit_of_work
from laotie.db.engine import make_database
from laotie.sim.catalogue import OPERATOR, TEA_HOUSE
from laotie.sim.seed import seed_demo
from tests.browser.pages import signed_in
from tests.conftest import settings_for
from tests.factories import PASSWORD
from tests.servers import serving

pytestmark = pytest.mark.browser

WIDE = {"width": 1200, "height": 1400}


async def _seed_demo(database: Path) -> None:
    """Seed the demo world, its shops' trust history included, into a database file."""
    settings = settings_for(f"sqlite+aiosqlite:///{database}")
    db = make_database(settings)
    passwords = {TEA_HOUSE.seller.email: PASSWORD, OPERATOR.email: PASSWORD}
    try:
        async with unit_of_work(db, settings, SystemClock()) as ctx:
            await seed_demo(ctx, passwords)
    finally:
        await db.dispose()


async def test_the_seller_reads_its_score_and_its_history_drawn(
    browser: Browser, migrated_sqlite: Path, tmp_path: Path
) -> None:
    database = tmp_path / "laotie.db"
    shutil.copyfile(migrated_sqlite, database)
    await _seed_demo(database)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(database, port, base, tmp_path / "server.log"):
        page = await signed_in(browser, base, TEA_HOUSE.seller.email, WIDE)
        await page.goto("/seller/trust")
        await expect(page.get_by_role("heading", name="Your shop's trust")).to_be_visible()
        chart = page.locator("#score-chart")
        await expect(chart).to_have_attribute("data-drawn", "true")
        await expect(chart).to_be_visible()
        assert (await chart.bounding_box() or {}).get("height", 0) > 100
        await expect(page.locator("[data-testid=trust-score] h2")).to_contain_text("excellent")
        await expect(page.get_by_test_id("trust-hints")).to_contain_text("five-star")
        await page.screenshot(path=str(tmp_path / "seller-trust.png"), full_page=True)
        shop_link = page.get_by_role("link", name="View shop")
        await shop_link.click()
        line = page.get_by_test_id("trust-line")
        await expect(line).to_contain_text("excellent")
        await expect(line).to_contain_text("信任购")
        await page.context.close()

        operator = await signed_in(browser, base, OPERATOR.email, WIDE)
        await operator.goto("/operator")
        await expect(operator.get_by_role("heading", name="Brushing flags")).to_be_visible()
        await operator.context.close()
