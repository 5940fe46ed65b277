"""Use-cases of live sessions: schedule, go live, end, fill the room's cart and pin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.affiliate import pool
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.core.tasks import Kick
from laotie.db.bulk import id_chunks
from laotie.live.errors import LiveError
from laotie.live.events import RoomEventType, emit
from laotie.live.models import LiveCartItem, LivePin, LiveSession
from laotie.live.schemas import SessionOut, SessionStatus
from laotie.realtime.events import RoomEvent
from laotie.trust import service as trust

# Run after a session goes live: traffic's go-live notifications register under this name.
GO_LIVE_TASK = "traffic.notify_go_live"


async def session_out(
    ctx: Ctx, session: LiveSession, cart: Sequence[str] | None = None
) -> SessionOut:
    """Return the wire form of a session with its cart (read, unless just written)."""
    return SessionOut(
        id=session.id,
        anchor_id=session.anchor_id,
        shop_id=session.shop_id,
        title=session.title,
        cover_url=session.cover_url,
        status=SessionStatus(session.status),
        scheduled_at=session.scheduled_at,
        started_at=session.started_at,
        ended_at=session.ended_at,
        pinned_product_id=session.pinned_product_id,
        cart=list(cart) if cart is not None else await cart_of(ctx, session.id),
    )


async def in_cart(ctx: Ctx, session_id: str, product_id: str) -> bool:
    """Tell whether a product is in a session's cart."""
    found = await ctx.db.scalar(
        select(LiveCartItem.product_id).where(
            LiveCartItem.session_id == session_id, LiveCartItem.product_id == product_id
        )
    )
    return found is not None


def not_in_cart() -> AppError:
    """Return the refusal of a product that is not in the room's cart."""
    return AppError(LiveError.PRODUCT_NOT_IN_CART, "that product is not in this room's cart", 422)


async def cart_of(ctx: Ctx, session_id: str) -> list[str]:
    """Return the product ids of a session's cart in the anchor's order."""
    return list(await ctx.db.scalars(_CART, {"session_id": session_id}))


# Built once, as reads made for every room order and every show's start.
_CART = (
    select(LiveCartItem.product_id)
    .where(LiveCartItem.session_id == bindparam("session_id"))
    .order_by(LiveCartItem.position)
)
_SESSION = select(LiveSession).where(LiveSession.id == bindparam("session_id"))
_SESSION_LOCKED = _SESSION.with_for_update()


async def cart_cards(ctx: Ctx, product_ids: list[str]) -> list[dict[str, Any]]:
    """Return what the room shows of each cart product: title, picture, price, stock, and
    the trust a buyer weighs: its verified sales and its shop's tier."""
    products = [await catalog.product_detail(ctx, product_id, None) for product_id in product_ids]
    sold = await trust.verified_units(ctx, [sku.id for p in products for sku in p.skus])
    tiers: dict[str, str] = {}
    shops: dict[str, str] = {}
    cards = []
    for product in products:
        skus = [sku for sku in product.skus if sku.active]
        if product.shop_id not in tiers:
            tiers[product.shop_id] = (await trust.shop_trust(ctx, product.shop_id)).tier
            shops[product.shop_id] = (await catalog.get_shop(ctx, product.shop_id)).name
        cards.append(
            {
                "product_id": product.id,
                "title": product.title,
                # Who sells and ships it: the room's own shop, or a pool product's.
                "shop_id": product.shop_id,
                "shop_name": shops[product.shop_id],
                "tier": tiers[product.shop_id],
                "verified_sales": sum(sold[sku.id] for sku in product.skus),
                "image": product.images[0] if product.images else None,
                "price_minor": min((sku.price_minor for sku in skus), default=None),
                "was_price_minor": min((sku.was_price_minor for sku in skus), default=None),
                "currency": skus[0].currency if skus else None,
                "stock": sum(sku.stock for sku in skus),
                "skus": [
                    {
                        "sku_id": sku.id,
                        "attributes": sku.attributes,
                        "price_minor": sku.price_minor,
                        "stock": sku.stock,
                    }
                    for sku in skus
                ],
            }
        )
    return cards


async def stock_event(ctx: Ctx, product_id: str) -> RoomEvent:
    """Return the event that shows a cart product's units on hand."""
    product = await catalog.product_detail(ctx, product_id, None)
    return stock_event_of(product)


