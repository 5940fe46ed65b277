"""The trust pages in a real browser: the seller reads its score and sees its history
drawn by the chart library; a buyer sees the tier and the badge before buying."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from laotie.sim.catalogue import OPERATOR, TEA_HOUSE
from tests.browser.pages import demo_server, signed_in

pytestmark = pytest.mark.browser

WIDE = {"width": 1200, "height": 1400}


async def test_the_seller_reads_its_score_and_its_history_drawn(
    browser: Browser, migrated_sqlite: Path, tmp_path: Path
) -> None:
    emails = [TEA_HOUSE.seller.email, OPERATOR.email]
    async with demo_server(migrated_sqlite, tmp_path, emails) as base:
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
