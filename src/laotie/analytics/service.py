"""Analytics' use-cases: whose figures a caller may read, and the identity and its change."""

from __future__ import annotations

from laotie.accounts.permissions import Actor, Role
from laotie.analytics import identity as gmv
from laotie.analytics import lmdi
from laotie.analytics.errors import AnalyticsError
from laotie.analytics.facts import Period, Scope, raw_facts
from laotie.analytics.identity import Identity
from laotie.analytics.months import counted_month
from laotie.analytics.rollups import rolled_facts
from laotie.analytics.schemas import (
    ChangeOut,
    IdentityOut,
    ScopeKind,
    SegmentOut,
    TermOut,
    TierOut,
)
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.live.session import service as sessions

MAX_PERIOD_DAYS = 366
LIVE = "live"  # the two live domains together


async def access_scope(ctx: Ctx, actor: Actor, kind: ScopeKind, scope_id: str | None) -> Scope:
    """Resolve a scope the caller may read: its own shop, itself as an anchor, a session of
    either, or anything for an operator (the platform only for an operator)."""
    operator = actor.has(Role.OPERATOR)
    if kind is ScopeKind.PLATFORM:
        if not operator:
            raise not_found("scope")
        return Scope(kind, None, None, None, None, True, ctx.settings.currency)
    if scope_id is None:
        raise not_found(str(kind))
    if kind is ScopeKind.SHOP:
        shop = await catalog.get_shop(ctx, scope_id)
        if not operator and await catalog.shop_owner_id(ctx, shop.id) != actor.id:
            raise not_found("shop")
        ids = await sessions.session_ids_of_shop(ctx, shop.id)
        return Scope(kind, shop.id, ids, shop.id, None, True, shop.currency)
    if kind is ScopeKind.ANCHOR:
        if not operator and scope_id != actor.id:
            raise not_found("anchor")
        ids = await sessions.session_ids_of_anchor(ctx, scope_id)
        return Scope(kind, scope_id, ids, None, scope_id, False, ctx.settings.currency)
    session = await sessions.load_session(ctx, scope_id)
    allowed = operator or actor.id == session.anchor_id
    if session.shop_id is None:
        if not allowed:
            raise not_found("live session")
        return Scope(kind, session.id, [session.id], None, None, False, ctx.settings.currency)
    if not allowed and await catalog.shop_owner_id(ctx, session.shop_id) != actor.id:
        raise not_found("live session")
    shop = await catalog.get_shop(ctx, session.shop_id)
    return Scope(kind, session.id, [session.id], None, None, False, shop.currency)


def check_period(period: Period) -> Period:
    """Refuse a period longer than a year (a report reads its raw rows)."""
    if (period.end - period.start).days > MAX_PERIOD_DAYS:
        raise AppError.of(
            AnalyticsError.PERIOD_INVALID, f"a period is {MAX_PERIOD_DAYS} days at most"
        )
    return period


async def identity_of(ctx: Ctx, scope: Scope, period: Period, *, raw: bool = False) -> Identity:
    """Count a scope's period: a calendar month from the month rollups once counted, any
    other from the day rollups where they are filled and raw rows after (or all raw)."""
    check_period(period)
    if raw:
        return gmv.count(await raw_facts(ctx, scope, period), period, scope.currency)
    counted = await counted_month(ctx, scope, period)
    if counted is not None:
        return counted
    return gmv.count(await rolled_facts(ctx, scope, period), period, scope.currency)


async def gmv_identity(
    ctx: Ctx,
    actor: Actor,
    kind: ScopeKind,
    scope_id: str | None,
    period: Period,
    *,
    raw: bool = False,
) -> IdentityOut:
    """A scope's GMV over a period as the product of its factors, by segment and tier."""
    scope = await access_scope(ctx, actor, kind, scope_id)
    return identity_out(scope, await identity_of(ctx, scope, period, raw=raw))


async def gmv_change(
    ctx: Ctx,
    actor: Actor,
    kind: ScopeKind,
    scope_id: str | None,
    period: Period,
    base: Period,
    *,
    raw: bool = False,
) -> ChangeOut:
    """What moved a scope's GMV from the base period to the period, factor by factor."""
    scope = await access_scope(ctx, actor, kind, scope_id)
    before = await identity_of(ctx, scope, base, raw=raw)
    after = await identity_of(ctx, scope, period, raw=raw)
    terms = lmdi.attribute(gmv.lmdi_segments(before), gmv.lmdi_segments(after))
    return ChangeOut(
        base=identity_out(scope, before),
        current=identity_out(scope, after),
        change_minor=after.gmv_minor - before.gmv_minor,
        terms=[
            TermOut(segment=t.segment, factor=t.factor, minor=t.minor, exact=t.value) for t in terms
        ],
        by_factor=lmdi.by_factor(terms),
    )


def identity_out(scope: Scope, found: Identity) -> IdentityOut:
    """The wire form of a counted period."""
    live_total = found.live_total
    segments = [
        _segment_out(domain, counts, gmv.live_factors(counts, live_total.uv))
        for domain, counts in found.live.items()
    ]
    segments.append(_segment_out(LIVE, live_total, _whole_live_factors(live_total)))
    if found.shelf is not None:
        segments.append(_segment_out(gmv.SHELF, found.shelf, gmv.shelf_factors(found.shelf)))
    return IdentityOut(
        scope=scope.kind,
        scope_id=scope.scope_id,
        start=found.period.start,
        end=found.period.end,
        currency=found.currency,
        gmv_minor=found.gmv_minor,
        segments=segments,
        tiers=[
            TierOut(tier=tier, buyers=c.buyers, orders=c.orders, gmv_minor=c.gmv_minor)
            for tier, c in found.tiers.items()
        ],
        other_currency_orders=found.other_currencies,
    )


def _whole_live_factors(total: gmv.Tally) -> dict[str, float] | None:
    """The live channel's own five factors (its share of itself is 1)."""
    factors = gmv.live_factors(total, total.uv)
    if factors is not None:
        del factors["share"]
    return factors


def _segment_out(name: str, counts: gmv.Tally, factors: dict[str, float] | None) -> SegmentOut:
    return SegmentOut(
        name=name,
        uv=counts.uv,
        watch_seconds=counts.watch_seconds,
        buyers=counts.buyers,
        orders=counts.orders,
        gmv_minor=counts.gmv_minor,
        factors=factors,
    )
