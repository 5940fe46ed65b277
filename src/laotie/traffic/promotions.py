"""Bought reach: a seller buys promoted impressions of a live session, paced over the show.

Public-domain traffic is bought, private-domain traffic is kept. A promotion holds its
whole budget out of the shop's released balance when it is bought (`orders.balance`, the
guard payouts pass too); the job `traffic.charge_promotions` moves what it spent to the
platform's ad revenue every tick, never more than the budget nor than the pacing allows,
and gives back what is left when the show ends. The feed reads `promoted_now` with its
board and fills its promoted slots (`traffic/recommend.py`). Docs: docs/traffic.md,
"Bought reach".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.live.errors import LiveError
from laotie.live.room import audience
from laotie.live.room.audience import FeedEntry
from laotie.live.schemas import SessionStatus
from laotie.live.session import service as sessions
from laotie.orders import balance
from laotie.traffic.errors import TrafficError
from laotie.traffic.models import FeedImpression, FeedRoomCount, Promotion
from laotie.traffic.schemas import FeedPolicy, Pricing, PromotionIn, PromotionOut
from laotie.trust import privileges

# By any moment a promotion may have spent its budget × (the share of the planned show
# gone by + this share), so that a show's first minutes cannot use up its whole budget.
PACING_SLACK_PERCENT = 10
# An entry from the feed is bought when the viewer was shown the room promoted at most this
# long before it (and had not entered from the feed since that impression).
ENTRY_WINDOW = timedelta(minutes=30)
# Entries are counted up to this long ago, so that visits still in the entry writer's batch
# are not passed over; a promotion ends this long after its show, when all are in.
SETTLE = timedelta(seconds=10)
# Entries read for attribution, a viewer list at a time (bound parameters per statement).
KEYS_PER_READ = 500

ACTIVE, ENDED, REFUSED = "active", "ended", "refused"


@dataclass(frozen=True, slots=True)
class Bid:
    """A live session's running promotion, as the feed ranks it: what one unit is worth."""

    promotion_id: str
    pricing: Pricing
    price_minor: int


def promotion_out(promotion: Promotion) -> PromotionOut:
    """Return the wire form of a promotion."""
    return PromotionOut(
        id=promotion.id,
        shop_id=promotion.shop_id,
        session_id=promotion.session_id,
        pricing=Pricing(promotion.pricing),
        price_minor=promotion.price_minor,
        budget_minor=promotion.budget_minor,
        spent_minor=promotion.spent_minor,
        returned_minor=promotion.returned_minor,
        currency=promotion.currency,
        pace_minutes=promotion.pace_minutes,
        status=promotion.status,
        end_reason=promotion.end_reason,
        impressions=promotion.impressions,
        entries=promotion.entries,
        created_at=promotion.created_at,
        ended_at=promotion.ended_at,
    )


# ---------------------------------------------------------------- money arithmetic


def cost_minor(pricing: Pricing, price_minor: int, units: int) -> int:
    """Return what `units` impressions or entries cost, in whole minor units, never rounded up.

    Per 1,000 impressions the cost is the cumulative floor, so that the fractions carry from
    one charge to the next and every 1,000 impressions cost exactly the price.
    """
    if pricing is Pricing.CPM:
        return units * price_minor // 1_000
    return units * price_minor


def allowed_minor(promotion: Promotion, started_at: datetime | None, now: datetime) -> int:
    """Return how much of its budget a promotion may have spent by now (its pacing)."""
    budget = promotion.budget_minor
    start = max(promotion.created_at, started_at or now)
    elapsed = max(now - start, timedelta(0)) // timedelta(microseconds=1)
    planned = timedelta(minutes=promotion.pace_minutes) // timedelta(microseconds=1)
    paced = budget * elapsed // planned + budget * PACING_SLACK_PERCENT // 100
    return min(budget, paced)


# ---------------------------------------------------------------- buying


