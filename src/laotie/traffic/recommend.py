"""The recommendation feed: which live rooms a viewer sees, ranked by what an impression is worth.

For each live room the feed estimates the value of showing it once:

    value = p(enter) × watch time × orders per unit of watch time × order value
            × g(trust) × the viewer's affinity for the room's category

p(enter) is drawn from the room's Beta posterior of entries over impressions (Thompson
sampling), so a new room with few impressions draws high now and then and gets its
chance; the other three factors are the room's own figures smoothed toward the platform's,
so a room with little history is judged by the average. g is the trust engine's
multiplier (0 below its floor); a shop whose penalty points bar public traffic gets no
recommendation under any policy, but its followers still see it first in their feed.
Formula and reasons: docs/traffic.md, "The recommendation feed". Bought reach takes fixed
slots of the feed (`PROMOTED_SLOTS`), ranked by bid × g among the same rooms: "Bought reach".
"""

from __future__ import annotations

import random
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy
import numpy.typing as npt
from starlette.requests import HTTPConnection

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.visitors import known_visitor
from laotie.live.room import audience
from laotie.live.room.audience import LiveRoom
from laotie.live.room.sources import source_tag
from laotie.live.schemas import EntrySource
from laotie.orders import queries as order_queries
from laotie.traffic.follows import followed_targets
from laotie.traffic.impressions import Impression, impression_counts
from laotie.traffic.promotions import Bid, promoted_now
from laotie.traffic.schemas import (
    FeedOut,
    FeedPolicy,
    Pricing,
    Reason,
    RecommendedOut,
    WhyOut,
)
from laotie.trust import privileges
from laotie.trust.traffic import NEUTRAL, traffic_multiplier

FloatArray = npt.NDArray[numpy.float64]
IntArray = npt.NDArray[numpy.intp]

FEED_SIZE = 20
# Whom the impressions of an anonymous visitor without a cookie are logged for.
ANONYMOUS = "anonymous"
# The places of a feed (counted from 0) that promoted rooms take when running promotions
# fill them: the third and the eighth. A feed shorter than a slot puts its room at its end.
PROMOTED_SLOTS = (2, 7)
# At most this share of a feed goes to the rooms the viewer follows: the rest is public.
FOLLOWING_SHARE = 0.5

# The platform's figures stand in for a room's own as if seen this often (Bayesian smoothing).
PRIOR_IMPRESSIONS = 20.0
PRIOR_VISITS = 5.0
PRIOR_WATCH_SECONDS = 3_600.0
PRIOR_ORDERS = 3.0
# The platform's figures before it has any: one entry in ten impressions, two minutes a
# visit, one order in an hour of watching, 100.00 an order.
DEFAULT_ENTRY_RATE = 0.1
DEFAULT_WATCH_SECONDS = 120.0
DEFAULT_ORDERS_PER_SECOND = 1 / 3_600
DEFAULT_ORDER_VALUE_MINOR = 10_000.0

# A viewer's taste: its visits of the last AFFINITY_DAYS, at most AFFINITY_VISITS of them,
# smoothed toward the platform's (its cold-start prior) as if seen PRIOR_TASTE times.
AFFINITY_DAYS = 30
AFFINITY_VISITS = 100
PRIOR_TASTE = 5.0
# A board keeps the categories of the sessions its viewers visited for the next board,
# until it knows this many (then the next one starts afresh).
KNOWN_CATEGORIES = 100_000


@dataclass(frozen=True, slots=True)
class Candidate:
    """A live room with what the feed knows of it."""

    room: LiveRoom
    impressions: int
    orders: int
    gmv_minor: int
    trust: float  # g(score) from the shop's kept score
    barred: bool  # the shop's penalty points bar public traffic


@dataclass(frozen=True, slots=True)
class Platform:
    """The platform's averages over the live rooms, toward which each room is smoothed."""

    entry_rate: float
    watch_seconds: float
    orders_per_second: float
    order_value_minor: float
    taste: dict[str, float]  # each category's share of the visits, the cold-start prior


@dataclass
class Board:
    """The live rooms as the feed last read them: rebuilt every `feed_board_seconds`."""

    read_at: datetime
    candidates: list[Candidate]
    platform: Platform
    prospects: list[Prospect]
    columns: Columns
    categories: dict[str, str] = field(default_factory=dict)  # of sessions seen, by id
    bids: dict[str, Bid] = field(default_factory=dict)  # running promotions, by session


