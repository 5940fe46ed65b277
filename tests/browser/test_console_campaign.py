"""The anchor opens a C2M campaign from the live console: the panel shows what the API
refuses, the campaign's card comes to the panel and the room, and moves as a buyer commits."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from laotie.sim.catalogue import BUYERS, TEA_HOUSE
from tests.browser.pages import demo_server, signed_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

WIDE = {"width": 1280, "height": 1600}


async def _go_live(anchor: Page) -> str:
    """Schedule a show from the back office and go live from its console; return its id."""
    await anchor.goto("/seller/live")
    await anchor.get_by_label("Title").fill("Kiln night")
    await anchor.get_by_role("button", name="Schedule").click()
    await expect(anchor).to_have_url(re.compile(r"/live/liv_[^/]+/console$"))
    panel = anchor.get_by_test_id("console-campaigns")
    await expect(panel.get_by_role("button", name="Open the campaign")).to_be_disabled()
    await expect(panel).to_contain_text("Go live to open a campaign")
    await anchor.get_by_role("button", name="Go live").click()
    await expect(anchor.get_by_test_id("console-status")).to_have_text("LIVE")
    return anchor.url.split("/live/")[1].split("/")[0]


async def _commit_and_pay(base_url: str, campaign_id: str) -> None:
    """A demo buyer commits to a unit through the API and pays its deposit."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        token = await api.post(
            "/api/auth/tokens", json={"email": BUYERS[0].email, "password": PASSWORD}
        )
        made = await api.post(
            f"/api/campaigns/{campaign_id}/commitments",
            json={"variant": "purple/200 ml", "quantity": 1},
            headers={
                "Authorization": f"Bearer {token.json()['token']}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
        assert made.status_code == 201, made.text
        paid = await api.post(made.json()["pay_url"], data={"action": "pay"})
        assert paid.status_code == 303, paid.text


async def test_the_anchor_opens_a_campaign_from_the_console_and_the_room_shows_it(
    browser: Browser, migrated_sqlite: Path, tmp_path: Path
) -> None:
    emails = [TEA_HOUSE.seller.email, BUYERS[0].email]
    async with demo_server(migrated_sqlite, tmp_path, emails, history=False) as base:
        anchor = await signed_in(browser, base, TEA_HOUSE.seller.email, WIDE)
        session_id = await _go_live(anchor)
        panel = anchor.get_by_test_id("console-campaigns")
        await expect(panel.get_by_label("Factory")).to_contain_text("Yixing Clay Works")
        await expect(panel).to_contain_text("No campaign in this show yet")

        await panel.get_by_label("Title").fill("Gu's zisha teapot, spring kiln")
        await panel.get_by_label("Options").fill("clay: purple, red; size: 200 ml, 300 ml")
        await panel.get_by_label("Price tiers").fill("thirty: 398.00")
        await panel.get_by_role("button", name="Open the campaign").click()
        error = panel.get_by_test_id("console-campaign-error")
        await expect(error).to_contain_text('not "thirty: 398.00"')

        # 1,000 units × ¥39.80 is more than the tea house's ¥5,000.00 deposit can stand behind.
        await panel.get_by_label("Price tiers").fill("30: 398.00; 80: 328.00")
        await panel.get_by_label("At most").fill("1000")
        await expect(panel.get_by_test_id("console-campaign-exposure")).to_contain_text(
            "¥39,800.00 of the ¥5,000.00 free"
        )
        await panel.get_by_role("button", name="Open the campaign").click()
        await expect(error).to_contain_text("security deposit cannot stand behind")
        await expect(panel.get_by_test_id("campaign-card")).to_have_count(0)

        await panel.get_by_label("At most").fill("100")
        await panel.get_by_label("Closes in", exact=True).fill("45")
        await panel.get_by_role("button", name="Open the campaign").click()
        await expect(anchor.locator('[data-role="notice"]')).to_contain_text("campaign is open")
        await expect(error).to_be_hidden()
        card = panel.get_by_test_id("console-campaign")
        await expect(card).to_have_count(1)
        await expect(card).to_contain_text("Gu's zisha teapot")
        await expect(card).to_contain_text("0 of 30 committed")
        await expect(card).to_contain_text(re.compile(r"closes in 4\d:\d\d"))
        await expect(panel.get_by_test_id("console-free-deposit")).to_have_text("¥1,020.00")

        viewer_context = await browser.new_context(base_url=base, viewport=WIDE)
        viewer = await viewer_context.new_page()
        await viewer.goto(f"/live/{session_id}")
        room_card = viewer.get_by_test_id("campaign-card")
        await expect(room_card).to_contain_text("Gu's zisha teapot")
        await expect(room_card.get_by_role("link", name="Commit")).to_be_visible()

        # A buyer commits: both the console and the room move, through the room's frames.
        campaign_id = await card.get_attribute("data-campaign-id")
        assert campaign_id is not None
        await _commit_and_pay(base, campaign_id)
        await expect(card).to_contain_text("1 of 30 committed")
        await expect(room_card).to_contain_text("1 of 30 committed")
        await anchor.screenshot(path=str(tmp_path / "console-campaign.png"), full_page=True)
        await viewer_context.close()
        await anchor.context.close()
