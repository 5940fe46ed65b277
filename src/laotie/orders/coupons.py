"""Coupons: a shop's (or the platform's) money off, issued to an anchor's fans.

A coupon batch is issued for one shop and one anchor's fan group; each fan claims it at
most once (the traffic feature checks the fan level first), and a claim is redeemed by
at most one order, inside that order's checkout transaction: a conditional UPDATE of the
claim that only one of many concurrent checkouts can win. An unpaid order that lapses or
is cancelled gives its claim back. The discount's payer is a ledger account on the order
(`seller:<shop>` or `platform:promotions`), so the books show who paid for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role
from laotie.accounts.service import access_user
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, forbidden, not_found
from laotie.core.ids import new_id
from laotie.orders import ledger
from laotie.orders.errors import OrderError
from laotie.orders.models import Coupon, CouponClaim
from laotie.orders.schemas import ClaimOut, CouponIn, CouponOut, Funder


@dataclass(frozen=True, slots=True)
class Discount:
    """A claim a checkout redeems: how much comes off which shop's order, paid by whom."""

    claim_id: str
    shop_id: str
    amount_minor: int
    min_spend_minor: int
    account: str


def _coupon_out(coupon: Coupon) -> CouponOut:
    return CouponOut(
        id=coupon.id,
        shop_id=coupon.shop_id,
        anchor_id=coupon.anchor_id,
        title=coupon.title,
        amount_off_minor=coupon.amount_off_minor,
        min_spend_minor=coupon.min_spend_minor,
        currency=coupon.currency,
        min_fan_level=coupon.min_fan_level,
        quantity=coupon.quantity,
        claimed=coupon.claimed,
        funder=Funder(coupon.funder),
        expires_at=coupon.expires_at,
    )


async def do_issue(ctx: Ctx, issuer: Actor, data: CouponIn) -> CouponOut:
    """Issue a batch: an anchor for its own shop (the shop pays), or an operator (the platform)."""
    if data.expires_at <= ctx.now():
        raise AppError.of(OrderError.COUPON_EXPIRED, "a coupon must expire in the future")
    shop = await catalog.get_shop(ctx, data.shop_id)
    if data.funder is Funder.PLATFORM:
        if not issuer.has(Role.OPERATOR):
            raise forbidden("only operators issue coupons the platform pays for")
        anchor_id = data.anchor_id or ""
        if not (await access_user(ctx, anchor_id)).has(Role.ANCHOR):
            raise not_found("anchor")
    else:
        if not issuer.has(Role.ANCHOR):
            raise forbidden("anchors issue coupons to their fans")
        if shop.owner_id != issuer.id:
            raise forbidden("a shop's coupons are issued by the anchor who owns it")
        if data.anchor_id not in (None, issuer.id):
            raise forbidden("an anchor issues coupons to its own fans")
        anchor_id = issuer.id
    coupon = Coupon(
        id=new_id("cpn"),
        shop_id=shop.id,
        anchor_id=anchor_id,
        issuer_id=issuer.id,
        title=data.title,
        amount_off_minor=data.amount_off_minor,
        min_spend_minor=data.min_spend_minor,
        currency=ctx.settings.currency,
        min_fan_level=data.min_fan_level,
        quantity=data.quantity,
        claimed=0,
        funder=data.funder.value,
        expires_at=data.expires_at,
        created_at=ctx.now(),
    )
    ctx.db.add(coupon)
    await ctx.db.flush()
    return _coupon_out(coupon)


async def get_coupon(ctx: Ctx, coupon_id: str) -> CouponOut:
    """Return a coupon batch as anyone sees it."""
    coupon = await ctx.db.get(Coupon, coupon_id)
    if coupon is None:
        raise not_found("coupon")
    return _coupon_out(coupon)


async def coupons_of_anchor(ctx: Ctx, anchor_id: str, *, current_only: bool) -> list[CouponOut]:
    """Return an anchor's coupon batches, newest first (only those still claimable, if asked)."""
    query = select(Coupon).where(Coupon.anchor_id == anchor_id)
    if current_only:
        query = query.where(Coupon.expires_at > ctx.now(), Coupon.claimed < Coupon.quantity)
    rows = await ctx.db.scalars(query.order_by(Coupon.created_at.desc(), Coupon.id))
    return [_coupon_out(coupon) for coupon in rows]


