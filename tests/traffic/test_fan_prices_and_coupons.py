"""Fan prices are checked at the room order; fan coupons redeem once, and the ledger shows
who paid their discount."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.core.money import fee_of
from laotie.orders import ledger
from laotie.orders.jobs import complete_orders
from laotie.traffic.models import FanMember
from tests.catalog_factories import make_operator
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import buy, start_sale
from tests.orders.world import order, pay, sku_units

PRICE = 9_900  # the room's SKU


async def fan_of(client: httpx.AsyncClient, room: dict[str, Any], name: str = "Fan") -> ApiUser:
    """Sign a buyer up and make it a fan of the room's anchor."""
    fan = await sign_up(client, Role.BUYER, name=name)
    joined = await client.put(f"/api/fan-groups/{room['anchor'].id}", headers=fan.headers)
    assert joined.status_code == 200, joined.text
    return fan


async def set_fan_price(
    client: httpx.AsyncClient, room: dict[str, Any], price: int, min_level: int = 1
) -> httpx.Response:
    """The anchor sets the room SKU's fan price."""
    return await client.put(
        f"/api/live/sessions/{room['session_id']}/fan-prices/{room['sku_id']}",
        json={"price_minor": price, "min_level": min_level},
        headers=room["anchor"].headers,
    )


async def test_a_fan_pays_the_fan_price_and_a_non_fan_is_refused_it(
    client: httpx.AsyncClient, room: dict[str, Any], uow: Any
) -> None:
    assert (await set_fan_price(client, room, 8_800)).status_code == 200
    listed = await client.get(f"/api/live/sessions/{room['session_id']}/fan-prices")
    assert [(p["sku_id"], p["price_minor"]) for p in listed.json()] == [(room["sku_id"], 8_800)]
    stranger, fan = await sign_up(client, Role.BUYER), await fan_of(client, room)
    refused = await buy(client, room, stranger, fan_price=True)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_a_fan")
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 0  # nothing held
    bought = await buy(client, room, fan, fan_price=True)
    assert bought.status_code == 201, bought.text
    line = bought.json()["orders"][0]["lines"][0]
    assert line["unit_price_minor"] == 8_800
    regular = await buy(client, room, fan)  # not asked: the regular price
    assert regular.json()["orders"][0]["lines"][0]["unit_price_minor"] == PRICE
    # A level above the fan's refuses it too; the price must stay below the regular one.
    await set_fan_price(client, room, 8_800, min_level=3)
    low = await buy(client, room, fan, fan_price=True)
    assert (low.status_code, low.json()["code"]) == (403, "fan_level_too_low")
    async with uow() as ctx:
        await ctx.db.execute(update(FanMember).values(level=3))
    assert (await buy(client, room, fan, fan_price=True)).status_code == 201
    too_high = await set_fan_price(client, room, PRICE)
    assert (too_high.status_code, too_high.json()["code"]) == (422, "fan_price_not_below_regular")
    stolen = await client.put(
        f"/api/live/sessions/{room['session_id']}/fan-prices/{room['sku_id']}",
        json={"price_minor": 1},
        headers=fan.headers,
    )
    assert stolen.status_code == 404  # not the fan's session: as if there were none
    gone = await client.delete(
        f"/api/live/sessions/{room['session_id']}/fan-prices/{room['sku_id']}",
        headers=room["anchor"].headers,
    )
    assert gone.status_code == 204
    none = await buy(client, room, fan, fan_price=True)
    assert (none.status_code, none.json()["code"]) == (404, "no_fan_price")


async def test_a_flash_sales_units_take_no_fan_price_and_no_coupon(
    client: httpx.AsyncClient, room: dict[str, Any]
) -> None:
    await set_fan_price(client, room, 8_800)
    fan = await fan_of(client, room)
    assert (await start_sale(client, room)).status_code == 201
    for extra in ({"fan_price": True}, {"coupon_claim_id": "ccl_any"}):
        refused = await buy(client, room, fan, **extra)
        assert (refused.status_code, refused.json()["code"]) == (409, "sale_price_only")
    assert (await buy(client, room, fan)).json()["orders"][0]["lines"][0]["unit_price_minor"] == (
        5_900
    )


