"""The buyer's address book, and the copy of an address that an order keeps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.core.ids import new_id
from laotie.orders import divisions
from laotie.orders.errors import OrderError
from laotie.orders.models import Address
from laotie.orders.schemas import AddressIn, AddressOut, AddressPatchIn, ShipToOut

MAX_ADDRESSES = 20


def address_not_found() -> AppError:
    """Refuse an address that is not the caller's."""
    return AppError(OrderError.ADDRESS_NOT_FOUND, "no such address in your address book", 404)


def ship_to(address: Address) -> dict[str, Any]:
    """Return the copy of an address an order keeps: names resolved, the city's tier."""
    place = divisions.resolve(address.province_code, address.city_code, address.district_code)
    return ShipToOut(
        recipient=address.recipient,
        phone=address.phone,
        province_code=place.province.code,
        province=place.province.name,
        city_code=place.city.code,
        city=place.city.name,
        district_code=None if place.district is None else place.district.code,
        district=None if place.district is None else place.district.name,
        street=address.street,
        city_tier=place.tier.value,
    ).model_dump()


def address_out(address: Address) -> AddressOut:
    """Return the wire form of an address book entry."""
    return AddressOut(id=address.id, is_default=address.is_default, **ship_to(address))


async def address_book(ctx: Ctx, actor: Actor) -> list[AddressOut]:
    """Return the caller's addresses, the default first."""
    rows = await ctx.db.scalars(
        select(Address)
        .where(Address.user_id == actor.id)
        .order_by(Address.is_default.desc(), Address.created_at, Address.id)
    )
    return [address_out(address) for address in rows]


async def access_address(ctx: Ctx, actor: Actor, address_id: str) -> Address:
    """Return one of the caller's addresses."""
    address = await ctx.db.scalar(
        select(Address).where(Address.id == address_id, Address.user_id == actor.id)
    )
    if address is None:
        raise address_not_found()
    return address


async def do_add_address(ctx: Ctx, actor: Actor, data: AddressIn) -> AddressOut:
    """Add an address (checked against the divisions); the first one is the default."""
    divisions.resolve(data.province_code, data.city_code, data.district_code)
    count = await ctx.db.scalar(select(func.count(Address.id)).where(Address.user_id == actor.id))
    if (count or 0) >= MAX_ADDRESSES:
        raise AppError(
            OrderError.ADDRESS_BOOK_FULL, f"at most {MAX_ADDRESSES} addresses; delete one", 409
        )
    default = data.is_default or not count
    if default:
        await _clear_default(ctx, actor.id)
    address = Address(
        id=new_id("adr"),
        user_id=actor.id,
        recipient=data.recipient.strip(),
        phone=data.phone.strip(),
        province_code=data.province_code,
        city_code=data.city_code,
        district_code=data.district_code,
        street=data.street.strip(),
        is_default=default,
        created_at=ctx.now(),
    )
    ctx.db.add(address)
    await ctx.db.flush()
    return address_out(address)


async def do_edit_address(
    ctx: Ctx, actor: Actor, address_id: str, data: AddressPatchIn
) -> AddressOut:
    """Change an address; orders placed before keep their copy."""
    address = await access_address(ctx, actor, address_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("recipient", "phone", "street"):
        if changes.get(name) is not None:
            setattr(address, name, str(changes[name]).strip())
    if {"province_code", "city_code", "district_code"} & set(changes):
        province = changes.get("province_code") or address.province_code
        city = changes.get("city_code") or address.city_code
        district = changes.get("district_code", address.district_code)
        divisions.resolve(province, city, district)
        address.province_code, address.city_code, address.district_code = province, city, district
    await ctx.db.flush()
    return address_out(address)


async def do_delete_address(ctx: Ctx, actor: Actor, address_id: str) -> None:
    """Delete an address; if it was the default, the oldest other one becomes the default."""
    address = await access_address(ctx, actor, address_id)
    was_default = address.is_default
    await ctx.db.delete(address)
    await ctx.db.flush()
    if was_default:
        heir = await ctx.db.scalar(
            select(Address)
            .where(Address.user_id == actor.id)
            .order_by(Address.created_at, Address.id)
            .limit(1)
        )
        if heir is not None:
            heir.is_default = True
            await ctx.db.flush()


async def do_set_default(ctx: Ctx, actor: Actor, address_id: str) -> AddressOut:
    """Make an address the default (the one checkout uses when none is named)."""
    address = await access_address(ctx, actor, address_id)
    if not address.is_default:
        await _clear_default(ctx, actor.id)
        address.is_default = True
        await ctx.db.flush()
    return address_out(address)


async def _clear_default(ctx: Ctx, user_id: str) -> None:
    # Before the new default is written: one default per user is a unique index.
    await ctx.db.execute(
        update(Address)
        .where(Address.user_id == user_id, Address.is_default)
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )
