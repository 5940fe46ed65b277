"""Factories: who may register one, what it can make, and what a run of it costs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.supply.errors import SupplyError
from laotie.supply.models import Factory
from laotie.supply.schemas import (
    FactoryIn,
    FactoryOut,
    FactoryUpdateIn,
    FactoryVerificationIn,
    PriceTier,
)

MAX_PAGE = 100


async def do_create_factory(ctx: Ctx, actor: Actor, data: FactoryIn) -> FactoryOut:
    """Register a factory (factory accounts); an operator verifies it before shops may
    partner with it."""
    require_role(actor, Role.FACTORY)
    await _check_capabilities(ctx, data.categories, data.moq, data.price_tiers)
    await _check_name_free(ctx, data.name)
    factory = Factory(
        id=new_id("fac"),
        owner_id=actor.id,
        name=data.name,
        description=data.description,
        city=data.city,
        categories=sorted(set(data.categories)),
        moq=data.moq,
        lead_time_days=data.lead_time_days,
        weekly_capacity=data.weekly_capacity,
        price_tiers=_stored_tiers(data.price_tiers),
        currency=ctx.settings.currency,
        verified=False,
        created_at=ctx.now(),
    )
    ctx.db.add(factory)
    await _flush_factory(ctx, data.name)
    return factory_out(factory)


async def do_update_factory(
    ctx: Ctx, actor: Actor, factory_id: str, data: FactoryUpdateIn
) -> FactoryOut:
    """Change the owner's factory; its capabilities are checked whole, as they will be."""
    factory = await _own_factory(ctx, actor, factory_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    categories = changes.get("categories", factory.categories)
    tiers = data.price_tiers if data.price_tiers is not None else tiers_of(factory)
    await _check_capabilities(ctx, categories, changes.get("moq", factory.moq), tiers)
    if data.name is not None and data.name != factory.name:
        await _check_name_free(ctx, data.name, other_than=factory.id)
    for name, value in changes.items():
        if name == "price_tiers":
            value = _stored_tiers(tiers)
        elif name == "categories":
            value = sorted(set(value))
        setattr(factory, name, value)
    await _flush_factory(ctx, factory.name)
    return factory_out(factory)


async def do_verify_factory(
    ctx: Ctx, actor: Actor, factory_id: str, data: FactoryVerificationIn
) -> FactoryOut:
    """Record whether a factory is verified (operators only)."""
    require_role(actor, Role.OPERATOR)
    factory = await load_factory(ctx, factory_id)
    factory.verified = data.verified
    await ctx.db.flush()
    return factory_out(factory)


async def get_factory(ctx: Ctx, viewer: Actor | None, factory_id: str) -> FactoryOut:
    """A verified factory, for anyone; an unverified one only for its owner and operators."""
    factory = await load_factory(ctx, factory_id)
    if not factory.verified and not _sees_unverified(viewer, factory):
        raise not_found("factory")
    return factory_out(factory)


async def list_factories(
    ctx: Ctx,
    viewer: Actor | None,
    *,
    category: str | None = None,
    owner_id: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[FactoryOut]:
    """Verified factories, oldest first (a category's, or an owner's); an owner also sees
    its own unverified ones, and operators every one."""
    query = select(Factory).order_by(Factory.created_at, Factory.id)
    if owner_id is not None:
        query = query.where(Factory.owner_id == owner_id)
    if viewer is None:
        query = query.where(Factory.verified.is_(True))
    elif not viewer.has(Role.OPERATOR):
        query = query.where(or_(Factory.verified.is_(True), Factory.owner_id == viewer.id))
    found = list(await ctx.db.scalars(query))
    if category is not None:  # a JSON list: filtered here, factories being few
        found = [factory for factory in found if category in factory.categories]
    start = max(offset, 0)
    return [factory_out(f) for f in found[start : start + min(max(limit, 1), MAX_PAGE)]]


async def load_factory(ctx: Ctx, factory_id: str, *, lock: bool = False) -> Factory:
    """A factory, or 404."""
    factory = await ctx.db.get(Factory, factory_id, with_for_update=lock or None)
    if factory is None:
        raise not_found("factory")
    return factory


async def _own_factory(ctx: Ctx, actor: Actor, factory_id: str) -> Factory:
    """The actor's own factory; anybody else's is not found, as a stranger's shop is not
    theirs to probe."""
    factory = await load_factory(ctx, factory_id)
    if factory.owner_id != actor.id:
        raise not_found("factory")
    return factory


def _sees_unverified(viewer: Actor | None, factory: Factory) -> bool:
    return viewer is not None and (viewer.id == factory.owner_id or viewer.has(Role.OPERATOR))


def factory_out(factory: Factory) -> FactoryOut:
    """The wire form of a factory."""
    return FactoryOut(
        id=factory.id,
        owner_id=factory.owner_id,
        name=factory.name,
        description=factory.description,
        city=factory.city,
        categories=list(factory.categories),
        moq=factory.moq,
        lead_time_days=factory.lead_time_days,
        weekly_capacity=factory.weekly_capacity,
        price_tiers=tiers_of(factory),
        currency=factory.currency,
        verified=factory.verified,
        created_at=factory.created_at,
    )


# ---------------------------------------------------------------- capabilities


async def _check_capabilities(
    ctx: Ctx, categories: Sequence[str], moq: int, tiers: Sequence[PriceTier]
) -> None:
    for slug in categories:
        await catalog.check_category(ctx, slug)
    check_tiers(moq, tiers)


def check_tiers(moq: int, tiers: Sequence[PriceTier]) -> None:
    """Refuse price tiers that do not start at the MOQ, or whose quantities do not rise
    while their prices fall: each tier must be a better price for a bigger run."""
    if tiers[0].min_quantity != moq:
        raise _tiers_invalid(f"the first tier must start at the minimum order quantity {moq}")
    for lower, upper in pairwise(tiers):
        if upper.min_quantity <= lower.min_quantity:
            raise _tiers_invalid("each tier's min_quantity must be above the one before")
        if upper.unit_price_minor >= lower.unit_price_minor:
            raise _tiers_invalid("each tier's unit_price_minor must be below the one before")


def _tiers_invalid(message: str) -> AppError:
    return AppError.of(SupplyError.PRICE_TIERS_INVALID, message)


def _stored_tiers(tiers: Sequence[PriceTier]) -> list[list[int]]:
    return [[tier.min_quantity, tier.unit_price_minor] for tier in tiers]


def tiers_of(factory: Factory) -> list[PriceTier]:
    """A factory's price tiers, lowest quantity first."""
    return [PriceTier(min_quantity=q, unit_price_minor=p) for q, p in factory.price_tiers]


def unit_price_minor(tiers: Sequence[PriceTier], quantity: int) -> int | None:
    """The unit price of a run of `quantity` units: the highest tier it reaches (None
    below the first tier, the MOQ)."""
    reached = [tier for tier in tiers if tier.min_quantity <= quantity]
    return reached[-1].unit_price_minor if reached else None


def days_to_make(lead_time_days: int, weekly_capacity: int, quantity: int) -> int:
    """Days from the order until the last unit of a run is made: the lead time to the
    first week's units, then a week for each further week's worth."""
    return lead_time_days + 7 * (math.ceil(quantity / weekly_capacity) - 1)


async def _check_name_free(ctx: Ctx, name: str, *, other_than: str | None = None) -> None:
    query = select(Factory.id).where(func.lower(Factory.name) == name.lower())
    if other_than is not None:
        query = query.where(Factory.id != other_than)
    if await ctx.db.scalar(query.limit(1)) is not None:
        raise _name_taken(name)


async def _flush_factory(ctx: Ctx, name: str) -> None:
    # Two concurrent requests can both pass the name check; the unique index decides.
    try:
        await ctx.db.flush()
    except IntegrityError as error:
        raise _name_taken(name) from error


def _name_taken(name: str) -> AppError:
    return AppError.of(SupplyError.FACTORY_NAME_TAKEN, f"a factory called {name!r} exists")