async def issue(
    client: httpx.AsyncClient, issuer: ApiUser, shop_id: str, clock: FrozenClock, **terms: Any
) -> httpx.Response:
    """Issue a batch of coupons: ¥10 off, 3 of them, for a week, unless told otherwise."""
    body = {
        "shop_id": shop_id,
        "title": "Fans' ¥10",
        "amount_off_minor": 1_000,
        "quantity": 3,
        "expires_at": (clock.now() + timedelta(days=7)).isoformat(),
        **terms,
    }
    return await client.post("/api/coupons", json=body, headers=issuer.headers)


async def shop_of(client: httpx.AsyncClient, room: dict[str, Any]) -> str:
    session = await client.get(f"/api/live/sessions/{room['session_id']}")
    return str(session.json()["shop_id"])


async def claim(client: httpx.AsyncClient, coupon_id: str, user: ApiUser) -> httpx.Response:
    return await client.post(f"/api/coupons/{coupon_id}/claim", headers=user.headers)


async def test_fans_claim_a_coupon_once_and_the_last_one_goes_to_one_fan(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock
) -> None:
    shop_id = await shop_of(client, room)
    made = await issue(client, room["anchor"], shop_id, clock, quantity=2, min_fan_level=1)
    assert made.status_code == 201, made.text
    coupon_id = made.json()["id"]
    stranger = await sign_up(client, Role.BUYER)
    refused = await claim(client, coupon_id, stranger)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_a_fan")
    first = await fan_of(client, room, "First")
    twice = await asyncio.gather(*(claim(client, coupon_id, first) for _ in range(3)))
    assert {a.status_code for a in twice} == {200}
    assert len({a.json()["id"] for a in twice}) == 1  # one claim, however often asked
    others = [await fan_of(client, room, f"Fan {n}") for n in range(4)]
    answers = await asyncio.gather(*(claim(client, coupon_id, fan) for fan in others))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"coupons_gone"}
    offered = await client.get(f"/api/anchors/{room['anchor'].id}/coupons")
    assert offered.json() == []  # all claimed: no longer offered
    mine = await client.get("/api/me/coupons", headers=first.headers)
    assert [c["coupon"]["id"] for c in mine.json()] == [coupon_id]


async def test_only_the_shops_anchor_or_an_operator_issues_coupons(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock, uow: Any
) -> None:
    shop_id = await shop_of(client, room)
    other_anchor = await sign_up(client, Role.ANCHOR, Role.SELLER)
    refused = await issue(client, other_anchor, shop_id, clock)
    assert refused.status_code == 403
    platform = await issue(client, room["anchor"], shop_id, clock, funder="platform")
    assert platform.status_code == 403
    past = await issue(client, room["anchor"], shop_id, clock, expires_at=clock.now().isoformat())
    assert (past.status_code, past.json()["code"]) == (409, "coupon_expired")
    operator = await make_operator(client, uow)
    paid_by_platform = await issue(
        client, operator, shop_id, clock, funder="platform", anchor_id=room["anchor"].id
    )
    assert paid_by_platform.status_code == 201, paid_by_platform.text
    assert paid_by_platform.json()["funder"] == "platform"


