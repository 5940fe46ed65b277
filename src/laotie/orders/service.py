"""The order state machine: paid, shipped, delivered, completed, or cancelled unpaid."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from laotie.accounts.permissions import Actor
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.orders import commissions, coupons, events, ledger, prepaid
from laotie.orders.errors import OrderError
from laotie.orders.models import AfterSalesCase, Order, OrderLine
from laotie.orders.queries import (
    access_buyer_order,
    access_seller_order,
    lines_of,
    load_order,
    outs,
)
from laotie.orders.schemas import (
    OPEN_CASE_STATUSES,
    OrderOut,
    OrderStatus,
)


def record(ctx: Ctx, order: Order, event: events.NewOrderEvent) -> None:
    """Append an event to the order's history (flushed with the change it records)."""
    ctx.db.add(event.model(order.id, ctx.now()))


def check_status(order: Order, *allowed: OrderStatus) -> None:
    """Refuse a change the order's state does not allow."""
    if order.status not in allowed:
        wanted = " or ".join(allowed)
        raise AppError.of(OrderError.INVALID_STATE, f"order is {order.status}; this needs {wanted}")


async def do_cancel_unpaid(ctx: Ctx, order: Order, actor_id: str | None, reason: str) -> None:
    """Cancel an unpaid order and give its reserved units back (a sale's to the sale)."""
    check_status(order, OrderStatus.PENDING_PAYMENT)
    for line in (await lines_of(ctx, [order.id]))[order.id]:
        if order.prepaid_payment_id:  # made to order: the units go back to their deposit
            await stock.must_take_back(ctx, line.sku_id, line.quantity, stock.Bucket.RESERVED)
            continue
        # A sale's units go back to the sale; the live feature hands them to its gate while
        # the sale runs, or back on hand once it has ended.
        back = stock.Bucket.IN_SALE if line.flash_sale_id else stock.Bucket.ON_HAND
        await stock.must_move(ctx, line.sku_id, line.quantity, stock.Bucket.RESERVED, back)
    if order.coupon_claim_id is not None:
        await coupons.do_give_back(ctx, order.coupon_claim_id, order.id)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = ctx.now()
    record(ctx, order, events.cancelled(actor_id, reason))
    await ctx.db.flush()


async def do_lapse_unpaid(ctx: Ctx, order_id: str, reason: str) -> str:
    """Cancel an order if it is still unpaid (its units back on hand); return the status
    it had."""
    order = await load_order(ctx, order_id, lock=True)
    found = order.status
    if found == OrderStatus.PENDING_PAYMENT:
        await do_cancel_unpaid(ctx, order, None, reason)
    return found


async def status_of(ctx: Ctx, order_id: str) -> str:
    """An order's status."""
    return (await load_order(ctx, order_id)).status


async def open_orders_of_skus(ctx: Ctx, sku_ids: list[str]) -> list[str]:
    """The orders holding these SKUs that are unpaid or paid and not shipped, oldest first."""
    found = await ctx.db.scalars(
        select(Order.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            OrderLine.sku_id.in_(sku_ids),
            Order.status.in_((OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)),
        )
        .distinct()
        .order_by(Order.id)
    )
    return list(found)


