"""A buyer and a seller use the marketplace in a real browser, against a real server.

The data the flow starts from (a seller, a shop, a product with SKUs, a buyer) is made
through the HTTP API; everything after is done through the pages, as a person would.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser.pages import signed_in
from tests.factories import ADDRESS, PASSWORD

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
WIDE = {"width": 1200, "height": 900}


@dataclass
class Seeded:
    """What the API made before the browser starts."""

    seller_email: str
    buyer_email: str
    product_title: str
    shop_name: str


async def _seed(base_url: str) -> Seeded:
    """Sign up a seller and a buyer, open a shop and list a teapot with two SKUs."""
    tag = uuid.uuid4().hex[:6]
    seller_email, buyer_email = f"seller-{tag}@example.com", f"buyer-{tag}@example.com"
    shop_name, title = f"Old Iron Tea {tag}", "Yixing zisha clay teapot 200ml"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        for email, name, role in [(seller_email, "Wang", "seller"), (buyer_email, "Li", "buyer")]:
            answer = await api.post(
                "/api/auth/sign-up",
                json={"email": email, "password": PASSWORD, "name": name, "roles": [role]},
            )
            assert answer.status_code == 201, answer.text
        await _add_address(api, buyer_email)
        token = await api.post(
            "/api/auth/tokens", json={"email": seller_email, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        shop = await api.post(
            "/api/shops",
            json={"name": shop_name, "description": "Yunnan pu'er since 1998"},
            headers=headers,
        )
        assert shop.status_code == 201, shop.text
        product = await api.post(
            f"/api/shops/{shop.json()['id']}/products",
            json={
                "title": title,
                "description": "Hand-thrown purple clay.\nRinse, never soap.",
                "category": "home",
                "skus": [
                    {"attributes": {"clay": "zini"}, "price_minor": 32_800, "stock": 5},
                    {"attributes": {"clay": "hongni"}, "price_minor": 16_800, "stock": 12},
                ],
            },
            headers=headers,
        )
        assert product.status_code == 201, product.text
    return Seeded(seller_email, buyer_email, title, shop_name)


async def test_a_buyer_buys_pays_and_returns_while_the_seller_ships_and_refunds(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    seeded = await _seed(live_server)
    buyer = await signed_in(browser, live_server, seeded.buyer_email, WIDE)

    # Find the product by search and buy two of the red-clay pot now.
    await buyer.get_by_label("Search products").fill("clay teapot")
    await buyer.get_by_role("button", name="Search").click()
    await expect(buyer).to_have_url(re.compile(r"/search\?q="))
    await buyer.get_by_role("link", name=re.compile("Yixing zisha")).click()
    await expect(buyer.get_by_test_id("product-title")).to_have_text(seeded.product_title)
    await buyer.get_by_text("clay: hongni").click()
    await expect(buyer.locator('[data-role="price"]')).to_have_text("¥168.00")
    await buyer.get_by_label("Quantity").fill("2")
    await buyer.screenshot(path=str(tmp_path / "product-page.png"), full_page=True)
    await buyer.get_by_role("button", name="Buy now").click()

    # The sandbox provider's page; paying sends its webhook, then back to the orders.
    await expect(buyer).to_have_url(re.compile(r"/sandbox/pay/pay_"))
    await expect(buyer.locator("#amount")).to_have_text("¥336.00")
    await buyer.get_by_role("button", name="Pay").click()
    await expect(buyer).to_have_url(re.compile(r"/orders$"))
    order_row = buyer.locator(".order-row").first
    await expect(order_row).to_contain_text("Paid · to ship")
    await expect(order_row).to_contain_text("¥336.00")
    order_id = await order_row.get_attribute("data-order-id")
    assert order_id

    # The seller ships it from the back office.
    seller = await signed_in(browser, live_server, seeded.seller_email, WIDE)
    await seller.get_by_role("link", name="Seller back office").click()
    row = seller.locator(f'[data-order-id="{order_id}"]')
    await expect(row).to_contain_text("Li")
    await seller.screenshot(path=str(tmp_path / "seller-back-office.png"), full_page=True)
    await row.get_by_label("Carrier").fill("SF Express")
    await row.get_by_label("Tracking number").fill("SF1234567890")
    await row.get_by_role("button", name="Ship").click()
    await expect(seller.locator(".flash")).to_contain_text("shipped with SF Express")

    # The buyer confirms receipt and asks to send it back.
    await buyer.goto(f"/orders/{order_id}")
    await expect(buyer.get_by_role("heading", level=1)).to_contain_text("Shipped")
    await buyer.get_by_role("button", name="Confirm receipt").click()
    await expect(buyer.locator(".flash")).to_contain_text("Receipt confirmed")
    await buyer.get_by_label("What is wrong?").fill("the wrapper is torn")
    await buyer.get_by_role("button", name="Return and refund").click()
    await expect(buyer.locator(".flash")).to_contain_text("Return requested")

    # The seller approves the return.
    await seller.reload()
    case = seller.locator(".case", has_text="the wrapper is torn")
    await case.get_by_role("button", name="Approve and refund").click()
    await expect(seller.locator(".flash")).to_contain_text("the buyer is refunded")

    # The buyer sees the money back.
    await buyer.reload()
    await expect(buyer.get_by_role("heading", level=1)).to_contain_text("Refunded")
    await expect(buyer.get_by_test_id("refunded")).to_have_text("¥336.00")
    await expect(buyer.locator(".timeline")).to_contain_text("refunded")
    print(f"screenshots: {tmp_path / 'product-page.png'} {tmp_path / 'seller-back-office.png'}")


async def _add_address(api: httpx.AsyncClient, email: str) -> None:
    """Give the buyer a default shipping address, as checkout needs one."""
    token = await api.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
    added = await api.post(
        "/api/addresses",
        json=ADDRESS,
        headers={"Authorization": f"Bearer {token.json()['token']}"},
    )
    assert added.status_code == 201, added.text