async def test_many_checkouts_at_once_redeem_a_coupon_once_and_hold_no_stock_for_the_others(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock, uow: Any
) -> None:
    shop_id = await shop_of(client, room)
    coupon = (await issue(client, room["anchor"], shop_id, clock)).json()
    fan = await fan_of(client, room)
    claim_id = (await claim(client, coupon["id"], fan)).json()["id"]
    answers = await asyncio.gather(
        *(buy(client, room, fan, coupon_claim_id=claim_id) for _ in range(8))
    )
    assert sorted(a.status_code for a in answers) == [201] + [409] * 7, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"coupon_used"}
    placed = next(a.json()["orders"][0] for a in answers if a.status_code == 201)
    assert (placed["total_minor"], placed["discount_minor"]) == (PRICE - 1_000 + 0, 1_000)
    assert (await sku_units(uow, room["sku_id"]))["reserved"] == 1
    again = await client.post(
        "/api/orders",
        json={"lines": [{"sku_id": room["sku_id"], "quantity": 1}], "coupon_claim_id": claim_id},
        headers={**fan.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert (again.status_code, again.json()["code"]) == (409, "coupon_used")


async def test_a_lapsed_unpaid_order_gives_its_coupon_back(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock
) -> None:
    shop_id = await shop_of(client, room)
    coupon = (await issue(client, room["anchor"], shop_id, clock)).json()
    fan = await fan_of(client, room)
    claim_id = (await claim(client, coupon["id"], fan)).json()["id"]
    first = await buy(client, room, fan, coupon_claim_id=claim_id)
    order_id = first.json()["orders"][0]["id"]
    cancelled = await client.post(f"/api/orders/{order_id}/cancellation", headers=fan.headers)
    assert cancelled.status_code == 200, cancelled.text
    mine = (await client.get("/api/me/coupons", headers=fan.headers)).json()
    assert (mine[0]["order_id"], mine[0]["redeemed_at"]) == (None, None)
    second = await buy(client, room, fan, coupon_claim_id=claim_id)
    assert second.status_code == 201 and second.json()["orders"][0]["discount_minor"] == 1_000
    short = await issue(client, room["anchor"], shop_id, clock, min_spend_minor=PRICE + 1)
    short_claim = (await claim(client, short.json()["id"], fan)).json()["id"]
    refused = await buy(client, room, fan, coupon_claim_id=short_claim)
    assert (refused.status_code, refused.json()["code"]) == (422, "coupon_min_spend")
    stranger = await sign_up(client, Role.BUYER)
    theirs = await buy(client, room, stranger, coupon_claim_id=short_claim)
    assert (theirs.status_code, theirs.json()["code"]) == (404, "coupon_not_found")


async def two_discounted_orders(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock, uow: Any, fan: ApiUser
) -> list[str]:
    """Place two room orders of the fan's: one with the shop's coupon, one with the platform's."""
    shop_id = await shop_of(client, room)
    operator = await make_operator(client, uow)
    by_shop = (await issue(client, room["anchor"], shop_id, clock)).json()
    by_platform = (
        await issue(
            client, operator, shop_id, clock, funder="platform", anchor_id=room["anchor"].id
        )
    ).json()
    placed = []
    for coupon in (by_shop, by_platform):
        claim_id = (await claim(client, coupon["id"], fan)).json()["id"]
        answer = await buy(client, room, fan, coupon_claim_id=claim_id)
        placed.append(str(answer.json()["orders"][0]["id"]))
    return placed


async def test_the_ledger_shows_who_pays_the_discount(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock, uow: Any
) -> None:
    shop_id = await shop_of(client, room)
    fan = await fan_of(client, room)
    orders = await two_discounted_orders(client, room, clock, uow, fan)
    paid = orders  # the shop's coupon, then the platform's
    await pay(client, fan, paid)
    async with uow() as ctx:
        seller = await ledger.balance(ctx, ledger.seller_account(shop_id))
        promotions = await ledger.balance(ctx, ledger.PROMOTIONS)
        escrow = await ledger.balance(ctx, ledger.ESCROW)
        assert await ledger.unbalanced_transactions(ctx) == []
    # The platform put its ¥10 into escrow beside the buyer's money; the shop pays its own
    # by being released ¥10 less, so nothing is taken from its balance at capture.
    assert (seller, promotions, escrow) == (0, 1_000, -(2 * PRICE - 1_000))
    for order_id in paid:
        assert (await order(client, fan, order_id))["status"] == "paid"


async def test_a_full_refund_gives_the_discount_back_and_completion_releases_the_full_price(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock, uow: Any, app: Any
) -> None:
    shop_id = await shop_of(client, room)
    fan = await fan_of(client, room)
    orders = await two_discounted_orders(client, room, clock, uow, fan)
    refunded, kept = orders
    await pay(client, fan, [refunded, kept])
    case = await client.post(
        f"/api/orders/{refunded}/aftersales",
        json={"kind": "refund_only", "reason": "changed my mind", "reason_code": "no_reason"},
        headers=fan.headers,
    )
    assert case.status_code == 201, case.text
    await client.post(
        f"/api/orders/{kept}/shipment",
        json={"carrier": "SF", "tracking_no": "SF300"},
        headers=room["anchor"].headers,
    )
    await client.post(f"/api/orders/{kept}/receipt", headers=fan.headers)
    clock.advance(timedelta(days=8))
    await complete_orders(app.state)
    fee = fee_of(PRICE, app.state.settings.platform_fee_bps)
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.ESCROW) == 0
        # The shop's ¥10 came back with the refund; the platform's was released with the order.
        assert await ledger.balance(ctx, ledger.seller_account(shop_id)) == -(PRICE - fee)
        assert await ledger.balance(ctx, ledger.PROMOTIONS) == 1_000
        assert await ledger.trial_balance(ctx) == 0


async def _released(client: httpx.AsyncClient, room: dict[str, Any], shop_id: str) -> int:
    answer = await client.get(f"/api/shops/{shop_id}/balance", headers=room["anchor"].headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["released_minor"])


async def _complete(
    client: httpx.AsyncClient,
    room: dict[str, Any],
    fan: ApiUser,
    order_id: str,
    clock: FrozenClock,
    app: Any,
) -> None:
    """Ship the order, have the fan confirm it, and let the return window close."""
    shipped = await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": "SF", "tracking_no": "SF400"},
        headers=room["anchor"].headers,
    )
    assert shipped.status_code == 200, shipped.text
    await client.post(f"/api/orders/{order_id}/receipt", headers=fan.headers)
    clock.advance(timedelta(days=8))
    await complete_orders(app.state)


