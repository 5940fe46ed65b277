"""A simulated marketplace for trust: honest shops and buyers, and shops that brush.

The world is built through the real services (sign-up, shops, products, checkout, the
sandbox's payment, shipping, receipt, reviews) on a clock that walks a number of days,
so that detection and the scores read exactly what production would write. Two
worlds from one seed share their honest part, order for order: `fake=False` builds the
twin without the brushing, which the trust-attack benchmark compares scores against.

Honest buyers order a few times from shops they like, ship-to addresses and devices of
their own (some share an office's address of the client); shops ship mostly in time and
earn the stars of their quality. A brushing shop's ring places its fake orders in bursts
from a few shared phones, payment accounts and addresses (all but `distinct_share` of the
ring), confirms receipt at once and gives five stars `review_delay_hours` later; with
`camouflage` it also places orders at honest shops that look like any buyer's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.fingerprint import ClientPrint
from laotie.orders import checkout as order_checkout
from laotie.orders import queries as order_queries
from laotie.orders import service as order_states
from laotie.sim.common import (
    CATEGORIES,
    PASSWORD,
    START,
    Person,
    at,
    open_shop,
    poisson,
    ring_member,
    sign_up_person,
    star,
)
from laotie.sim.seed import pay_through_sandbox
from laotie.trust import reviews
from laotie.trust.schemas import ReviewIn

OFFICE_IP = "203.0.113.7"
BURST_BUYERS, BURST_ORDERS_EACH = 4, 3


@dataclass(frozen=True)
class WorldSettings:
    """The shape of a world and of its attack."""

    honest_shops: int = 40
    honest_buyers: int = 2_000
    office_buyers: int = 50
    brushing_shops: int = 5
    ring_size: int = 30
    fake_share: float = 0.5  # of a brushing shop's orders, the fake ones
    camouflage: float = 0.3  # of the ring's orders, those placed at honest shops
    distinct_share: float = 0.2  # of the ring, the accounts with fingerprints of their own
    review_delay_hours: float = 0.5
    orders_per_buyer: float = 2.0
    days: int = 60
    seed: int = 7
    fake: bool = True

    @property
    def end(self) -> datetime:
        """The moment the world stops."""
        return START + timedelta(days=self.days)


@dataclass
class Stall:
    """A shop of the world: its seller, its one SKU and the quality of its service."""

    shop_id: str
    seller: Actor
    sku_id: str
    quality: float
    brushing: bool


@dataclass
class World:
    """What was built, and which orders were fake."""

    settings: WorldSettings
    shops: list[Stall] = field(default_factory=list)
    buyers: list[Person] = field(default_factory=list)
    rings: list[list[Person]] = field(default_factory=list)
    operator: Actor | None = None
    fake_orders: set[str] = field(default_factory=set)  # the rings' orders at their own shop
    camouflage_orders: set[str] = field(default_factory=set)  # theirs at honest shops
    honest_orders: int = 0


# ---------------------------------------------------------------- people and shops


async def populate(ctx: Ctx, settings: WorldSettings) -> World:
    """Sign everybody up and open the shops, at the world's start."""
    world = World(settings)
    ctx = at(ctx, START - timedelta(days=1))
    rng = random.Random(f"{settings.seed}:shops")
    await catalog.do_ensure_default_categories(ctx)
    count = settings.honest_shops + settings.brushing_shops
    for index in range(count):
        brushing = index >= settings.honest_shops
        quality = rng.uniform(3.7, 4.3) if brushing else rng.uniform(3.9, 4.9)
        world.shops.append(await _open_stall(ctx, index, quality, brushing))
    for index in range(settings.honest_buyers):
        ip = OFFICE_IP if index < settings.office_buyers else f"10.{index // 250}.{index % 250}.9"
        client = ClientPrint(ip, f"phone-h{index:05d}")
        world.buyers.append(await sign_up_person(ctx, f"h{index}", index, client, f"{index} 号"))
    for ring in range(settings.brushing_shops if settings.fake else 0):
        world.rings.append(
            [await _ring_member(ctx, settings, ring, j) for j in range(settings.ring_size)]
        )
    operator = await accounts.do_sign_up(
        ctx, "operator@sim.example", PASSWORD, "Operator", frozenset({Role.BUYER})
    )
    world.operator = await accounts.do_grant_roles(ctx, operator.id, frozenset({Role.OPERATOR}))
    return world


async def _open_stall(ctx: Ctx, index: int, quality: float, brushing: bool) -> Stall:
    opened = await open_shop(
        ctx,
        index,
        category=CATEGORIES[index % len(CATEGORIES)],
        price_minor=2_000 + 400 * (index % 20),
    )
    return Stall(opened.shop_id, opened.seller, opened.sku_id, quality, brushing)


async def _ring_member(ctx: Ctx, settings: WorldSettings, ring: int, j: int) -> Person:
    """A fake account: most share the ring's phones, accounts and addresses."""
    return await ring_member(ctx, ring, j, settings.ring_size, settings.distinct_share)


# ---------------------------------------------------------------- orders


@dataclass(frozen=True)
class Plan:
    """One order to place: who, where, when, and whether it is a ring's fake order."""

    key: str  # names the order in both worlds: its draws come from it
    buyer: Person
    shop: Stall
    paid_at: datetime
    fake: bool = False
    camouflage: bool = False