@dataclass(frozen=True)
class Columns:
    """The prospects as arrays, one place a room, so that a request values them all at once."""

    alpha: FloatArray
    beta: FloatArray
    worth: FloatArray
    trust: FloatArray  # g(score), 0 for a barred shop
    open: FloatArray  # 1 where the shop may have public traffic, 0 where its points bar it
    category: IntArray  # the room's place in `names` (the last: none)
    names: list[str]
    index: dict[str, int]  # a room's place, by session id


def board_of(read_at: datetime, candidates: list[Candidate]) -> Board:
    """Make a board of these rooms: the platform's averages, and each room's prospect."""
    platform = platform_of(candidates)
    prospects = [prospect_of(candidate, platform) for candidate in candidates]
    known = {c.room.session_id: c.room.category or "" for c in candidates}
    return Board(read_at, candidates, platform, prospects, columns_of(prospects), known)


def columns_of(prospects: Sequence[Prospect]) -> Columns:
    """Lay the prospects out as arrays."""
    names = sorted({p.candidate.room.category for p in prospects if p.candidate.room.category})
    place = {name: i for i, name in enumerate(names)}
    return Columns(
        alpha=numpy.array([p.alpha for p in prospects], dtype=float),
        beta=numpy.array([p.beta for p in prospects], dtype=float),
        worth=numpy.array([p.worth for p in prospects], dtype=float),
        trust=numpy.array(
            [0.0 if p.candidate.barred else p.candidate.trust for p in prospects], dtype=float
        ),
        open=numpy.array([0.0 if p.candidate.barred else 1.0 for p in prospects], dtype=float),
        category=numpy.array(
            [place.get(p.candidate.room.category or "", len(names)) for p in prospects],
            dtype=numpy.intp,
        ),
        names=names,
        index={p.candidate.room.session_id: i for i, p in enumerate(prospects)},
    )


