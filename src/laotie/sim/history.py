"""The demo shops' trust history: months of regular buyers, parcels and stars.

Seeded through the real services at moments before now, so that each demo shop has a
real score of its own (not the new shop's prior), its tier, verified sales, and a
month of kept daily scores for the seller's chart. The shops differ on purpose: one
ships everything in time to delighted buyers, one is late and middling.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.clock import FrozenClock
from laotie.core.context import Ctx
from laotie.orders import addresses
from laotie.orders import checkout as order_checkout
from laotie.orders import queries as order_queries
from laotie.orders import service as order_states
from laotie.sim.catalogue import (
    DEMO_ADDRESSES,
    DEMO_DOMAIN,
    JADE_PAVILION,
    JIANGNAN_ATELIER,
    SNACK_SHOP,
    TEA_HOUSE,
    demo_address,
)
from laotie.sim.credentials import demo_password
from laotie.trust import privileges
from laotie.trust import reviews as trust_reviews
from laotie.trust import service as trust
from laotie.trust.schemas import ReviewIn

HISTORY_DAYS = 80  # the oldest order this long before now
SCORED_DAYS = 30  # daily scores kept for the chart


@dataclass(frozen=True)
class ShopHistory:
    """How a demo shop has served: how many regulars bought, their stars, its punctuality."""

    buyers: int
    stars: float  # the mean the buyers' stars are drawn around
    spread: float  # their standard deviation
    on_time: float  # share of parcels shipped by the deadline
    days: int  # the orders spread over this many days before now


# The tea house earns the badge (excellent from 4.70: many fresh, happy buyers); the
# atelier ships late to lukewarm buyers.
HISTORIES: Mapping[str, ShopHistory] = {
    TEA_HOUSE.name: ShopHistory(buyers=66, stars=5.0, spread=0.35, on_time=1.0, days=40),
    JADE_PAVILION.name: ShopHistory(buyers=30, stars=4.5, spread=0.6, on_time=0.95, days=80),
    JIANGNAN_ATELIER.name: ShopHistory(buyers=18, stars=3.9, spread=0.8, on_time=0.7, days=80),
    SNACK_SHOP.name: ShopHistory(buyers=36, stars=4.6, spread=0.6, on_time=0.9, days=60),
}


REGULARS = max(history.buyers for history in HISTORIES.values())


def at(ctx: Ctx, moment: datetime) -> Ctx:
    """The unit of work with its clock at a past moment."""
    return replace(ctx, clock=FrozenClock(moment))


Pay = Callable[[Ctx, Actor, list[str]], Awaitable[None]]


async def seed_history(ctx: Ctx, shops: Mapping[str, tuple[str, Actor]], pay: Pay) -> int:
    """Give each demo shop (name → id and seller) its history; return the orders placed."""
    now = ctx.now()
    regulars = [
        await _regular(at(ctx, now - timedelta(days=HISTORY_DAYS + 10)), i) for i in range(REGULARS)
    ]
    placed = 0
    for name, (shop_id, seller) in shops.items():
        history = HISTORIES.get(name)
        if history is not None:
            placed += await _shop_history(ctx, shop_id, seller, regulars, history, pay)
    for day in range(SCORED_DAYS, -1, -1):
        for shop_id, _ in shops.values():
            await trust.keep_shop_score(at(ctx, now - timedelta(days=day)), shop_id)
    for shop_id, _ in shops.values():
        await privileges.review_badge(ctx, shop_id)
    return placed


async def _regular(ctx: Ctx, index: int) -> Actor:
    """Sign a regular buyer up, with an address of the demo's cities."""
    buyer = await accounts.do_sign_up(
        ctx,
        f"regular{index:02d}@{DEMO_DOMAIN}",
        demo_password(),
        f"Regular buyer {index:02d}",
        frozenset({Role.BUYER}),
    )
    street = DEMO_ADDRESSES[index % len(DEMO_ADDRESSES)][3]
    place = demo_address(buyer.name, index, f"1370013{index:04d}", f"{street} {index + 1} 室")
    await addresses.do_add_address(ctx, buyer, place)
    return buyer


async def _shop_history(
    ctx: Ctx,
    shop_id: str,
    seller: Actor,
    regulars: list[Actor],
    history: ShopHistory,
    pay: Pay,
) -> int:
    """Each of the shop's regulars buys once, at a moment of the past months, and reviews."""
    # Seeded by the shop's history alone, so that every seeding draws the same past.
    rng = random.Random(str(history))  # noqa: S311 - a demo's past, not a secret
    now = ctx.now()
    page = await catalog.browse_products(ctx, None, shop_id=shop_id, limit=1)
    product = await catalog.product_detail(ctx, page.items[0].id, None)
    sku = max(product.skus, key=lambda s: s.stock)
    start = at(ctx, now - timedelta(days=HISTORY_DAYS + 1))
    await catalog.do_adjust_stock(start, seller, sku.id, history.buyers)
    for index, buyer in enumerate(regulars[: history.buyers]):
        # At least ten days ago, so that shipping, receipt and the review are all past.
        paid = now - timedelta(days=rng.uniform(10, history.days))
        checkout = await order_checkout.do_checkout(
            at(ctx, paid - timedelta(minutes=4)),
            buyer,
            [(sku.id, 1)],
            f"demo-history-{shop_id}-{index}",
        )
        order = checkout.orders[0]
        await pay(at(ctx, paid), buyer, [order.id])
        hours = rng.uniform(4, 40) if rng.random() < history.on_time else rng.uniform(50, 90)
        shipped = paid + timedelta(hours=hours)
        await order_states.do_ship(
            at(ctx, shipped), seller, order.id, "SF Express", f"SFH{index:04d}"
        )
        arrived = shipped + timedelta(days=rng.uniform(1, 3))
        await order_states.do_confirm_receipt(at(ctx, arrived), buyer, order.id)
        moment = at(ctx, arrived + timedelta(days=rng.uniform(0.2, 1)))
        stars = [min(5, max(1, round(rng.gauss(history.stars, history.spread)))) for _ in range(3)]
        await trust_reviews.do_review(
            moment,
            buyer,
            order.id,
            ReviewIn(
                line_id=order.lines[0].id,
                product_stars=stars[0],
                logistics_stars=stars[1],
                service_stars=stars[2],
                text="",
            ),
        )
        # Completed now if its return window is over, as the job would: verified sales.
        await order_states.do_complete(
            ctx, await order_queries.load_order(ctx, order.id, lock=True)
        )
    return history.buyers