def honest_plans(world: World) -> list[Plan]:
    """The honest buyers' orders: a few each, at shops they like, over the days."""
    settings = world.settings
    rng = random.Random(f"{settings.seed}:honest")
    popularity = [1 / (rank + 1) ** 0.8 for rank in range(len(world.shops))]
    made: list[Plan] = []
    for buyer in world.buyers:
        favourites = rng.choices(world.shops, popularity, k=2)
        for _ in range(poisson(rng, settings.orders_per_buyer)):
            shop = (
                rng.choice(favourites)
                if rng.random() < 0.4
                else rng.choices(world.shops, popularity)[0]
            )
            made.append(Plan(f"h{len(made)}", buyer, shop, _moment(rng, settings)))
    return made


def ring_plans(world: World, honest: list[Plan]) -> list[Plan]:
    """The rings' fake orders in bursts at their shop, and their camouflage elsewhere."""
    settings = world.settings
    rng = random.Random(f"{settings.seed}:rings")
    brushing = [shop for shop in world.shops if shop.brushing]
    decent = [shop for shop in world.shops if not shop.brushing]
    made: list[Plan] = []
    for ring, shop in zip(world.rings, brushing, strict=False):
        genuine = sum(plan.shop is shop for plan in honest)
        wanted = round(max(genuine, 10) * settings.fake_share / (1 - settings.fake_share))
        placed = 0
        while placed < wanted:
            start = _moment(rng, settings)
            for buyer in rng.sample(ring, min(BURST_BUYERS, len(ring))):
                for k in range(BURST_ORDERS_EACH):
                    if placed < wanted:
                        paid = start + timedelta(minutes=rng.uniform(0, 50) + k)
                        made.append(Plan(f"f{len(made)}", buyer, shop, paid, fake=True))
                        placed += 1
        hidden = round(wanted * settings.camouflage / (1 - settings.camouflage))
        for _ in range(hidden):
            buyer, elsewhere = rng.choice(ring), rng.choice(decent)
            paid = _moment(rng, settings)
            made.append(Plan(f"c{len(made)}", buyer, elsewhere, paid, camouflage=True))
    return made


def _moment(rng: random.Random, settings: WorldSettings) -> datetime:
    """A moment of the world's days, at least two days before its end."""
    return START + timedelta(seconds=rng.uniform(0, (settings.days - 2) * 86_400))


async def place(ctx: Ctx, world: World, plan: Plan) -> str:
    """Walk one order through checkout, payment, shipping, receipt and its review."""
    rng = random.Random(f"{world.settings.seed}:order:{plan.key}")
    end = world.settings.end
    buyer, shop = plan.buyer, plan.shop
    channel = order_checkout.Channel(client=buyer.client)
    checkout = await order_checkout.do_checkout(
        at(ctx, plan.paid_at - timedelta(minutes=3)),
        buyer.actor,
        [(shop.sku_id, 1)],
        f"sim-{plan.key}",
        channel,
    )
    order = checkout.orders[0]
    await pay_through_sandbox(at(ctx, plan.paid_at), buyer.actor, [order.id], buyer.payer)
    if plan.fake:
        shipped = plan.paid_at + timedelta(minutes=rng.uniform(10, 60))
    elif rng.random() < 0.92:
        shipped = plan.paid_at + timedelta(hours=rng.uniform(2, 40))
    else:
        shipped = plan.paid_at + timedelta(hours=rng.uniform(49, 80))
    if shipped > end:
        return order.id
    await order_states.do_ship(at(ctx, shipped), shop.seller, order.id, "SF", f"SF-{plan.key}")
    arrived = await _receive(ctx, plan, order.id, shipped, rng, end)
    if arrived is None:
        return order.id
    await _review(ctx, world, plan, order.id, order.lines[0].id, arrived, rng)
    return order.id


async def _receive(
    ctx: Ctx, plan: Plan, order_id: str, shipped: datetime, rng: random.Random, end: datetime
) -> datetime | None:
    """Confirm receipt as the buyer would (a ring at once), or let it auto-confirm."""
    if plan.fake:
        arrived = shipped + timedelta(minutes=rng.uniform(5, 60))
    elif rng.random() < 0.6:
        arrived = shipped + timedelta(days=rng.uniform(1, 4))
    else:
        arrived = shipped + timedelta(days=ctx.settings.auto_deliver_days)
        if arrived > end:
            return None
        moment = at(ctx, arrived)
        order = await order_queries.load_order(moment, order_id, lock=True)
        await order_states.do_deliver(moment, order, None, "auto_confirmed")
        return arrived
    if arrived > end:
        return None
    await order_states.do_confirm_receipt(at(ctx, arrived), plan.buyer.actor, order_id)
    return arrived


async def _review(
    ctx: Ctx,
    world: World,
    plan: Plan,
    order_id: str,
    line_id: str,
    arrived: datetime,
    rng: random.Random,
) -> None:
    """Five stars from a ring; from others, half the time, the stars of the shop's quality."""
    if plan.fake:
        written = arrived + timedelta(hours=world.settings.review_delay_hours)
        stars = (5, 5, 5)
    elif rng.random() < 0.5:
        written = arrived + timedelta(days=rng.uniform(0, 3))
        stars = (
            star(rng, plan.shop.quality),
            star(rng, plan.shop.quality),
            star(rng, plan.shop.quality),
        )
    else:
        return
    if written > world.settings.end:
        return
    product, logistics, service = stars
    await reviews.do_review(
        at(ctx, written),
        plan.buyer.actor,
        order_id,
        ReviewIn(
            line_id=line_id, product_stars=product, logistics_stars=logistics, service_stars=service
        ),
    )


def all_plans(world: World) -> Iterator[Plan]:
    """Every order of the world, in the order they are placed (by time)."""
    honest = honest_plans(world)
    rings = ring_plans(world, honest) if world.settings.fake else []
    yield from sorted([*honest, *rings], key=lambda plan: plan.paid_at)
