"""The order's history: every kind of `order_events` row, and one constructor per kind.

Trust and analytics read these rows (see docs/events.md), so a kind and its data fields
are written in one place only: here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from laotie.orders.models import OrderEvent


class OrderEventKind(StrEnum):
    """What happened to an order."""

    PLACED = "placed"
    CANCELLED = "cancelled"
    PAID = "paid"
    LATE_PAYMENT_REFUNDED = "late_payment_refunded"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CASE_OPENED = "case_opened"
    CASE_REJECTED = "case_rejected"
    CASE_DISPUTED = "case_disputed"
    DISPUTE_DECIDED = "dispute_decided"
    REFUNDED = "refunded"
    ADVANCE_PAID = "advance_paid"
    RESTOCKED = "restocked"
    WRITTEN_OFF = "written_off"


@dataclass(frozen=True, slots=True)
class NewOrderEvent:
    """An entry of an order's history, before it has its order and its time."""

    kind: OrderEventKind
    actor_id: str | None
    data: dict[str, Any]

    def row(self, order_id: str, at: datetime) -> dict[str, Any]:
        """Return the `order_events` row, for a bulk insert."""
        return {
            "order_id": order_id,
            "kind": self.kind.value,
            "actor_id": self.actor_id,
            "data": self.data,
            "created_at": at,
        }

    def model(self, order_id: str, at: datetime) -> OrderEvent:
        """Return the `order_events` row as a model, to add to a session."""
        return OrderEvent(**self.row(order_id, at))


def placed(buyer_id: str, total_minor: int) -> NewOrderEvent:
    """The buyer placed the order; its units are reserved."""
    return NewOrderEvent(OrderEventKind.PLACED, buyer_id, {"total_minor": total_minor})


def cancelled(actor_id: str | None, reason: str) -> NewOrderEvent:
    """An unpaid order was cancelled (`buyer_cancelled`, `expired` ...); its units went back."""
    return NewOrderEvent(OrderEventKind.CANCELLED, actor_id, {"reason": reason})


def paid(buyer_id: str, payment_id: str) -> NewOrderEvent:
    """The payment was captured; the money is held until the order completes."""
    return NewOrderEvent(OrderEventKind.PAID, buyer_id, {"payment_id": payment_id})


def late_payment_refunded(refund_id: str) -> NewOrderEvent:
    """Money came for an order no longer payable and went straight back."""
    return NewOrderEvent(OrderEventKind.LATE_PAYMENT_REFUNDED, None, {"refund_id": refund_id})


def shipped(seller_id: str, carrier: str, tracking_no: str, late: bool) -> NewOrderEvent:
    """The seller handed the parcel to a carrier; `late` if after the ship-by deadline."""
    data = {"carrier": carrier, "tracking_no": tracking_no, "late": late}
    return NewOrderEvent(OrderEventKind.SHIPPED, seller_id, data)


def delivered(actor_id: str | None, how: str) -> NewOrderEvent:
    """The parcel arrived (`buyer_confirmed` or `auto_confirmed`); the return window runs."""
    return NewOrderEvent(OrderEventKind.DELIVERED, actor_id, {"how": how})


def completed(released_minor: int, fee_minor: int, commission_minor: int = 0) -> NewOrderEvent:
    """The return window closed with no case open; the funds went to the seller, the fee to
    the platform and a pool product's commission to the anchor who sold it."""
    data = {"released_minor": released_minor, "fee_minor": fee_minor}
    if commission_minor:
        data["commission_minor"] = commission_minor
    return NewOrderEvent(OrderEventKind.COMPLETED, None, data)


def case_opened(buyer_id: str | None, case_id: str, kind: str, reason_code: str) -> NewOrderEvent:
    """An after-sales case opened (`kind`: refund only, or return and refund): by the buyer,
    or by nobody when the seller defaulted."""
    data = {"case_id": case_id, "kind": str(kind), "reason_code": str(reason_code)}
    return NewOrderEvent(OrderEventKind.CASE_OPENED, buyer_id, data)


def case_rejected(seller_id: str | None, case_id: str) -> NewOrderEvent:
    """The seller refused the case; the buyer may escalate it."""
    return NewOrderEvent(OrderEventKind.CASE_REJECTED, seller_id, {"case_id": case_id})


def case_disputed(actor_id: str | None, case_id: str) -> NewOrderEvent:
    """The buyer took a refused case to an operator (or a badge case's refusal went there)."""
    return NewOrderEvent(OrderEventKind.CASE_DISPUTED, actor_id, {"case_id": case_id})


def dispute_decided(operator_id: str, case_id: str, refund: bool) -> NewOrderEvent:
    """An operator settled the dispute, for the buyer (`refund`) or the seller."""
    data = {"case_id": case_id, "refund": refund}
    return NewOrderEvent(OrderEventKind.DISPUTE_DECIDED, operator_id, data)


def refunded(
    actor_id: str | None, case_id: str, amount_minor: int, refund_id: str
) -> NewOrderEvent:
    """Money went back to the buyer for a case."""
    data = {"case_id": case_id, "amount_minor": amount_minor, "refund_id": refund_id}
    return NewOrderEvent(OrderEventKind.REFUNDED, actor_id, data)


def advance_paid(case_id: str, amount_minor: int, refund_id: str) -> NewOrderEvent:
    """The platform paid the buyer's refund at once, before the case closed (trust badge)."""
    data = {"case_id": case_id, "amount_minor": amount_minor, "refund_id": refund_id}
    return NewOrderEvent(OrderEventKind.ADVANCE_PAID, None, data)


def restocked(seller_id: str, case_id: str) -> NewOrderEvent:
    """The seller put returned units back on hand."""
    return NewOrderEvent(OrderEventKind.RESTOCKED, seller_id, {"case_id": case_id})


def written_off(seller_id: str, case_id: str) -> NewOrderEvent:
    """The seller wrote returned units off as unsellable."""
    return NewOrderEvent(OrderEventKind.WRITTEN_OFF, seller_id, {"case_id": case_id})
