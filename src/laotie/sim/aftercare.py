"""After the payment: shipping, the buyer's experience, receipt, reviews, returns, disputes.

The shop ships in time or late by its kind; the parcel arrives after a few days, and the
goods are good or bad by the shop's hidden quality. What the buyer then does goes
through the real services (confirm receipt, review, open a return, escalate); the
seller answers the return as its kind does, and an operator settles disputes. The
experience moves the buyer's trust in the shop, and may make it follow the anchor (good)
or leave the platform (bad); in the null control those two happen at fixed rates,
whatever the experience.
"""

from __future__ import annotations

import random
from datetime import timedelta

from laotie.core.errors import AppError
from laotie.orders import aftersales
from laotie.orders import service as order_states
from laotie.orders.schemas import CaseKind, CaseStatus, ReasonCode
from laotie.sim.agents import Buyer, Parcel, Shop, World
from laotie.sim.common import star
from laotie.sim.settings import TRAITS
from laotie.traffic.follows import do_follow
from laotie.traffic.schemas import Target
from laotie.trust import reviews
from laotie.trust.schemas import ReviewIn

FAKE_SHIP_MINUTES = (10.0, 60.0)  # a ring's parcel "ships" within the hour...
FAKE_ARRIVE_MINUTES = (5.0, 60.0)  # ...and is confirmed at once
FAKE_REVIEW_HOURS = 0.5  # five stars this long after


def plan_shipping(world: World, parcel: Parcel) -> None:
    """The shop ships the paid order: in time or late by its kind (a ring's at once)."""
    s, rng = world.settings, world.stage.rng(f"shop:{parcel.shop.index}")
    if parcel.fake:
        delay = timedelta(minutes=rng.uniform(*FAKE_SHIP_MINUTES))
    elif rng.random() < TRAITS[parcel.shop.kind].on_time:
        delay = timedelta(hours=rng.uniform(*s.ship_on_time_hours))
    else:
        delay = timedelta(hours=rng.uniform(*s.ship_late_hours))
    world.stage.at(world.stage.now() + delay, ship, world, parcel)


async def ship(world: World, parcel: Parcel) -> None:
    """Hand the parcel to the carrier; plan its arrival."""
    async with world.stage.uow() as ctx:
        await order_states.do_ship(
            ctx, parcel.shop.seller, parcel.order_id, "SF", f"SF-{parcel.order_id}"
        )
    rng = world.stage.rng(f"shop:{parcel.shop.index}")
    if parcel.fake:
        delay = timedelta(minutes=rng.uniform(*FAKE_ARRIVE_MINUTES))
    else:
        delay = timedelta(days=rng.uniform(*world.settings.transit_days))
    world.stage.at(world.stage.now() + delay, arrive, world, parcel)


async def arrive(world: World, parcel: Parcel) -> None:
    """The goods arrive: the buyer judges them, confirms receipt or not, and acts on it."""
    if parcel.fake:
        await _confirm(world, parcel)
        stars = (5, 5, 5)
        world.stage.at(
            world.stage.now() + timedelta(hours=FAKE_REVIEW_HOURS), review, world, parcel, stars
        )
        return
    buyer, shop, s = parcel.buyer, parcel.shop, world.settings
    assert buyer is not None
    rng = buyer.rng
    bad = rng.random() < world.bad_chance(shop)
    returns = rng.random() < (s.return_when_bad if bad else s.return_when_good)
    if returns or rng.random() < s.confirm_share:
        await _confirm(world, parcel)
        if returns:
            later = world.stage.now() + timedelta(hours=rng.uniform(*s.return_after_hours))
            world.stage.at(later, open_return, world, parcel, bad)
        elif rng.random() < (s.review_share_bad if bad else s.review_share):
            stars = _stars(rng, shop, bad, s.good_stars_lift)
            later = world.stage.now() + timedelta(days=rng.uniform(*s.review_after_days))
            world.stage.at(later, review, world, parcel, stars)
    await experience(world, buyer, shop, bad)


def _stars(rng: random.Random, shop: Shop, bad: bool, lift: float) -> tuple[int, int, int]:
    """Stars of an experience: low for bad goods, around the shop's quality for good ones."""
    if bad:
        return (rng.choice((1, 2)), star(rng, shop.quality), rng.choice((1, 2, 3)))
    lifted = shop.quality + lift
    return (star(rng, lifted), star(rng, lifted), star(rng, lifted))


async def _confirm(world: World, parcel: Parcel) -> None:
    async with world.stage.uow() as ctx:
        await order_states.do_confirm_receipt(ctx, parcel.person.actor, parcel.order_id)


async def review(world: World, parcel: Parcel, stars: tuple[int, int, int]) -> None:
    """Review the order's line (refused if it was refunded meanwhile: then nothing)."""
    product, logistics, service = stars
    data = ReviewIn(
        line_id=parcel.line_id,
        product_stars=product,
        logistics_stars=logistics,
        service_stars=service,
    )
    try:
        async with world.stage.uow() as ctx:
            await reviews.do_review(ctx, parcel.person.actor, parcel.order_id, data)
    except AppError:
        return
    world.tally.reviews += 1


