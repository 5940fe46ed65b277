"""Fan prices: a SKU's price for the anchor's fans within one live session.

The anchor sets them on the session's cart products; the room order asks for one and the
server checks it (the buyer's fan level, read here), never trusting the client. A fan
price must be below the SKU's regular price, and it never applies to a flash sale's
units: a sale's price is the same for everyone. Fan prices are kept apart from the
SKU's price history, so they never lower the "was" price a flash sale is checked against.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from laotie.accounts.permissions import Actor
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.live.errors import LiveError
from laotie.live.session.service import access_own_session, in_cart, load_session, not_in_cart
from laotie.traffic.errors import TrafficError
from laotie.traffic.levels import check_fan
from laotie.traffic.models import FanPrice
from laotie.traffic.schemas import FanPriceIn, FanPriceOut


def _out(price: FanPrice) -> FanPriceOut:
    return FanPriceOut(
        session_id=price.session_id,
        sku_id=price.sku_id,
        price_minor=price.price_minor,
        min_level=price.min_level,
    )


async def do_set(
    ctx: Ctx, anchor: Actor, session_id: str, sku_id: str, data: FanPriceIn
) -> FanPriceOut:
    """Set (or change) a cart SKU's fan price in the anchor's own session."""
    session = await access_own_session(ctx, anchor, session_id)
    sku = (await stock.load_for_sale(ctx, [sku_id])).get(sku_id)
    if sku is None or sku.shop_id != session.shop_id:
        raise AppError.of(LiveError.PRODUCT_NOT_IN_SHOP, "this session's shop does not sell that")
    if not await in_cart(ctx, session_id, sku.product_id):
        raise not_in_cart()
    if data.price_minor >= sku.price_minor:
        raise AppError.of(
            TrafficError.FAN_PRICE_NOT_BELOW_REGULAR,
            f"a fan price must be below the regular {sku.price_minor}",
        )
    price = await ctx.db.get(FanPrice, (session_id, sku_id))
    if price is None:
        price = FanPrice(session_id=session_id, sku_id=sku_id, created_at=ctx.now())
        ctx.db.add(price)
    price.price_minor, price.min_level = data.price_minor, data.min_level
    await ctx.db.flush()
    return _out(price)


async def do_clear(ctx: Ctx, anchor: Actor, session_id: str, sku_id: str) -> None:
    """Take a SKU's fan price away; clearing one that is not there changes nothing."""
    await access_own_session(ctx, anchor, session_id)
    await ctx.db.execute(
        delete(FanPrice).where(FanPrice.session_id == session_id, FanPrice.sku_id == sku_id)
    )


async def prices_of(ctx: Ctx, session_id: str) -> list[FanPriceOut]:
    """Return a session's fan prices (anyone may see them; only fans may pay them)."""
    await load_session(ctx, session_id)
    rows = await ctx.db.scalars(
        select(FanPrice).where(FanPrice.session_id == session_id).order_by(FanPrice.sku_id)
    )
    return [_out(price) for price in rows]


async def check_fan_price(
    ctx: Ctx, anchor_id: str, session_id: str, sku_id: str, user_id: str
) -> int:
    """Return the fan price the buyer may pay for a SKU in this session, or refuse it."""
    price = await ctx.db.get(FanPrice, (session_id, sku_id))
    if price is None:
        raise AppError.of(TrafficError.NO_FAN_PRICE, "this SKU has no fan price in this session")
    await check_fan(ctx, anchor_id, user_id, price.min_level)
    return price.price_minor
