"""Live pages: the list of shows, the viewer's room, the anchor's console, scheduling a show.

The pages are thin: they render the frame of the room and hand the session id to a
script that joins the room's WebSocket and draws everything from its frames. Changes
(going live, the cart, pins, flash sales, moderation, buying) go from that script to the
JSON API with the page session's cookie and CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor
from laotie.affiliate import pool
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.core.money import exponent
from laotie.core.visitors import keep_visitor
from laotie.live.room.sources import SIGNED_SOURCES, resolve_source, source_tag
from laotie.live.schemas import EntrySource, SessionStatus
from laotie.live.session import minutes, review
from laotie.live.session import service as live
from laotie.live.session.reputation import anchor_reputation
from laotie.traffic import follows, inbox
from laotie.traffic.recommend import feed_for_request
from laotie.traffic.schemas import Target
from laotie.trust import service as trust
from laotie.video import keys as stream_keys
from laotie.web.deps import AnchorViewer, MaybeViewer, PageError, SellerViewer, Viewer
from laotie.web.fans import console_fan_prices, room_fan_view
from laotie.web.pages import render
from laotie.web.promotions import console_promotion
from laotie.web.seller import own_shop
from laotie.web.supply import console_campaigns

if TYPE_CHECKING:
    from laotie.live.models import LiveSession

router = APIRouter(include_in_schema=False)

LISTED_SESSIONS = 50
FEED_LIMIT = 50  # the most the feed answers
CONSOLE_PRODUCTS = 100
REVIEW_CHAT_LINES = 200  # the rest through the API's chat log


@dataclass(frozen=True, slots=True)
class Storefront:
    """Who a show sells for, as its pages name it: its shop, or for an anchor without one,
    the anchor's own picks from the selection pool (each product shows its own shop)."""

    id: str | None  # the shop's; none without one
    name: str
    currency: str
    owner_id: str


async def storefront(ctx: Ctx, session: LiveSession) -> Storefront:
    """Return who the show sells for."""
    if session.shop_id is not None:
        shop = await catalog.get_shop(ctx, session.shop_id)
        return Storefront(shop.id, shop.name, shop.currency, shop.owner_id)
    anchor = await accounts.access_user(ctx, session.anchor_id)
    return Storefront(None, f"{anchor.name}'s picks", ctx.settings.currency, anchor.id)


def entry_source(secret_key: str, session_id: str, raw: str | None) -> str:
    """Return the tag the page hands its socket: a link's signed tag as it came, a public
    source as it is, anything else (unknown, forged, a private source unsigned) `other`.

    A mistyped tag on a shared link should still open the room, so the page falls back
    instead of refusing; the socket checks the signature again (`live/room/sources.py`).
    """
    source = resolve_source(secret_key, session_id, raw or "") or EntrySource.OTHER
    if source in SIGNED_SOURCES and raw:
        return raw
    return source.value


@router.get("/live", response_class=HTMLResponse)
async def live_list(request: Request, ctx: CtxDep, actor: MaybeViewer) -> Response:
    """Shows on air now, as the recommendation feed ranks them for the viewer; then the ones
    coming up."""
    feed = await feed_for_request(request, ctx, actor, FEED_LIMIT)
    coming = await live.sessions(ctx, SessionStatus.SCHEDULED, None, LISTED_SESSIONS, 0)
    coming.sort(key=lambda session: session.scheduled_at)
    anchor_ids = {item.anchor_id for item in feed.items} | {s.anchor_id for s in coming}
    return await render(
        request,
        ctx,
        actor,
        "live_list.html",
        on_air=feed.items,
        coming=coming,
        anchor_names=await accounts.names_of(ctx, anchor_ids),
    )