async def access_promotable_session(ctx: Ctx, actor: Actor, session_id: str) -> tuple[str, str]:
    """Return (shop, status) of a coming or live session the actor's shop holds."""
    session = await sessions.load_session(ctx, session_id)
    if session.shop_id is None or await catalog.shop_owner_id(ctx, session.shop_id) != actor.id:
        raise not_found("live session")  # reach is bought from a shop's balance
    if session.status not in (SessionStatus.SCHEDULED, SessionStatus.LIVE):
        raise AppError.of(
            LiveError.INVALID_STATE, f"session is {session.status}; needs a coming or live one"
        )
    return str(session.shop_id), session.status


async def check_public_reach(ctx: Ctx, shop_id: str) -> None:
    """Refuse bought reach to a shop the feed sends no strangers (the same bar and g)."""
    if await privileges.barred_from_public_traffic(ctx, [shop_id]):
        raise AppError.of(
            TrafficError.PUBLIC_TRAFFIC_BARRED, "this shop's penalty points bar public traffic"
        )
    trust_policy = FeedPolicy(ctx.settings.feed_policy) is FeedPolicy.TRUST
    if trust_policy and (await privileges.feed_multipliers(ctx, [shop_id]))[shop_id] == 0:
        raise AppError.of(
            TrafficError.PUBLIC_TRAFFIC_BARRED,
            "this shop's score is below the floor of public traffic",
        )


async def do_buy(ctx: Ctx, actor: Actor, session_id: str, terms: PromotionIn) -> PromotionOut:
    """Buy reach for a session: hold the whole budget out of the shop's released balance."""
    shop_id, _ = await access_promotable_session(ctx, actor, session_id)
    await check_public_reach(ctx, shop_id)
    promotion_id = new_id("pro")
    await balance.do_hold_ad_budget(ctx, shop_id, promotion_id, terms.budget_minor)
    now = ctx.now()
    promotion = Promotion(
        id=promotion_id,
        shop_id=shop_id,
        session_id=session_id,
        pricing=terms.pricing.value,
        price_minor=terms.price_minor,
        budget_minor=terms.budget_minor,
        spent_minor=0,
        returned_minor=0,
        currency=ctx.settings.currency,
        pace_minutes=terms.pace_minutes,
        impressions_base=await _promoted_count(ctx, session_id),
        impressions=0,
        entries=0,
        entries_until=now,
        status=ACTIVE,
        created_at=now,
    )
    try:
        async with ctx.db.begin_nested():
            ctx.db.add(promotion)
    except IntegrityError:
        raise AppError.of(
            TrafficError.ALREADY_PROMOTED, "this session has a running promotion"
        ) from None
    return promotion_out(promotion)


async def _promoted_count(ctx: Ctx, session_id: str) -> int:
    """Return how many promoted impressions of the session the feed has written so far."""
    count = await ctx.db.scalar(
        select(FeedRoomCount.promoted).where(FeedRoomCount.session_id == session_id)
    )
    return int(count or 0)


# ---------------------------------------------------------------- the feed's read


async def promoted_now(ctx: Ctx, session_ids: Sequence[str]) -> dict[str, Bid]:
    """Return the bids of these sessions' running promotions that pacing lets spend now."""
    if not session_ids:
        return {}
    running = list(await ctx.db.scalars(_RUNNING, {"ids": list(session_ids)}))
    shows = await sessions.sessions_by_id(ctx, [p.session_id for p in running])
    now = ctx.now()
    bids = {}
    for promotion in running:
        show = shows[promotion.session_id]
        pricing = Pricing(promotion.pricing)
        units = _units(promotion)
        spent = cost_minor(pricing, promotion.price_minor, units)
        if spent < allowed_minor(promotion, show.started_at, now):
            bids[promotion.session_id] = Bid(promotion.id, pricing, promotion.price_minor)
    return bids


# Built once: the feed reads the running promotions every few seconds.
_RUNNING = select(Promotion).where(
    Promotion.session_id.in_(bindparam("ids", expanding=True)), Promotion.status == ACTIVE
)


