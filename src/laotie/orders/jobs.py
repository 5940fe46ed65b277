"""Jobs of orders: expire unpaid orders, auto-deliver, complete, apply case deadlines, and
see that every payment's outcome reaches laotie (webhooks sent again, payments looked up).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, select
from starlette.datastructures import State

from laotie.core.context import Ctx
from laotie.core.jobs import Job, sweep
from laotie.core.tasks import Task
from laotie.orders.aftersales import do_expire_case, load_case
from laotie.orders.models import AfterSalesCase, Order, Payment
from laotie.orders.payments import do_apply_event, load_payment
from laotie.orders.queries import load_order
from laotie.orders.schemas import CaseStatus, OrderStatus
from laotie.orders.service import do_cancel_unpaid, do_complete, do_deliver
from laotie.orders.webhooks import DELIVER_WEBHOOK, deliver_webhook, requeue_due_webhooks

# A payment still pending this long after it opened is looked up at its provider...
LOOKUP_AFTER = timedelta(minutes=5)
# ...until it is this old: an abandoned payment is not asked about for ever.
LOOKUP_UNTIL = timedelta(days=1)


async def expire_unpaid_orders(state: State) -> int:
    """Cancel orders left unpaid past their deadline and give their stock back."""

    def due(ctx: Ctx) -> Select[str]:
        return select(Order.id).where(
            Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= ctx.now()
        )

    async def act(ctx: Ctx, order_id: str) -> bool:
        order = await load_order(ctx, order_id, lock=True)
        if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at > ctx.now():
            return False
        await do_cancel_unpaid(ctx, order, None, "payment_timeout")
        return True

    return await sweep(state, due, act)


async def auto_deliver_orders(state: State) -> int:
    """Mark delivered the orders shipped long enough ago that the buyer never confirmed."""

    def cutoff(ctx: Ctx) -> object:
        return ctx.now() - timedelta(days=ctx.settings.auto_deliver_days)

    def due(ctx: Ctx) -> Select[str]:
        return select(Order.id).where(
            Order.status == OrderStatus.SHIPPED, Order.shipped_at <= cutoff(ctx)
        )

    async def act(ctx: Ctx, order_id: str) -> bool:
        order = await load_order(ctx, order_id, lock=True)
        if order.status != OrderStatus.SHIPPED or order.shipped_at is None:
            return False
        if order.shipped_at > ctx.now() - timedelta(days=ctx.settings.auto_deliver_days):
            return False
        await do_deliver(ctx, order, None, "auto_confirmed")
        return True

    return await sweep(state, due, act)


async def complete_orders(state: State) -> int:
    """Complete delivered orders whose return window closed with no case open."""

    def due(ctx: Ctx) -> Select[str]:
        return select(Order.id).where(
            Order.status == OrderStatus.DELIVERED, Order.return_deadline <= ctx.now()
        )

    async def act(ctx: Ctx, order_id: str) -> bool:
        return await do_complete(ctx, await load_order(ctx, order_id, lock=True))

    return await sweep(state, due, act)


async def expire_cases(state: State) -> int:
    """Approve requests the seller left unanswered; close rejections nobody escalated."""

    def due(ctx: Ctx) -> Select[str]:
        return select(AfterSalesCase.id).where(
            AfterSalesCase.status.in_((CaseStatus.REQUESTED, CaseStatus.REJECTED)),
            AfterSalesCase.respond_by <= ctx.now(),
        )

    async def act(ctx: Ctx, case_id: str) -> bool:
        return await do_expire_case(ctx, await load_case(ctx, case_id), state.payment_providers)

    return await sweep(state, due, act)


async def reconcile_payments(state: State) -> int:
    """Ask the provider about payments pending for minutes; apply its answer as a webhook."""

    def due(ctx: Ctx) -> Select[str]:
        return select(Payment.id).where(
            Payment.status == "pending",
            Payment.created_at <= ctx.now() - LOOKUP_AFTER,
            Payment.created_at > ctx.now() - LOOKUP_UNTIL,
        )

    async def act(ctx: Ctx, payment_id: str) -> bool:
        payment = await load_payment(ctx, payment_id)
        provider = state.payment_providers.get(payment.provider)
        if payment.status != "pending" or provider is None:
            return False
        event = await provider.lookup(ctx, payment_id)
        if event is None:
            return False
        return await do_apply_event(ctx, provider, event) in ("paid", "failed")

    return await sweep(state, due, act)


JOBS = (
    Job("orders.resend_webhooks", requeue_due_webhooks),
    Job("orders.reconcile_payments", reconcile_payments),
    Job("orders.expire_unpaid", expire_unpaid_orders),
    Job("orders.expire_cases", expire_cases),
    Job("orders.auto_deliver", auto_deliver_orders),
    Job("orders.complete", complete_orders),
)

# One-off work, run on taskiq (core/tasks.py).
TASKS = (Task(DELIVER_WEBHOOK, deliver_webhook),)
