"""Deposits paid earlier toward an order (a C2M campaign's balance order): the deposit is
the order's discount, paid into escrow from the feature's account at capture, and it is
the buyer's money, so a refund of units gives back their share of it too, through the
deposit's own payment (a provider refunds a payment, never more than it).

A refund of some units pays back their price: the order's payment its part, the deposit
its share (`share_of`); the refund that empties the order gives back all that is left
(`aftersales`).

The feature that holds such deposits says, once at start-up (the composition root), what
to do when an order paid with one of its deposits is paid (`applied_with`): orders may not
know the features above them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from laotie.core.context import Ctx
from laotie.orders.models import Order

Applied = Callable[[Ctx, str], Awaitable[None]]  # (ctx, order_id), in the payment's transaction

_APPLIED: dict[str, Applied] = {}


def applied_with(account_prefix: str, applied: Applied) -> None:
    """Say what happens when an order paid with a deposit of accounts starting so is paid."""
    _APPLIED[account_prefix] = applied


async def do_applied(ctx: Ctx, order_id: str, account: str) -> None:
    """An order paid with a deposit was paid: tell the deposit's feature."""
    for prefix, applied in _APPLIED.items():
        if account.startswith(prefix):
            await applied(ctx, order_id)
            return
    raise LookupError(f"no feature holds deposits of account {account!r}")


def share_of(order: Order, value_minor: int, goods_minor: int) -> int:
    """The part of the deposit that paid for goods worth `value_minor` of `goods_minor`."""
    if not order.prepaid_payment_id or not goods_minor:
        return 0
    return order.discount_minor * value_minor // goods_minor
