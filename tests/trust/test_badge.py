"""The trust badge: earned by a high score without a serious violation; on a badge shop a
return request is paid at once from the platform's advances, recovered or borne by the
platform as the case ends, every step a balanced ledger transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles
from laotie.catalog import service as catalog
from laotie.core.clock import FrozenClock
from laotie.orders import ledger
from laotie.orders.jobs import complete_orders
from laotie.trust import penalties, privileges
from laotie.trust.penalties import ViolationKind
from tests.factories import ApiUser, sign_in, sign_up
from tests.orders.world import World, buy_and_pay, make_world, order

PRICE = 12_900


async def _badge_world(client: httpx.AsyncClient, uow: Any) -> World:
    world = await make_world(client, uow, stocks=(20, 20))
    async with uow() as ctx:
        await catalog.set_shop_badge(ctx, world.shop_id, True)
    return world


async def _returned(client: httpx.AsyncClient, world: World) -> tuple[str, dict[str, Any]]:
    """Buy one unit, receive it and ask to return it; return the order and the case."""
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    shipping = {"carrier": "SF", "tracking_no": "SF3"}
    await client.post(
        f"/api/orders/{order_id}/shipment", json=shipping, headers=world.seller.headers
    )
    await client.post(f"/api/orders/{order_id}/receipt", headers=world.buyer.headers)
    opened = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "return_refund", "reason": "not as shown", "reason_code": "not_as_described"},
        headers=world.buyer.headers,
    )
    assert opened.status_code == 201, opened.text
    return order_id, opened.json()


async def _books(uow: Any, shop_id: str) -> dict[str, int]:
    async with uow() as ctx:
        assert await ledger.trial_balance(ctx) == 0
        assert await ledger.unbalanced_transactions(ctx) == []
        accounts = {
            "advances": ledger.ADVANCES,
            "borne": ledger.ADVANCES_BORNE,
            "escrow": ledger.ESCROW,
            "provider": ledger.provider_account("sandbox"),
            "seller": ledger.seller_account(shop_id),
        }
        return {name: await ledger.balance(ctx, account) for name, account in accounts.items()}


async def _operator(client: httpx.AsyncClient, uow: Any) -> ApiUser:
    user = await sign_up(client, Role.BUYER, name="Operator")
    async with uow() as ctx:
        await do_grant_roles(ctx, user.id, frozenset({Role.OPERATOR}))
    return ApiUser(user.id, user.email, await sign_in(client, user.email))


async def test_a_badge_shops_refund_is_advanced_at_once_and_repaid_from_escrow(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await _badge_world(client, uow)
    order_id, case = await _returned(client, world)
    assert (case["status"], case["advanced_minor"]) == ("requested", PRICE)
    paid = await _books(uow, world.shop_id)
    # The buyer has the money; the order's escrow still holds it; the platform is owed it.
    assert (paid["advances"], paid["escrow"], paid["provider"]) == (PRICE, -PRICE, 0)
    kinds = [
        e["kind"]
        for e in (
            await client.get(f"/api/orders/{order_id}/events", headers=world.buyer.headers)
        ).json()
    ]
    assert kinds[-1] == "advance_paid"

    approved = await client.post(
        f"/api/aftersales/{case['id']}/response",
        json={"approve": True, "note": "sorry"},
        headers=world.seller.headers,
    )
    assert approved.json()["status"] == "refunded"
    repaid = await _books(uow, world.shop_id)
    assert (repaid["advances"], repaid["escrow"], repaid["provider"]) == (0, 0, 0)
    assert (await order(client, world.buyer, order_id))["status"] == "refunded"


async def test_when_the_operator_rules_for_the_seller_the_platform_bears_the_advance(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await _badge_world(client, uow)
    operator = await _operator(client, uow)
    order_id, case = await _returned(client, world)
    rejected = await client.post(
        f"/api/aftersales/{case['id']}/response",
        json={"approve": False, "note": "it was worn"},
        headers=world.seller.headers,
    )
    # The buyer was paid already: the refusal goes straight to an operator.
    assert rejected.json()["status"] == "disputed"
    decided = await client.post(
        f"/api/aftersales/{case['id']}/decision",
        json={"refund": False, "note": "worn"},
        headers=operator.headers,
    )
    assert decided.json()["status"] == "closed", decided.text
    borne = await _books(uow, world.shop_id)
    assert (borne["advances"], borne["borne"], borne["escrow"]) == (0, PRICE, -PRICE)

    clock.advance(timedelta(days=app.state.settings.return_window_days, minutes=1))
    assert await complete_orders(app.state) == 1
    released = await _books(uow, world.shop_id)
    assert released["escrow"] == 0
    assert released["seller"] < 0  # the seller got its sale; the platform paid the buyer
    assert (await order(client, world.buyer, order_id))["status"] == "completed"


async def test_a_shop_without_the_badge_pays_nothing_before_the_seller_answers(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    _, case = await _returned(client, world)
    assert (case["status"], case["advanced_minor"]) == ("requested", 0)
    assert (await _books(uow, world.shop_id))["advances"] == 0


async def test_the_badge_needs_a_high_score_and_no_serious_violation(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await _badge_world(client, uow)
    async with uow() as ctx:
        assert await privileges.badge_earned(ctx, world.shop_id, 4.8, new=False)
        assert not await privileges.badge_earned(ctx, world.shop_id, 4.69, new=False)
        assert not await privileges.badge_earned(ctx, world.shop_id, 4.8, new=True)
        assert not await privileges.review_badge(ctx, world.shop_id)  # a new shop: withdrawn
    assert (await client.get(f"/api/shops/{world.shop_id}/trust")).json()["badge"] is False
    async with uow() as ctx:
        await catalog.set_shop_badge(ctx, world.shop_id, True)
    assert (await client.get(f"/api/shops/{world.shop_id}")).json()["trust_badge"] is True
    async with uow() as ctx:
        await penalties.record_violation(
            ctx,
            world.shop_id,
            ViolationKind.COUNTERFEIT,
            source="report",
            dedupe_key="t:1",
            evidence={},
            actor_id=None,
        )
        assert not await privileges.badge_earned(ctx, world.shop_id, 4.9, new=False)
    assert (await client.get(f"/api/shops/{world.shop_id}/trust")).json()["badge"] is False


@pytest.mark.parametrize("kind", [ViolationKind.MISDESCRIPTION, ViolationKind.LATE_SHIPPING])
async def test_a_violation_that_is_not_serious_keeps_the_badge(
    client: httpx.AsyncClient, uow: Any, kind: ViolationKind
) -> None:
    world = await _badge_world(client, uow)
    async with uow() as ctx:
        await penalties.record_violation(
            ctx,
            world.shop_id,
            kind,
            source="report",
            dedupe_key="t:1",
            evidence={},
            actor_id=None,
        )
        assert await privileges.badge_earned(ctx, world.shop_id, 4.8, new=False)
    assert (await client.get(f"/api/shops/{world.shop_id}")).json()["trust_badge"] is True
