"""Bought reach: buying holds the budget out of the released balance (and a payout cannot
then overdraw it), barred shops are refused, promoted rooms take labelled slots of the feed
and are charged by the job at the price exactly, never past the budget nor the pacing, the
rest comes back when the show ends, the books balance, and the seller's report adds up."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter
from laotie.live.schemas import EntrySource
from laotie.orders import ledger
from laotie.traffic.impressions import Impression, do_record_impressions
from laotie.traffic.jobs import charge_promotions
from laotie.traffic.models import FeedImpression
from laotie.traffic.promotions import SETTLE
from laotie.trust import penalties
from laotie.trust.models import ShopScore
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import LiveShow, buy, go_live
from tests.orders.world import pay


async def _show(client: httpx.AsyncClient, clock: FrozenClock, title: str) -> LiveShow:
    return await go_live(client, clock, title, price_minor=5_000, stock=50)


async def _shop_of(client: httpx.AsyncClient, show: LiveShow) -> str:
    return str((await client.get(f"/api/live/sessions/{show.session_id}")).json()["shop_id"])


async def _fund(uow: Any, shop_id: str, amount: int) -> None:
    """Release money to a shop, as completed orders would."""
    async with uow() as ctx:
        seller = ledger.seller_account(shop_id)
        await ledger.post(ctx, "release", None, "CNY", [(ledger.ESCROW, amount), (seller, -amount)])


async def _buy(
    client: httpx.AsyncClient, show: LiveShow, session_id: str | None = None, **terms: Any
) -> httpx.Response:
    body = {"pricing": "cpm", "price_minor": 3_000, "budget_minor": 10_000, **terms}
    return await client.post(
        f"/api/live/sessions/{session_id or show.session_id}/promotions",
        json=body,
        headers=show.anchor.headers,
    )


async def _promoted(client: httpx.AsyncClient, show: LiveShow, **terms: Any) -> dict[str, Any]:
    bought = await _buy(client, show, **terms)
    assert bought.status_code == 201, bought.text
    promotion: dict[str, Any] = bought.json()
    return promotion


async def _released(client: httpx.AsyncClient, show: LiveShow, shop_id: str) -> int:
    answer = await client.get(f"/api/shops/{shop_id}/balance", headers=show.anchor.headers)
    return int(answer.json()["released_minor"])


async def _impressions(uow: Any, session_id: str, count: int, promoted: bool = True) -> None:
    """Write impressions of a room as the feed would have shown them to strangers."""
    async with uow() as ctx:
        shown = [Impression(f"vis_{i}", session_id, 2, promoted, ctx.now()) for i in range(count)]
        await do_record_impressions(ctx, shown)


async def _report(client: httpx.AsyncClient, show: LiveShow, shop_id: str) -> list[Any]:
    answer = await client.get(f"/api/shops/{shop_id}/promotions", headers=show.anchor.headers)
    assert answer.status_code == 200, answer.text
    listed: list[Any] = answer.json()
    return listed


async def _state(client: httpx.AsyncClient, show: LiveShow, shop_id: str) -> dict[str, Any]:
    [report] = await _report(client, show, shop_id)
    promotion: dict[str, Any] = report["promotion"]
    return promotion


async def _books(uow: Any) -> dict[str, int]:
    """Check the books balance; return the ad accounts' balances."""
    async with uow() as ctx:
        assert await ledger.trial_balance(ctx) == 0
        assert await ledger.unbalanced_transactions(ctx) == []
        return {"ads": await ledger.balance(ctx, ledger.ADS)}


async def _budget_held(uow: Any, promotion_id: str) -> int:
    async with uow() as ctx:
        return -await ledger.balance(ctx, ledger.ad_budget_account(promotion_id))


async def _feed(client: httpx.AsyncClient, app: Any, viewer: ApiUser | None) -> list[Any]:
    answer = await client.get("/api/feed", headers=viewer.headers if viewer else {})
    assert answer.status_code == 200, answer.text
    await app.state.impressions.write_waiting(app.state)
    items: list[Any] = answer.json()["items"]
    return items