@router.get("/live/{session_id}", response_class=HTMLResponse)
async def room(
    session_id: str, request: Request, ctx: CtxDep, actor: MaybeViewer, src: str | None = None
) -> Response:
    """The viewer's room: the video area, pinned card, flash sale, cart drawer, chat, likes."""
    session = await _session_or_404(ctx, session_id)
    shop = await storefront(ctx, session)
    response = await render(
        request,
        ctx,
        actor,
        "live_room.html",
        session=session,
        shop=shop,
        # A show without a shop sells on its anchor's word: the anchor's reputation.
        trust=await trust.shop_trust(ctx, shop.id)
        if shop.id
        else await anchor_reputation(ctx, session.anchor_id),
        follow=await follows.follow_state(ctx, actor, Target.ANCHOR, session.anchor_id),
        rsvp=await inbox.rsvp_state(ctx, actor, session.id),
        anchor=await accounts.access_user(ctx, session.anchor_id),
        share_url=share_link(ctx.settings.public_url, ctx.settings.secret_key, session.id),
        source=entry_source(ctx.settings.secret_key, session.id, src),
        max_quantity=ctx.settings.max_quantity_per_line,
        is_anchor=actor is not None and actor.id == session.anchor_id,
        fan=await room_fan_view(ctx, actor, session.anchor_id, session.id, shop.id or ""),
    )
    if actor is None:
        keep_visitor(request, response, ctx.settings)
    return response


def share_link(public_url: str, secret_key: str, session_id: str) -> str:
    """The room's link to pass on: its visits record `share`, signed so as not to be forged."""
    tag = source_tag(secret_key, session_id, EntrySource.SHARE)
    return f"{public_url.rstrip('/')}/live/{session_id}?src={tag}"


@router.get("/anchors/{anchor_id}", response_class=HTMLResponse)
async def anchor_profile(
    anchor_id: str, request: Request, ctx: CtxDep, actor: MaybeViewer
) -> Response:
    """An anchor's profile: reputation, followers, and the shows live and to come."""
    try:
        anchor = await accounts.access_user(ctx, anchor_id)
        reputation = await anchor_reputation(ctx, anchor_id)
    except AppError:
        raise PageError(404, "There is no such anchor.") from None
    secret = ctx.settings.secret_key
    shows = await live.sessions_of(ctx, [anchor_id], [], 20)
    links = {
        s.id: f"/live/{s.id}?src={source_tag(secret, s.id, EntrySource.PROFILE)}" for s in shows
    }
    return await render(
        request,
        ctx,
        actor,
        "anchor.html",
        anchor=anchor,
        reputation=reputation,
        follow=await follows.follow_state(ctx, actor, Target.ANCHOR, anchor_id),
        mute=await inbox.mute_state(ctx, actor, anchor_id),
        shows=shows,
        links=links,
    )


