"""An anchor without a shop, in a real browser: it schedules a show of a pool product it is
approved to sell, goes live from its console, a viewer buys the product from the room's
drawer, which says which shop sells it, and the anchor reads its commission."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser.pages import DESKTOP, signed_in
from tests.factories import ADDRESS, PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PAID_MS = 60_000  # the room polls a payment for up to a minute


async def _sign_up(api: httpx.AsyncClient, name: str, role: str) -> tuple[str, dict[str, str]]:
    """Sign a user up; return its email and bearer headers."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
    made = await api.post(
        "/api/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": name, "roles": [role]},
    )
    assert made.status_code == 201, made.text
    token = await api.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
    return email, {"Authorization": f"Bearer {token.json()['token']}"}


async def _pool_world(base_url: str) -> tuple[str, str, str]:
    """A shop pools a teapot with its rule approving anchors; an anchor without a shop applies.
    Return the anchor's and a buyer's emails, and the teapot's title."""
    title = "Yixing clay teapot"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        _, seller = await _sign_up(api, "Chen", "seller")
        anchor_email, anchor = await _sign_up(api, "Mei", "anchor")
        buyer_email, buyer = await _sign_up(api, "Li", "buyer")
        assert (await api.post("/api/addresses", json=ADDRESS, headers=buyer)).status_code == 201
        shop = await api.post(
            "/api/shops", json={"name": f"Tea {uuid.uuid4().hex[:6]}"}, headers=seller
        )
        product = await api.post(
            f"/api/shops/{shop.json()['id']}/products",
            json={
                "title": title,
                "description": "Thrown by hand.",
                "category": "home",
                "skus": [{"attributes": {}, "price_minor": 20_000, "stock": 9}],
            },
            headers=seller,
        )
        assert product.status_code == 201, product.text
        offer = await api.put(
            f"/api/shops/{shop.json()['id']}/pool/{product.json()['id']}",
            json={"commission_bps": 1_500, "auto_approve": True},
            headers=seller,
        )
        assert offer.status_code == 200, offer.text
        applied = await api.post(
            f"/api/pool/offers/{offer.json()['id']}/applications", json={}, headers=anchor
        )
        assert applied.json()["status"] == "approved", applied.text
    return anchor_email, buyer_email, title


async def test_an_anchor_without_a_shop_sells_a_pool_product_live(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    anchor_email, buyer_email, title = await _pool_world(live_server)
    anchor = await signed_in(browser, live_server, anchor_email, DESKTOP)

    await anchor.get_by_role("link", name="Shows", exact=True).click()
    await anchor.get_by_label("Title").fill("Mei's picks")
    await anchor.get_by_label(title).check()
    await anchor.get_by_role("button", name="Schedule").click()
    await expect(anchor).to_have_url(re.compile(r"/live/liv_[^/]+/console$"))
    session_id = anchor.url.split("/live/")[1].split("/")[0]
    await expect(anchor.get_by_test_id("sold-by")).to_contain_text("sold by Tea")
    await anchor.get_by_role("button", name="Go live").click()
    await expect(anchor.get_by_test_id("console-status")).to_have_text("LIVE")
    await anchor.screenshot(path=str(tmp_path / "shopless-console.png"), full_page=True)

    viewer = await signed_in(browser, live_server, buyer_email, PHONE)
    await viewer.goto(f"/live/{session_id}")
    await expect(viewer.get_by_test_id("trust-line")).to_contain_text("the anchor's reputation")
    await viewer.get_by_role("button", name=re.compile("小黄车")).click()
    drawer = viewer.get_by_test_id("cart-drawer")
    await expect(drawer.get_by_test_id("drawer-seller")).to_contain_text("sold by Tea")
    await viewer.screenshot(path=str(tmp_path / "shopless-drawer.png"))
    await drawer.get_by_role("button", name="Buy").click()
    await expect(viewer.get_by_test_id("pay-drawer")).to_be_visible()
    await viewer.frame_locator("[data-role=pay-frame]").get_by_role("button", name="Pay").click()
    await expect(viewer.get_by_test_id("room-paid")).to_contain_text("Paid", timeout=PAID_MS)

    await anchor.get_by_role("link", name="Commissions").click()
    await expect(anchor.get_by_test_id("pending")).to_have_text("¥30.00")  # 15% of ¥200
    await expect(anchor.get_by_test_id("commission-lines")).to_contain_text(title)
    await anchor.screenshot(path=str(tmp_path / "shopless-commissions.png"), full_page=True)
    await viewer.context.close()
    await anchor.context.close()
    print(f"screenshots: {tmp_path}")
