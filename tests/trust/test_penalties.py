"""Rules and penalty points: late shipping found from the deadline, reports decided by
operators, points that expire, steps that take privileges away, appeals, the audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles
from laotie.core.clock import FrozenClock
from laotie.settings import Settings
from laotie.trust import penalties, privileges
from laotie.trust.jobs import find_late_shipping
from laotie.trust.penalties import Standing, ViolationKind, standing_of
from tests.factories import ApiUser, sign_in, sign_up
from tests.orders.world import World, buy, buy_and_pay, make_world

REPORT = {"kind": "misdescription", "text": "Listed as silk; the label says polyester."}


async def _operator(client: httpx.AsyncClient, uow: Any) -> ApiUser:
    user = await sign_up(client, Role.BUYER, name="Operator")
    async with uow() as ctx:
        await do_grant_roles(ctx, user.id, frozenset({Role.OPERATOR}))
    return ApiUser(user.id, user.email, await sign_in(client, user.email))


async def _penalties(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    answer = await client.get(f"/api/shops/{world.shop_id}/penalties", headers=world.seller.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _record(uow: Any, shop_id: str, kind: ViolationKind, key: str) -> str:
    """Record a violation as detection would, and return its id."""
    async with uow() as ctx:
        made = await penalties.record_violation(
            ctx, shop_id, kind, source="detected", dedupe_key=key, evidence={}, actor_id=None
        )
    assert made is not None
    return made.id


async def _fresh(client: httpx.AsyncClient, *users: ApiUser) -> list[ApiUser]:
    """Sign users in again after the clock moved past their tokens' life."""
    return [ApiUser(u.id, u.email, await sign_in(client, u.email)) for u in users]


async def test_late_shipping_is_found_once_a_shop_and_day_and_its_points_expire(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    late = [await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)]) for _ in range(2)]
    on_time = await buy_and_pay(client, world.buyer, [(world.sku_ids[1], 1)])
    shipped = await client.post(
        f"/api/orders/{on_time}/shipment",
        json={"carrier": "SF", "tracking_no": "SF1"},
        headers=world.seller.headers,
    )
    assert shipped.status_code == 200
    assert await find_late_shipping(app.state) == 0  # no deadline has passed yet
    clock.advance(timedelta(hours=app.state.settings.ship_within_hours, minutes=1))
    assert await find_late_shipping(app.state) == 1
    assert await find_late_shipping(app.state) == 0  # found once
    seen = await _penalties(client, world)
    assert (seen["points"], seen["standing"]) == (2, "good")
    (violation,) = seen["violations"]
    assert (violation["kind"], violation["source"], violation["active"]) == (
        "late_shipping",
        "detected",
        True,
    )
    assert violation["evidence"]["order_ids"] == sorted(late)
    clock.advance(timedelta(days=penalties.POINTS_DAYS))
    (seller,) = await _fresh(client, world.seller)
    world.seller = seller
    expired = await _penalties(client, world)
    assert (expired["points"], expired["violations"][0]["active"]) == (0, False)


