"""After-sales: refund before shipping, return and refund after delivery, disputes.

Refund-only before shipping is immediate: the units go back on hand. A return within the
window waits for the seller, whose silence approves; a rejection can be escalated to an
operator. Returned units stay apart (returned unsellable) until the seller marks them
resellable. A case that is open keeps the order's funds held.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.catalog import service as catalog
from laotie.catalog import stock
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.orders import charges, events, ledger, prepaid
from laotie.orders.errors import OrderError
from laotie.orders.models import AfterSalesCase, Order, OrderLine, Payment
from laotie.orders.payments import Providers, do_refund_money, load_payment
from laotie.orders.queries import lines_of, load_order
from laotie.orders.schemas import (
    OPEN_CASE_STATUSES,
    CaseKind,
    CaseOut,
    CaseStatus,
    OrderStatus,
    ReasonCode,
)
from laotie.orders.service import check_status, do_return_discount, has_open_case, record

# How long a buyer has to escalate a rejected return before the case closes.
ESCALATION_WINDOW = timedelta(days=3)


def case_out(case: AfterSalesCase) -> CaseOut:
    """Return the wire form of a case."""
    return CaseOut(
        id=case.id,
        order_id=case.order_id,
        buyer_id=case.buyer_id,
        shop_id=case.shop_id,
        kind=CaseKind(case.kind),
        status=CaseStatus(case.status),
        reason_code=ReasonCode(case.reason_code),
        reason=case.reason,
        lines=list(case.lines),
        amount_minor=case.amount_minor,
        advanced_minor=case.advanced_minor or 0,
        respond_by=case.respond_by,
        seller_note=case.seller_note,
        operator_note=case.operator_note,
        restock=case.restock,
        created_at=case.created_at,
        closed_at=case.closed_at,
    )


def check_case_lines(
    lines: list[OrderLine], asked: list[tuple[str, int]] | None
) -> list[tuple[OrderLine, int]]:
    """Resolve the asked lines (all unrefunded units when none) and bound each by what is left."""
    by_id = {line.id: line for line in lines}
    if asked is None:
        chosen = [(line, line.quantity - line.refunded_quantity) for line in lines]
        chosen = [(line, qty) for line, qty in chosen if qty > 0]
    else:
        merged: dict[str, int] = {}
        for line_id, quantity in asked:
            if line_id not in by_id:
                raise AppError.of(OrderError.LINE_NOT_IN_ORDER, f"{line_id}: not in this order")
            merged[line_id] = merged.get(line_id, 0) + quantity
        chosen = [(by_id[line_id], qty) for line_id, qty in merged.items()]
    if not chosen:
        raise AppError.of(OrderError.REFUND_EXCEEDS_PAID, "everything is refunded already")
    for line, quantity in chosen:
        if quantity > line.quantity - line.refunded_quantity:
            raise AppError.of(
                OrderError.REFUND_EXCEEDS_PAID,
                f"{line.id}: only {line.quantity - line.refunded_quantity} left to refund",
            )
    return chosen


def _refundable(order: Order, lines: list[OrderLine], chosen: list[tuple[OrderLine, int]]) -> int:
    """Return what the chosen units cost the buyer: their price less their share of a coupon.

    Everything left of an order not shipped yet is refunded whole, freight included. Else
    the coupon's share is rounded in the buyer's favour, and never lets the refunds pass
    what was paid for the goods.
    """
    taken = {line.id: qty for line, qty in chosen}
    rest = all(taken.get(line.id, 0) == line.quantity - line.refunded_quantity for line in lines)
    if rest and order.status == OrderStatus.PAID:
        return order.total_minor - order.refunded_minor
    value = sum(line.unit_price_minor * qty for line, qty in chosen)
    goods = sum(line.unit_price_minor * line.quantity for line in lines)
    if not order.discount_minor or not goods:
        return value
    share = value - order.discount_minor * value // goods
    return min(share, order.total_minor - order.freight_minor - order.refunded_minor)


async def do_open_case(
    ctx: Ctx,
    buyer: Actor,
    order_id: str,
    kind: CaseKind,
    reason: str,
    asked: list[tuple[str, int]] | None,
    providers: Providers,
    reason_code: ReasonCode = ReasonCode.OTHER,
) -> CaseOut:
    """Ask for a refund (before shipping: paid at once) or a return (within the window)."""
    order = await load_order(ctx, order_id, lock=True)
    if order.buyer_id != buyer.id:
        raise not_found("order")
    if await has_open_case(ctx, order.id):
        raise AppError.of(OrderError.CASE_OPEN, "this order already has an open case")
    if kind is CaseKind.REFUND_ONLY:
        check_status(order, OrderStatus.PAID)
    else:
        check_status(order, OrderStatus.DELIVERED)
        if order.return_deadline is None or ctx.now() > order.return_deadline:
            raise AppError.of(OrderError.RETURN_WINDOW_CLOSED, "the return window has closed")
    lines = (await lines_of(ctx, [order.id]))[order.id]
    chosen = check_case_lines(lines, asked)
    case = _new_case(ctx, order, kind, reason, reason_code, lines, chosen)
    record(ctx, order, events.case_opened(buyer.id, case.id, kind, reason_code))
    await ctx.db.flush()
    if kind is CaseKind.REFUND_ONLY:
        # Nothing has left the warehouse, so there is nothing for the seller to judge.
        await _refund(ctx, order, case, providers, buyer.id)
    elif (await catalog.get_shop(ctx, order.shop_id)).trust_badge:
        await _advance(ctx, order, case, providers)
    return case_out(case)


async def do_refund_in_full(ctx: Ctx, order_id: str, reason: str, providers: Providers) -> bool:
    """Refund a paid order not shipped yet, every unit, because its seller cannot deliver
    (a C2M campaign's default); False if it is not paid or has shipped."""
    order = await load_order(ctx, order_id, lock=True)
    if order.status != OrderStatus.PAID:
        return False
    lines = (await lines_of(ctx, [order.id]))[order.id]
    chosen = check_case_lines(lines, None)
    case = _new_case(ctx, order, CaseKind.REFUND_ONLY, reason, ReasonCode.OTHER, lines, chosen)
    record(ctx, order, events.case_opened(None, case.id, CaseKind.REFUND_ONLY, ReasonCode.OTHER))
    await ctx.db.flush()
    await _refund(ctx, order, case, providers, None)
    return True


def _new_case(
    ctx: Ctx,
    order: Order,
    kind: CaseKind,
    reason: str,
    reason_code: ReasonCode,
    lines: list[OrderLine],
    chosen: list[tuple[OrderLine, int]],
) -> AfterSalesCase:
    """A case of the order's buyer about the chosen units, added to the session."""
    case = AfterSalesCase(
        id=new_id("cas"),
        order_id=order.id,
        buyer_id=order.buyer_id,
        shop_id=order.shop_id,
        kind=kind,
        status=CaseStatus.REQUESTED,
        reason_code=reason_code,
        reason=reason.strip(),
        lines=[{"line_id": line.id, "quantity": qty} for line, qty in chosen],
        amount_minor=_refundable(order, lines, chosen),
        respond_by=ctx.now() + timedelta(hours=ctx.settings.seller_response_hours),
        seller_note="",
        operator_note="",
        created_at=ctx.now(),
    )
    ctx.db.add(case)
    return case


async def _advance(ctx: Ctx, order: Order, case: AfterSalesCase, providers: Providers) -> None:
    """Pay a badge shop's buyer at once, from the platform; the case goes on as usual."""
    payment = await _payment_of(ctx, order)
    refund_id = await do_refund_money(
        ctx,
        providers[payment.provider],
        order,
        payment.id,
        case.amount_minor,
        case.id,
        advance=True,
    )
    case.advanced_minor = case.amount_minor
    case.advance_refund_id = refund_id
    record(ctx, order, events.advance_paid(case.id, case.amount_minor, refund_id))
    await ctx.db.flush()


async def _payment_of(ctx: Ctx, order: Order) -> Payment:
    if order.payment_id is None:
        raise RuntimeError(f"order {order.id} is paid but has no payment")
    return await load_payment(ctx, order.payment_id)


async def _refund(
    ctx: Ctx, order: Order, case: AfterSalesCase, providers: Providers, actor_id: str | None
) -> None:
    """Pay the case's amount back and move its units (on hand before shipping, apart after)."""
    if order.refunded_minor + case.amount_minor > order.total_minor:
        raise AppError.of(OrderError.REFUND_EXCEEDS_PAID, "refund exceeds what was paid")
    lines = {line.id: line for line in (await lines_of(ctx, [order.id]))[order.id]}
    goods = sum(line.unit_price_minor * line.quantity for line in lines.values())
    value = 0
    for part in case.lines:
        line, quantity = lines[part["line_id"]], int(part["quantity"])
        if quantity > line.quantity - line.refunded_quantity:
            raise AppError.of(OrderError.REFUND_EXCEEDS_PAID, "units already refunded")
        line.refunded_quantity += quantity
        value += line.unit_price_minor * quantity
        if case.kind == CaseKind.REFUND_ONLY:
            await stock.unsell(ctx, line.sku_id, quantity)
        else:
            await stock.take_back(ctx, line.sku_id, quantity)
    if case.advanced_minor:  # the buyer has the money: the escrow repays the platform
        refund_id = case.advance_refund_id or ""
        await ledger.post_advance_repaid(ctx, order.id, case.advanced_minor, order.currency)
    else:
        payment = await _payment_of(ctx, order)
        refund_id = await do_refund_money(
            ctx, providers[payment.provider], order, payment.id, case.amount_minor, case.id
        )
    order.refunded_minor += case.amount_minor
    if order.refunded_minor == order.total_minor:
        order.status = OrderStatus.REFUNDED
        if order.prepaid_payment_id:  # the buyer's own deposit: back to the buyer
            left = await ledger.discount_in_escrow(ctx, order.id, order.discount_account or "")
            await _give_back_deposit(ctx, order, left, providers)
        else:
            await do_return_discount(ctx, order)
    else:
        await _give_back_deposit(ctx, order, prepaid.share_of(order, value, goods), providers)
    case.status = CaseStatus.REFUNDED
    case.closed_at = ctx.now()
    if case.kind == CaseKind.RETURN_REFUND:
        case.restock = "pending"
    record(ctx, order, events.refunded(actor_id, case.id, case.amount_minor, refund_id))
    await ctx.db.flush()


async def _give_back_deposit(
    ctx: Ctx, order: Order, amount_minor: int, providers: Providers
) -> None:
    """Send part of an order's deposit (`orders/prepaid.py`) back to the buyer: out of
    escrow into the deposit's account, then through the deposit's own payment."""
    if amount_minor <= 0 or order.prepaid_payment_id is None:
        return
    account = order.discount_account or ""
    await ledger.post_discount_returned(ctx, order.id, amount_minor, account, order.currency)
    payment = await load_payment(ctx, order.prepaid_payment_id)
    provider = providers[payment.provider]
    await charges.do_refund_charge(ctx, provider, payment.id, amount_minor, order_id=order.id)
    legs = [(account, amount_minor), (ledger.provider_account(provider.name), -amount_minor)]
    await ledger.post(ctx, "prepaid_refunded", order.id, order.currency, legs)


async def load_case(ctx: Ctx, case_id: str) -> AfterSalesCase:
    """Return a case, locked for update."""
    case = await ctx.db.scalar(
        select(AfterSalesCase).where(AfterSalesCase.id == case_id).with_for_update()
    )
    if case is None:
        raise not_found("case")
    return case


async def access_case(ctx: Ctx, actor: Actor, case_id: str) -> AfterSalesCase:
    """Return a case its buyer, its shop's owner or an operator may see."""
    case = await load_case(ctx, case_id)
    if case.buyer_id == actor.id or actor.has(Role.OPERATOR):
        return case
    if await catalog.shop_owner_id(ctx, case.shop_id) == actor.id:
        return case
    raise not_found("case")


async def access_seller_case(ctx: Ctx, actor: Actor, case_id: str) -> AfterSalesCase:
    """Return a case of a shop the actor owns."""
    case = await load_case(ctx, case_id)
    if await catalog.shop_owner_id(ctx, case.shop_id) != actor.id:
        raise not_found("case")
    return case


def check_case_status(case: AfterSalesCase, *allowed: CaseStatus) -> None:
    """Refuse a change the case's state does not allow."""
    if case.status not in allowed:
        raise AppError.of(OrderError.INVALID_STATE, f"case is {case.status}")


async def do_respond(
    ctx: Ctx, seller: Actor, case_id: str, approve: bool, note: str, providers: Providers
) -> CaseOut:
    """The seller approves (the refund is paid) or rejects a return request."""
    case = await access_seller_case(ctx, seller, case_id)
    check_case_status(case, CaseStatus.REQUESTED)
    case.seller_note = note.strip()
    await _answer(ctx, case, approve, seller.id, providers)
    return case_out(case)


async def _answer(
    ctx: Ctx, case: AfterSalesCase, approve: bool, actor_id: str | None, providers: Providers
) -> None:
    order = await load_order(ctx, case.order_id, lock=True)
    if approve:
        await _refund(ctx, order, case, providers, actor_id)
        return
    if case.advanced_minor:
        # The platform paid the buyer already: an operator, not the clock, settles it.
        case.status = CaseStatus.DISPUTED
        case.respond_by = None
        record(ctx, order, events.case_disputed(actor_id, case.id))
        await ctx.db.flush()
        return
    case.status = CaseStatus.REJECTED
    # The buyer has a few days to escalate; until then the funds stay held.
    case.respond_by = ctx.now() + ESCALATION_WINDOW
    record(ctx, order, events.case_rejected(actor_id, case.id))
    await ctx.db.flush()


async def do_escalate(ctx: Ctx, buyer: Actor, case_id: str, reason: str) -> CaseOut:
    """The buyer takes a rejected request to an operator."""
    case = await load_case(ctx, case_id)
    if case.buyer_id != buyer.id:
        raise not_found("case")
    check_case_status(case, CaseStatus.REJECTED)
    case.status = CaseStatus.DISPUTED
    case.respond_by = None
    if reason.strip():
        case.reason = f"{case.reason}\n[dispute] {reason.strip()}".strip()
    order = await load_order(ctx, case.order_id, lock=True)
    record(ctx, order, events.case_disputed(buyer.id, case.id))
    await ctx.db.flush()
    return case_out(case)


async def do_decide(
    ctx: Ctx, operator: Actor, case_id: str, refund: bool, note: str, providers: Providers
) -> CaseOut:
    """An operator settles a dispute: refund the buyer, or close it for the seller."""
    require_role(operator, Role.OPERATOR)
    case = await load_case(ctx, case_id)
    check_case_status(case, CaseStatus.DISPUTED)
    case.operator_note = note.strip()
    order = await load_order(ctx, case.order_id, lock=True)
    record(ctx, order, events.dispute_decided(operator.id, case.id, refund))
    if refund:
        await _refund(ctx, order, case, providers, operator.id)
    else:
        if case.advanced_minor:  # the buyer keeps the advance; the platform bears it
            await ledger.post_advance_borne(ctx, order.id, case.advanced_minor, order.currency)
        case.status = CaseStatus.CLOSED
        case.closed_at = ctx.now()
        await ctx.db.flush()
    return case_out(case)


async def do_restock(ctx: Ctx, seller: Actor, case_id: str, resellable: bool) -> CaseOut:
    """The seller says whether returned units can be sold again."""
    case = await access_seller_case(ctx, seller, case_id)
    if case.restock != "pending":
        raise AppError.of(OrderError.INVALID_STATE, "no returned units wait for inspection")
    if resellable:
        lines = {line.id: line for line in (await lines_of(ctx, [case.order_id]))[case.order_id]}
        for part in case.lines:
            await stock.restock_returned(ctx, lines[part["line_id"]].sku_id, int(part["quantity"]))
    case.restock = "resellable" if resellable else "unsellable"
    order = await load_order(ctx, case.order_id, lock=True)
    made = events.restocked if resellable else events.written_off
    record(ctx, order, made(seller.id, case.id))
    await ctx.db.flush()
    return case_out(case)


async def do_expire_case(ctx: Ctx, case: AfterSalesCase, providers: Providers) -> bool:
    """Apply a deadline: the seller's silence approves; an unescalated rejection closes."""
    if case.respond_by is None or case.respond_by > ctx.now():
        return False
    if case.status == CaseStatus.REQUESTED:
        await _answer(ctx, case, True, None, providers)
        return True
    if case.status == CaseStatus.REJECTED:
        case.status = CaseStatus.CLOSED
        case.closed_at = ctx.now()
        await ctx.db.flush()
        return True
    return False


async def cases_of_shop(ctx: Ctx, actor: Actor, shop_id: str, open_only: bool) -> list[CaseOut]:
    """Return a shop's cases for its owner."""
    if await catalog.shop_owner_id(ctx, shop_id) != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("shop")
    query = select(AfterSalesCase).where(AfterSalesCase.shop_id == shop_id)
    if open_only:
        query = query.where(AfterSalesCase.status.in_(OPEN_CASE_STATUSES))
    cases = await ctx.db.scalars(query.order_by(AfterSalesCase.created_at.desc()).limit(200))
    return [case_out(case) for case in cases]


async def cases_of_buyer(ctx: Ctx, actor: Actor) -> list[CaseOut]:
    """Return the actor's own cases."""
    cases = await ctx.db.scalars(
        select(AfterSalesCase)
        .where(AfterSalesCase.buyer_id == actor.id)
        .order_by(AfterSalesCase.created_at.desc())
        .limit(200)
    )
    return [case_out(case) for case in cases]


async def dispute_queue(ctx: Ctx, operator: Actor) -> list[CaseOut]:
    """Return the disputes waiting for an operator, oldest first."""
    require_role(operator, Role.OPERATOR)
    cases = await ctx.db.scalars(
        select(AfterSalesCase)
        .where(AfterSalesCase.status == CaseStatus.DISPUTED)
        .order_by(AfterSalesCase.created_at)
        .limit(200)
    )
    return [case_out(case) for case in cases]
