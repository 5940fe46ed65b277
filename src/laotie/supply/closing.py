"""Closing a campaign at its deadline: confirmed into a production run when its paid
commitments reach the MOQ, otherwise failed with every deposit refunded."""

from __future__ import annotations

from sqlalchemy import select

from laotie.catalog import service as catalog
from laotie.catalog.schemas import ProductCreateIn, SkuIn
from laotie.core.context import Ctx
from laotie.core.ids import new_id
from laotie.orders.payments import PaymentProvider
from laotie.supply import buffer, money
from laotie.supply import campaigns as c
from laotie.supply import commitments as commits
from laotie.supply.factories import load_factory, tiers_of, unit_price_minor
from laotie.supply.models import Campaign, Commitment, ProductionRun

ORDERED = "ordered"  # the run's first state: the purchase order sent to the factory


async def do_close(ctx: Ctx, campaign_id: str, provider: PaymentProvider) -> bool:
    """Close a campaign whose deadline has passed; False if it is not due (or closed)."""
    campaign = await c.load_campaign(ctx, campaign_id, lock=True)
    if campaign.status != c.OPEN or ctx.now() < campaign.deadline:
        return False
    found = list(
        await ctx.db.scalars(
            select(Commitment)
            .where(Commitment.campaign_id == campaign.id)
            .order_by(Commitment.created_at, Commitment.id)
            .with_for_update()
        )
    )
    held = [commitment for commitment in found if commitment.status == commits.HELD]
    now = ctx.now()
    for commitment in found:  # a deposit paid after this is refunded when it comes
        if commitment.status == commits.PENDING:
            commitment.status, commitment.ended_at = commits.RELEASED, now
    if sum(commitment.quantity for commitment in held) >= campaign.moq:
        await do_confirm(ctx, campaign, held)
    else:
        for commitment in held:
            await money.do_refund_deposit(ctx, commitment, provider, campaign.currency)
            commitment.status, commitment.ended_at = commits.REFUNDED, now
        campaign.status = c.FAILED
    campaign.closed_at = now
    await c.emit_progress(ctx, campaign)
    return True


async def do_confirm(ctx: Ctx, campaign: Campaign, held: list[Commitment]) -> None:
    """Confirm the campaign: its committed units and a buffer ordered from the factory at
    the tier their quantity reaches."""
    committed: dict[str, int] = {variant: 0 for variant in c.variants_of(campaign.options)}
    for commitment in held:
        committed[commitment.variant] += commitment.quantity
        commitment.status = commits.CONFIRMED
    total = sum(committed.values())
    factory = await load_factory(ctx, campaign.factory_id)
    cost = unit_price_minor(tiers_of(factory), total)
    price = unit_price_minor(c.tiers_of(campaign), total)
    # The campaign's MOQ is at least the factory's and its first tier starts there, so a
    # campaign that reached its MOQ reaches a tier of both.
    assert cost is not None and price is not None
    extra = buffer.buffer_units(committed, price, cost)
    await _list_product(ctx, campaign, price, extra)
    ctx.db.add(
        ProductionRun(
            id=new_id("run"),
            campaign_id=campaign.id,
            factory_id=factory.id,
            committed=committed,
            buffer=extra,
            unit_cost_minor=cost,
            unit_price_minor=price,
            status=ORDERED,
            steps={ORDERED: ctx.now().isoformat()},
            created_at=ctx.now(),
        )
    )
    campaign.status = c.CONFIRMED


async def _list_product(
    ctx: Ctx, campaign: Campaign, price_minor: int, extra: dict[str, int]
) -> None:
    """List the campaign's product in its shop at the tier reached: a SKU per variant,
    nothing on hand until the run ships (then its buffer, `runs.do_advance_run`), so that
    nobody buys before the goods exist but the committers, whose balance orders take their
    own units (`supply/balances.py`)."""
    names = list(campaign.options)
    variants = c.variants_of(campaign.options)
    product = await catalog.create_product_for(
        ctx,
        campaign.shop_id,
        ProductCreateIn(
            title=campaign.title,
            description=campaign.description,
            category=campaign.category_slug,
            skus=[
                SkuIn(
                    attributes=dict(zip(names, variant.split("/"), strict=True)),
                    price_minor=price_minor,
                    stock=0,  # the buffer goes on hand when the run ships
                )
                for variant in variants
            ],
        ),
    )
    campaign.product_id = product.id
    campaign.sku_ids = {
        variant: sku.id for variant, sku in zip(variants, product.skus, strict=True)
    }