async def _bar(uow: Any, shop_id: str) -> None:
    """Give a shop the penalty points that bar public traffic."""
    async with uow() as ctx:
        for kind in (
            penalties.ViolationKind.COUNTERFEIT,
            penalties.ViolationKind.OFF_PLATFORM_TRADING,
        ):
            await penalties.record_violation(
                ctx, shop_id, kind, source="test", dedupe_key=kind.value, evidence={}, actor_id=None
            )


async def test_buying_holds_the_budget_and_a_payout_cannot_then_overdraw(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    show = await _show(client, clock, "Tea")
    shop_id = await _shop_of(client, show)
    await _fund(uow, shop_id, 10_000)
    too_much = await _buy(client, show, budget_minor=10_001)
    assert (too_much.status_code, too_much.json()["code"]) == (409, "balance_too_low")
    promotion = await _promoted(client, show, budget_minor=8_000)
    assert (promotion["status"], promotion["spent_minor"]) == ("active", 0)
    assert await _released(client, show, shop_id) == 2_000
    assert await _budget_held(uow, promotion["id"]) == 8_000
    again = await _buy(client, show, budget_minor=1_000, price_minor=1_000)
    assert (again.status_code, again.json()["code"]) == (409, "already_promoted")

    account = {"holder_name": "Tea Ltd", "account_no": "6222-0000-3333"}
    await client.put(
        f"/api/shops/{shop_id}/payout-account", json=account, headers=show.anchor.headers
    )
    payout = await client.post(
        f"/api/shops/{shop_id}/payouts", json={"amount_minor": 2_001}, headers=show.anchor.headers
    )
    assert (payout.status_code, payout.json()["code"]) == (409, "balance_too_low")

    # A coming show of the same shop: a payout and a promotion asked at once, each
    # affordable alone, together more than the balance: one of them is refused.
    coming = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": "Tomorrow",
            "scheduled_at": (clock.now() + timedelta(days=1)).isoformat(),
            "product_ids": [show.product.id],
        },
        headers=show.anchor.headers,
    )
    assert coming.status_code == 201, coming.text
    answers = await asyncio.gather(
        client.post(
            f"/api/shops/{shop_id}/payouts",
            json={"amount_minor": 1_500},
            headers=show.anchor.headers,
        ),
        _buy(client, show, coming.json()["id"], budget_minor=1_500, price_minor=1_000),
    )
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    assert await _released(client, show, shop_id) == 500
    await _books(uow)


async def test_a_shop_barred_from_public_traffic_cannot_buy_reach(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any
) -> None:
    barred = await _show(client, clock, "Barred")
    shop_id = await _shop_of(client, barred)
    await _fund(uow, shop_id, 50_000)
    await _bar(uow, shop_id)
    refused = await _buy(client, barred)
    assert (refused.status_code, refused.json()["code"]) == (403, "public_traffic_barred")

    poor = await _show(client, clock, "Poor")
    poor_shop = await _shop_of(client, poor)
    await _fund(uow, poor_shop, 50_000)
    async with uow() as ctx:  # a kept score under the floor: g is 0, the feed sends nobody
        ctx.db.add(
            ShopScore(
                shop_id=poor_shop,
                day=ctx.now().date(),
                score=3.9,
                tier="test",
                new=False,
                buyers=100,
                dimensions=[],
                formula_version="test",
                computed_at=ctx.now(),
            )
        )
    refused = await _buy(client, poor)
    assert (refused.status_code, refused.json()["code"]) == (403, "public_traffic_barred")
    assert await _released(client, poor, poor_shop) == 50_000

    stranger = await sign_up(client, Role.SELLER, name="Stranger")
    other = await client.post(
        f"/api/live/sessions/{poor.session_id}/promotions",
        json={"pricing": "cpm", "price_minor": 3_000, "budget_minor": 10_000},
        headers=stranger.headers,
    )
    assert other.status_code == 404
    small = await _buy(client, poor, budget_minor=2_999)  # less than one unit
    assert small.status_code == 422
    await client.post(f"/api/live/sessions/{poor.session_id}/end", headers=poor.anchor.headers)
    over = await _buy(client, poor)
    assert (over.status_code, over.json()["code"]) == (409, "invalid_state")