async def do_mark_paid(ctx: Ctx, order_id: str, payment_id: str, provider: str) -> bool:
    """Sell the reserved units and hold the money; False when the order is no longer payable.

    Three statements and the ledger's two: the order's change, which reads what the rest
    needs (and how many SKUs its lines hold), one UPDATE of those SKUs, the event.
    """
    now = ctx.now()
    skus_of_order = (
        select(func.count(func.distinct(OrderLine.sku_id)))
        .where(OrderLine.order_id == order_id)
        .scalar_subquery()
    )
    changed = (
        await ctx.db.execute(
            update(Order)
            .where(Order.id == order_id, Order.status == OrderStatus.PENDING_PAYMENT)
            .values(
                status=OrderStatus.PAID,
                payment_id=payment_id,
                paid_at=now,
                ship_by=now + timedelta(hours=ctx.settings.ship_within_hours),
            )
            .returning(
                Order.buyer_id,
                Order.total_minor,
                Order.currency,
                skus_of_order,
                Order.discount_minor,
                Order.discount_account,
                Order.prepaid_payment_id,
            )
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if changed is None:
        return False
    buyer_id, total_minor, currency, sku_count, discount, discount_account, prepaid_by = changed
    moved = await stock.confirm_sold_lines(
        ctx,
        select(OrderLine.sku_id, func.sum(OrderLine.quantity))
        .where(OrderLine.order_id == order_id)
        .group_by(OrderLine.sku_id),
    )
    if moved != sku_count:
        raise RuntimeError(f"order {order_id}: reserved units missing (invariant broken)")
    ctx.db.add(events.paid(buyer_id, payment_id).model(order_id, now))
    await ledger.post_capture(
        ctx, order_id, provider, total_minor, currency, discount or 0, discount_account
    )
    if prepaid_by is not None and discount_account is not None:
        await prepaid.do_applied(ctx, order_id, discount_account)
    return True


async def do_ship(
    ctx: Ctx, actor: Actor, order_id: str, carrier: str, tracking_no: str
) -> OrderOut:
    """Record the parcel of a paid order; it is late if after the ship-by deadline."""
    order = await access_seller_order(ctx, actor, order_id)
    check_status(order, OrderStatus.PAID)
    await _ship(ctx, order, actor.id, carrier, tracking_no)
    return (await outs(ctx, [order]))[0]


async def do_ship_for_seller(
    ctx: Ctx, order_id: str, actor_id: str, carrier: str, tracking_no: str
) -> bool:
    """Record a paid order's parcel sent on its seller's behalf (a factory shipping straight
    to the buyer); False if the order is not paid and unshipped."""
    order = await load_order(ctx, order_id, lock=True)
    if order.status != OrderStatus.PAID:
        return False
    await _ship(ctx, order, actor_id, carrier, tracking_no)
    return True


async def set_ship_by(ctx: Ctx, order_id: str, ship_by: datetime) -> None:
    """Give a paid order a later ship-by deadline (goods made to order ship when made)."""
    # A statement, not the loaded row: the payment that calls this set ship_by by one too.
    await ctx.db.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(ship_by=ship_by)
        .execution_options(synchronize_session=False)
    )


async def _ship(ctx: Ctx, order: Order, actor_id: str, carrier: str, tracking_no: str) -> None:
    """Mark the order shipped with its parcel; late if after the ship-by deadline."""
    now = ctx.now()
    order.status = OrderStatus.SHIPPED
    order.shipped_at = now
    order.carrier = carrier.strip()
    order.tracking_no = tracking_no.strip()
    late = order.ship_by is not None and now > order.ship_by
    record(ctx, order, events.shipped(actor_id, carrier, tracking_no, late))
    await ctx.db.flush()


async def do_confirm_receipt(ctx: Ctx, actor: Actor, order_id: str) -> OrderOut:
    """The buyer says the parcel arrived."""
    order = await access_buyer_order(ctx, actor, order_id)
    await do_deliver(ctx, order, actor.id, "buyer_confirmed")
    return (await outs(ctx, [order]))[0]


async def do_deliver(ctx: Ctx, order: Order, actor_id: str | None, how: str) -> None:
    """Mark a shipped order delivered; the return window starts now."""
    check_status(order, OrderStatus.SHIPPED)
    now = ctx.now()
    order.status = OrderStatus.DELIVERED
    order.delivered_at = now
    order.return_deadline = now + timedelta(days=order.return_window_days)
    record(ctx, order, events.delivered(actor_id, how))
    await ctx.db.flush()


async def has_open_case(ctx: Ctx, order_id: str) -> bool:
    """Tell whether an after-sales case keeps the order's funds held."""
    found = await ctx.db.scalar(
        select(AfterSalesCase.id)
        .where(AfterSalesCase.order_id == order_id, AfterSalesCase.status.in_(OPEN_CASE_STATUSES))
        .limit(1)
    )
    return found is not None


async def do_complete(ctx: Ctx, order: Order) -> bool:
    """Close a delivered order whose return window is over and release the funds to the seller."""
    if order.status != OrderStatus.DELIVERED or order.return_deadline is None:
        return False
    if order.return_deadline > ctx.now() or await has_open_case(ctx, order.id):
        return False
    order.status = OrderStatus.COMPLETED
    order.completed_at = ctx.now()
    # Escrow holds what the buyer paid and kept, and a platform coupon's discount; the fee is
    # on the full price, so a shop's own coupon leaves it what the buyer paid less the fee.
    kept = order.total_minor - order.refunded_minor
    held = fee = commission = 0
    if kept > 0:
        held = kept + await _discount_in_escrow(ctx, order)
        fee, commission = await ledger.post_release(
            ctx,
            order.id,
            order.shop_id,
            held,
            ctx.settings.platform_fee_bps,
            order.currency,
            # A deposit partly given back with refunded units was not part of the price.
            price=kept + (held - kept if order.prepaid_payment_id else order.discount_minor),
            commission=await commissions.order_commission(ctx, order.id),
        )
    record(ctx, order, events.completed(held - fee - commission, fee, commission))
    await ctx.db.flush()
    return True


async def do_return_discount(ctx: Ctx, order: Order) -> None:
    """Give the coupon's discount back to its payer: the buyer got all it paid back."""
    paid_in = await _discount_in_escrow(ctx, order)
    if paid_in:
        account = order.discount_account or ledger.PROMOTIONS
        await ledger.post_discount_returned(ctx, order.id, paid_in, account, order.currency)


async def _discount_in_escrow(ctx: Ctx, order: Order) -> int:
    """Return what the order's coupon payer has in escrow for it (none without a coupon)."""
    if not order.discount_minor:
        return 0
    account = order.discount_account or ledger.PROMOTIONS
    return await ledger.discount_in_escrow(ctx, order.id, account)