async def test_a_report_confirmed_by_an_operator_adds_points_and_a_dismissed_one_none(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    operator = await _operator(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    path = f"/api/orders/{order_id}/reports"
    stranger = await client.post(path, json=REPORT, headers=world.other_buyer.headers)
    assert stranger.status_code == 404
    filed = await client.post(path, json=REPORT, headers=world.buyer.headers)
    assert filed.status_code == 201, filed.text
    again = await client.post(path, json=REPORT, headers=world.buyer.headers)
    assert (again.status_code, again.json()["code"]) == (409, "already_reported")
    late = {**REPORT, "kind": "late_shipping"}  # the deadline finds it; nobody reports it
    assert (await client.post(path, json=late, headers=world.buyer.headers)).status_code == 422
    clock.advance(timedelta(seconds=1))  # the queue is oldest first
    other = await client.post(
        path, json={**REPORT, "kind": "fake_discount"}, headers=world.buyer.headers
    )
    queue = await client.get("/api/operator/reports", headers=operator.headers)
    assert [r["id"] for r in queue.json()] == [filed.json()["id"], other.json()["id"]]
    assert (
        await client.get("/api/operator/reports", headers=world.seller.headers)
    ).status_code == 403

    decide = f"/api/operator/reports/{filed.json()['id']}/decision"
    by_seller = await client.post(decide, json={"confirm": False}, headers=world.seller.headers)
    assert by_seller.status_code == 403
    confirmed = await client.post(
        decide, json={"confirm": True, "note": "the label"}, headers=operator.headers
    )
    assert confirmed.json()["status"] == "confirmed"
    twice = await client.post(decide, json={"confirm": False}, headers=operator.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "report_decided")
    dismissed = await client.post(
        f"/api/operator/reports/{other.json()['id']}/decision",
        json={"confirm": False},
        headers=operator.headers,
    )
    assert dismissed.json()["status"] == "dismissed"

    seen = await _penalties(client, world)
    assert seen["points"] == penalties.POINTS[ViolationKind.MISDESCRIPTION]
    (violation,) = seen["violations"]
    assert violation["evidence"]["order_id"] == order_id
    assert (await client.get("/api/operator/reports", headers=operator.headers)).json() == []
    hidden = await client.get(f"/api/shops/{world.shop_id}/penalties", headers=world.buyer.headers)
    assert hidden.status_code == 404  # a shop's points are its owner's and the operators'


async def test_points_climb_the_steps_and_a_suspended_shop_sells_nothing_until_they_expire(
    client: httpx.AsyncClient, uow: Any, app: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    await _record(uow, world.shop_id, ViolationKind.FAKE_ENGAGEMENT, "t:1")
    assert (await _penalties(client, world))["standing"] == "warning"
    async with uow() as ctx:
        assert await privileges.flash_sale_refusal(ctx, world.shop_id) is None
    clock.advance(timedelta(days=30))
    await _record(uow, world.shop_id, ViolationKind.FAKE_ENGAGEMENT, "t:2")
    async with uow() as ctx:
        refusal = await privileges.flash_sale_refusal(ctx, world.shop_id)
        assert refusal is not None and "24 penalty points" in refusal
        assert await privileges.feed_multiplier(ctx, world.shop_id) == 1.0  # a new shop
    await _record(uow, world.shop_id, ViolationKind.FAKE_DISCOUNT, "t:3")
    await _record(uow, world.shop_id, ViolationKind.OFF_PLATFORM_TRADING, "t:4")
    async with uow() as ctx:
        assert await privileges.feed_multiplier(ctx, world.shop_id) == 0.0
    buyer, seller = await _fresh(client, world.buyer, world.seller)
    world.seller = seller
    seen = await _penalties(client, world)
    assert (seen["points"], seen["standing"]) == (42, "no_public_traffic")
    assert seen["suspended_until"] is None
    assert (await buy(client, buyer, [(world.sku_ids[0], 1)])).status_code == 201

    await _record(uow, world.shop_id, ViolationKind.MISDESCRIPTION, "t:5")
    seen = await _penalties(client, world)
    assert (seen["points"], seen["standing"]) == (48, "suspended")
    # The first violation expires in 60 days and takes the points below 48.
    first_expiry = clock.now() + timedelta(days=60)
    assert seen["suspended_until"] == first_expiry.isoformat().replace("+00:00", "Z")
    refused = await buy(client, buyer, [(world.sku_ids[0], 1)])
    assert (refused.status_code, refused.json()["code"]) == (409, "shop_suspended")
    clock.advance(timedelta(days=60))
    (buyer,) = await _fresh(client, buyer)
    assert (await buy(client, buyer, [(world.sku_ids[0], 1)])).status_code == 201


async def test_an_appeal_granted_stops_the_points_and_lifts_the_suspension(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_world(client, uow)
    operator = await _operator(client, uow)
    counterfeit = await _record(uow, world.shop_id, ViolationKind.COUNTERFEIT, "t:1")
    await _record(uow, world.shop_id, ViolationKind.COUNTERFEIT, "t:2")
    refused = await buy(client, world.buyer, [(world.sku_ids[0], 1)])
    assert refused.json()["code"] == "shop_suspended"

    path = f"/api/violations/{counterfeit}/appeal"
    body = {"text": "The goods are genuine: the brand's letter is attached."}
    not_owner = await client.post(path, json=body, headers=world.other_buyer.headers)
    assert not_owner.status_code == 404
    filed = await client.post(path, json=body, headers=world.seller.headers)
    assert filed.status_code == 201, filed.text
    twice = await client.post(path, json=body, headers=world.seller.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_appealed")
    queue = await client.get("/api/operator/appeals", headers=operator.headers)
    assert [a["id"] for a in queue.json()] == [filed.json()["id"]]

    decide = f"/api/operator/appeals/{filed.json()['id']}/decision"
    assert (
        await client.post(decide, json={"grant": True}, headers=world.seller.headers)
    ).status_code == 403
    granted = await client.post(
        decide, json={"grant": True, "note": "letter checked"}, headers=operator.headers
    )
    assert granted.json()["status"] == "granted"
    again = await client.post(decide, json={"grant": False}, headers=operator.headers)
    assert (again.status_code, again.json()["code"]) == (409, "appeal_decided")
    seen = await _penalties(client, world)
    assert (seen["points"], seen["standing"], seen["suspended_until"]) == (
        24,
        "no_flash_sales",
        None,
    )
    overturned = next(v for v in seen["violations"] if v["id"] == counterfeit)
    assert (overturned["active"], overturned["appeal"]["status"]) == (False, "granted")
    assert (await buy(client, world.buyer, [(world.sku_ids[0], 1)])).status_code == 201

    other = next(v["id"] for v in seen["violations"] if v["id"] != counterfeit)
    clock.advance(timedelta(days=16))
    (seller,) = await _fresh(client, world.seller)
    late = await client.post(f"/api/violations/{other}/appeal", json=body, headers=seller.headers)
    assert (late.status_code, late.json()["code"]) == (409, "appeal_window_closed")


async def test_every_decision_is_in_the_audit_trail_which_only_operators_read(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    operator = await _operator(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    report = await client.post(
        f"/api/orders/{order_id}/reports", json=REPORT, headers=world.buyer.headers
    )
    await client.post(
        f"/api/operator/reports/{report.json()['id']}/decision",
        json={"confirm": True},
        headers=operator.headers,
    )
    (violation,) = (await _penalties(client, world))["violations"]
    appeal = await client.post(
        f"/api/violations/{violation['id']}/appeal",
        json={"text": "It is silk."},
        headers=world.seller.headers,
    )
    await client.post(
        f"/api/operator/appeals/{appeal.json()['id']}/decision",
        json={"grant": False, "note": "lab test says polyester"},
        headers=operator.headers,
    )
    trail = await client.get(
        "/api/operator/trust-audit", params={"shop_id": world.shop_id}, headers=operator.headers
    )
    entries = list(reversed(trail.json()))
    assert [e["action"] for e in entries] == [
        "report_filed",
        "violation_recorded",
        "report_confirmed",
        "appeal_filed",
        "appeal_rejected",
    ]
    assert [e["actor_id"] for e in entries] == [
        world.buyer.id,
        operator.id,
        operator.id,
        world.seller.id,
        operator.id,
    ]
    assert entries[-1]["detail"]["note"] == "lab test says polyester"
    for user in (world.seller, world.buyer):
        refused = await client.get("/api/operator/trust-audit", headers=user.headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


def test_the_steps_follow_the_thresholds_which_must_rise() -> None:
    settings = Settings()
    assert [standing_of(p, settings) for p in (0, 11, 12, 24, 36, 47, 48, 99)] == [
        Standing.GOOD,
        Standing.GOOD,
        Standing.WARNING,
        Standing.NO_FLASH_SALES,
        Standing.NO_PUBLIC_TRAFFIC,
        Standing.NO_PUBLIC_TRAFFIC,
        Standing.SUSPENDED,
        Standing.SUSPENDED,
    ]
    stricter = Settings(penalty_warning_points=6, penalty_no_flash_sales_points=12)
    assert standing_of(12, stricter) is Standing.NO_FLASH_SALES
    with pytest.raises(ValidationError, match="must rise"):
        Settings(penalty_warning_points=30)
