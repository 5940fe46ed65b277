"""A run's shipment, reported with its `shipped` step: to the shop, which then ships its
buyers' orders as any order, or straight to the buyers (drop-shipping): every paid,
unshipped order of the campaign's product goes out in the factory's name under a child
of the run's master waybill (`<master>-1`, `<master>-2`, ..., as 子母件 are numbered),
and what is left goes to the shop.

A balance order is due to ship when the campaign's run is due (`balances.mark_applied`
sets its ship-by from the run's due date), so goods made to order never count as late
before they can exist.
"""

from __future__ import annotations

from laotie.accounts.permissions import Actor
from laotie.core.context import Ctx
from laotie.orders import service as orders
from laotie.supply import runs
from laotie.supply.models import Campaign, ProductionRun
from laotie.supply.schemas import RunOut, RunShipmentIn, RunStep, ShipTo


async def do_ship_run(ctx: Ctx, actor: Actor, run_id: str, data: RunShipmentIn) -> RunOut:
    """The factory's owner reports its run shipped, where to and under which waybill."""
    shipped = await runs.do_advance_run(ctx, actor, run_id, RunStep.SHIPPED)
    run = await ctx.db.get(ProductionRun, run_id)
    campaign = await ctx.db.get(Campaign, shipped.campaign_id)
    assert run is not None and campaign is not None  # just advanced
    parcels = 0
    if data.to == ShipTo.BUYERS:
        sku_ids = list((campaign.sku_ids or {}).values())
        for order_id in await orders.open_orders_of_skus(ctx, sku_ids):
            waybill = f"{data.tracking_no}-{parcels + 1}"
            if await orders.do_ship_for_seller(ctx, order_id, actor.id, data.carrier, waybill):
                parcels += 1
    run.shipment = {
        "to": data.to.value,
        "carrier": data.carrier,
        "tracking_no": data.tracking_no,
        "parcels": parcels,
    }
    await ctx.db.flush()
    return shipped.model_copy(update={"shipment": run.shipment})