async def open_return(world: World, parcel: Parcel, bad: bool) -> None:
    """Ask for a return and refund; plan the seller's answer."""
    shop, rng = parcel.shop, world.stage.rng(f"shop:{parcel.shop.index}")
    if not bad:
        code = ReasonCode.NO_REASON
    elif rng.random() < TRAITS[shop.kind].misdescribes:
        code = ReasonCode.NOT_AS_DESCRIBED
    else:
        code = ReasonCode.QUALITY
    try:
        async with world.stage.uow() as ctx:
            case = await aftersales.do_open_case(
                ctx,
                parcel.person.actor,
                parcel.order_id,
                CaseKind.RETURN_REFUND,
                "not what I expected" if bad else "changed my mind",
                None,
                world.stage.state.payment_providers,
                code,
            )
    except AppError:
        return  # the window closed, or a case is open already
    world.tally.returns += 1
    later = world.stage.now() + timedelta(hours=rng.uniform(*world.settings.seller_answer_hours))
    world.stage.at(later, answer_return, world, parcel, case.id, bad)


async def answer_return(world: World, parcel: Parcel, case_id: str, bad: bool) -> None:
    """The seller approves, or rejects as its kind does (a late answer finds it approved)."""
    shop, rng = parcel.shop, world.stage.rng(f"shop:{parcel.shop.index}")
    approve = not bad or rng.random() < TRAITS[shop.kind].approves
    try:
        async with world.stage.uow() as ctx:
            case = await aftersales.do_respond(
                ctx, shop.seller, case_id, approve, "", world.stage.state.payment_providers
            )
    except AppError:
        return  # silence approved it already (the sweep of case deadlines)
    if approve:
        return
    world.tally.rejected += 1
    buyer = parcel.buyer
    assert buyer is not None
    buyer.trust[shop.index] = _trust(world, buyer, shop) * (1 - world.settings.trust_rejected)
    s = world.settings
    if case.status == CaseStatus.DISPUTED:  # a badge shop's: the operators have it already
        world.stage.at(
            world.stage.now() + timedelta(hours=buyer.rng.uniform(*s.ruling_after_hours)),
            decide,
            world,
            case_id,
            bad,
        )
    elif buyer.rng.random() < s.escalate_share:
        later = world.stage.now() + timedelta(hours=buyer.rng.uniform(*s.escalate_after_hours))
        world.stage.at(later, escalate, world, parcel, case_id, bad)


async def escalate(world: World, parcel: Parcel, case_id: str, bad: bool) -> None:
    """The buyer takes the rejection to an operator."""
    try:
        async with world.stage.uow() as ctx:
            await aftersales.do_escalate(ctx, parcel.person.actor, case_id, "the goods were bad")
    except AppError:
        return  # the escalation window closed
    world.tally.disputes += 1
    rng = world.stage.rng("operator")
    world.stage.at(
        world.stage.now() + timedelta(hours=rng.uniform(*world.settings.ruling_after_hours)),
        decide,
        world,
        case_id,
        bad,
    )


async def decide(world: World, case_id: str, bad: bool) -> None:
    """An operator settles the dispute, mostly for a buyer whose goods were bad."""
    s, rng = world.settings, world.stage.rng("operator")
    refund = rng.random() < (s.operator_for_buyer if bad else s.operator_for_good_goods)
    assert world.operator is not None
    try:
        async with world.stage.uow() as ctx:
            await aftersales.do_decide(
                ctx, world.operator, case_id, refund, "", world.stage.state.payment_providers
            )
    except AppError:
        return


def _trust(world: World, buyer: Buyer, shop: Shop) -> float:
    return buyer.trust.get(shop.index, world.settings.trust_prior)


async def experience(world: World, buyer: Buyer, shop: Shop, bad: bool) -> None:
    """The experience moves trust; it may make the buyer follow the anchor, or leave."""
    s, rng = world.settings, buyer.rng
    trust = _trust(world, buyer, shop)
    if bad:
        world.tally.bad += 1
        buyer.trust[shop.index] = trust * (1 - s.trust_loss)
    else:
        world.tally.good += 1
        buyer.trust[shop.index] = trust + s.trust_gain * (1 - trust)
    follow_draw, churn_draw = rng.random(), rng.random()
    if s.trust_matters:
        follows = not bad and follow_draw < s.follow_after_good
        leaves = bad and churn_draw < s.churn * s.churn_after_bad
    else:  # the null control: the same rates on average, blind to the experience
        follows = follow_draw < s.follow_after_good * (1 - s.null_bad_share)
        leaves = churn_draw < s.churn * s.churn_after_bad * s.null_bad_share
    if follows and shop.index not in buyer.follows:
        async with world.stage.uow() as ctx:
            await do_follow(ctx, buyer.actor, Target.ANCHOR, shop.seller.id)
        buyer.follows.add(shop.index)
        shop.followers.add(buyer.index)
        world.tally.follows += 1
    if leaves and not buyer.churned:
        buyer.churned = True
        world.tally.churned += 1
