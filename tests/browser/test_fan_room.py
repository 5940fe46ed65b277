"""A fan in the room: joins the anchor's fan group, claims its coupon, buys at the fan price
with the coupon and pays without leaving, and chats wearing the fan badge."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser.pages import signed_in
from tests.factories import ADDRESS, PASSWORD

pytestmark = pytest.mark.browser

TEAPOT = "Yixing clay teapot"


async def _bearer(api: httpx.AsyncClient, email: str) -> dict[str, str]:
    token = await api.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['token']}"}


async def _ok(answer: httpx.Response, status: int = 201) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


async def _show_with_fan_terms(base_url: str) -> tuple[str, str]:
    """An anchor's live show of a teapot at ¥168, ¥150 for its fans, and ¥10 fan coupons;
    return the show's id and a buyer's email."""
    tag = uuid.uuid4().hex[:6]
    anchor, buyer = f"anchor-{tag}@example.com", f"fan-{tag}@example.com"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        for email, name, roles in [
            (anchor, "Wang", ["seller", "anchor"]),
            (buyer, "Li", ["buyer"]),
        ]:
            await _ok(
                await api.post(
                    "/api/auth/sign-up",
                    json={"email": email, "password": PASSWORD, "name": name, "roles": roles},
                )
            )
        await _ok(await api.post("/api/addresses", json=ADDRESS, headers=await _bearer(api, buyer)))
        headers = await _bearer(api, anchor)
        shop = await _ok(await api.post("/api/shops", json={"name": f"Tea {tag}"}, headers=headers))
        product = await _ok(
            await api.post(
                f"/api/shops/{shop['id']}/products",
                json={
                    "title": TEAPOT,
                    "category": "home",
                    "skus": [{"attributes": {}, "price_minor": 16_800, "stock": 12}],
                },
                headers=headers,
            )
        )
        session = await _ok(
            await api.post(
                "/api/live/sessions",
                json={
                    "shop_id": shop["id"],
                    "title": "Fans' night",
                    "scheduled_at": "2030-01-01T12:00:00Z",
                    "product_ids": [product["id"]],
                },
                headers=headers,
            )
        )
        await _ok(await api.post(f"/api/live/sessions/{session['id']}/start", headers=headers), 200)
        await _ok(
            await api.put(
                f"/api/live/sessions/{session['id']}/fan-prices/{product['skus'][0]['id']}",
                json={"price_minor": 15_000},
                headers=headers,
            ),
            200,
        )
        await _ok(
            await api.post(
                "/api/coupons",
                json={
                    "shop_id": shop["id"],
                    "title": "Fans' ¥10",
                    "amount_off_minor": 1_000,
                    "quantity": 5,
                    "expires_at": "2099-01-01T00:00:00Z",
                },
                headers=headers,
            )
        )
    return str(session["id"]), buyer


async def test_a_fan_buys_at_the_fan_price_with_a_coupon_and_chats_with_the_badge(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    session_id, buyer = await _show_with_fan_terms(live_server)
    viewer = await signed_in(browser, live_server, buyer)
    await viewer.goto(f"/live/{session_id}")
    await viewer.get_by_role("button", name="Join the fan group").click()
    await expect(viewer.locator(".flash")).to_contain_text("level 1 fan")
    await expect(viewer.get_by_test_id("my-fan-level")).to_have_text("Lv 1")

    await viewer.get_by_role("button", name=re.compile("小黄车")).click()
    drawer = viewer.get_by_test_id("cart-drawer")
    coupons = drawer.get_by_test_id("fan-coupons")
    await expect(coupons).to_contain_text("Fans' ¥10")
    await coupons.get_by_role("button", name="Claim").click()
    await expect(coupons).to_be_hidden()  # nothing left to claim
    row = drawer.locator(".drawer-item", has_text=TEAPOT)
    fan_price = row.locator(".fan-price")
    await expect(fan_price).to_contain_text("Fan price ¥150.00")
    await expect(fan_price.locator("input")).to_be_checked()
    choice = row.locator("select.coupon-choice")
    await expect(choice.locator("option").nth(1)).to_contain_text("Fans' ¥10")
    await choice.select_option(index=1)
    await viewer.screenshot(path=str(tmp_path / "fan-cart.png"))
    await row.get_by_role("button", name="Buy").click()

    paying = viewer.get_by_test_id("pay-drawer")
    await expect(paying).to_be_visible()
    pay_page = viewer.frame_locator("[data-role=pay-frame]")
    await expect(pay_page.locator("#amount")).to_have_text("¥140.00")  # 150 − 10, free freight
    await pay_page.get_by_role("button", name="Pay").click()
    await expect(viewer.get_by_test_id("room-paid")).to_contain_text("Paid")
    orders = await (await viewer.request.get(f"{live_server}/api/orders")).json()
    assert [(o["total_minor"], o["discount_minor"]) for o in orders] == [(14_000, 1_000)]
    assert orders[0]["lines"][0]["unit_price_minor"] == 15_000

    await drawer.get_by_role("button", name="Close").click()
    await viewer.get_by_label("Chat message").fill("好茶!")
    await viewer.get_by_role("button", name="Send").click()
    line = viewer.get_by_test_id("chat").locator(".chat-line", has_text="好茶")
    await expect(line.locator(".fan-badge")).to_have_text("Lv 1")
    await viewer.screenshot(path=str(tmp_path / "fan-room.png"))
    print(f"screenshots: {tmp_path}")
