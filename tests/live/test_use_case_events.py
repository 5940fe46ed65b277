"""Every live use-case queues the room events that move an old snapshot to a fresh one.

As Zulip tests its actions: read the room as a joiner would, run the use-case, apply the
events it sent to the old snapshot, and compare with a snapshot read afresh.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.accounts.service import access_user
from laotie.core.clock import FrozenClock
from laotie.core.context import Ctx, unit_of_work
from laotie.live.events import room_name
from laotie.live.room import chat
from laotie.live.room import state as room
from laotie.live.room.ws import read_room
from laotie.live.sale import service as sales
from laotie.live.session import service as live
from laotie.realtime.events import RoomEvent
from laotie.settings import Settings
from tests.catalog_factories import make_product, make_shop, sku
from tests.conftest import RecordingBroadcaster
from tests.factories import ApiUser, sign_up
from tests.live.sale_room import start_sale

UseCase = Callable[[Ctx], Awaitable[object]]


class Room:
    """A session of a shop with two products, and what it takes to run use-cases on it."""

    def __init__(self, app: Any, settings: Settings, clock: FrozenClock) -> None:
        self.app, self.settings, self.clock = app, settings, clock
        self.anchor: ApiUser
        self.viewer: ApiUser
        self.session_id = ""
        self.products: list[str] = []
        self.sku_id = ""

    async def read(self) -> dict[str, Any]:
        """Return the room as a joiner's snapshot shows it."""
        async with unit_of_work(self.app.state.database, self.settings, self.clock) as ctx:
            return await read_room(ctx, self.app.state.live.gate, self.session_id)

    async def run(self, use_case: UseCase) -> list[RoomEvent]:
        """Run a use-case in a unit of work of its own; return the events it sent."""
        recorder = RecordingBroadcaster()
        database = self.app.state.database
        async with unit_of_work(database, self.settings, self.clock, recorder) as ctx:
            await use_case(ctx)
        assert {name for name, _ in recorder.sent} <= {room_name(self.session_id)}
        return [event for _, event in recorder.sent]

    async def check(self, use_case: UseCase) -> list[RoomEvent]:
        """Assert that old snapshot + the use-case's events = a fresh snapshot."""
        before = await self.read()
        events = await self.run(use_case)
        replayed = before
        for event in events:
            replayed = room.apply(replayed, event.type, event.data)
        assert replayed == await self.read()
        return events

    async def anchor_actor(self, ctx: Ctx) -> Any:
        return await access_user(ctx, self.anchor.id)


@pytest.fixture
async def show(client: httpx.AsyncClient, app: Any, settings: Settings, clock: FrozenClock) -> Room:
    """A scheduled session with two products in its cart, and a viewer."""
    made = Room(app, settings, clock)
    made.anchor = await sign_up(client, Role.SELLER, Role.ANCHOR, name="Anchor")
    made.viewer = await sign_up(client, Role.BUYER, name="Viewer")
    shop_id = await make_shop(client, made.anchor)
    first = await make_product(client, made.anchor, shop_id, skus=[sku(price_minor=9_900)])
    second = await make_product(client, made.anchor, shop_id, skus=[sku(price_minor=4_900)])
    made.products, made.sku_id = [first.id, second.id], first.sku_ids[0]
    scheduled = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": shop_id,
            "title": "Events",
            "scheduled_at": clock.now().isoformat(),
            "product_ids": made.products,
        },
        headers=made.anchor.headers,
    )
    made.session_id = scheduled.json()["id"]
    return made


async def _go_live(show: Room) -> list[RoomEvent]:
    async def go(ctx: Ctx) -> None:
        await live.do_go_live(ctx, await show.anchor_actor(ctx), show.session_id)

    return await show.check(go)


async def test_going_live_and_ending_send_the_status(show: Room) -> None:
    assert [event.type for event in await _go_live(show)] == ["status"]

    async def end(ctx: Ctx) -> None:
        await live.do_end(ctx, await show.anchor_actor(ctx), show.session_id)

    assert [event.type for event in await show.check(end)] == ["status"]


async def test_pinning_and_changing_the_cart_send_the_pin_and_the_cart(show: Room) -> None:
    await _go_live(show)
    first, second = show.products

    async def pin(ctx: Ctx) -> None:
        await live.do_pin(ctx, await show.anchor_actor(ctx), show.session_id, first)

    async def drop_the_pinned(ctx: Ctx) -> None:
        await live.do_set_cart(ctx, await show.anchor_actor(ctx), show.session_id, [second])

    assert [event.type for event in await show.check(pin)] == ["pin"]
    assert [event.type for event in await show.check(drop_the_pinned)] == ["cart", "pin"]


async def test_saying_and_deleting_a_line_send_the_chat(show: Room) -> None:
    await _go_live(show)
    said: list[RoomEvent] = []

    async def say(ctx: Ctx) -> None:
        session = await live.load_session(ctx, show.session_id)
        said.append(await chat.do_say(ctx, session, await access_user(ctx, show.viewer.id), "hi"))

    async def delete(ctx: Ctx) -> None:
        session = await live.load_session(ctx, show.session_id)
        await chat.do_delete_message(ctx, session, said[0].data["id"])

    assert [event.type for event in await show.check(say)] == ["chat"]
    assert [event.type for event in await show.check(delete)] == ["chat_delete"]


async def test_ending_a_flash_sale_sends_its_end_and_the_units_back_on_hand(
    client: httpx.AsyncClient, show: Room
) -> None:
    await _go_live(show)
    started = await start_sale(
        client, {"session_id": show.session_id, "sku_id": show.sku_id, "anchor": show.anchor}
    )
    assert started.status_code == 201, started.text

    async def end_sale(ctx: Ctx) -> None:
        await sales.do_end_sale(ctx, await sales.load_sale(ctx, started.json()["sale_id"]))

    assert [event.type for event in await show.check(end_sale)] == ["sale_end", "stock"]


async def test_a_use_case_refused_sends_nothing(show: Room) -> None:
    async def pin_before_going_live(ctx: Ctx) -> None:
        await live.do_pin(ctx, await show.anchor_actor(ctx), show.session_id, show.products[0])

    with pytest.raises(Exception, match="session is scheduled"):
        await show.run(pin_before_going_live)
