"""Brushing flags: detection's findings kept for operators, and what a confirmed one does.

`run_detection` reads the window's orders and reviews, runs `brushing.detect` and files
what it finds in each shop's open flag; an order is held by one flag at most, so a run
repeated finds nothing new. An operator confirms a flag (its orders, the ring's
camouflage included, stop counting in scores and verified sales, and the shop gets a
`fake_engagement` violation) or dismisses it. Every step is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import func, select

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.orders.trust_facts import OrderPrint, order_prints
from laotie.trust import brushing, penalties, score
from laotie.trust.audit import AuditAction, audit
from laotie.trust.errors import TrustError
from laotie.trust.models import BrushingFlag, DetectionRun, FlaggedOrder, Review
from laotie.trust.queues import mark_decided, oldest_first
from laotie.trust.schemas import FlagDecisionIn, FlagOut

OPEN, CONFIRMED, DISMISSED = "open", "confirmed", "dismissed"
BRUSHING, CAMOUFLAGE = "brushing", "camouflage"


async def run_detection(ctx: Ctx) -> int:
    """Detect brushing over the score window; file the findings; return orders newly flagged."""
    until = ctx.now()
    since = until - timedelta(days=score.WINDOW_DAYS)
    orders = await order_prints(ctx, since, until)
    suspects = brushing.detect(orders, await _review_prints(ctx, orders))
    elsewhere = brushing.camouflage(orders, suspects)
    shop_of = {order.order_id: order.shop_id for order in orders}
    held = set(await ctx.db.scalars(select(FlaggedOrder.order_id)))
    pending = await _orders_of_open_flags(ctx)
    added = 0
    for suspect in suspects:
        fresh = suspect.order_ids - held
        # A signal that finds what an open flag holds already adds its evidence to it.
        if not fresh and not suspect.order_ids & pending.get(suspect.shop_id, set()):
            continue
        flag = await _open_flag(ctx, suspect.shop_id)
        known = list(flag.signals.get(suspect.signal.value, []))
        if not fresh and suspect.evidence in known:
            continue  # the same finding, from an earlier run
        found = [*known, suspect.evidence]
        flag.signals = {**flag.signals, suspect.signal.value: found}
        flag.buyer_ids = sorted(set(flag.buyer_ids) | suspect.buyer_ids)
        flag.updated_at = until
        hidden = elsewhere.get(suspect.shop_id, set()) - held - fresh
        rows = [(order_id, BRUSHING) for order_id in fresh]
        rows += [(order_id, CAMOUFLAGE) for order_id in hidden]
        for order_id, role in rows:
            ctx.db.add(
                FlaggedOrder(
                    order_id=order_id, flag_id=flag.id, shop_id=shop_of[order_id], role=role
                )
            )
        held |= fresh | hidden
        pending.setdefault(suspect.shop_id, set()).update(fresh)
        added += len(rows)
        audit(
            ctx,
            None,
            AuditAction.FLAG_RAISED,
            suspect.shop_id,
            flag.id,
            {"signal": suspect.signal.value, "orders": len(fresh), "camouflage": len(hidden)},
        )
    await ctx.db.flush()
    return added


async def _orders_of_open_flags(ctx: Ctx) -> dict[str, set[str]]:
    """Return, by shop, the orders its open flag holds for it."""
    rows = await ctx.db.execute(
        select(FlaggedOrder.shop_id, FlaggedOrder.order_id)
        .join(BrushingFlag, BrushingFlag.id == FlaggedOrder.flag_id)
        .where(BrushingFlag.status == OPEN, FlaggedOrder.role == BRUSHING)
    )
    found: dict[str, set[str]] = {}
    for shop_id, order_id in rows:
        found.setdefault(shop_id, set()).add(order_id)
    return found


async def last_detection_day(ctx: Ctx) -> date | None:
    """Return the latest day detection ran, if ever."""
    day: date | None = await ctx.db.scalar(select(func.max(DetectionRun.day)))
    return day


async def mark_detection_day(ctx: Ctx, day: date) -> None:
    """Record that detection ran today."""
    ctx.db.add(DetectionRun(day=day, at=ctx.now()))


async def _review_prints(ctx: Ctx, orders: Sequence[OrderPrint]) -> list[brushing.ReviewPrint]:
    """Read the reviews written since the window's first order."""
    since = min((order.paid_at for order in orders), default=ctx.now())
    rows = await ctx.db.execute(
        select(
            Review.order_id,
            Review.product_stars,
            Review.logistics_stars,
            Review.service_stars,
            Review.created_at,
        ).where(Review.created_at >= since)
    )
    return [
        brushing.ReviewPrint(order_id, (product, logistics, service), at)
        for order_id, product, logistics, service, at in rows
    ]


