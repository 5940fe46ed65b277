"""Campaigns: opened with a partner factory and a deposit that covers them; buyers commit
with paid deposits and withdraw; at the deadline a campaign is confirmed into a production
run or fails with every deposit refunded; the books balance through every path."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from laotie.app import create_app
from laotie.core.clock import FrozenClock
from laotie.live.events import room_name
from laotie.live.room.state import apply, empty_state
from laotie.orders import ledger
from laotie.orders.models import Payment
from laotie.realtime.events import Seq
from laotie.supply.jobs import close_due_campaigns, release_unpaid_commitments
from laotie.supply.models import Commitment, ProductionRun
from laotie.supply.money import deposits_account
from tests.catalog_factories import make_operator, make_seller
from tests.live.sale_room import go_live
from tests.supply.campaign_world import (
    DEPOSIT_UNIT,
    FACTORY_TIERS,
    CampaignWorld,
    buyers,
    campaign_body,
    check_books,
    commit,
    commit_and_pay,
    make_campaign_world,
    open_campaign,
    pay_security_deposit,
)
from tests.supply.factories import make_factory, partner


async def _books_balance(uow: Any, campaign_id: str) -> int:
    """Check the ledger balances; return what the campaign's deposits account holds."""
    async with uow() as ctx:
        await check_books(ctx)
        return -await ledger.balance(ctx, deposits_account(campaign_id))


async def _campaign(client: httpx.AsyncClient, campaign_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await client.get(f"/api/campaigns/{campaign_id}")).json()
    return found


async def test_deposits_are_held_withdrawn_and_refunded_when_the_campaign_fails(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock)
    assert (campaign["status"], campaign["deposit_unit_minor"]) == ("open", DEPOSIT_UNIT)
    assert [v["variant"] for v in campaign["variants"]] == [
        "black/M",
        "black/L",
        "camel/M",
        "camel/L",
    ]
    first, second = await buyers(client, 2)
    held = await commit_and_pay(client, first, campaign["id"], quantity=2)
    withdrawn = await commit_and_pay(client, second, campaign["id"], variant="camel/L")
    progress = await _campaign(client, campaign["id"])
    assert (progress["committed"], progress["reserved"]) == (3, 3)
    assert progress["price_reached_minor"] == 20_000  # the first tier: the MOQ reached
    assert await _books_balance(uow, campaign["id"]) == 3 * DEPOSIT_UNIT

    back = await client.post(
        f"/api/commitments/{withdrawn['id']}/withdrawal", headers=second.headers
    )
    assert back.status_code == 200 and back.json()["status"] == "withdrawn"
    again = await client.post(
        f"/api/commitments/{withdrawn['id']}/withdrawal", headers=second.headers
    )
    assert again.status_code == 409 and again.json()["code"] == "commitment_ended"
    assert await _books_balance(uow, campaign["id"]) == 2 * DEPOSIT_UNIT

    clock.advance(timedelta(days=1))
    assert await close_due_campaigns(app.state) == 1
    assert await close_due_campaigns(app.state) == 0  # closed once
    assert (await _campaign(client, campaign["id"]))["status"] == "failed"  # 2 of 3 units
    mine = (await client.get("/api/me/commitments", headers=first.headers)).json()
    assert [(c["id"], c["status"]) for c in mine] == [(held["id"], "refunded")]
    assert await _books_balance(uow, campaign["id"]) == 0
    late = await commit(client, first, campaign["id"])
    assert late.status_code == 409 and late.json()["code"] == "campaign_closed"


async def test_a_campaign_reaching_its_moq_becomes_a_production_run(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock)
    people = await buyers(client, 3)
    for buyer, variant, units in zip(
        people, ("black/M", "black/M", "camel/L"), (3, 2, 1), strict=True
    ):
        await commit_and_pay(client, buyer, campaign["id"], variant=variant, quantity=units)
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 1
    closed = await _campaign(client, campaign["id"])
    assert (closed["status"], closed["committed"], closed["price_reached_minor"]) == (
        "confirmed",
        6,
        18_000,
    )
    async with uow() as ctx:
        run = await ctx.db.scalar(
            select(ProductionRun).where(ProductionRun.campaign_id == campaign["id"])
        )
    assert run is not None
    assert run.committed == {"black/M": 5, "black/L": 0, "camel/M": 0, "camel/L": 1}
    assert (run.unit_cost_minor, run.unit_price_minor, run.status) == (8_000, 18_000, "ordered")
    assert set(run.buffer) == set(run.committed) and all(b >= 0 for b in run.buffer.values())
    # The deposits stay held for the balance payments to come.
    assert await _books_balance(uow, campaign["id"]) == 6 * DEPOSIT_UNIT