def _units(promotion: Promotion) -> int:
    """Return what a promotion is charged by: its impressions or its entries."""
    return promotion.impressions if promotion.pricing == Pricing.CPM else promotion.entries


# ---------------------------------------------------------------- charging and ending


async def active_promotion_ids(ctx: Ctx) -> list[str]:
    """Return the ids of the running promotions, oldest first."""
    rows = await ctx.db.scalars(
        select(Promotion.id).where(Promotion.status == ACTIVE).order_by(Promotion.created_at)
    )
    return list(rows)


async def do_charge(ctx: Ctx, promotion_id: str) -> bool:
    """Charge a running promotion what it bought so far; end it when its show is over, its
    budget cannot pay for another unit, or its shop is barred. Return whether it moved."""
    promotion = await _lock(ctx, promotion_id)
    if promotion is None or promotion.status != ACTIVE:
        return False
    show = await sessions.load_session(ctx, promotion.session_id)
    now = ctx.now()
    over = show.ended_at is not None and show.ended_at + SETTLE <= now
    barred = bool(await privileges.barred_from_public_traffic(ctx, [promotion.shop_id]))
    if over or barred:
        return await _finish(ctx, promotion, now, "session_ended" if over else "barred")
    before = (promotion.impressions, promotion.entries, promotion.spent_minor)
    await _count(ctx, promotion, now - SETTLE)
    pricing = Pricing(promotion.pricing)
    if cost_minor(pricing, promotion.price_minor, _units(promotion) + 1) > promotion.budget_minor:
        return await _finish(ctx, promotion, now, "budget_spent")
    await _charge_up_to(ctx, promotion, allowed_minor(promotion, show.started_at, now))
    return (promotion.impressions, promotion.entries, promotion.spent_minor) != before


async def do_stop(ctx: Ctx, actor: Actor, promotion_id: str) -> PromotionOut:
    """Stop a running promotion at its owner's word: charge what it bought, give back the rest."""
    promotion = await _lock(ctx, promotion_id)
    if promotion is None or await catalog.shop_owner_id(ctx, promotion.shop_id) != actor.id:
        raise not_found("promotion")
    if promotion.status == ACTIVE:
        await _finish(ctx, promotion, ctx.now(), "stopped")
    return promotion_out(promotion)


async def _lock(ctx: Ctx, promotion_id: str) -> Promotion | None:
    """Return a promotion with its row locked, so that one runner charges it at a time."""
    return await ctx.db.scalar(
        select(Promotion).where(Promotion.id == promotion_id).with_for_update()
    )


async def _count(ctx: Ctx, promotion: Promotion, until: datetime) -> None:
    """Bring a promotion's impressions up to now and its entries up to `until`."""
    promotion.impressions = await _promoted_count(ctx, promotion.session_id) - (
        promotion.impressions_base
    )
    if until > promotion.entries_until:
        found = await promoted_entries(ctx, promotion, promotion.entries_until, until)
        promotion.entries += len(found)
        promotion.entries_until = until


async def _charge_up_to(ctx: Ctx, promotion: Promotion, cap_minor: int) -> None:
    """Charge what the promotion bought and has not paid yet, up to `cap_minor` in all."""
    owed = cost_minor(Pricing(promotion.pricing), promotion.price_minor, _units(promotion))
    target = min(owed, cap_minor, promotion.budget_minor)
    if target > promotion.spent_minor:
        amount = target - promotion.spent_minor
        await balance.do_charge_ad_budget(ctx, promotion.shop_id, promotion.id, amount)
        promotion.spent_minor = target
    await ctx.db.flush()