async def do_claim(ctx: Ctx, user: Actor, coupon_id: str) -> ClaimOut:
    """Claim a coupon (the caller checked the fan level); claiming again returns the claim."""
    coupon = await get_coupon(ctx, coupon_id)
    mine = await _claim_of(ctx, coupon_id, user.id)
    if mine is not None:
        return _claim_out(mine, coupon)
    if coupon.expires_at <= ctx.now():
        raise AppError.of(OrderError.COUPON_EXPIRED, "this coupon has expired")
    claim = CouponClaim(
        id=new_id("ccl"), coupon_id=coupon_id, user_id=user.id, claimed_at=ctx.now()
    )
    try:
        async with ctx.db.begin_nested():
            ctx.db.add(claim)
    except IntegrityError:  # the same user's other request claimed it first
        found = await _claim_of(ctx, coupon_id, user.id)
        if found is None:
            raise
        return _claim_out(found, coupon)
    # Conditional: the last coupon goes to one claimant however many ask at once.
    taken = await ctx.db.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.claimed < Coupon.quantity)
        .values(claimed=Coupon.claimed + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(taken, "rowcount", 0):
        raise AppError.of(OrderError.COUPONS_GONE, "every coupon of this batch is claimed")
    return _claim_out(claim, coupon.model_copy(update={"claimed": coupon.claimed + 1}))


async def _claim_of(ctx: Ctx, coupon_id: str, user_id: str) -> CouponClaim | None:
    return await ctx.db.scalar(
        select(CouponClaim).where(
            CouponClaim.coupon_id == coupon_id, CouponClaim.user_id == user_id
        )
    )


def _claim_out(claim: CouponClaim, coupon: CouponOut) -> ClaimOut:
    return ClaimOut(
        id=claim.id,
        coupon=coupon,
        claimed_at=claim.claimed_at,
        order_id=claim.order_id,
        redeemed_at=claim.redeemed_at,
    )


async def claims_of(ctx: Ctx, user: Actor) -> list[ClaimOut]:
    """Return the caller's coupons, newest first, redeemed ones too."""
    rows = await ctx.db.execute(
        select(CouponClaim, Coupon)
        .join(Coupon, Coupon.id == CouponClaim.coupon_id)
        .where(CouponClaim.user_id == user.id)
        .order_by(CouponClaim.claimed_at.desc(), CouponClaim.id)
    )
    return [_claim_out(claim, _coupon_out(coupon)) for claim, coupon in rows]


async def discount_of(ctx: Ctx, buyer_id: str, claim_id: str, currency: str) -> Discount:
    """Return what a buyer's unredeemed, unexpired claim takes off, or refuse it."""
    row = (
        await ctx.db.execute(
            select(CouponClaim, Coupon)
            .join(Coupon, Coupon.id == CouponClaim.coupon_id)
            .where(CouponClaim.id == claim_id, CouponClaim.user_id == buyer_id)
        )
    ).one_or_none()
    if row is None:
        raise AppError.of(OrderError.COUPON_NOT_FOUND, "you hold no such coupon")
    claim, coupon = row
    if claim.order_id is not None:
        raise _used()
    if coupon.expires_at <= ctx.now():
        raise AppError.of(OrderError.COUPON_EXPIRED, "this coupon has expired")
    if coupon.currency != currency:
        raise AppError.of(OrderError.CURRENCY_MISMATCH, "the coupon is in another currency")
    account = (
        ledger.PROMOTIONS
        if coupon.funder == Funder.PLATFORM
        else ledger.seller_account(coupon.shop_id)
    )
    return Discount(
        claim.id, coupon.shop_id, coupon.amount_off_minor, coupon.min_spend_minor, account
    )


def _used() -> AppError:
    return AppError.of(OrderError.COUPON_USED, "this coupon has been used")


async def do_redeem(ctx: Ctx, discount: Discount, order_id: str, now: datetime) -> None:
    """Tie the claim to the order; only one of many concurrent checkouts can."""
    won = await ctx.db.execute(
        update(CouponClaim)
        .where(CouponClaim.id == discount.claim_id, CouponClaim.order_id.is_(None))
        .values(order_id=order_id, redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(won, "rowcount", 0):
        raise _used()


async def do_give_back(ctx: Ctx, claim_id: str, order_id: str) -> None:
    """Return a claim to its holder: the order that redeemed it lapsed unpaid."""
    await ctx.db.execute(
        update(CouponClaim)
        .where(CouponClaim.id == claim_id, CouponClaim.order_id == order_id)
        .values(order_id=None, redeemed_at=None)
        .execution_options(synchronize_session=False)
    )


def check_min_spend(discount: Discount, goods_minor: int) -> int:
    """Return the discount on goods worth this much, or refuse a checkout below the minimum."""
    if goods_minor < discount.min_spend_minor:
        raise AppError.of(
            OrderError.COUPON_MIN_SPEND,
            f"this coupon needs goods of at least {discount.min_spend_minor} minor units",
        )
    return min(discount.amount_minor, goods_minor)