async def test_promoted_rooms_are_labelled_in_the_feed_and_charged_at_the_cpm_price_exactly(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    organic = await _show(client, clock, "Organic")
    paid = await _show(client, clock, "Paid")
    shop_id = await _shop_of(client, paid)
    await _fund(uow, shop_id, 100_000)
    promotion = await _promoted(
        client, paid, price_minor=2_999, budget_minor=50_000, pace_minutes=60
    )
    clock.advance(timedelta(minutes=30))  # paced: half the budget and the slack by now

    viewer = await sign_up(client, Role.BUYER, name="Viewer")
    items = await _feed(client, app, viewer)
    # Two rooms: the promoted slot (the third place) falls past the end, so it ends the feed.
    assert [(i["session_id"], i["reason"]) for i in items] == [
        (organic.session_id, "recommended"),
        (paid.session_id, "promoted"),
    ]
    assert items[1]["source"] == "recommend_feed"
    assert items[1]["why"]["ecpm_minor"] == 2_999
    async with uow() as ctx:
        logged = (
            await ctx.db.execute(
                select(FeedImpression.session_id, FeedImpression.position, FeedImpression.promoted)
            )
        ).all()
    assert sorted(logged) == sorted([(organic.session_id, 0, False), (paid.session_id, 1, True)])

    # 2,999 per 1,000: one impression costs 2 (2.999 rounded down), 333 cost 998, and the
    # fractions carry, so that 1,000 cost exactly 2,999.
    spent = []
    for more in (0, 332, 667):
        await _impressions(uow, paid.session_id, more)
        assert await charge_promotions(app.state) == 1
        spent.append((await _state(client, paid, shop_id))["spent_minor"])
    assert spent == [2, 998, 2_999]
    state = await _state(client, paid, shop_id)
    assert (state["impressions"], state["status"]) == (1_000, "active")
    assert await charge_promotions(app.state) == 0  # nothing new: nothing moves
    assert (await _books(uow))["ads"] == -2_999
    assert await _budget_held(uow, promotion["id"]) == 50_000 - 2_999
    assert await _released(client, paid, shop_id) == 50_000


async def test_a_promoted_room_is_shown_once_and_never_to_its_followers_as_promoted(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    shows = [await _show(client, clock, f"Room {i}") for i in range(4)]
    paid = shows[3]
    await _fund(uow, await _shop_of(client, paid), 100_000)
    await _promoted(client, paid, budget_minor=50_000, pace_minutes=10)
    clock.advance(timedelta(minutes=10))
    items = await _feed(client, app, None)
    assert [i["session_id"] for i in items].count(paid.session_id) == 1
    assert (items[2]["session_id"], items[2]["reason"]) == (paid.session_id, "promoted")
    fan = await sign_up(client, Role.BUYER, name="Fan")
    await client.put(f"/api/follows/anchor/{paid.anchor.id}", headers=fan.headers)
    items = await _feed(client, app, fan)
    assert (items[0]["session_id"], items[0]["reason"]) == (paid.session_id, "following")
    assert all(item["reason"] != "promoted" for item in items)


async def test_spend_never_exceeds_the_budget(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    paid = await _show(client, clock, "Paid")
    shop_id = await _shop_of(client, paid)
    await _fund(uow, shop_id, 20_000)
    await _promoted(client, paid, price_minor=3_000, budget_minor=5_000, pace_minutes=10)
    clock.advance(timedelta(minutes=20))
    await _impressions(uow, paid.session_id, 5_000)  # worth 15,000: the board was late
    assert await charge_promotions(app.state) == 1
    state = await _state(client, paid, shop_id)
    assert (state["spent_minor"], state["returned_minor"]) == (5_000, 0)
    assert (state["status"], state["end_reason"]) == ("ended", "budget_spent")
    assert await _released(client, paid, shop_id) == 15_000
    items = await _feed(client, app, None)
    assert [i["reason"] for i in items] == ["recommended"]
    assert (await _books(uow))["ads"] == -5_000


async def test_pacing_holds_spend_back_early_in_a_session(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    paid = await _show(client, clock, "Paced")
    shop_id = await _shop_of(client, paid)
    await _fund(uow, shop_id, 20_000)
    await _promoted(client, paid, price_minor=1_000, budget_minor=10_000, pace_minutes=100)
    assert [i["reason"] for i in await _feed(client, app, None)] == ["promoted"]
    await _impressions(uow, paid.session_id, 4_999)  # 5,000 in all, worth 5,000
    await charge_promotions(app.state)
    # At the start only the slack may be spent: 10% of the budget.
    assert (await _state(client, paid, shop_id))["spent_minor"] == 1_000
    assert [i["reason"] for i in await _feed(client, app, None)] == ["recommended"]
    clock.advance(timedelta(minutes=50))  # half the show and the slack: 6,000 by now
    await charge_promotions(app.state)
    assert (await _state(client, paid, shop_id))["spent_minor"] == 5_000
    assert [i["reason"] for i in await _feed(client, app, None)] == ["promoted"]
    await _books(uow)


async def test_ending_the_show_returns_the_unspent_budget(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    paid = await _show(client, clock, "Short")
    shop_id = await _shop_of(client, paid)
    await _fund(uow, shop_id, 30_000)
    promotion = await _promoted(client, paid, price_minor=2_000, budget_minor=10_000)
    clock.advance(timedelta(minutes=60))
    await _impressions(uow, paid.session_id, 500)  # worth 1,000
    await client.post(f"/api/live/sessions/{paid.session_id}/end", headers=paid.anchor.headers)
    await charge_promotions(app.state)
    assert (await _state(client, paid, shop_id))["status"] == "active"  # the last entries settle
    clock.advance(SETTLE)
    await charge_promotions(app.state)
    state = await _state(client, paid, shop_id)
    assert (state["status"], state["end_reason"]) == ("ended", "session_ended")
    assert (state["spent_minor"], state["returned_minor"]) == (1_000, 9_000)
    assert await _released(client, paid, shop_id) == 29_000
    assert await _budget_held(uow, promotion["id"]) == 0
    assert (await _books(uow))["ads"] == -1_000


async def test_a_seller_stops_a_promotion_and_a_barred_shop_loses_its_own(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    paid = await _show(client, clock, "Stopped")
    shop_id = await _shop_of(client, paid)
    await _fund(uow, shop_id, 30_000)
    promotion = await _promoted(client, paid, price_minor=1_000, budget_minor=10_000)
    await _impressions(uow, paid.session_id, 300)
    stranger = await sign_up(client, Role.SELLER, name="Stranger")
    refused = await client.post(f"/api/promotions/{promotion['id']}/stop", headers=stranger.headers)
    assert refused.status_code == 404
    stopped = await client.post(
        f"/api/promotions/{promotion['id']}/stop", headers=paid.anchor.headers
    )
    assert stopped.status_code == 200, stopped.text
    # Stopped, the pacing no longer holds the charge back: what was shown is paid.
    assert (stopped.json()["status"], stopped.json()["spent_minor"]) == ("ended", 300)
    assert await _released(client, paid, shop_id) == 29_700

    clock.advance(timedelta(minutes=1))
    again = await _promoted(client, paid, price_minor=1_000, budget_minor=10_000)
    await _bar(uow, shop_id)
    assert all(item["reason"] != "promoted" for item in await _feed(client, app, None))
    await charge_promotions(app.state)
    state = (await _report(client, paid, shop_id))[0]["promotion"]
    assert (state["id"], state["status"], state["end_reason"]) == (again["id"], "refused", "barred")
    assert await _released(client, paid, shop_id) == 29_700
    await _books(uow)


async def _enter(
    uow: Any, session_id: str, viewer: ApiUser, source: EntrySource = EntrySource.RECOMMEND_FEED
) -> str:
    async with uow() as ctx:
        return await do_enter(ctx, session_id, viewer.id, viewer.id, source, False)


async def test_entries_are_charged_and_the_report_sets_them_against_the_followers(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, app: Any
) -> None:
    paid = await _show(client, clock, "Per entry")
    shop_id = await _shop_of(client, paid)
    room = {"session_id": paid.session_id, "sku_id": paid.product.sku_ids[0]}
    await _fund(uow, shop_id, 30_000)
    promotion = await _promoted(client, paid, pricing="cpe", price_minor=400, budget_minor=10_000)
    clock.advance(timedelta(minutes=30))
    stranger = await sign_up(client, Role.BUYER, name="Stranger")
    browser = await sign_up(client, Role.BUYER, name="Browser")
    fan = await sign_up(client, Role.BUYER, name="Fan")
    await client.put(f"/api/follows/anchor/{paid.anchor.id}", headers=fan.headers)

    [shown] = await _feed(client, app, stranger)
    assert shown["reason"] == "promoted" and shown["why"]["ecpm_minor"] > 0
    clock.advance(timedelta(minutes=1))
    visit = await _enter(uow, paid.session_id, stranger)  # bought: shown promoted just before
    clock.advance(timedelta(minutes=1))
    await _enter(uow, paid.session_id, stranger)  # the same impression buys one entry only
    await _enter(uow, paid.session_id, browser)  # from the feed, never shown it promoted
    clock.advance(timedelta(minutes=1))
    await client.put(f"/api/follows/anchor/{paid.anchor.id}", headers=stranger.headers)
    fan_visit = await _enter(uow, paid.session_id, fan, EntrySource.FOLLOW_FEED)
    for buyer, from_visit in ((stranger, visit), (fan, fan_visit), (fan, fan_visit)):
        bought = await buy(client, room, buyer, visit_id=from_visit)
        assert bought.status_code == 201, bought.text
        await pay(client, buyer, [bought.json()["orders"][0]["id"]])

    clock.advance(SETTLE)
    await charge_promotions(app.state)
    [report] = await _report(client, paid, shop_id)
    assert (report["promotion"]["entries"], report["promotion"]["spent_minor"]) == (1, 400)
    assert (report["entries"], report["followers_gained"]) == (1, 1)
    assert (report["orders"], report["gmv_minor"]) == (1, 5_000)
    assert report["cost_per_entry_minor"] == 400
    assert report["cost_per_follower_minor"] == 400
    assert report["cost_per_order_minor"] == 400
    free = report["free"]
    assert (free["domain"], free["uv"], free["orders"], free["gmv_minor"]) == (
        "private",
        1,
        2,
        10_000,
    )
    others = await client.get(f"/api/shops/{shop_id}/promotions", headers=fan.headers)
    assert others.status_code == 404

    await client.post(f"/api/live/sessions/{paid.session_id}/end", headers=paid.anchor.headers)
    clock.advance(SETTLE)
    await charge_promotions(app.state)
    [report] = await _report(client, paid, shop_id)
    assert (report["promotion"]["returned_minor"], report["entries"]) == (9_600, 1)
    assert await _budget_held(uow, promotion["id"]) == 0
    assert (await _books(uow))["ads"] == -400
    async with uow() as ctx:
        promoted = await ctx.db.scalar(
            select(func.count()).select_from(FeedImpression).where(FeedImpression.promoted)
        )
    assert promoted == 1