async def _finish(ctx: Ctx, promotion: Promotion, now: datetime, reason: str) -> bool:
    """Charge what was bought (up to the budget, pacing no longer holding it back), end the
    promotion and give back what it did not spend."""
    # Every entry up to now counts: the show is over, or the promotion stops here.
    await _count(ctx, promotion, now + timedelta(microseconds=1))
    await _charge_up_to(ctx, promotion, promotion.budget_minor)
    rest = promotion.budget_minor - promotion.spent_minor
    if rest:
        await balance.do_return_ad_budget(ctx, promotion.shop_id, promotion.id, rest)
    promotion.returned_minor = rest
    promotion.status = REFUSED if reason == "barred" else ENDED
    promotion.end_reason = reason
    promotion.ended_at = now
    await ctx.db.flush()
    return True


# ---------------------------------------------------------------- entries


async def promoted_entries(
    ctx: Ctx, promotion: Promotion, since: datetime, until: datetime
) -> list[FeedEntry]:
    """Return the feed's entries into the room in [since, until) that the promotion bought.

    An entry is bought when its viewer was shown the room promoted (by this promotion) at
    most ENTRY_WINDOW before it and had not entered from the feed since that impression:
    one impression buys one entry at most. Each entry is judged by what came before it
    within the window, so counting in pieces gives what counting at once gives.
    """
    start = max(since - ENTRY_WINDOW, promotion.created_at)
    entries = await audience.feed_entries(ctx, promotion.session_id, start, until)
    keys = sorted({entry.viewer_key for entry in entries if entry.entered_at >= since})
    shown = await _promoted_impressions(ctx, promotion.session_id, keys, start, until)
    bought: list[FeedEntry] = []
    previous: dict[str, datetime] = {}
    for entry in entries:
        before = previous.get(entry.viewer_key)
        previous[entry.viewer_key] = entry.entered_at
        if entry.entered_at < since:
            continue
        seen = _latest(shown.get(entry.viewer_key, []), entry.entered_at)
        if seen is None or seen < entry.entered_at - ENTRY_WINDOW:
            continue
        if before is None or before < seen:
            bought.append(entry)
    return bought


async def _promoted_impressions(
    ctx: Ctx, session_id: str, viewer_keys: Sequence[str], since: datetime, until: datetime
) -> dict[str, list[datetime]]:
    """Return when each of these viewers was shown the session promoted in [since, until)."""
    shown: dict[str, list[datetime]] = defaultdict(list)
    for at in range(0, len(viewer_keys), KEYS_PER_READ):
        rows = await ctx.db.execute(
            select(FeedImpression.viewer_key, FeedImpression.shown_at).where(
                FeedImpression.session_id == session_id,
                FeedImpression.shown_at >= since,
                FeedImpression.shown_at < until,
                FeedImpression.promoted.is_(True),
                FeedImpression.viewer_key.in_(list(viewer_keys[at : at + KEYS_PER_READ])),
            )
        )
        for viewer_key, shown_at in rows:
            shown[viewer_key].append(shown_at)
    return {key: sorted(times) for key, times in shown.items()}


def _latest(times: list[datetime], moment: datetime) -> datetime | None:
    """Return the latest of these sorted times at or before `moment`."""
    found = None
    for time in times:
        if time > moment:
            break
        found = time
    return found


# ---------------------------------------------------------------- reads


async def access_shop_promotions(
    ctx: Ctx, actor: Actor, shop_id: str, limit: int
) -> list[Promotion]:
    """Return a shop's promotions, newest first, to its owner (and operators)."""
    if await catalog.shop_owner_id(ctx, shop_id) != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("shop")
    rows = await ctx.db.scalars(
        select(Promotion)
        .where(Promotion.shop_id == shop_id)
        .order_by(Promotion.created_at.desc(), Promotion.id)
        .limit(limit)
    )
    return list(rows)


async def latest_of_session(ctx: Ctx, session_id: str) -> PromotionOut | None:
    """Return a session's running promotion, else its latest (None if never promoted).

    The newest is the running one when there is one: a session runs one at a time.
    """
    promotion = await ctx.db.scalar(
        select(Promotion)
        .where(Promotion.session_id == session_id)
        .order_by(Promotion.created_at.desc(), Promotion.id)
        .limit(1)
    )
    return None if promotion is None else promotion_out(promotion)