async def test_an_unpaid_commitment_is_released_and_its_late_deposit_refunded(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock, cap_units=3)
    (buyer,) = await buyers(client, 1)
    made = await commit(client, buyer, campaign["id"], quantity=3)
    assert made.status_code == 201
    full = await commit(client, buyer, campaign["id"])
    assert full.status_code == 409 and full.json()["code"] == "campaign_full"
    clock.advance(timedelta(minutes=16))
    assert await release_unpaid_commitments(app.state) == 1
    assert (await _campaign(client, campaign["id"]))["reserved"] == 0
    paid_late = await client.post(made.json()["pay_url"], data={"action": "pay"})
    assert paid_late.status_code == 303
    mine = (await client.get("/api/me/commitments", headers=buyer.headers)).json()
    assert mine[0]["status"] == "refunded"
    assert await _books_balance(uow, campaign["id"]) == 0


async def test_the_same_key_answers_the_same_commitment_and_charges_once(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock)
    (buyer,) = await buyers(client, 1)
    first = await commit(client, buyer, campaign["id"], key="same-key-1")
    second = await commit(client, buyer, campaign["id"], key="same-key-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["payment_id"] == second.json()["payment_id"]
    unknown = await commit(client, buyer, campaign["id"], variant="pink/XS")
    assert unknown.status_code == 422 and unknown.json()["code"] == "variant_unknown"


async def test_concurrent_commits_never_reserve_beyond_the_cap(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock, cap_units=4)
    people = await buyers(client, 6)
    answers = await asyncio.gather(*(commit(client, b, campaign["id"]) for b in people))
    assert sorted(a.status_code for a in answers) == [201] * 4 + [409] * 2
    assert (await _campaign(client, campaign["id"]))["reserved"] == 4


async def test_commits_racing_the_close_at_the_deadline_lose_nothing(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    world = await make_campaign_world(client, uow)
    campaign = await open_campaign(client, world, clock)
    people = await buyers(client, 6)
    for buyer in people[:3]:  # the MOQ, held
        await commit_and_pay(client, buyer, campaign["id"])
    clock.advance(timedelta(days=1, seconds=-1))  # a second before the deadline
    early = [(await commit(client, b, campaign["id"])).json() for b in people[3:]]
    async with uow() as ctx:
        payments_before = len(list(await ctx.db.scalars(select(Payment.id))))
    clock.advance(timedelta(seconds=1))  # the deadline: the close, late commits and the
    # early ones' deposits all arrive at once
    answers = await asyncio.gather(
        close_due_campaigns(app.state),
        *(commit(client, b, campaign["id"]) for b in people[3:]),
        *(client.post(e["pay_url"], data={"action": "pay"}) for e in early),
    )
    late = answers[1:4]
    assert all(a.status_code == 409 and a.json()["code"] == "campaign_closed" for a in late)
    async with uow() as ctx:
        assert len(list(await ctx.db.scalars(select(Payment.id)))) == payments_before
        found = list(await ctx.db.scalars(select(Commitment)))
        # A deposit that came before the close is confirmed with its units; one that came
        # as the campaign closed went straight back: never held without its units.
        assert {c.status for c in found} <= {"confirmed", "refunded"}
        confirmed = [c for c in found if c.status == "confirmed"]
        assert len(confirmed) >= 3
        held = -await ledger.balance(ctx, deposits_account(campaign["id"]))
        assert held == DEPOSIT_UNIT * len(confirmed)
        await check_books(ctx)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"category": "tea"}, "category_not_made"),
        (
            {"moq": 1, "price_tiers": [{"min_quantity": 1, "unit_price_minor": 20_000}]},
            "moq_below_factory",
        ),
        ({"moq": 4}, "price_tiers_invalid"),
        ({"cap_units": 2}, "cap_below_moq"),
        ({"deadline": "2026-01-05T09:05:00+00:00"}, "deadline_invalid"),
        ({"deposit_bps": 2_001}, "invalid_input"),
        ({"cap_units": 1_000}, "deposit_too_low"),  # 1,000 × 2,000 > the deposit of 100,000
    ],
)
async def test_a_campaign_that_cannot_be_is_refused(
    client: httpx.AsyncClient,
    uow: Any,
    clock: FrozenClock,
    changes: dict[str, Any],
    code: str,
) -> None:
    world = await make_campaign_world(client, uow)
    answer = await client.post(
        "/api/campaigns", json=campaign_body(world, clock, **changes), headers=world.seller.headers
    )
    assert answer.status_code in (409, 422) and answer.json()["code"] == code, answer.text
    listed = await client.get("/api/campaigns", params={"shop_id": world.shop_id})
    assert listed.json() == []


