"""Shows and the platform's routine in the simulated world.

Each morning every shop's anchor schedules the day's show (most days), at the shop's
own hour; at that hour it goes live through the real service, and the go-live
notification fan-out runs (the real task, called at once rather than queued), after
which some followers come in by it. A brushing shop's show may carry a burst of its
ring's fake orders, placed in the room like any others. The platform's periodic jobs
run at fixed moments of each day, called directly with the world's state.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from laotie.core.jobs import Job
from laotie.live.room import visits
from laotie.live.schemas import EntrySource
from laotie.live.session import reputation
from laotie.live.session import service as sessions
from laotie.orders import jobs as order_jobs
from laotie.sim import aftercare, buyers
from laotie.sim.agents import Shop, Show, World
from laotie.sim.seed import pay_through_sandbox
from laotie.sim.settings import ShopKind
from laotie.traffic import jobs as traffic_jobs
from laotie.traffic.notify import notify_go_live
from laotie.trust import flags
from laotie.trust import jobs as trust_jobs
from laotie.trust.schemas import FlagDecisionIn

SCHEDULE_AT = timedelta(hours=6)  # anchors schedule the day's shows at this hour
# The jobs a world runs, and when: the daily ones after midnight, the order sweeps hourly.
DAILY_AT = timedelta(minutes=30)
DAILY_JOBS: tuple[Job, ...] = (
    *trust_jobs.JOBS,  # loyalty ranks, shop scores, late shipping, brushing detection
    Job("live.score_anchors_daily", reputation.score_anchors_daily),
    Job("traffic.score_fans_daily", traffic_jobs.score_fans_daily),
)
HOURLY_JOBS: tuple[Job, ...] = tuple(
    job
    for job in order_jobs.JOBS
    if job.name
    in ("orders.expire_unpaid", "orders.expire_cases", "orders.auto_deliver", "orders.complete")
)
# A job is run again until it moves nothing (the sweeps take a batch at a time), at most:
MAX_ROUNDS = 50


async def schedule_day(world: World, day: datetime) -> None:
    """Every shop that goes live today schedules its show, in one sitting."""
    s = world.settings
    planned: list[tuple[Shop, datetime, datetime]] = []
    for shop in world.shops:
        rng = world.stage.rng(f"shop:{shop.index}")
        if rng.random() >= s.show_share:
            continue
        start = day + timedelta(hours=shop.start_hour, minutes=rng.uniform(0, 30))
        planned.append((shop, start, start + timedelta(hours=rng.uniform(*s.show_length_hours))))
    async with world.stage.uow() as ctx:
        made = [
            await sessions.do_schedule(
                ctx,
                shop.seller,
                shop.opened.shop_id,
                f"Shop {shop.index:02d} live",
                None,
                start,
                [shop.opened.product_id],
            )
            for shop, start, _ in planned
        ]
    for (shop, start, end), session in zip(planned, made, strict=True):
        world.stage.at(start, go_live, world, Show(session.id, shop, end))


async def go_live(world: World, show: Show) -> None:
    """Go live, notify the followers, and let some come in; plan the end (and a burst)."""
    async with world.stage.uow() as ctx:
        await sessions.do_go_live(ctx, show.shop.seller, show.session_id)
    world.shows[show.session_id] = show
    world.tally.shows += 1
    await notify_go_live(world.stage.state, show.session_id)
    _followers_come(world, show)
    shop, now = show.shop, world.stage.now()
    rng = world.stage.rng(f"shop:{shop.index}")
    if shop.kind is ShopKind.BRUSHING and shop.ring and rng.random() < world.settings.burst_share:
        hours = max((show.ends_at - now).total_seconds() / 3600 - 1, 0)
        world.stage.at(now + timedelta(hours=rng.uniform(0, hours)), burst, world, show)
    world.stage.at(show.ends_at, end_show, world, show)


def _followers_come(world: World, show: Show) -> None:
    """Some of the anchor's followers open the go-live notification and come in by it."""
    s, now = world.settings, world.stage.now()
    for index in sorted(show.shop.followers):
        buyer = world.buyers[index]
        delay = timedelta(minutes=buyer.rng.expovariate(1 / s.notification_minutes))
        opens = buyer.rng.random() < s.notification_open
        if opens and not buyer.churned and now + delay < show.ends_at:
            source = EntrySource.LIVE_NOTIFICATION
            world.stage.at(now + delay, buyers.enter_directly, world, buyer, show, source)


async def end_show(world: World, show: Show) -> None:
    """End the show."""
    async with world.stage.uow() as ctx:
        await sessions.do_end(ctx, show.shop.seller, show.session_id)
    world.shows.pop(show.session_id, None)


async def burst(world: World, show: Show) -> None:
    """A ring's burst: a few accounts enter the room and each buy and pay several times."""
    s, shop = world.settings, show.shop
    rng = world.stage.rng(f"ring:{shop.index}")
    for person in rng.sample(shop.ring, min(s.burst_accounts, len(shop.ring))):
        async with world.stage.uow() as ctx:
            visit_id = await visits.do_enter(
                ctx, show.session_id, person.actor.id, person.actor.id, EntrySource.OTHER, False
            )
        for _ in range(s.burst_orders):
            world.tally.fake_orders += 1
            key = f"sim-ring-{shop.index}-{world.tally.fake_orders}"
            parcel = await buyers.room_order(world, person, show, visit_id, key)
            if parcel is None:
                continue
            parcel.fake = True
            async with world.stage.uow() as ctx:
                await pay_through_sandbox(ctx, person.actor, [parcel.order_id], person.payer)
            aftercare.plan_shipping(world, parcel)


async def run_jobs(world: World, jobs: tuple[Job, ...]) -> dict[str, int]:
    """Run each job until it moves nothing more; return what each moved."""
    moved: dict[str, int] = {}
    for job in jobs:
        total, started = 0, time.perf_counter()
        for _ in range(MAX_ROUNDS):
            count = await job.run(world.stage.state)
            total += count
            if count <= 0:
                break
        moved[job.name] = total
        spent = world.stage.spent
        spent[job.name] = spent.get(job.name, 0.0) + time.perf_counter() - started
    return moved


async def daily_jobs(world: World) -> None:
    """The daily jobs; an operator confirms the brushing flags raised, some days later."""
    moved = await run_jobs(world, DAILY_JOBS)
    if moved.get("trust.detect_brushing_daily", 0) > 0:
        later = world.stage.now() + timedelta(days=world.settings.flag_review_days)
        world.stage.at(later, confirm_flags, world)


async def hourly_jobs(world: World) -> None:
    """The order sweeps: lapsed payments, case deadlines, auto-delivery, completion."""
    await run_jobs(world, HOURLY_JOBS)


async def confirm_flags(world: World) -> None:
    """An operator confirms every open brushing flag (the rings are real in this world)."""
    operator = world.operator
    assert operator is not None
    async with world.stage.uow() as ctx:
        queue = await flags.flag_queue(ctx, operator, "open", 1_000, 0)
    for flag in queue:
        async with world.stage.uow() as ctx:
            await flags.decide_flag(
                ctx, operator, flag.id, FlagDecisionIn(confirm=True, note="sim")
            )
        world.tally.flags_confirmed += 1
