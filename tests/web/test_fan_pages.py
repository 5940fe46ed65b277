"""Fans from the pages: joining in the room, the anchor's fans and coupon console, fan prices
set from the show's console and handed to the room's cart."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from tests.factories import sign_up
from tests.live.sale_room import go_live
from tests.web.pages import browsing, flash_of


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


def data_json(page: str, name: str) -> Any:
    """Return a JSON data attribute of the room's root."""
    found = re.search(rf'data-{name}="([^"]*)"', page)
    assert found is not None, name
    return json.loads(html.unescape(found.group(1)))


async def test_a_viewer_joins_the_fan_group_and_sees_the_anchors_fan_price_and_coupons(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    show = await go_live(client, clock, "Fan night", price_minor=2_000, stock=5)
    room_path = f"/live/{show.session_id}"
    viewer = await users(name="Xiao Li", ships=False)
    before = await viewer.get(room_path)
    assert 'data-testid="fan-group"' in before.text and "Join the fan group" in before.text
    joined = await viewer.post(
        f"/fan-groups/{show.anchor.id}", {"action": "join", "back": room_path}
    )
    assert joined.headers["location"] == room_path
    assert "level 1 fan" in flash_of(await viewer.http.get(room_path))
    anchor = await users(email=show.anchor.email)
    fans = await anchor.get("/seller/fans")
    assert fans.status_code == 200 and "Xiao Li" in fans.text and "Lv 1" in fans.text
    issued = await anchor.post(
        "/seller/coupons",
        {
            "title": "Thank-you",
            "amount_off": "5.00",
            "min_spend": "",
            "quantity": "10",
            "min_fan_level": "1",
            "days": "7",
        },
    )
    assert "10 coupons issued" in flash_of(await anchor.http.get(issued.headers["location"]))
    zero = await anchor.post(
        "/seller/coupons",
        {"title": "Nothing", "amount_off": "0", "quantity": "1", "min_fan_level": "1", "days": "1"},
    )
    assert "greater than 0" in flash_of(await anchor.http.get(zero.headers["location"]))
    sku_id = show.product.sku_ids[0]
    console = f"/live/{show.session_id}/fan-prices"
    too_high = await anchor.post(
        console, {"action": "set", "sku_id": sku_id, "price": "20.00", "min_level": "1"}
    )
    assert "below the regular" in flash_of(await anchor.http.get(too_high.headers["location"]))
    await anchor.post(
        console, {"action": "set", "sku_id": sku_id, "price": "15.00", "min_level": "2"}
    )
    page = await anchor.get(f"/live/{show.session_id}/console")
    assert "for Lv 2+" in page.text
    room = (await viewer.get(room_path)).text
    assert 'data-testid="my-fan-level">Lv 1<' in room and "1 fan<" in room
    assert data_json(room, "fan-prices") == {sku_id: {"price_minor": 1_500, "min_level": 2}}
    assert [c["title"] for c in data_json(room, "offered")] == ["Thank-you"]
    assert data_json(room, "claims") == []
    left = await viewer.post(f"/fan-groups/{show.anchor.id}", {"action": "leave", "back": "/"})
    assert "left the fan group" in flash_of(await viewer.http.get(left.headers["location"]))


async def test_only_anchors_have_a_fans_page(users: Any) -> None:
    buyer = await users(ships=False)
    assert (await buyer.get("/seller/fans")).status_code == 403


async def test_the_console_clears_a_fan_price_and_refuses_a_bad_one(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    show = await go_live(client, clock, "Fan night", price_minor=2_000, stock=5)
    anchor = await users(email=show.anchor.email)
    path = f"/live/{show.session_id}/fan-prices"
    sku_id = show.product.sku_ids[0]
    bad = await anchor.post(path, {"action": "set", "sku_id": sku_id, "price": "a lot"})
    assert "is not a price" in flash_of(await anchor.http.get(bad.headers["location"]))
    zero = await anchor.post(
        path, {"action": "set", "sku_id": sku_id, "price": "0", "min_level": "1"}
    )
    assert "greater than 0" in flash_of(await anchor.http.get(zero.headers["location"]))
    await anchor.post(path, {"action": "set", "sku_id": sku_id, "price": "9.90", "min_level": "1"})
    assert "for Lv 1+" in (await anchor.get(f"/live/{show.session_id}/console")).text
    cleared = await anchor.post(path, {"action": "clear", "sku_id": sku_id})
    assert "taken away" in flash_of(await anchor.http.get(cleared.headers["location"]))
    assert "for Lv 1+" not in (await anchor.get(f"/live/{show.session_id}/console")).text
    stranger = await users(ships=False)
    refused = await stranger.post(
        path, {"action": "set", "sku_id": sku_id, "price": "1.00", "min_level": "1"}
    )
    assert refused.status_code == 303  # back, refused: the anchor's console shows no price
    assert "for Lv 1+" not in (await anchor.get(f"/live/{show.session_id}/console")).text


async def test_an_anchor_without_a_shop_is_asked_to_open_one_before_issuing_coupons(
    client: httpx.AsyncClient, users: Any
) -> None:
    made = await sign_up(client, Role.ANCHOR, address=False)
    anchor = await users(email=made.email)
    page = await anchor.get("/seller/fans")
    assert page.status_code == 200 and "Open your shop first" in page.text
    issued = await anchor.post(
        "/seller/coupons",
        {"title": "x", "amount_off": "1", "quantity": "1", "min_fan_level": "1", "days": "1"},
    )
    assert "Open your shop first" in flash_of(await anchor.http.get(issued.headers["location"]))