# One board per database engine, so that two worlds in one process never share one.
_boards: weakref.WeakKeyDictionary[Any, Board] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A feed to answer with, and the impressions it makes (to be written)."""

    out: FeedOut
    shown: list[Impression]


async def feed_for_request(
    request: HTTPConnection, ctx: Ctx, viewer: Actor | None, limit: int
) -> FeedOut:
    """Recommend to whoever asks (an anonymous visitor by its cookie) and queue the impressions."""
    key = viewer.id if viewer else known_visitor(request, ctx.settings.secret_key)
    found = await recommend(ctx, viewer, key or ANONYMOUS, limit=limit)
    for impression in found.shown:
        request.app.state.impressions.queue(impression)
    return found.out


async def recommend(
    ctx: Ctx,
    viewer: Actor | None,
    viewer_key: str,
    *,
    limit: int = FEED_SIZE,
    policy: FeedPolicy | None = None,
    rng: random.Random | None = None,
) -> Recommendation:
    """Rank the live rooms for a viewer: the followed ones first, then the best-valued others."""
    policy = policy or FeedPolicy(ctx.settings.feed_policy)
    board = await current_board(ctx)
    follows = await _follows(ctx, viewer)
    followed = [c for c in board.candidates if _followed(c.room, follows)]
    following = followed[: max(0, int(limit * FOLLOWING_SHARE))]
    taste = await viewer_taste(ctx, board, viewer_key)
    draws = rng or random.Random()  # noqa: S311 - exploration's draws, not a secret
    slots = [slot for slot in PROMOTED_SLOTS if slot < limit]
    # Nobody pays for its own followers: no room the viewer follows is promoted to it.
    promoted = promote(board, followed, taste, policy, draws, len(slots))
    excluded = [*following, *(candidate for candidate, _ in promoted)]
    ranked = rank(board, excluded, taste, policy, draws, limit - len(excluded))
    items = [_following_item(ctx, c.room) for c in following]
    items += [_recommended_item(c.room, why) for c, why in ranked]
    for slot, (candidate, why) in zip(slots, promoted, strict=False):
        items.insert(min(slot, len(items)), _promoted_item(candidate.room, why))
    now = ctx.now()
    shown = [
        Impression(viewer_key, item.session_id, position, item.reason == Reason.PROMOTED, now)
        for position, item in enumerate(items)
        if item.reason != Reason.FOLLOWING
    ]
    return Recommendation(FeedOut(policy=policy, items=items), shown)


def rank(
    board: Board,
    excluded: Sequence[Candidate],
    taste: dict[str, float],
    policy: FeedPolicy,
    rng: random.Random,
    limit: int,
) -> list[tuple[Candidate, WhyOut]]:
    """Value every other room once, with a fresh Thompson draw each; return the best `limit`.

    Only the draws and the viewer's taste change from one request to the next: the rest
    of each room's value was laid out with the board (`Columns`), and all rooms are
    valued in one pass of array arithmetic.
    """
    columns = board.columns
    if limit <= 0 or not board.prospects:
        return []
    draws = numpy.random.default_rng(rng.getrandbits(64)).beta(columns.alpha, columns.beta)
    trust = columns.trust if policy == FeedPolicy.TRUST else columns.open
    affinity = _affinities(columns, taste)[columns.category]
    value = draws * columns.worth * trust * affinity
    for candidate in excluded:
        value[columns.index[candidate.room.session_id]] = 0.0
    shown = numpy.flatnonzero(value > 0)
    if len(shown) > limit:
        shown = shown[numpy.argpartition(-value[shown], limit - 1)[:limit]]
    best = sorted(shown, key=lambda i: (-value[i], board.prospects[i].candidate.room.session_id))
    # Plain floats: rounding numpy's scalars costs many times more.
    parts = zip(*(column[best].tolist() for column in (draws, trust, affinity, value)), strict=True)
    return [
        (board.prospects[i].candidate, _why(board.prospects[i], *part))
        for i, part in zip(best, parts, strict=True)
    ]


def _affinities(columns: Columns, taste: dict[str, float]) -> FloatArray:
    """The viewer's taste for each of the board's categories, and for none (the least)."""
    least = min(taste.values(), default=1.0)
    return numpy.array([taste.get(name, least) for name in [*columns.names, ""]], dtype=float)


def promote(
    board: Board,
    excluded: Sequence[Candidate],
    taste: dict[str, float],
    policy: FeedPolicy,
    rng: random.Random,
    count: int,
) -> list[tuple[Candidate, WhyOut]]:
    """Fill the promoted slots: the running promotions of rooms strangers may be shown,
    highest bid per 1,000 impressions × g(trust) first (under the GMV policy g is 1, and
    the rules' bar still holds)."""
    if count <= 0 or not board.bids:
        return []
    skip = {c.room.session_id for c in excluded}
    least = min(taste.values(), default=1.0)
    offers: list[tuple[float, str, Candidate, WhyOut]] = []
    for prospect in board.prospects:
        candidate = prospect.candidate
        bid = board.bids.get(candidate.room.session_id)
        trust = candidate.trust if policy == FeedPolicy.TRUST else 1.0
        if bid is None or candidate.barred or trust <= 0 or candidate.room.session_id in skip:
            continue
        p_enter = rng.betavariate(prospect.alpha, prospect.beta)
        # An entry's price is worth p(enter) × 1,000 of it per 1,000 impressions.
        per_mille = bid.price_minor * (1.0 if bid.pricing is Pricing.CPM else p_enter * 1_000)
        affinity = taste.get(candidate.room.category or "", least)
        value = p_enter * prospect.worth * trust * affinity
        why = _why(prospect, p_enter, trust, affinity, value)
        why.ecpm_minor = round(per_mille, 2)
        offers.append((per_mille * trust, candidate.room.session_id, candidate, why))
    offers.sort(key=lambda offer: (-offer[0], offer[1]))
    return [(candidate, why) for _, _, candidate, why in offers[:count]]


@dataclass(frozen=True, slots=True)
class Prospect:
    """What a room's value is made of, but for the draw, the trust policy and the viewer."""

    candidate: Candidate
    alpha: float  # the Beta posterior of entering when shown
    beta: float
    watch_seconds: float  # expected watch time of a visit
    orders_per_second: float  # orders per second of watch time
    order_value_minor: float
    worth: float  # their product: what an entry is expected to bring


def prospect_of(candidate: Candidate, platform: Platform) -> Prospect:
    """Smooth a room's own figures toward the platform's, as if seen PRIOR_* times."""
    room = candidate.room
    alpha = PRIOR_IMPRESSIONS * platform.entry_rate + room.feed_entries
    missed = max(candidate.impressions - room.feed_entries, 0)
    beta = PRIOR_IMPRESSIONS * (1 - platform.entry_rate) + missed
    watch = _smoothed(room.watch_seconds, room.visits, platform.watch_seconds, PRIOR_VISITS)
    per_second = _smoothed(
        candidate.orders, room.watch_seconds, platform.orders_per_second, PRIOR_WATCH_SECONDS
    )
    order_value = _smoothed(
        candidate.gmv_minor, candidate.orders, platform.order_value_minor, PRIOR_ORDERS
    )
    worth = watch * per_second * order_value
    return Prospect(candidate, alpha, beta, watch, per_second, order_value, worth)


def _why(prospect: Prospect, p_enter: float, trust: float, affinity: float, value: float) -> WhyOut:
    return WhyOut(
        p_enter=round(p_enter, 6),
        watch_seconds=round(prospect.watch_seconds, 3),
        orders_per_hour=round(prospect.orders_per_second * 3_600, 6),
        order_value_minor=round(prospect.order_value_minor, 2),
        trust_multiplier=round(trust, 6),
        affinity=round(affinity, 6),
        value=value,
    )


# ---------------------------------------------------------------- the board


async def current_board(ctx: Ctx) -> Board:
    """Return the live rooms as last read, reading them again when that is too old."""
    engine = ctx.db.get_bind()
    board = _boards.get(engine)
    age = timedelta(seconds=ctx.settings.feed_board_seconds)
    if board is None or ctx.now() - board.read_at >= age or ctx.now() < board.read_at:
        previous, board = board, await read_board(ctx)
        if previous is not None and len(previous.categories) < KNOWN_CATEGORIES:
            # The categories of sessions seen before, kept: viewers' tastes read them. Grown
            # in place, not copied each refresh; a session's category never changes, so a
            # request still reading the previous board sees only more of the same facts.
            previous.categories.update(board.categories)
            board.categories = previous.categories
        _boards[engine] = board
    return board


async def read_board(ctx: Ctx) -> Board:
    """Read every live room with its impressions, orders and trust, in a few reads."""
    rooms = await audience.rooms_live(ctx)
    ids = [room.session_id for room in rooms]
    shown = await impression_counts(ctx, ids)
    totals = await order_queries.paid_totals_of_sessions(ctx, ids)
    shops = sorted({room.shop_id for room in rooms if room.shop_id is not None})
    scores = await privileges.kept_scores(ctx, shops)
    barred = await privileges.barred_from_public_traffic(ctx, shops)
    # A room without a shop sells the pool's products on its anchor's word: its anchor's
    # kept reputation sets its multiplier, as a shop's score sets its own rooms'.
    shopless = sorted({room.anchor_id for room in rooms if room.shop_id is None})
    anchors = await privileges.kept_anchor_scores(ctx, shopless)
    candidates = [
        Candidate(
            room,
            shown.get(room.session_id, 0),
            *totals.get(room.session_id, (0, 0)),
            traffic_multiplier(_trust_of(room, scores, anchors)),
            room.shop_id in barred,
        )
        for room in rooms
    ]
    board = board_of(ctx.now(), candidates)
    board.bids = await promoted_now(ctx, ids)
    return board


def _trust_of(room: LiveRoom, shops: dict[str, float], anchors: dict[str, float]) -> float:
    """Return the kept score that sets a room's multiplier: its shop's, or its anchor's."""
    if room.shop_id is None:
        return anchors.get(room.anchor_id, NEUTRAL)
    return shops.get(room.shop_id, NEUTRAL)


def platform_of(candidates: Sequence[Candidate]) -> Platform:
    """Return the platform's averages over these rooms, or the defaults where it has none."""
    impressions = sum(c.impressions for c in candidates)
    entries = sum(c.room.feed_entries for c in candidates)
    visits = sum(c.room.visits for c in candidates)
    watched = sum(c.room.watch_seconds for c in candidates)
    orders = sum(c.orders for c in candidates)
    gmv = sum(c.gmv_minor for c in candidates)
    # Each average leans on the defaults as a room leans on the platform, so that a
    # platform with little history (visits without watch time yet) never values all at 0.
    return Platform(
        # Clipped: entries can outnumber the impressions counted (links shared from a feed).
        entry_rate=min(
            max(_smoothed(entries, impressions, DEFAULT_ENTRY_RATE, PRIOR_IMPRESSIONS), 0.01),
            0.9,
        ),
        watch_seconds=_smoothed(watched, visits, DEFAULT_WATCH_SECONDS, PRIOR_VISITS),
        orders_per_second=_smoothed(
            orders, watched, DEFAULT_ORDERS_PER_SECOND, PRIOR_WATCH_SECONDS
        ),
        order_value_minor=_smoothed(gmv, orders, DEFAULT_ORDER_VALUE_MINOR, PRIOR_ORDERS),
        taste=_shares(Counter({c.room.category: c.room.visits + 1 for c in candidates})),
    )


def _smoothed(total: float, count: float, prior: float, weight: float) -> float:
    """Return total / count leaned toward `prior` as if it had been seen `weight` times."""
    return (total + prior * weight) / (count + weight)


def _shares(counts: Counter[str | None]) -> dict[str, float]:
    """Return each named category's share of these counts."""
    named = {category: n for category, n in counts.items() if category}
    total = sum(named.values())
    return {category: n / total for category, n in sorted(named.items())} if total else {}


# ---------------------------------------------------------------- the viewer


async def viewer_taste(ctx: Ctx, board: Board, viewer_key: str) -> dict[str, float]:
    """Return the viewer's share of interest in each category: its visits, smoothed.

    A viewer with no history has the platform's taste (the cold-start prior).
    """
    prior = board.platform.taste
    if not viewer_key:
        return prior
    since = ctx.now() - timedelta(days=AFFINITY_DAYS)
    visited = await audience.sessions_visited(ctx, viewer_key, since, AFFINITY_VISITS)
    unknown = sorted(set(visited) - board.categories.keys())
    if unknown:
        board.categories.update(await audience.session_categories(ctx, unknown))
        board.categories.update({sid: "" for sid in unknown if sid not in board.categories})
    seen = Counter(board.categories[sid] for sid in visited if board.categories[sid])
    total = sum(seen.values())
    categories = sorted(prior.keys() | seen.keys())
    return {
        category: (seen[category] + PRIOR_TASTE * prior.get(category, 0.0)) / (total + PRIOR_TASTE)
        for category in categories
    }


async def _follows(ctx: Ctx, viewer: Actor | None) -> tuple[set[str], set[str]]:
    """Return the anchors and the shops a viewer follows (none for an anonymous one)."""
    if viewer is None:
        return set(), set()
    return await followed_targets(ctx, viewer.id)


def _followed(room: LiveRoom, follows: tuple[set[str], set[str]]) -> bool:
    anchors, shops = follows
    return room.anchor_id in anchors or room.shop_id in shops


# ---------------------------------------------------------------- items


def _following_item(ctx: Ctx, room: LiveRoom) -> RecommendedOut:
    tag = source_tag(ctx.settings.secret_key, room.session_id, EntrySource.FOLLOW_FEED)
    return _item(room, Reason.FOLLOWING, EntrySource.FOLLOW_FEED, tag, None)


def _recommended_item(room: LiveRoom, why: WhyOut) -> RecommendedOut:
    source = EntrySource.RECOMMEND_FEED
    return _item(room, Reason.RECOMMENDED, source, source.value, why)


def _promoted_item(room: LiveRoom, why: WhyOut) -> RecommendedOut:
    source = EntrySource.RECOMMEND_FEED
    return _item(room, Reason.PROMOTED, source, source.value, why)


def _item(
    room: LiveRoom, reason: Reason, source: EntrySource, tag: str, why: WhyOut | None
) -> RecommendedOut:
    return RecommendedOut(
        session_id=room.session_id,
        anchor_id=room.anchor_id,
        shop_id=room.shop_id,
        title=room.title,
        cover_url=room.cover_url,
        category=room.category,
        started_at=room.started_at,
        reason=reason,
        source=source.value,
        url=f"/live/{room.session_id}?src={tag}",
        why=why,
    )