@router.get("/live/{session_id}/console", response_class=HTMLResponse)
async def console(session_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The anchor's console: go live, the cart, pins, flash sales, moderation, counters,
    fan prices, the show's promotion and its C2M campaigns."""
    session = await _session_or_404(ctx, session_id)
    if session.anchor_id != actor.id:
        # Not found rather than forbidden: a stranger learns nothing about other shows.
        raise PageError(404, "There is no such live session among yours.")
    shop = await storefront(ctx, session)
    products = await _room_products(ctx, actor, session)
    shops = {product.shop_id for product in products} - {shop.id}
    return await render(
        request,
        ctx,
        actor,
        "live_console.html",
        session=session,
        shop=shop,
        products=products,
        sellers={shop_id: (await catalog.get_shop(ctx, shop_id)).name for shop_id in shops},
        cart=await live.cart_of(ctx, session.id),
        places=exponent(shop.currency),
        stream=await stream_keys.stream_key_of(ctx, actor),
        **await console_fan_prices(ctx, session.id),
        **await _shop_panels(ctx, actor, session),
    )


async def _shop_panels(ctx: Ctx, actor: Actor, session: LiveSession) -> dict[str, Any]:
    """The console's panels that need a shop: its bought reach and its C2M campaigns."""
    if session.shop_id is None:
        return {"promotion": None, "can_promote": False, "campaign_panel": False}
    shop = await catalog.get_shop(ctx, session.shop_id)
    return {
        **await console_promotion(ctx, actor, shop, session.id),
        **await console_campaigns(ctx, actor, shop, session.id),
    }


@router.get("/live/{session_id}/review", response_class=HTMLResponse)
async def review_page(session_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The show's review for its anchor or an operator: audience, sales, pins, minutes, chat."""
    try:
        session = await live.access_for_review(ctx, actor, session_id)
    except AppError as error:
        raise PageError(404, "There is no such live session among yours.") from error
    shop = await storefront(ctx, session)
    summary = await review.review_of(ctx, session)
    product_ids = {pin.product_id for pin in summary.pins if pin.product_id} | {
        sale.product_id for sale in summary.sales
    }
    return await render(
        request,
        ctx,
        actor,
        "live_review.html",
        review=summary,
        shop=shop,
        titles=await _titles(ctx, product_ids),
        minutes=await minutes.minutes_of(ctx, session.id),
        chat=await review.chat_log(ctx, session.id, None, REVIEW_CHAT_LINES),
        more_chat=summary.chat_lines > REVIEW_CHAT_LINES,
    )


@router.get("/seller/live", response_class=HTMLResponse)
async def seller_live(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """The shop's live shows, with a form to schedule one and links to their consoles."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        raise PageError(409, "Open your shop first, in the seller back office.")
    shows = await live.sessions(ctx, None, shop.id, LISTED_SESSIONS, 0)
    return await render(
        request,
        ctx,
        actor,
        "live_seller.html",
        shop=shop,
        shows=[show for show in shows if show.anchor_id == actor.id],
        products=(await catalog.browse_products(ctx, None, shop_id=shop.id, limit=100)).items,
    )


@router.get("/anchor/live", response_class=HTMLResponse)
async def anchor_live(request: Request, ctx: CtxDep, actor: AnchorViewer) -> Response:
    """An anchor's shows without a shop: a form to schedule one with the pool products it is
    approved to sell, and links to their consoles."""
    shows = await live.sessions_of(ctx, [actor.id], [], LISTED_SESSIONS)
    approved = await pool.approved_product_ids(ctx, actor.id)
    return await render(
        request,
        ctx,
        actor,
        "live_seller.html",
        shop=None,
        shows=[show for show in shows if show.shop_id is None],
        products=list((await catalog.product_cards(ctx, approved)).values()),
    )


async def _session_or_404(ctx: Ctx, session_id: str) -> LiveSession:
    try:
        return await live.load_session(ctx, session_id)
    except AppError as error:
        raise PageError(404, "There is no such live session.") from error


async def _titles(ctx: Ctx, product_ids: set[str]) -> dict[str, str]:
    """Return the titles of products a review names (a removed one keeps its id)."""
    titles = {}
    for product_id in product_ids:
        try:
            titles[product_id] = (await catalog.product_detail(ctx, product_id, None)).title
        except AppError:
            titles[product_id] = product_id
    return titles


async def _room_products(ctx: Ctx, actor: Actor, session: LiveSession) -> list[Any]:
    """Return what the room may sell, with SKUs, for the cart and sale forms: its shop's
    products on sale, then the pool products its anchor is approved to sell."""
    own: list[str] = []
    if session.shop_id is not None:
        listed = await catalog.browse_products(
            ctx, None, shop_id=session.shop_id, limit=CONSOLE_PRODUCTS
        )
        own = [item.id for item in listed.items]
    pooled = await pool.approved_product_ids(ctx, session.anchor_id)
    wanted = [*own, *(product_id for product_id in pooled if product_id not in own)]
    details = [await catalog.product_detail(ctx, product_id, actor) for product_id in wanted]
    for detail in details:
        detail.skus = [sku for sku in detail.skus if sku.active]
    return details