def stock_event_of(product: Any) -> RoomEvent:
    """Return the stock event of a product already read (its active SKUs' units on hand)."""
    skus = {sku.id: sku.stock for sku in product.skus if sku.active}
    data = {"product_id": product.id, "stock": sum(skus.values()), "skus": skus}
    return RoomEvent(RoomEventType.STOCK, data, coalesce=f"stock:{product.id}")


async def load_session(ctx: Ctx, session_id: str, *, lock: bool = False) -> LiveSession:
    """Return a session."""
    query = _SESSION_LOCKED if lock else _SESSION
    session = await ctx.db.scalar(query, {"session_id": session_id})
    if session is None:
        raise not_found("live session")
    return session


async def access_own_session(ctx: Ctx, actor: Actor, session_id: str) -> LiveSession:
    """Return, locked, a session the actor hosts."""
    session = await load_session(ctx, session_id, lock=True)
    if session.anchor_id != actor.id:
        raise not_found("live session")
    return session


async def access_moderated_session(ctx: Ctx, actor: Actor, session_id: str) -> LiveSession:
    """Return, locked, a session its anchor or an operator may moderate."""
    session = await load_session(ctx, session_id, lock=True)
    if session.anchor_id != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("live session")
    return session


def shop_of_show(session: LiveSession) -> str:
    """Return the shop a show sells for; refuse what needs one on a show without a shop.

    Penalty points and bought reach are a shop's: on an anchor's show without a shop, a
    buyer reports the order (its shop answers for it) and the anchor cannot buy reach.
    """
    if session.shop_id is None:
        raise AppError.of(
            LiveError.SHOW_WITHOUT_SHOP,
            "this show is an anchor's without a shop: report the order, whose shop answers "
            "for it, instead",
        )
    return session.shop_id


async def access_for_review(ctx: Ctx, actor: Actor, session_id: str) -> LiveSession:
    """Return a session its anchor, or an operator, may review; others are told it is not there."""
    session = await load_session(ctx, session_id)
    if session.anchor_id != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("live session")
    return session


async def check_cart_products(
    ctx: Ctx, shop_id: str | None, anchor_id: str, product_ids: Sequence[str]
) -> list[str]:
    """Refuse products a room may not sell: it sells its shop's own on sale (if it has a
    shop), and pool products its anchor is approved to sell now; return the ids without
    repeats, in order."""
    unique = list(dict.fromkeys(product_ids))
    on_sale = set()
    if shop_id is not None:
        on_sale = await catalog.products_on_sale_in(ctx, shop_id, unique)
    others = [product_id for product_id in unique if product_id not in on_sale]
    approved = await pool.selling_terms(ctx, anchor_id, others)
    offered = await pool.offered_products(ctx, others)
    for product_id in others:
        if product_id in approved:
            continue
        if product_id in offered:
            raise pool.not_approved(product_id)
        raise AppError.of(
            LiveError.PRODUCT_NOT_IN_SHOP,
            f"{product_id}: not a product on sale in this shop, nor one in the selection pool",
        )
    return unique


async def do_schedule(
    ctx: Ctx,
    anchor: Actor,
    shop_id: str | None,
    title: str,
    cover_url: str | None,
    scheduled_at: datetime,
    product_ids: Sequence[str],
) -> SessionOut:
    """Schedule a show for the anchor's shop with its planned products; an anchor without a
    shop schedules one that sells the pool's products it is approved to sell."""
    require_role(anchor, Role.ANCHOR, Role.SELLER)
    if shop_id is None:
        require_role(anchor, Role.ANCHOR)
    elif await catalog.shop_owner_id(ctx, shop_id) != anchor.id:
        raise AppError.of(LiveError.NOT_YOUR_SHOP, "an anchor sells for its own shop")
    planned = await check_cart_products(ctx, shop_id, anchor.id, product_ids)
    session = LiveSession(
        id=new_id("liv"),
        anchor_id=anchor.id,
        shop_id=shop_id,
        title=title.strip(),
        cover_url=cover_url,
        status=SessionStatus.SCHEDULED,
        scheduled_at=scheduled_at,
        likes=0,
        created_at=ctx.now(),
    )
    ctx.db.add(session)
    await ctx.db.flush()
    await _write_cart(ctx, session.id, planned, new=True)
    return await session_out(ctx, session, cart=planned)


