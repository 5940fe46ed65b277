"""What SKUs sold and what came back: units bought in orders paid since a moment, units
returned for a refund and why. A factory plans its next run's mix from them (C2M reruns).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from laotie.core.context import Ctx
from laotie.orders.models import AfterSalesCase, Order, OrderLine
from laotie.orders.schemas import CaseKind, CaseStatus


@dataclass(frozen=True, slots=True)
class SkuSales:
    """A SKU's units sold, units returned for a refund, and those returns by reason code."""

    sold: int = 0
    returned: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


async def sales_of_skus(ctx: Ctx, sku_ids: list[str], since: datetime) -> dict[str, SkuSales]:
    """Each SKU's sales in orders paid since `since`, and what of them came back."""
    rows = (
        await ctx.db.execute(
            select(OrderLine.id, OrderLine.sku_id, OrderLine.quantity, OrderLine.order_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.sku_id.in_(sku_ids), Order.paid_at >= since)
        )
    ).all()
    sold: Counter[str] = Counter()
    sku_of_line: dict[str, str] = {}
    for line_id, sku_id, quantity, _ in rows:
        sold[sku_id] += quantity
        sku_of_line[line_id] = sku_id
    returned: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {sku_id: Counter() for sku_id in sku_ids}
    for lines, reason in await _returns(ctx, list({row[3] for row in rows})):
        for part in lines:
            back = sku_of_line.get(part["line_id"])
            if back is not None:
                returned[back] += int(part["quantity"])
                reasons[back][reason] += int(part["quantity"])
    return {
        sku_id: SkuSales(sold[sku_id], returned[sku_id], dict(reasons[sku_id]))
        for sku_id in sku_ids
    }


async def _returns(ctx: Ctx, order_ids: list[str]) -> list[tuple[list[dict[str, Any]], str]]:
    """The lines and reason code of each refunded return of these orders."""
    if not order_ids:
        return []
    found = await ctx.db.execute(
        select(AfterSalesCase.lines, AfterSalesCase.reason_code).where(
            AfterSalesCase.order_id.in_(order_ids),
            AfterSalesCase.kind == CaseKind.RETURN_REFUND,
            AfterSalesCase.status == CaseStatus.REFUNDED,
        )
    )
    return [(lines, reason) for lines, reason in found]
