"""Attribution: a session's or a shop's viewers, orders and GMV by domain and source.

DESIGN.md's rule: within a period a viewer belongs to the domain (and source) of its
first visit in that period, and its orders count in that segment, so that the private
and public viewers add up to all of them. A buyer whose order carries no visit of the
period is counted by that order's own visit, or as `other` in the public domain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import not_found
from laotie.live.room.visits import FirstVisit, first_visits, visit_sources
from laotie.live.session import service as sessions
from laotie.orders.queries import paid_orders_of_sessions
from laotie.traffic.schemas import AttributionOut, SegmentOut

MAX_PERIOD_DAYS = 366
_UNATTRIBUTED = FirstVisit("", "other", False)


async def session_attribution(ctx: Ctx, actor: Actor, session_id: str) -> AttributionOut:
    """A session's segments from its first entry to now (its anchor, its shop, operators)."""
    session = await sessions.load_session(ctx, session_id)
    await _check_reader(ctx, actor, session.shop_id, session.anchor_id)
    since = session.started_at or session.scheduled_at
    until = ctx.now() + timedelta(seconds=1)
    return await _attribute(ctx, session.shop_id, [session.id], since, until, session.id)


async def shop_attribution(
    ctx: Ctx, actor: Actor, shop_id: str, since: datetime, until: datetime
) -> AttributionOut:
    """A shop's segments over its sessions of a period (its owner, operators)."""
    await _check_reader(ctx, actor, shop_id, None)
    session_ids = await sessions.session_ids_of_shop(ctx, shop_id)
    return await _attribute(ctx, shop_id, session_ids, since, until, None)


async def _check_reader(ctx: Ctx, actor: Actor, shop_id: str | None, anchor_id: str | None) -> None:
    if actor.has(Role.OPERATOR) or actor.id == anchor_id:
        return
    if shop_id is None or await catalog.shop_owner_id(ctx, shop_id) != actor.id:
        raise not_found("shop" if anchor_id is None else "live session")


async def _attribute(
    ctx: Ctx,
    shop_id: str | None,
    session_ids: Sequence[str],
    since: datetime,
    until: datetime,
    session_id: str | None,
) -> AttributionOut:
    first = await first_visits(ctx, session_ids, since, until)
    orders = await paid_orders_of_sessions(ctx, session_ids, since, until)
    own = await visit_sources(ctx, [o.visit_id for o in orders if o.visit_id])
    viewers: dict[tuple[str, str], set[str]] = defaultdict(set)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for viewer_key, visit in first.items():
        viewers[_segment(visit)].add(viewer_key)
    for order in orders:
        visit = first.get(order.buyer_id) or own.get(order.visit_id or "") or _UNATTRIBUTED
        counts[_segment(visit)][0] += 1
        counts[_segment(visit)][1] += order.total_minor
    keys = sorted(set(viewers) | set(counts))
    by_source = [
        SegmentOut(
            domain=domain,
            source=source,
            uv=len(viewers.get((domain, source), ())),
            orders=counts.get((domain, source), [0, 0])[0],
            gmv_minor=counts.get((domain, source), [0, 0])[1],
        )
        for domain, source in keys
    ]
    domains = [
        SegmentOut(
            domain=domain,
            uv=sum(s.uv for s in by_source if s.domain == domain),
            orders=sum(s.orders for s in by_source if s.domain == domain),
            gmv_minor=sum(s.gmv_minor for s in by_source if s.domain == domain),
        )
        for domain in ("private", "public")
    ]
    return AttributionOut(
        since=since,
        until=until,
        session_id=session_id,
        shop_id=shop_id,
        currency=orders[0].currency if orders else None,
        uv=len(first),
        orders=len(orders),
        gmv_minor=sum(o.total_minor for o in orders),
        domains=domains,
        sources=by_source,
    )


def _segment(visit: FirstVisit) -> tuple[str, str]:
    return ("private" if visit.private else "public", visit.source)