async def do_go_live(
    ctx: Ctx, anchor: Actor, session_id: str, kick: Kick | None = None
) -> SessionOut:
    """Start the show; an anchor has one live session at a time.

    After commit `kick` (a task queue's) starts the followers' notifications apart from
    this request; without one, the notifications' sweep finds the session by itself.
    """
    session = await access_own_session(ctx, anchor, session_id)
    _check_status(session, SessionStatus.SCHEDULED)
    session.status = SessionStatus.LIVE
    session.started_at = ctx.now()
    try:
        async with ctx.db.begin_nested():
            await ctx.db.flush()
    except IntegrityError:
        raise AppError.of(LiveError.ALREADY_LIVE, "end your other live session first") from None
    event = RoomEvent(
        RoomEventType.STATUS,
        {"status": "live", "started_at": session.started_at.isoformat()},
        priority=True,
    )
    emit(ctx, session.id, [event])
    if kick is not None:
        started_id = session.id

        async def notify() -> None:
            await kick(GO_LIVE_TASK, started_id)

        ctx.publish_on_commit(notify)
    return await session_out(ctx, session)


async def show_to_stream(ctx: Ctx, anchor_id: str) -> LiveSession | None:
    """Return the show a stream of the anchor's belongs to: its live one, or else its next
    scheduled one; none if it has neither."""
    found: LiveSession | None = await ctx.db.scalar(
        select(LiveSession)
        .where(
            LiveSession.anchor_id == anchor_id,
            LiveSession.status.in_([SessionStatus.LIVE, SessionStatus.SCHEDULED]),
        )
        .order_by((LiveSession.status == SessionStatus.LIVE).desc(), LiveSession.scheduled_at)
        .limit(1)
    )
    return found


async def do_end(ctx: Ctx, anchor: Actor, session_id: str) -> SessionOut:
    """End the show."""
    session = await access_own_session(ctx, anchor, session_id)
    _check_status(session, SessionStatus.LIVE)
    session.status = SessionStatus.ENDED
    session.ended_at = ctx.now()
    await ctx.db.flush()
    emit(ctx, session.id, [RoomEvent(RoomEventType.STATUS, {"status": "ended"}, priority=True)])
    return await session_out(ctx, session)


async def do_set_cart(
    ctx: Ctx, anchor: Actor, session_id: str, product_ids: Sequence[str]
) -> SessionOut:
    """Replace the room's cart (add, remove and order its products in one go)."""
    session = await access_own_session(ctx, anchor, session_id)
    _check_status(session, SessionStatus.SCHEDULED, SessionStatus.LIVE)
    cart = await check_cart_products(ctx, session.shop_id, session.anchor_id, product_ids)
    await _write_cart(ctx, session.id, cart)
    events = [RoomEvent(RoomEventType.CART, {"items": await cart_cards(ctx, cart)}, priority=True)]
    if session.pinned_product_id is not None and session.pinned_product_id not in cart:
        session.pinned_product_id = None
        # Kept like the anchor's own unpin, so the pin history ends where the pin did.
        ctx.db.add(LivePin(session_id=session.id, product_id=None, pinned_at=ctx.now()))
        events.append(RoomEvent(RoomEventType.PIN, {"product_id": None}, priority=True))
    await ctx.db.flush()
    emit(ctx, session.id, events)
    return await session_out(ctx, session, cart=cart)


async def do_pin(ctx: Ctx, anchor: Actor, session_id: str, product_id: str | None) -> SessionOut:
    """Pin the product being explained (it must be in the cart), or unpin."""
    session = await access_own_session(ctx, anchor, session_id)
    _check_status(session, SessionStatus.LIVE)
    if product_id is not None and product_id not in await cart_of(ctx, session.id):
        raise AppError.of(LiveError.PRODUCT_NOT_IN_CART, "put the product in the cart first")
    session.pinned_product_id = product_id
    ctx.db.add(LivePin(session_id=session.id, product_id=product_id, pinned_at=ctx.now()))
    await ctx.db.flush()
    emit(ctx, session.id, [RoomEvent(RoomEventType.PIN, {"product_id": product_id}, priority=True)])
    return await session_out(ctx, session)


