"""Partnerships: a shop asks a verified factory to work with it, the factory answers, and
either may end it. Campaigns are opened only with an active partner."""

from __future__ import annotations

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.live.session import service as sessions
from laotie.supply.errors import SupplyError
from laotie.supply.factories import load_factory
from laotie.supply.models import Factory, Partnership
from laotie.supply.schemas import (
    PartnershipAnswer,
    PartnershipIn,
    PartnershipOut,
    PartnershipStatus,
)

OPEN = (PartnershipStatus.REQUESTED, PartnershipStatus.ACTIVE)


async def do_request_partnership(
    ctx: Ctx, actor: Actor, shop_id: str, data: PartnershipIn
) -> PartnershipOut:
    """The shop's owner asks a verified factory to partner; asking again after a decline
    or an end asks anew."""
    await catalog.access_own_shop(ctx, actor, shop_id)
    factory = await load_factory(ctx, data.factory_id)
    if not factory.verified:
        raise AppError.of(SupplyError.FACTORY_UNVERIFIED, "this factory is not verified yet")
    found = await ctx.db.get(Partnership, (shop_id, factory.id), with_for_update=True)
    if found is not None and found.status in OPEN:
        raise AppError.of(
            SupplyError.PARTNERSHIP_EXISTS, f"the partnership is {found.status} already"
        )
    if found is None:
        found = Partnership(shop_id=shop_id, factory_id=factory.id)
        ctx.db.add(found)
    found.status, found.note = PartnershipStatus.REQUESTED, data.note
    found.requested_at, found.answered_at = ctx.now(), None
    await ctx.db.flush()
    return await _out(ctx, found)


async def do_answer_partnership(
    ctx: Ctx, actor: Actor, factory_id: str, shop_id: str, answer: PartnershipAnswer
) -> PartnershipOut:
    """The factory's owner accepts or declines a shop's request."""
    partnership = await _of_factory_owner(ctx, actor, factory_id, shop_id)
    if partnership.status != PartnershipStatus.REQUESTED:
        raise AppError.of(
            SupplyError.PARTNERSHIP_NOT_REQUESTED,
            f"the partnership is {partnership.status}, not awaiting an answer",
        )
    accepted = answer is PartnershipAnswer.ACCEPT
    partnership.status = PartnershipStatus.ACTIVE if accepted else PartnershipStatus.DECLINED
    partnership.answered_at = ctx.now()
    await ctx.db.flush()
    return await _out(ctx, partnership)


async def do_end_partnership(
    ctx: Ctx, actor: Actor, shop_id: str, factory_id: str
) -> PartnershipOut:
    """Either side ends a partnership (or the shop withdraws its request); ending one
    that has ended already changes nothing."""
    factory = await load_factory(ctx, factory_id)
    if factory.owner_id != actor.id:
        await catalog.access_own_shop(ctx, actor, shop_id)
    partnership = await _partnership(ctx, shop_id, factory_id, lock=True)
    if partnership.status in OPEN:
        partnership.status, partnership.answered_at = PartnershipStatus.ENDED, ctx.now()
        await ctx.db.flush()
    return await _out(ctx, partnership)


async def partners_of_shop(ctx: Ctx, actor: Actor, shop_id: str) -> list[PartnershipOut]:
    """A shop's partnerships, newest request first (its owner, operators)."""
    if not actor.has(Role.OPERATOR):
        await catalog.access_own_shop(ctx, actor, shop_id)
    query = select(Partnership).where(Partnership.shop_id == shop_id)
    return await _outs(ctx, list(await ctx.db.scalars(query)))


async def partners_of_show(ctx: Ctx, actor: Actor, session_id: str) -> list[PartnershipOut]:
    """The active partners of a show's shop, for the show's anchor (who may open campaigns in
    it with them) and the shop's owner."""
    session = await sessions.load_session(ctx, session_id)
    if session.shop_id is None:  # an anchor without a shop has no factory to partner with
        if session.anchor_id != actor.id:
            raise not_found("live session")
        return []
    if session.anchor_id != actor.id:
        await catalog.access_own_shop(ctx, actor, session.shop_id)
    query = select(Partnership).where(
        Partnership.shop_id == session.shop_id, Partnership.status == PartnershipStatus.ACTIVE
    )
    return await _outs(ctx, list(await ctx.db.scalars(query)))


async def partners_of_factory(ctx: Ctx, actor: Actor, factory_id: str) -> list[PartnershipOut]:
    """A factory's partnerships and requests, newest first (its owner, operators)."""
    factory = await load_factory(ctx, factory_id)
    if factory.owner_id != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("factory")
    query = select(Partnership).where(Partnership.factory_id == factory_id)
    return await _outs(ctx, list(await ctx.db.scalars(query)))


async def is_partner(ctx: Ctx, shop_id: str, factory_id: str) -> bool:
    """Whether the shop and the factory are active partners."""
    found = await ctx.db.get(Partnership, (shop_id, factory_id))
    return found is not None and found.status == PartnershipStatus.ACTIVE


async def _of_factory_owner(ctx: Ctx, actor: Actor, factory_id: str, shop_id: str) -> Partnership:
    factory = await load_factory(ctx, factory_id)
    if factory.owner_id != actor.id:
        raise not_found("factory")
    return await _partnership(ctx, shop_id, factory_id, lock=True)


async def _partnership(ctx: Ctx, shop_id: str, factory_id: str, *, lock: bool) -> Partnership:
    found = await ctx.db.get(Partnership, (shop_id, factory_id), with_for_update=lock or None)
    if found is None:
        raise not_found("partnership")
    return found


async def _outs(ctx: Ctx, found: list[Partnership]) -> list[PartnershipOut]:
    found.sort(key=lambda p: (p.requested_at, p.shop_id, p.factory_id), reverse=True)
    return [await _out(ctx, partnership) for partnership in found]


async def _out(ctx: Ctx, partnership: Partnership) -> PartnershipOut:
    shop = await catalog.get_shop(ctx, partnership.shop_id)
    factory = await ctx.db.get(Factory, partnership.factory_id)
    return PartnershipOut(
        shop_id=shop.id,
        shop_name=shop.name,
        factory_id=partnership.factory_id,
        factory_name=factory.name if factory else "",
        status=PartnershipStatus(partnership.status),
        note=partnership.note,
        requested_at=partnership.requested_at,
        answered_at=partnership.answered_at,
    )