async def test_a_shops_own_coupon_never_takes_its_released_balance_below_zero(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock, uow: Any, app: Any
) -> None:
    shop_id = await shop_of(client, room)
    coupon = (await issue(client, room["anchor"], shop_id, clock)).json()
    fan = await fan_of(client, room)
    claim_id = (await claim(client, coupon["id"], fan)).json()["id"]
    placed = await buy(client, room, fan, coupon_claim_id=claim_id)
    order_id = str(placed.json()["orders"][0]["id"])
    assert await _released(client, room, shop_id) == 0
    await pay(client, fan, [order_id])
    # The shop had nothing released: the payment must not leave it owing its coupon.
    assert await _released(client, room, shop_id) == 0
    promotion = await client.post(
        f"/api/live/sessions/{room['session_id']}/promotions",
        json={"pricing": "cpe", "price_minor": 1, "budget_minor": 1},
        headers=room["anchor"].headers,
    )
    assert (promotion.status_code, promotion.json()["code"]) == (409, "balance_too_low")
    await _complete(client, room, fan, order_id, clock, app)
    # The coupon comes out of the order's own money: the shop is released what the fan paid
    # less the fee on the full price, as when the discount was paid in at capture.
    fee = fee_of(PRICE, app.state.settings.platform_fee_bps)
    assert await _released(client, room, shop_id) == PRICE - 1_000 - fee
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.ESCROW) == 0
        assert await ledger.trial_balance(ctx) == 0
        assert await ledger.unbalanced_transactions(ctx) == []


async def test_an_order_whose_capture_took_the_shops_coupon_still_releases_it(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock, uow: Any, app: Any
) -> None:
    shop_id = await shop_of(client, room)
    coupon = (await issue(client, room["anchor"], shop_id, clock)).json()
    fan = await fan_of(client, room)
    claim_id = (await claim(client, coupon["id"], fan)).json()["id"]
    placed = await buy(client, room, fan, coupon_claim_id=claim_id)
    order_id = str(placed.json()["orders"][0]["id"])
    await pay(client, fan, [order_id])
    # Captured as before the change: the shop paid its coupon into escrow at capture.
    async with uow() as ctx:
        seller = ledger.seller_account(shop_id)
        legs = [(seller, 1_000), (ledger.ESCROW, -1_000)]
        await ledger.post(ctx, "capture", order_id, "CNY", legs)
    assert await _released(client, room, shop_id) == -1_000
    await _complete(client, room, fan, order_id, clock, app)
    fee = fee_of(PRICE, app.state.settings.platform_fee_bps)
    assert await _released(client, room, shop_id) == PRICE - 1_000 - fee
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.ESCROW) == 0
        assert await ledger.trial_balance(ctx) == 0


async def test_a_coupon_of_nearly_the_whole_price_leaves_the_shop_at_zero_not_below(
    client: httpx.AsyncClient, room: dict[str, Any], clock: FrozenClock, uow: Any, app: Any
) -> None:
    shop_id = await shop_of(client, room)
    deep = (await issue(client, room["anchor"], shop_id, clock, amount_off_minor=9_800)).json()
    fan = await fan_of(client, room)
    claim_id = (await claim(client, deep["id"], fan)).json()["id"]
    placed = await buy(client, room, fan, coupon_claim_id=claim_id)
    order_id = str(placed.json()["orders"][0]["id"])
    await pay(client, fan, [order_id])
    await _complete(client, room, fan, order_id, clock, app)
    # The fee on the full price (¥4.95) is more than the fan paid (¥1): it is capped there.
    assert fee_of(PRICE, app.state.settings.platform_fee_bps) > 100
    assert await _released(client, room, shop_id) == 0
    async with uow() as ctx:
        assert await ledger.balance(ctx, ledger.FEES) == -100
        assert await ledger.trial_balance(ctx) == 0
