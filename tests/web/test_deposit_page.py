"""The seller's overview pays into the shop's security deposit and shows what is held."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.catalog_factories import make_seller, make_shop
from tests.web.pages import browsing, flash_of


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


async def test_the_deposit_form_refuses_a_bad_amount_and_holds_a_paid_one(
    client: httpx.AsyncClient, users: Any
) -> None:
    owner = await make_seller(client, "Zhao")
    await make_shop(client, owner)
    seller = await users(email=owner.email)
    for amount in ("0.50", "ten"):
        refused = await seller.post("/seller/deposit-payments", {"amount": amount})
        assert refused.status_code == 303 and refused.headers["location"] == "/seller#deposit"
        assert flash_of(await seller.get("/seller")), amount
    opened = await seller.post("/seller/deposit-payments", {"amount": "5000.00"})
    assert opened.status_code == 303
    pay_page = await seller.get(opened.headers["location"])
    assert "¥5,000.00" in pay_page.text and "value='/seller'" in pay_page.text
    paid = await seller.http.post(
        opened.headers["location"], data={"action": "pay", "return_to": "/seller"}
    )
    assert paid.headers["location"] == "/seller"
    page = await seller.get("/seller")
    assert re.search(r'data-testid="deposit-held">¥5,000.00 held<', page.text), page.text
    assert '<span class="badge">held</span>' in page.text
