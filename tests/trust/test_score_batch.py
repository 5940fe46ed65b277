"""Shops scored together keep the same daily rows as each shop scored alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from laotie.core.clock import FrozenClock
from laotie.core.context import Ctx, unit_of_work
from laotie.orders import aftersales
from laotie.orders.queries import load_order
from laotie.orders.schemas import CaseKind, ReasonCode
from laotie.sim import trust_world
from laotie.sim.common import at
from laotie.trust import flags, service
from laotie.trust.models import LoyaltyRank, ShopScore
from laotie.trust.schemas import FlagDecisionIn

TINY = trust_world.WorldSettings(
    honest_shops=3, honest_buyers=40, office_buyers=5, brushing_shops=1, ring_size=6, days=20
)


async def _world(app: Any) -> tuple[trust_world.World, list[str]]:
    """Build a tiny trust world, its orders each in a unit of work of their own moment."""
    state = app.state
    async with unit_of_work(state.database, state.settings, FrozenClock(trust_world.START)) as ctx:
        world = await trust_world.populate(ctx, TINY)
    placed = []
    for plan in trust_world.all_plans(world):
        clock = FrozenClock(plan.paid_at)
        async with unit_of_work(state.database, state.settings, clock) as ctx:
            placed.append(await trust_world.place(ctx, world, plan))
    return world, placed


async def _cases(ctx: Ctx, app: Any, world: trust_world.World, delivered: list[str]) -> None:
    """A quality refund the seller grants, and a dispute an operator rules for the buyer."""
    providers = app.state.payment_providers
    sellers = {stall.shop_id: stall.seller for stall in world.shops}
    buyers = {person.actor.id: person.actor for person in world.buyers}
    first, second = delivered[:2]
    for order_id, approve in ((first, True), (second, False)):
        order = await load_order(ctx, order_id)
        buyer, seller = buyers[order.buyer_id], sellers[order.shop_id]
        case = await aftersales.do_open_case(
            ctx, buyer, order_id, CaseKind.RETURN_REFUND, "broken", None, providers,
            ReasonCode.QUALITY,
        )  # fmt: skip
        await aftersales.do_respond(ctx, seller, case.id, approve, "", providers)
        if not approve:
            await aftersales.do_escalate(ctx, buyer, case.id, "it is broken")
            assert world.operator is not None
            await aftersales.do_decide(ctx, world.operator, case.id, True, "", providers)


async def _confirm_flags(ctx: Ctx, world: trust_world.World) -> int:
    assert world.operator is not None
    queue = await flags.flag_queue(ctx, world.operator, "open", 100, 0)
    for flag in queue:
        await flags.decide_flag(ctx, world.operator, flag.id, FlagDecisionIn(confirm=True))
    return len(queue)


async def _kept_rows(ctx: Ctx) -> dict[str, dict[str, Any]]:
    rows = await ctx.db.scalars(select(ShopScore))
    return {
        row.shop_id: {
            column.key: getattr(row, column.key) for column in ShopScore.__table__.columns
        }
        for row in rows
    }


async def test_shops_scored_together_keep_the_rows_each_keeps_alone(app: Any) -> None:
    world, placed = await _world(app)
    end = TINY.end
    state = app.state
    shop_ids = [stall.shop_id for stall in world.shops]

    def at_end() -> Any:
        return unit_of_work(state.database, state.settings, FrozenClock(end))

    async with at_end() as ctx:
        assert await flags.run_detection(ctx) > 0
        assert await _confirm_flags(ctx, world) > 0
        delivered = await _delivered(ctx, placed, world)
        await _cases(at(ctx, end - timedelta(hours=1)), app, world, delivered)
        ctx.db.add(_rank(shop_ids[0], end))
    async with at_end() as ctx:
        together = await service.keep_shop_scores(ctx, shop_ids)
        assert sorted(together) == sorted(shop_ids)
        assert await service.keep_shop_scores(ctx, shop_ids) == {}  # kept already today
        rows_together = await _kept_rows(ctx)
        await ctx.db.execute(delete(ShopScore))
        for shop_id in shop_ids:
            assert await service.keep_shop_score(ctx, shop_id)
        rows_alone = await _kept_rows(ctx)
        trusts = {shop_id: await service.shop_trust(ctx, shop_id) for shop_id in shop_ids}
    assert rows_together == rows_alone
    for shop_id, trust in trusts.items():
        kept = together[shop_id]
        assert (kept.score, kept.dimensions) == (trust.score, trust.dimensions)
    # The world scores what the batch must read alike: stars, shipments, cases and loyalty.
    counts = {
        (shop_id, d["dimension"]): d["count"]
        for shop_id, row in rows_alone.items()
        for d in row["dimensions"]
    }
    assert counts[(shop_ids[0], "loyalty")] == 1
    assert all(counts[(shop_id, "logistics")] > 0 for shop_id in shop_ids)
    assert sum(counts[(shop_id, "service")] for shop_id in shop_ids) > 0


async def _delivered(ctx: Ctx, placed: list[str], world: trust_world.World) -> list[str]:
    """Return honest orders delivered and still in their return window, of honest shops."""
    honest = {stall.shop_id for stall in world.shops if not stall.brushing}
    held = await flags.held_orders(ctx)
    found = []
    for order_id in placed:
        order = await load_order(ctx, order_id)
        if (
            order_id not in held
            and order.shop_id in honest
            and order.status == "delivered"
            and order.return_deadline is not None
            and order.return_deadline > ctx.now()
        ):
            found.append(order_id)
    return found


def _rank(shop_id: str, end: datetime) -> LoyaltyRank:
    """A loyalty rank above its category's median, as the daily ranking would keep."""
    return LoyaltyRank(
        day=end.date(),
        shop_id=shop_id,
        category_slug="tea",
        buyers=25,
        repeat_buyers=10,
        rate=0.4,
        peers=4,
        percentile=0.75,
        computed_at=end - timedelta(hours=2),
    )
