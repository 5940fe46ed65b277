"""Payments with a purpose: money a buyer pays for something other than orders (a C2M
campaign's deposit), opened by the feature it is for, which settles it.

Orders may not know the features above them, so each such feature tells the payments, once
at start-up (the composition root), how to settle a payment of its purpose; when the
provider says one succeeded, `payments.do_apply_event` hands it over in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from laotie.core.context import Ctx

if TYPE_CHECKING:  # payments hands settlements over, so it imports this module
    from laotie.orders.payments import PaymentProvider


@dataclass(frozen=True, slots=True)
class Settlement:
    """A payment the provider says succeeded, as its feature settles it."""

    payment_id: str
    provider: PaymentProvider  # where it was paid, and where a refund of it goes
    amount_minor: int
    currency: str


Settle = Callable[[Ctx, Settlement], Awaitable[None]]

_SETTLERS: dict[str, Settle] = {}
_RETURN_PAGES: dict[str, str] = {}


def settle_with(purpose: str, settle: Settle, return_page: str = "/") -> None:
    """Say how a payment of this purpose is settled, and which page the payer goes back to
    from the provider's (the composition root, at start-up)."""
    _SETTLERS[purpose] = settle
    _RETURN_PAGES[purpose] = return_page


def return_page_of(purpose: str) -> str:
    """The page a payer of this purpose goes back to from the provider's page."""
    return _RETURN_PAGES.get(purpose, "/")


def settler_of(purpose: str) -> Settle:
    """How a payment of this purpose is settled; a purpose nobody settles is a fault."""
    try:
        return _SETTLERS[purpose]
    except KeyError:
        raise LookupError(f"no feature settles payments of purpose {purpose!r}") from None
