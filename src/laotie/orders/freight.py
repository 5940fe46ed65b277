"""Freight templates by province, and where a checkout ships to with what freight.

A shop's template has a rule for every province it does not list and rules by province
code: free, a flat fee per order, a fee per unit, or not delivered there. A shop without
a template ships free everywhere. Checkout reads the buyer's address and the templates of
the shops it buys from in one statement (`destination`), so that buy-now keeps its
statement budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select

from laotie.accounts.permissions import Actor
from laotie.catalog import service as catalog
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.orders import divisions
from laotie.orders.addresses import address_not_found, ship_to
from laotie.orders.errors import OrderError
from laotie.orders.models import Address, FreightTemplate
from laotie.orders.schemas import (
    FreightMode,
    FreightQuoteOut,
    FreightTemplateIn,
    FreightTemplateOut,
)

Rules = dict[str, Any]


def check_template(data: FreightTemplateIn) -> None:
    """Refuse a province code that is not a province."""
    for code in data.provinces:
        if divisions.province_name(code) is None:
            raise AppError(OrderError.UNKNOWN_PROVINCE, f"{code}: no such province", 422)


async def freight_template(ctx: Ctx, shop_id: str) -> FreightTemplateOut:
    """Return a shop's template (free everywhere when it has none)."""
    if await catalog.shop_owner_id(ctx, shop_id) is None:
        raise not_found("shop")
    row = await ctx.db.scalar(select(FreightTemplate).where(FreightTemplate.shop_id == shop_id))
    rules = FreightTemplateIn() if row is None else FreightTemplateIn.model_validate(row.rules)
    return FreightTemplateOut(shop_id=shop_id, **rules.model_dump())


async def do_set_freight_template(
    ctx: Ctx, actor: Actor, shop_id: str, data: FreightTemplateIn
) -> FreightTemplateOut:
    """Replace a shop's freight template (its owner only); orders placed keep their freight."""
    if await catalog.shop_owner_id(ctx, shop_id) != actor.id:
        raise not_found("shop")
    check_template(data)
    row = await ctx.db.scalar(select(FreightTemplate).where(FreightTemplate.shop_id == shop_id))
    rules = data.model_dump(mode="json")
    if row is None:
        ctx.db.add(FreightTemplate(shop_id=shop_id, rules=rules, updated_at=ctx.now()))
    else:
        row.rules, row.updated_at = rules, ctx.now()
    await ctx.db.flush()
    return FreightTemplateOut(shop_id=shop_id, **data.model_dump())


def freight_of(rules: Rules | None, province_code: str, units: int) -> int | None:
    """Return the freight of `units` to a province, or None where the shop does not deliver."""
    if rules is None:
        return 0
    rule = rules.get("provinces", {}).get(province_code) or rules.get("default") or {}
    mode = FreightMode(rule.get("mode", FreightMode.FREE))
    amount = int(rule.get("amount_minor", 0))
    if mode is FreightMode.NOT_DELIVERED:
        return None
    if mode is FreightMode.FLAT:
        return amount
    if mode is FreightMode.PER_UNIT:
        return amount * units
    return 0


def not_delivered(province: str) -> AppError:
    """Refuse an order to a province the shop does not deliver to."""
    return AppError(
        OrderError.NOT_DELIVERED_THERE, f"this shop does not deliver to {province}", 422
    )


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a checkout ships to (the copy the orders keep) and the shops' templates."""

    address_id: str
    ship_to: dict[str, Any]
    templates: dict[str, Rules]

    @property
    def province_code(self) -> str:
        """The destination's province."""
        return str(self.ship_to["province_code"])

    @property
    def city_tier(self) -> str:
        """The destination city's tier."""
        return str(self.ship_to["city_tier"])

    def freight(self, shop_id: str, units: int) -> int:
        """Return a shop's freight to here; refuse if the shop does not deliver here."""
        amount = freight_of(self.templates.get(shop_id), self.province_code, units)
        if amount is None:
            raise not_delivered(str(self.ship_to["province"]))
        return amount


def chosen_address(buyer_id: str, address_id: str | None) -> ColumnElement[bool]:
    """Select the buyer's address of this id, or the buyer's default when none is named."""
    chosen = Address.id == address_id if address_id is not None else Address.is_default
    return and_(Address.user_id == buyer_id, chosen)


def _destination_query(
    buyer_id: str, address_id: str | None, shop_ids: Iterable[str]
) -> Select[Address, FreightTemplate]:
    # One statement: the address, with the templates of the shops joined beside it.
    return (
        select(Address, FreightTemplate)
        .outerjoin(FreightTemplate, FreightTemplate.shop_id.in_(sorted(set(shop_ids))))
        .where(chosen_address(buyer_id, address_id))
    )


def destination_of(rows: Sequence[tuple[Any, Any]], address_id: str | None) -> Destination:
    """Return the destination of rows of (address, a shop's template or None); refuse none."""
    if not rows:
        if address_id is not None:
            raise address_not_found()
        raise AppError(
            OrderError.ADDRESS_REQUIRED, "add a shipping address before checking out", 422
        )
    address = rows[0][0]
    templates = {t.shop_id: t.rules for _, t in rows if t is not None}
    return Destination(address.id, ship_to(address), templates)


async def destination(
    ctx: Ctx, buyer_id: str, address_id: str | None, shop_ids: Iterable[str]
) -> Destination:
    """Read the address (the default when none is named) and the shops' templates at once."""
    rows = (await ctx.db.execute(_destination_query(buyer_id, address_id, shop_ids))).all()
    return destination_of(list(rows), address_id)


async def quote(
    ctx: Ctx, actor: Actor, lines: list[tuple[str, int]], address_id: str | None
) -> FreightQuoteOut:
    """Price lines shipped to an address, one entry per shop, reserving nothing."""
    skus = await stock.load_for_sale(ctx, [sku_id for sku_id, _ in lines])
    goods: dict[str, int] = {}
    units: dict[str, int] = {}
    for sku_id, quantity in lines:
        sku = skus.get(sku_id)
        if sku is None:
            raise AppError(OrderError.SKU_NOT_FOUND, f"{sku_id}: no such SKU", 404)
        goods[sku.shop_id] = goods.get(sku.shop_id, 0) + sku.price_minor * quantity
        units[sku.shop_id] = units.get(sku.shop_id, 0) + quantity
    ship = await destination(ctx, actor.id, address_id, goods)
    freights = {shop_id: ship.freight(shop_id, units[shop_id]) for shop_id in goods}
    shops: list[dict[str, Any]] = [
        {"shop_id": shop_id, "goods_minor": goods[shop_id], "freight_minor": freights[shop_id]}
        for shop_id in goods
    ]
    goods_minor = sum(goods.values())
    freight_minor = sum(freights.values())
    currency = next((sku.currency for sku in skus.values()), ctx.settings.currency)
    return FreightQuoteOut(
        address_id=ship.address_id,
        currency=currency,
        goods_minor=goods_minor,
        freight_minor=freight_minor,
        total_minor=goods_minor + freight_minor,
        shops=shops,
    )