async def test_the_deposit_stands_behind_one_campaign_at_a_time_and_partners_only(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    world = await make_campaign_world(client, uow, deposit_minor=30_000)
    await open_campaign(client, world, clock, cap_units=10)  # 20,000 of the 30,000
    second = await client.post(
        "/api/campaigns", json=campaign_body(world, clock), headers=world.seller.headers
    )
    assert second.status_code == 409 and second.json()["code"] == "deposit_too_low"
    stranger = await make_seller(client, "Stranger")
    theirs = await client.post(
        "/api/campaigns", json=campaign_body(world, clock), headers=stranger.headers
    )
    assert theirs.status_code == 404
    ended = await client.delete(
        f"/api/shops/{world.shop_id}/partners/{world.factory_id}", headers=world.seller.headers
    )
    assert ended.status_code == 200
    unpartnered = await client.post(
        "/api/campaigns",
        json=campaign_body(world, clock, cap_units=3),
        headers=world.seller.headers,
    )
    assert unpartnered.status_code == 409 and unpartnered.json()["code"] == "not_partner"


def test_the_app_settles_deposits_through_supply() -> None:
    from laotie.orders.purposes import settler_of
    from laotie.supply.commitments import settle_deposit

    create_app()
    assert settler_of("c2m_deposit") is settle_deposit


async def test_a_campaign_opened_in_a_show_tells_its_room_each_step(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock, app: Any
) -> None:
    show = await go_live(client, clock, "Coats live", price_minor=9_900, stock=10)
    shop_id = (await client.get(f"/api/live/sessions/{show.session_id}")).json()["shop_id"]
    operator = await make_operator(client, uow)
    owner, factory = await make_factory(client, operator, moq=2, price_tiers=FACTORY_TIERS)
    await partner(client, show.anchor, shop_id, owner, factory["id"])
    await pay_security_deposit(client, show.anchor, shop_id, 100_000)
    world = CampaignWorld(show.anchor, shop_id, owner, factory["id"])
    campaign = await open_campaign(client, world, clock, session_id=show.session_id)
    listed = await client.get("/api/campaigns", params={"session_id": show.session_id})
    assert [c["id"] for c in listed.json()] == [campaign["id"]]
    (buyer,) = await buyers(client, 1)
    await commit_and_pay(client, buyer, campaign["id"], quantity=3)
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 1
    log = app.state.live.hub.log
    heard = [
        event.data
        for event in log.since(room_name(show.session_id), Seq(log.epoch, 0))
        if event.type == "campaign"
    ]
    # Opened, committed, its deposit paid, closed: the card as it was at each step.
    assert [(c["status"], c["reserved"], c["committed"]) for c in heard] == [
        ("open", 0, 0),
        ("open", 3, 0),
        ("open", 3, 3),
        ("confirmed", 3, 3),
    ]
    state = empty_state()
    for card in heard:
        state = apply(state, "campaign", card)
    assert state["campaigns"][campaign["id"]]["status"] == "confirmed"
    ended = await client.post(
        f"/api/live/sessions/{show.session_id}/end", headers=show.anchor.headers
    )
    assert ended.status_code == 200, ended.text
    late = await client.post(
        "/api/campaigns",
        json=campaign_body(world, clock, session_id=show.session_id),
        headers=show.anchor.headers,
    )
    assert late.status_code == 409 and late.json()["code"] == "show_ended"