async def _open_flag(ctx: Ctx, shop_id: str) -> BrushingFlag:
    """Return the shop's open flag, opening one if it has none."""
    flag = await ctx.db.scalar(
        select(BrushingFlag).where(BrushingFlag.shop_id == shop_id, BrushingFlag.status == OPEN)
    )
    if flag is None:
        now = ctx.now()
        flag = BrushingFlag(
            id=new_id("flg"),
            shop_id=shop_id,
            status=OPEN,
            signals={},
            buyer_ids=[],
            created_at=now,
            updated_at=now,
        )
        ctx.db.add(flag)
        await ctx.db.flush()
    return flag


async def held_orders(ctx: Ctx) -> set[str]:
    """Return every order a flag holds, whatever its status."""
    return set(await ctx.db.scalars(select(FlaggedOrder.order_id)))


async def excluded_orders(ctx: Ctx, shop_id: str | None = None) -> set[str]:
    """Return the orders of confirmed flags (of one shop, or of all): they count nowhere."""
    query = (
        select(FlaggedOrder.order_id)
        .join(BrushingFlag, BrushingFlag.id == FlaggedOrder.flag_id)
        .where(BrushingFlag.status == CONFIRMED)
    )
    if shop_id is not None:
        query = query.where(FlaggedOrder.shop_id == shop_id)
    return set(await ctx.db.scalars(query))


async def excluded_orders_of_shops(ctx: Ctx, shop_ids: Sequence[str]) -> dict[str, set[str]]:
    """Return, by shop, the orders of confirmed flags held for it, in one read."""
    rows = await ctx.db.execute(
        select(FlaggedOrder.shop_id, FlaggedOrder.order_id)
        .join(BrushingFlag, BrushingFlag.id == FlaggedOrder.flag_id)
        .where(BrushingFlag.status == CONFIRMED, FlaggedOrder.shop_id.in_(sorted(set(shop_ids))))
    )
    found: dict[str, set[str]] = {shop_id: set() for shop_id in shop_ids}
    for shop_id, order_id in rows:
        found[shop_id].add(order_id)
    return found


async def flag_queue(ctx: Ctx, actor: Actor, status: str, limit: int, offset: int) -> list[FlagOut]:
    """Flags of a status, oldest first, with their orders: the operators' queue."""
    flags = await oldest_first(ctx, actor, BrushingFlag, status, limit, offset)
    return [await _flag_out(ctx, flag) for flag in flags]


async def decide_flag(ctx: Ctx, actor: Actor, flag_id: str, data: FlagDecisionIn) -> FlagOut:
    """Confirm a flag (its orders stop counting, the shop gets points) or dismiss it."""
    require_role(actor, Role.OPERATOR)
    flag = await ctx.db.get(BrushingFlag, flag_id, with_for_update=True)
    if flag is None:
        raise not_found("brushing flag")
    if flag.status != OPEN:
        raise AppError.of(TrustError.FLAG_DECIDED, f"this flag was {flag.status} already")
    await settle_flag(ctx, flag, data.confirm, actor.id, data.note)
    return await _flag_out(ctx, flag)


async def settle_flag(
    ctx: Ctx, flag: BrushingFlag, confirm: bool, actor_id: str, note: str
) -> None:
    """Apply an operator's verdict on an open flag."""
    mark_decided(ctx, flag, CONFIRMED if confirm else DISMISSED, actor_id, note)
    detail: dict[str, str | None] = {"note": note}
    if confirm:
        violation = await penalties.record_violation(
            ctx,
            flag.shop_id,
            penalties.ViolationKind.FAKE_ENGAGEMENT,
            source="detected",
            dedupe_key=f"flag:{flag.id}",
            evidence={"flag_id": flag.id, "signals": sorted(flag.signals)},
            actor_id=actor_id,
        )
        detail["violation_id"] = violation.id if violation else None
    action = AuditAction.FLAG_CONFIRMED if confirm else AuditAction.FLAG_DISMISSED
    audit(ctx, actor_id, action, flag.shop_id, flag.id, detail)
    await ctx.db.flush()


async def _flag_out(ctx: Ctx, flag: BrushingFlag) -> FlagOut:
    held = (
        await ctx.db.execute(
            select(FlaggedOrder.order_id, FlaggedOrder.role).where(FlaggedOrder.flag_id == flag.id)
        )
    ).all()
    return FlagOut(
        id=flag.id,
        shop_id=flag.shop_id,
        status=flag.status,
        signals=flag.signals,
        buyer_ids=list(flag.buyer_ids),
        order_ids=sorted(order_id for order_id, role in held if role == BRUSHING),
        camouflage_order_ids=sorted(order_id for order_id, role in held if role == CAMOUFLAGE),
        created_at=flag.created_at,
        updated_at=flag.updated_at,
        decided_at=flag.decided_at,
        decision_note=flag.decision_note,
    )
