"""Bought reach in a real browser: the anchor promotes its show from the console and finds
the promotion in the back office's report."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from laotie.core.clock import SystemClock
from laotie.core.context import unit_of_work
from laotie.db.engine import make_database
from laotie.orders import ledger
from tests.browser.pages import signed_in
from tests.conftest import settings_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


async def _ok(answer: httpx.Response, status: int = 201) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


async def _live_show(base_url: str) -> tuple[str, str, str]:
    """An anchor's shop and live show; return the anchor's email, the shop and the show."""
    email = f"anchor-{uuid.uuid4().hex[:6]}@example.com"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        await _ok(
            await api.post(
                "/api/auth/sign-up",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "name": "Wang",
                    "roles": ["seller", "anchor"],
                },
            )
        )
        token = await _ok(
            await api.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
        )
        headers = {"Authorization": f"Bearer {token['token']}"}
        shop = await _ok(
            await api.post("/api/shops", json={"name": "Wang's teas"}, headers=headers)
        )
        session = await _ok(
            await api.post(
                "/api/live/sessions",
                json={
                    "shop_id": shop["id"],
                    "title": "Spring tea tasting",
                    "scheduled_at": "2030-01-01T12:00:00Z",
                },
                headers=headers,
            )
        )
        await _ok(await api.post(f"/api/live/sessions/{session['id']}/start", headers=headers), 200)
    return email, str(shop["id"]), str(session["id"])


async def _fund(database: Path, shop_id: str, amount: int) -> None:
    """Release money to the shop in the server's database, as completed orders would."""
    settings = settings_for(f"sqlite+aiosqlite:///{database}")
    db = make_database(settings)
    try:
        async with unit_of_work(db, settings, SystemClock()) as ctx:
            legs = [(ledger.ESCROW, amount), (ledger.seller_account(shop_id), -amount)]
            await ledger.post(ctx, "release", None, "CNY", legs)
    finally:
        await db.dispose()


async def test_the_anchor_promotes_its_show_and_reads_the_report(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    email, shop_id, session_id = await _live_show(live_server)
    await _fund(tmp_path / "laotie.db", shop_id, 80_000)
    page = await signed_in(browser, live_server, email)
    await page.goto(f"/live/{session_id}/console")
    panel = page.get_by_test_id("console-promotion")
    await expect(panel).to_contain_text("Balance to spend: ¥800.00")
    form = panel.get_by_test_id("promote-form")
    await form.get_by_label("Pricing").select_option("cpe")
    await form.get_by_label("Price (CNY)").fill("2.50")
    await form.get_by_label("Budget (CNY)").fill("1000.00")
    await form.get_by_role("button", name="Promote this show").click()
    await expect(page.locator(".flash.error")).to_have_text(
        "the released balance, ¥800.00, does not cover ¥1,000.00"
    )
    form = page.get_by_test_id("console-promotion").get_by_test_id("promote-form")
    await form.get_by_label("Pricing").select_option("cpe")
    await form.get_by_label("Price (CNY)").fill("2.50")
    await form.get_by_label("Budget (CNY)").fill("300.00")
    await form.get_by_role("button", name="Promote this show").click()
    await expect(page.locator(".flash.ok")).to_contain_text("Promotion bought: ¥300.00")
    await expect(page.get_by_test_id("console-promotion")).to_contain_text("running")

    await page.get_by_role("link", name="What your promotions bought").click()
    report = page.get_by_test_id("promotion-report")
    row = report.locator("tbody tr", has_text="Spring tea tasting")
    await expect(row).to_contain_text("running")
    await expect(row).to_contain_text("¥2.50")
    await expect(row).to_contain_text("per entry")
    await expect(row).to_contain_text("of ¥300.00")
    await expect(page.get_by_test_id("available")).to_have_text("¥500.00")
    await page.set_viewport_size({"width": 1280, "height": 1100})
    await page.screenshot(path=str(tmp_path / "promotions.png"), full_page=True)
    await row.get_by_role("button", name="Stop").click()
    await expect(page.locator(".flash.ok")).to_contain_text("¥300.00 back in your balance")
    await expect(report.locator("tbody tr", has_text="Spring tea tasting")).to_contain_text(
        "stopped by you"
    )
    await page.context.close()