async def sessions(
    ctx: Ctx, status: SessionStatus | None, shop_id: str | None, limit: int, offset: int
) -> list[SessionOut]:
    """List sessions, live ones first, then by start time."""
    query = select(LiveSession)
    if status is not None:
        query = query.where(LiveSession.status == status)
    if shop_id is not None:
        query = query.where(LiveSession.shop_id == shop_id)
    rows = await ctx.db.scalars(
        query.order_by(LiveSession.scheduled_at.desc(), LiveSession.id).limit(limit).offset(offset)
    )
    return [await session_out(ctx, session) for session in rows]


async def sessions_by_id(ctx: Ctx, session_ids: Sequence[str]) -> dict[str, LiveSession]:
    """Return the sessions of these ids that exist, by id."""
    if not session_ids:
        return {}
    rows = await ctx.db.scalars(select(LiveSession).where(LiveSession.id.in_(set(session_ids))))
    return {session.id: session for session in rows}


async def live_sessions_started_between(ctx: Ctx, since: datetime, until: datetime) -> list[str]:
    """Return the ids of the sessions live now that went live in [since, until)."""
    rows = await ctx.db.scalars(
        select(LiveSession.id).where(
            LiveSession.status == SessionStatus.LIVE,
            LiveSession.started_at >= since,
            LiveSession.started_at < until,
        )
    )
    return list(rows)


async def session_ids_of_shop(ctx: Ctx, shop_id: str) -> list[str]:
    """Return the ids of every session of a shop."""
    return list(await ctx.db.scalars(select(LiveSession.id).where(LiveSession.shop_id == shop_id)))


async def session_ids_of_anchor(ctx: Ctx, anchor_id: str) -> list[str]:
    """Return the ids of every session an anchor hosted, for any shop."""
    query = select(LiveSession.id).where(LiveSession.anchor_id == anchor_id)
    return list(await ctx.db.scalars(query))


async def anchors_of_sessions(ctx: Ctx, session_ids: Sequence[str]) -> dict[str, str]:
    """Return the anchor of each of these sessions that exists, by session id."""
    found: dict[str, str] = {}
    for chunk in id_chunks(session_ids):
        rows = await ctx.db.execute(
            select(LiveSession.id, LiveSession.anchor_id).where(LiveSession.id.in_(chunk))
        )
        found.update({str(session_id): str(anchor_id) for session_id, anchor_id in rows})
    return found


async def sessions_of(
    ctx: Ctx, anchor_ids: list[str], shop_ids: list[str], limit: int
) -> list[SessionOut]:
    """The live and scheduled sessions of some anchors or shops: live first, then soonest."""
    if not anchor_ids and not shop_ids:
        return []
    rows = await ctx.db.scalars(
        select(LiveSession)
        .where(
            LiveSession.status.in_([SessionStatus.LIVE, SessionStatus.SCHEDULED]),
            or_(LiveSession.anchor_id.in_(anchor_ids), LiveSession.shop_id.in_(shop_ids)),
        )
        .order_by(
            (LiveSession.status == SessionStatus.LIVE).desc(),
            LiveSession.scheduled_at,
            LiveSession.id,
        )
        .limit(limit)
    )
    return [await session_out(ctx, session) for session in rows]


def _check_status(session: LiveSession, *allowed: SessionStatus) -> None:
    if session.status not in allowed:
        wanted = " or ".join(allowed)
        raise AppError.of(LiveError.INVALID_STATE, f"session is {session.status}; needs {wanted}")


async def _write_cart(
    ctx: Ctx, session_id: str, product_ids: list[str], *, new: bool = False
) -> None:
    if not new:  # a session just made has no cart to clear
        await ctx.db.execute(delete(LiveCartItem).where(LiveCartItem.session_id == session_id))
    ctx.db.add_all(
        LiveCartItem(session_id=session_id, product_id=product_id, position=i)
        for i, product_id in enumerate(product_ids)
    )
    await ctx.db.flush()


@dataclass(frozen=True, slots=True)
class PinChange:
    """A change of a session's pin: the product pinned from then on, or none (unpinned)."""

    product_id: str | None
    at: datetime


async def pin_changes(ctx: Ctx, session_id: str) -> list[PinChange]:
    """Return a session's pins and unpins, in the order they happened."""
    rows = await ctx.db.execute(
        select(LivePin.product_id, LivePin.pinned_at)
        .where(LivePin.session_id == session_id)
        .order_by(LivePin.pinned_at, LivePin.id)
    )
    return [PinChange(product_id, at) for product_id, at in rows]
