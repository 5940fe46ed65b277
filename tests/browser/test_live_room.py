"""A live show in two browsers: the anchor runs it from the console, a viewer watches and buys.

The seller, its shop and products and the buyer are made through the HTTP API; the show
itself is scheduled, started, filled, pinned and put on flash sale through the pages.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Dialog, Route, expect

from tests.browser.pages import signed_in
from tests.factories import ADDRESS, PASSWORD

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
# The room polls a payment for up to a minute: its webhook may be delivered on a retry.
PAID_MS = 60_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
XSS = "<img src=x onerror=alert(1)>"


@dataclass
class Seeded:
    """What the API made before the browsers start."""

    anchor_email: str
    buyer_email: str
    teapot: str
    cups: str
    shop_id: str
    product_ids: list[str]


async def _seed(base_url: str) -> Seeded:
    """Sign up an anchor (a seller) and a buyer; open a shop with a teapot and cups."""
    tag = uuid.uuid4().hex[:6]
    anchor_email, buyer_email = f"anchor-{tag}@example.com", f"viewer-{tag}@example.com"
    teapot, cups = "Yixing clay teapot", "Celadon tea cups (set of 4)"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        for email, name, role in [(anchor_email, "Wang", "seller"), (buyer_email, "Li", "buyer")]:
            answer = await api.post(
                "/api/auth/sign-up",
                json={"email": email, "password": PASSWORD, "name": name, "roles": [role]},
            )
            assert answer.status_code == 201, answer.text
        await _add_address(api, buyer_email)
        token = await api.post(
            "/api/auth/tokens", json={"email": anchor_email, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        shop = await api.post("/api/shops", json={"name": f"Old Iron Tea {tag}"}, headers=headers)
        assert shop.status_code == 201, shop.text
        product_ids = []
        for title, price in [(teapot, 16_800), (cups, 8_800)]:
            made = await api.post(
                f"/api/shops/{shop.json()['id']}/products",
                json={
                    "title": title,
                    "description": "Shown live.",
                    "category": "home",
                    "skus": [{"attributes": {}, "price_minor": price, "stock": 12}],
                },
                headers=headers,
            )
            assert made.status_code == 201, made.text
            product_ids.append(made.json()["id"])
    return Seeded(anchor_email, buyer_email, teapot, cups, shop.json()["id"], product_ids)


async def test_the_consoles_buttons_wait_for_its_script(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    # "Go live" clicked while the console's module was still loading did nothing, and the
    # console kept saying SCHEDULED: its buttons now come disabled until the script runs.
    seeded = await _seed(live_server)
    anchor = await signed_in(browser, live_server, seeded.anchor_email, DESKTOP)
    await anchor.get_by_role("link", name="Seller back office").click()
    await anchor.get_by_role("link", name="Live", exact=True).last.click()
    await anchor.get_by_label("Title").fill("Slow network show")
    await anchor.get_by_role("button", name="Schedule").click()
    await expect(anchor).to_have_url(re.compile(r"/live/liv_[^/]+/console$"))
    script_may_load = asyncio.Event()

    async def hold(route: Route) -> None:
        await script_may_load.wait()
        await route.continue_()

    await anchor.route("**/static/console.js", hold)
    await anchor.reload(wait_until="commit")
    go_live = anchor.get_by_role("button", name="Go live")
    await expect(go_live).to_be_disabled()
    await expect(anchor.get_by_role("button", name="Start the flash sale")).to_be_disabled()
    script_may_load.set()
    await go_live.click()
    await expect(anchor.get_by_test_id("console-status")).to_have_text("LIVE")

    # The console makes the anchor's stream key and shows it this once.
    await anchor.get_by_role("button", name="Make a stream key").click()
    await expect(anchor.get_by_test_id("new-stream-key")).to_contain_text("lt_")
    await anchor.get_by_test_id("console-video").screenshot(path=str(tmp_path / "video.png"))
    await anchor.reload()
    await expect(anchor.get_by_test_id("console-video")).to_contain_text("in force, starts lt_")
    await expect(anchor.get_by_test_id("new-stream-key")).to_be_hidden()


async def test_the_anchor_runs_a_flash_sale_and_a_viewer_buys_it_in_the_room(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    seeded = await _seed(live_server)
    anchor = await signed_in(browser, live_server, seeded.anchor_email, DESKTOP)
    dialogs: list[str] = []

    # Schedule a show from the back office; the form leads to its console.
    await anchor.get_by_role("link", name="Seller back office").click()
    await anchor.get_by_role("link", name="Live", exact=True).last.click()
    await anchor.get_by_label("Title").fill("Spring tea tasting")
    await anchor.get_by_role("button", name="Schedule").click()
    await expect(anchor).to_have_url(re.compile(r"/live/liv_[^/]+/console$"))
    session_id = anchor.url.split("/live/")[1].split("/")[0]
    await expect(anchor.get_by_test_id("console-status")).to_have_text("SCHEDULED")

    # Go live, fill the cart (cups first), pin the teapot.
    await anchor.get_by_role("button", name="Go live").click()
    await expect(anchor.get_by_test_id("console-status")).to_have_text("LIVE")
    await anchor.get_by_label(f"In the cart: {seeded.teapot}").check()
    await anchor.get_by_label(f"In the cart: {seeded.cups}").check()
    await anchor.get_by_role("button", name=f"Move {seeded.cups} up").click()
    await anchor.get_by_role("button", name="Save the cart").click()
    await expect(anchor.locator('[data-role="notice"]')).to_contain_text("cart is saved")
    await anchor.get_by_role("button", name=f"Pin {seeded.teapot}").click()
    await expect(anchor.locator(".cart-row.pinned")).to_contain_text(seeded.teapot)

    # A viewer on a phone comes in from a share and sees the pinned card.
    viewer = await signed_in(browser, live_server, seeded.buyer_email, PHONE)
    viewer.on("dialog", _recorder(dialogs))
    anchor.on("dialog", _recorder(dialogs))
    await viewer.goto(f"/live/{session_id}?src=share")
    pinned = viewer.get_by_test_id("pinned-card")
    await expect(pinned).to_be_visible()
    await expect(pinned).to_contain_text(seeded.teapot)
    await expect(pinned).to_contain_text("¥168.00")

    # The anchor starts a flash sale of the teapot; the viewer sees it start, count down, and
    # the "was" price struck through.
    teapot_sku = anchor.locator('select[name="sku_id"] option', has_text=seeded.teapot)
    await anchor.locator('[data-role="sale-form"] select[name="sku_id"]').select_option(
        await teapot_sku.get_attribute("value")
    )
    await anchor.get_by_label(re.compile("Flash price")).fill("99.00")
    await anchor.get_by_label("Units").fill("5")
    await anchor.get_by_label("Per buyer").fill("2")
    await anchor.get_by_label("Seconds").fill("600")
    await anchor.get_by_role("button", name="Start the flash sale").click()
    await expect(anchor.get_by_test_id("console-sale-left")).to_have_text("5")
    sale = viewer.get_by_test_id("sale-card")
    await expect(sale).to_contain_text("¥99.00")
    await expect(sale.locator("s")).to_have_text("¥168.00")
    await expect(viewer.get_by_test_id("sale-left")).to_have_text("5")
    countdown = viewer.get_by_test_id("sale-countdown")
    await expect(countdown).to_have_text(re.compile(r"^(09|10):\d\d$"))
    first = await countdown.text_content()
    await expect(countdown).not_to_have_text(first or "")
    await expect(viewer.get_by_test_id("online")).not_to_have_text("0")

    # Chat that looks like markup stays text for the viewer and in the console.
    await viewer.get_by_label("Chat message").fill(XSS)
    await viewer.get_by_role("button", name="Send").click()
    line = viewer.get_by_test_id("chat").locator(".chat-line").last
    await expect(line.locator(".chat-text")).to_have_text(XSS)
    assert await viewer.get_by_test_id("chat").locator("img").count() == 0
    console_line = anchor.get_by_test_id("console-chat").locator(".chat-line").last
    await expect(console_line.locator(".chat-text")).to_have_text(XSS)
    assert await anchor.get_by_test_id("console-chat").locator("img").count() == 0

    # The anchor deletes a line from the console; it leaves the viewer's chat.
    await viewer.get_by_label("Chat message").fill("buy my stuff elsewhere")
    await viewer.get_by_role("button", name="Send").click()
    spam = anchor.get_by_test_id("console-chat").locator(".chat-line", has_text="elsewhere")
    await spam.get_by_role("button", name="Delete").click()
    await expect(viewer.get_by_test_id("chat")).not_to_contain_text("elsewhere")
    await expect(viewer.get_by_test_id("chat")).to_contain_text(XSS)

    # Likes reach the room's total.
    await viewer.get_by_role("button", name="Like").click()
    await expect(anchor.get_by_test_id("counter-likes")).to_have_text("1")

    # The cart drawer lists the room's products in the anchor's order.
    await viewer.evaluate("window.scrollTo(0, 0)")
    await viewer.get_by_role("button", name=re.compile("小黄车")).click()
    drawer = viewer.get_by_test_id("cart-drawer")
    await expect(drawer.locator(".drawer-title")).to_have_text([seeded.cups, seeded.teapot])
    await viewer.screenshot(path=str(tmp_path / "room-drawer.png"))
    await drawer.get_by_role("button", name="Close").click()
    await viewer.evaluate("window.scrollTo(0, 0)")
    await viewer.screenshot(path=str(tmp_path / "room.png"))
    await anchor.evaluate("window.scrollTo(0, 0)")
    await anchor.screenshot(path=str(tmp_path / "console.png"), full_page=True)

    # Buy one teapot through the sale and pay in the room's drawer: the page stays put.
    room_url = viewer.url
    await sale.get_by_role("button", name="Grab it").click()
    paying = viewer.get_by_test_id("pay-drawer")
    await expect(paying).to_be_visible()
    pay_page = viewer.frame_locator("[data-role=pay-frame]")
    await expect(pay_page.locator("#amount")).to_have_text("¥99.00")
    await viewer.screenshot(path=str(tmp_path / "room-paying.png"))
    await pay_page.get_by_role("button", name="Pay").click()
    # The drawer waits for the payment to reach laotie through the provider's webhook.
    await expect(viewer.get_by_test_id("room-paid")).to_contain_text("Paid", timeout=PAID_MS)
    await expect(paying).to_be_hidden()
    assert viewer.url == room_url
    await expect(viewer.get_by_test_id("pinned-card")).to_contain_text(seeded.teapot)
    mine = await viewer.request.get(f"{live_server}/api/orders")
    assert [order["status"] for order in await mine.json()] == ["paid"]

    # The anchor's counters move; back in the room the viewer sees one unit fewer.
    await expect(anchor.get_by_test_id("counter-orders")).to_have_text("1")
    await expect(anchor.get_by_test_id("counter-gmv")).to_have_text("¥99.00")
    await expect(anchor.get_by_test_id("console-sale-left")).to_have_text("4")
    await viewer.goto(f"/live/{session_id}")
    await expect(viewer.get_by_test_id("pinned-card")).to_contain_text(seeded.teapot)
    await anchor.evaluate("window.scrollTo(0, 0)")
    await anchor.screenshot(path=str(tmp_path / "console-after.png"), full_page=True)
    assert dialogs == []
    print(f"screenshots: {tmp_path}")


async def _bearer(api: httpx.AsyncClient, email: str) -> dict[str, str]:
    token = await api.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['token']}"}


async def _live_show(api: httpx.AsyncClient, seeded: Seeded) -> str:
    """Schedule a show with both products in its cart, go live, and return its id."""
    headers = await _bearer(api, seeded.anchor_email)
    made = await api.post(
        "/api/live/sessions",
        json={
            "shop_id": seeded.shop_id,
            "title": "Night market",
            "scheduled_at": "2030-01-01T12:00:00Z",
            "product_ids": seeded.product_ids,
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    session_id = str(made.json()["id"])
    started = await api.post(f"/api/live/sessions/{session_id}/start", headers=headers)
    assert started.status_code == 200, started.text
    return session_id


async def test_an_anonymous_visitor_watches_and_is_asked_to_sign_in_to_buy(
    browser: Browser, live_server: str
) -> None:
    seeded = await _seed(live_server)
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as api:
        session_id = await _live_show(api, seeded)

    context = await browser.new_context(base_url=live_server, viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await page.goto(f"/live/{session_id}?src=nonsense")
    await expect(page.get_by_test_id("online")).to_have_text("1")
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["laotie_visitor"]["httpOnly"]
    await expect(page.get_by_label("Chat message")).to_have_count(0)
    await page.get_by_role("button", name=re.compile("小黄车")).click()
    await page.get_by_test_id("cart-drawer").get_by_role("button", name="Buy").first.click()
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=/live/liv_"))
    await context.close()


async def test_a_banned_viewer_is_told_why_and_the_page_stops_knocking(
    browser: Browser, live_server: str
) -> None:
    seeded = await _seed(live_server)
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as api:
        session_id = await _live_show(api, seeded)
        buyer = await _bearer(api, seeded.buyer_email)
        buyer_id = (await api.get("/api/auth/me", headers=buyer)).json()["id"]
        banned = await api.post(
            f"/api/live/sessions/{session_id}/moderation",
            json={"action": "ban", "user_id": buyer_id},
            headers=await _bearer(api, seeded.anchor_email),
        )
        assert banned.status_code == 200, banned.text

    page = await signed_in(browser, live_server, seeded.buyer_email, PHONE)
    sockets: list[str] = []
    # The room's sockets only: the page also keeps the user's own (`/ws/me`, the inbox).
    page.on(
        "websocket",
        lambda socket: sockets.append(socket.url) if "/ws/live/" in socket.url else None,
    )
    await page.goto(f"/live/{session_id}?src=share")
    link = page.locator("[data-role=link]")
    await expect(link).to_have_text("left the room: the anchor has banned you from this room")
    await page.wait_for_timeout(2_000)  # a page that retried would have knocked again by now
    assert len(sockets) == 1
    await page.context.close()


async def test_a_late_joiner_sees_the_running_sale_and_the_anchor_the_counters_so_far(
    browser: Browser, live_server: str
) -> None:
    seeded = await _seed(live_server)
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as api:
        session_id = await _live_show(api, seeded)
        anchor_headers = await _bearer(api, seeded.anchor_email)
        teapot = (await api.get(f"/api/products/{seeded.product_ids[0]}")).json()
        sale = await api.post(
            f"/api/live/sessions/{session_id}/flash-sales",
            json={
                "sku_id": teapot["skus"][0]["id"],
                "price_minor": 9_900,
                "quantity": 5,
                "per_buyer_limit": 2,
                "duration_s": 600,
            },
            headers=anchor_headers,
        )
        assert sale.status_code == 201, sale.text
        bought = await api.post(
            f"/api/live/sessions/{session_id}/orders",
            json={"sku_id": teapot["skus"][0]["id"], "quantity": 1},
            headers={**await _bearer(api, seeded.buyer_email), "Idempotency-Key": "late-1234"},
        )
        assert bought.status_code == 201, bought.text

    viewer = await signed_in(browser, live_server, seeded.buyer_email, PHONE)
    await viewer.goto(f"/live/{session_id}")
    await expect(viewer.get_by_test_id("sale-card")).to_contain_text("¥99.00")
    await expect(viewer.get_by_test_id("sale-left")).to_have_text("4")
    anchor = await signed_in(browser, live_server, seeded.anchor_email, DESKTOP)
    await anchor.goto(f"/live/{session_id}/console")
    await expect(anchor.get_by_test_id("console-sale-left")).to_have_text("4")
    await expect(anchor.get_by_test_id("counter-orders")).to_have_text("1")
    await expect(anchor.get_by_test_id("counter-gmv")).to_have_text("¥99.00")


def _recorder(seen: list[str]) -> Callable[[Dialog], Awaitable[None]]:
    """Return a dialog handler that remembers each dialog (none should open) and dismisses it."""

    async def refuse(dialog: Dialog) -> None:
        seen.append(dialog.message)
        await dialog.dismiss()

    return refuse


async def _add_address(api: httpx.AsyncClient, email: str) -> None:
    """Give the buyer a default shipping address, as checkout needs one."""
    token = await api.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
    added = await api.post(
        "/api/addresses",
        json=ADDRESS,
        headers={"Authorization": f"Bearer {token.json()['token']}"},
    )
    assert added.status_code == 201, added.text
