"""The demo's selection pool: its shops offer some products to anchors, and Xiao Mei, an
anchor without a shop, is approved to sell them and has a show of them coming up."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from laotie.accounts.permissions import Actor
from laotie.affiliate import pool
from laotie.affiliate.schemas import ApplicationIn, ApplicationStatus, Decision, OfferIn
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.live.session import service as live
from laotie.sim.catalogue import AFFILIATE_SHOW_TITLE, POOL_OFFERS, SHOPS

# Mei's show of the pool's products starts this long after the world is seeded.
SHOW_IN = timedelta(hours=20)


async def seed_pool(
    ctx: Ctx, actors: Mapping[str, Actor], anchor: Actor, skus: Mapping[str, str]
) -> int:
    """Offer the demo's pool products, have the anchor apply to each and every shop approve;
    schedule the anchor's show of them. Return how many offers were made.

    `actors` are the demo's people by email; `skus` a SKU id of each product, by its key.
    """
    owners = {product.key: shop.seller.email for shop in SHOPS for product in shop.products}
    approved = []
    for demo in POOL_OFFERS:
        seller = actors[owners[demo.product_key]]
        sku = await catalog.sku_detail(ctx, skus[demo.product_key])
        product_id, shop_id = sku.product_id, sku.shop_id
        terms = OfferIn(
            commission_bps=demo.commission_bps,
            auto_approve=demo.auto_approve,
            flash_sales=demo.flash_sales,
        )
        offer = await pool.do_put_offer(ctx, seller, shop_id, product_id, terms)
        note = ApplicationIn(note="Evening shows for 20k fans who love teaware and snacks")
        applied = await pool.do_apply(ctx, anchor, offer.id, note)
        if applied.status == ApplicationStatus.PENDING:
            await pool.do_decide(ctx, seller, applied.id, Decision.APPROVE)
        approved.append(product_id)
    await live.do_schedule(
        ctx, anchor, None, AFFILIATE_SHOW_TITLE, None, ctx.now() + SHOW_IN, approved
    )
    return len(approved)
