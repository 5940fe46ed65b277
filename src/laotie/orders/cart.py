"""The buyer's cart: SKUs and quantities kept until checkout makes one order per shop."""

from __future__ import annotations

from sqlalchemy import delete, select

from laotie.accounts.permissions import Actor
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.core.fingerprint import ClientPrint
from laotie.orders.checkout import Channel, Checkout, check_lines, do_checkout, replay_checkout
from laotie.orders.errors import OrderError
from laotie.orders.models import CartItem
from laotie.orders.schemas import CartItemOut

MAX_CART_ITEMS = 100


async def items_of(ctx: Ctx, actor: Actor) -> list[CartItemOut]:
    """Return what the actor's cart holds, oldest first."""
    items = await ctx.db.scalars(
        select(CartItem)
        .where(CartItem.user_id == actor.id)
        .order_by(CartItem.added_at, CartItem.sku_id)
    )
    return [CartItemOut(sku_id=item.sku_id, quantity=item.quantity) for item in items]


async def do_set_item(ctx: Ctx, actor: Actor, sku_id: str, quantity: int) -> None:
    """Put a SKU in the cart, or change how many."""
    check_lines(ctx, [(sku_id, quantity)])
    found = await stock.load_for_sale(ctx, [sku_id])
    if sku_id not in found:
        raise AppError.of(OrderError.SKU_NOT_FOUND, f"{sku_id}: no such SKU")
    if not found[sku_id].on_sale:
        raise AppError.of(OrderError.NOT_ON_SALE, f"{sku_id}: not on sale")
    item = await ctx.db.get(CartItem, (actor.id, sku_id))
    if item is not None:
        item.quantity = quantity
    else:
        if len(await items_of(ctx, actor)) >= MAX_CART_ITEMS:
            raise AppError.of(OrderError.TOO_MANY_LINES, f"a cart holds {MAX_CART_ITEMS} SKUs")
        ctx.db.add(CartItem(user_id=actor.id, sku_id=sku_id, quantity=quantity, added_at=ctx.now()))
    await ctx.db.flush()


async def do_remove_item(ctx: Ctx, actor: Actor, sku_id: str) -> None:
    """Take a SKU out of the cart."""
    await ctx.db.execute(
        delete(CartItem).where(CartItem.user_id == actor.id, CartItem.sku_id == sku_id)
    )


async def do_checkout_cart(
    ctx: Ctx,
    actor: Actor,
    key: str,
    address_id: str | None = None,
    client: ClientPrint | None = None,
) -> Checkout:
    """Check out the whole cart and empty it; the same key returns the same orders."""
    lines = [(item.sku_id, item.quantity) for item in await items_of(ctx, actor)]
    if not lines:
        # A retry after the cart was emptied by the first attempt: answer what that made.
        earlier = await replay_checkout(ctx, actor.id, key)
        if earlier is None:
            raise AppError.of(OrderError.EMPTY_CHECKOUT, "the cart is empty")
        return earlier
    result = await do_checkout(
        ctx, actor, lines, key, Channel(client=client), address_id=address_id
    )
    await ctx.db.execute(delete(CartItem).where(CartItem.user_id == actor.id))
    return result
