"""Buyers in the simulated world: open the feed, enter a room, watch, buy and pay.

A buyer opens its feed (the real recommendation feed, with the world's policy and
generator) a Poisson number of times a day; it enters at most one room of what it is
shown, scanning from the top, each room tempting it by its place, the buyer's taste for
the room's category and its trust in the shop. A visit is two events: the entry (with
the feed's impressions queued for their writer) and the end, which records the whole watch
time at once (`visits.do_leave`). A visit may buy once, through the room's real order
path (`live.sale.buying.buy_in_room`), and most orders are paid on the sandbox.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from laotie.core.errors import AppError
from laotie.live.room import visits
from laotie.live.sale.buying import buy_in_room
from laotie.live.schemas import EntrySource
from laotie.sim import aftercare
from laotie.sim.agents import Buyer, Parcel, Show, World
from laotie.sim.common import Person, poisson
from laotie.sim.seed import pay_through_sandbox
from laotie.traffic.impressions import Impression
from laotie.traffic.recommend import recommend
from laotie.traffic.schemas import FeedPolicy, Reason, RecommendedOut


def plan_day(world: World, day: datetime) -> None:
    """Put each active buyer's feed opens of the day on the agenda."""
    s = world.settings
    first, last = s.open_hours
    for buyer in world.buyers:
        if buyer.churned:
            continue
        for _ in range(poisson(buyer.rng, s.opens_per_day * buyer.activity)):
            moment = day + timedelta(hours=buyer.rng.uniform(first, last))
            world.stage.at(moment, open_feed, world, buyer)


async def open_feed(world: World, buyer: Buyer) -> None:
    """Open the feed; perhaps enter one of its rooms, and plan the visit."""
    if buyer.churned:
        return
    world.tally.feed_opens += 1
    stage = world.stage
    async with stage.uow() as ctx:
        rec = await recommend(
            ctx,
            buyer.actor,
            buyer.key,
            limit=world.settings.feed_size,
            policy=FeedPolicy(world.settings.policy),
            rng=stage.rng("feed"),
        )
        log_impressions(world, rec.shown)
        item = choose(world, buyer, rec.out.items)
        if item is None:
            world.tally.empty_feeds += not rec.out.items
            return
        show = world.shows[item.session_id]
        visit_id = await visits.do_enter(
            ctx,
            item.session_id,
            buyer.key,
            buyer.actor.id,
            EntrySource(item.source),
            show.shop.index in buyer.follows,  # known here; else the service reads it
        )
    plan_visit(world, buyer, show, visit_id)


def log_impressions(world: World, shown: list[Impression]) -> None:
    """Queue the feed's impressions for its writer, which writes them a batch at a time.

    The server's writer writes every 2 s; the world's writes a batch every
    `impressions_every_s` of world time instead, its feed opens coming a minute apart.
    """
    if not shown:
        return
    if not world.impressions_due:
        later = world.stage.now() + timedelta(seconds=world.settings.impressions_every_s)
        world.stage.at(later, write_impressions, world)
        world.impressions_due = True
    for impression in shown:
        world.impressions.queue(impression)


async def write_impressions(world: World) -> None:
    """Write the impressions waiting, in one unit of work (`ImpressionWriter`)."""
    world.impressions_due = False
    await world.impressions.write_waiting(world.stage.state)


def choose(world: World, buyer: Buyer, items: list[RecommendedOut]) -> RecommendedOut | None:
    """The first room of the feed that tempts the buyer enough, or none."""
    s = world.settings
    for place, item in enumerate(items):
        shop = world.by_shop_id.get(item.shop_id or "")
        if shop is None or item.session_id not in world.shows:
            continue  # not the world's, or ended since the feed read the rooms
        chance = s.click_base * s.click_decay**place * buyer.tastes[shop.category]
        chance *= world.trust_factor(buyer, shop)
        if item.reason == Reason.FOLLOWING:
            chance *= s.follow_click_boost
        if buyer.rng.random() < min(chance, 0.95):
            return item
    return None


async def enter_directly(world: World, buyer: Buyer, show: Show, source: EntrySource) -> None:
    """Enter a room by a link (a go-live notification), not through the feed."""
    if buyer.churned or world.stage.now() >= show.ends_at:
        return
    async with world.stage.uow() as ctx:
        visit_id = await visits.do_enter(
            ctx,
            show.session_id,
            buyer.key,
            buyer.actor.id,
            source,
            show.shop.index in buyer.follows,
        )
    world.tally.notified_entries += 1
    plan_visit(world, buyer, show, visit_id)


def plan_visit(world: World, buyer: Buyer, show: Show, visit_id: str) -> None:
    """Draw how long the visit lasts and whether it buys; put both on the agenda."""
    s, rng, shop = world.settings, buyer.rng, show.shop
    world.tally.entries += 1
    now = world.stage.now()
    taste = buyer.tastes[shop.category]
    watched = rng.lognormvariate(math.log(s.watch_median_s * (0.5 + taste)), s.watch_sigma)
    watched = max(5.0, min(watched, (show.ends_at - now).total_seconds()))
    chance = s.buy_base * taste * world.trust_factor(buyer, shop) * world.affordability(buyer, shop)
    if rng.random() < min(chance, 0.95) and watched > 20:
        moment = now + timedelta(seconds=watched * rng.uniform(*s.buy_moment))
        world.stage.at(moment, buy, world, buyer, show, visit_id)
    world.stage.at(now + timedelta(seconds=watched), leave, world, visit_id, int(watched))


async def leave(world: World, visit_id: str, seconds: int) -> None:
    """End a visit: its whole watch time in one event."""
    async with world.stage.uow() as ctx:
        await visits.do_leave(ctx, visit_id, seconds)


async def buy(world: World, buyer: Buyer, show: Show, visit_id: str) -> None:
    """Order the room's product through the room; plan the payment, or let it lapse."""
    buyer.orders += 1
    parcel = await room_order(
        world, buyer.person, show, visit_id, f"sim-b{buyer.index}-{buyer.orders}"
    )
    if parcel is None:
        return
    parcel.buyer = buyer
    if buyer.rng.random() >= world.settings.pay_share:
        world.tally.unpaid += 1
        return
    delay = timedelta(minutes=buyer.rng.uniform(*world.settings.pay_minutes))
    world.stage.at(world.stage.now() + delay, pay_for, world, parcel)


async def room_order(
    world: World, person: Person, show: Show, visit_id: str, key: str
) -> Parcel | None:
    """Place one order of the room's product through the room's order path."""
    try:
        checkout = await buy_in_room(
            world.stage.state,
            person.actor,
            show.session_id,
            show.shop.opened.sku_id,
            1,
            visit_id,
            key,
            client=person.client,
        )
    except AppError:
        world.tally.refused_purchases += 1
        return None
    world.tally.purchases += 1
    order = checkout.orders[0]
    return Parcel(order.id, order.lines[0].id, person, show.shop)


async def pay_for(world: World, parcel: Parcel) -> None:
    """Pay an order on the sandbox's page; the shop then ships it (`aftercare`)."""
    async with world.stage.uow() as ctx:
        await pay_through_sandbox(ctx, parcel.person.actor, [parcel.order_id], parcel.person.payer)
    aftercare.plan_shipping(world, parcel)
