"""Views of a shop's pages, kept as per-day presence rows for the shelf channel's UV.

The shelf channel (orders placed outside a live session) has GMV = UV × conversion × AOV,
UV being the distinct visitors of the shop's pages (DESIGN.md, the GMV identity). A read
of the shop's page or of one of its product pages, on the site or through the API, is
queued to `ShelfViewWriter`, off the request's path; a batch keeps one row per (shop, UTC
day, viewer), the first view of that day, and a second view adds nothing. Any range's
distinct count is then one COUNT(DISTINCT) over its days: exact, not a sum of daily ones.

A viewer is the signed-in user's id or the anonymous visitor's signed id
(`core/visitors.py`, the same as in the live rooms). A shop's owner looking at its own
shop is not a visitor and is dropped when the batch is written; an anonymous caller of
the API holding no visitor cookie is nobody that can be counted twice, so it is not
counted at all.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from starlette.requests import HTTPConnection

from laotie.accounts.permissions import Actor
from laotie.catalog.models import ShelfView, Shop
from laotie.catalog.schemas import ProductOut, ProductStatus
from laotie.core.batching import BatchWriter
from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.visitors import is_prefetch, known_visitor
from laotie.db.bulk import dialect_insert, id_chunks

# Views are written every this many seconds: seldom, because on SQLite each batch makes
# the requests of its moment wait for the one writer.
EVERY_S = 2.0


@dataclass(frozen=True, slots=True)
class PageView:
    """A viewer reading a shop's page (`product_id` None) or one of its product pages."""

    shop_id: str
    viewer_key: str
    seen_at: datetime
    product_id: str | None = None

    @property
    def day(self) -> date:
        """Return the UTC day of the view."""
        return self.seen_at.astimezone(UTC).date()

    def key(self) -> tuple[str, date, str]:
        """Return the presence row the view belongs to."""
        return (self.shop_id, self.day, self.viewer_key)

    def row(self) -> dict[str, Any]:
        """Return the view as a `shelf_views` row."""
        return {
            "shop_id": self.shop_id,
            "day": self.day,
            "viewer_key": self.viewer_key,
            "first_seen_at": self.seen_at,
            "first_product_id": self.product_id,
        }


# ---------------------------------------------------------------- at the edge


def viewer_key(connection: HTTPConnection, actor: Actor | None) -> str:
    """Return who reads: the signed-in user's id, else the visitor cookie's id ("" if none)."""
    if actor is not None:
        return actor.id
    return known_visitor(connection, connection.app.state.settings.secret_key)


def queue_shop_view(connection: HTTPConnection, ctx: Ctx, viewer: str, shop_id: str) -> None:
    """Queue a read of a shop's page for the writer."""
    _queue(connection, PageView(shop_id, viewer, ctx.now()))


def queue_product_view(
    connection: HTTPConnection, ctx: Ctx, viewer: str, product: ProductOut
) -> None:
    """Queue a read of a product page for the writer, as a view of its shop."""
    # A hidden product is read only by its owner and operators: nobody shopping.
    if product.status == ProductStatus.ACTIVE:
        _queue(connection, PageView(product.shop_id, viewer, ctx.now(), product.id))


def _queue(connection: HTTPConnection, view: PageView) -> None:
    # A prefetch may never be looked at; a caller known to nobody would count anew each time.
    if view.viewer_key and not is_prefetch(connection):
        connection.app.state.shelf_views.queue(view)


# ---------------------------------------------------------------- writing


async def do_record_views(ctx: Ctx, views: Sequence[PageView]) -> int:
    """Keep each viewer's first view of a shop per day; return the presence rows offered."""
    # A row already there stays (its first view was earlier). An owner's views of its own
    # shop are dropped: sellers looking at their own shelf are not its visitors; so are
    # views of a shop not found, which would fail the whole batch on its foreign key.
    firsts = _firsts(views)
    if not firsts:
        return 0
    owners = await _owners(ctx, {view.shop_id for view in firsts})
    rows = [
        view.row()
        for view in firsts
        if view.shop_id in owners and owners[view.shop_id] != view.viewer_key
    ]
    if rows:
        await ctx.db.execute(_add_new(ctx.db.get_bind().dialect.name), rows)
    return len(rows)


def _firsts(views: Iterable[PageView]) -> list[PageView]:
    """Return the earliest view of each presence row, in the rows' key order."""
    first: dict[tuple[str, date, str], PageView] = {}
    for view in views:
        kept = first.get(view.key())
        if kept is None or view.seen_at < kept.seen_at:
            first[view.key()] = view
    # In key order, so that two workers' batches take PostgreSQL's index locks in one order.
    return [first[key] for key in sorted(first)]


async def _owners(ctx: Ctx, shop_ids: Collection[str]) -> dict[str, str]:
    """Return the owner of each of these shops that exists."""
    owners: dict[str, str] = {}
    for chunk in id_chunks(shop_ids):
        rows = await ctx.db.execute(_OWNERS, {"ids": chunk})
        owners.update({shop_id: owner_id for shop_id, owner_id in rows})
    return owners


@functools.cache
def _add_new(dialect: str) -> Any:
    """Build a dialect's insert that leaves a presence row already there alone, once."""
    return dialect_insert(dialect, ShelfView).on_conflict_do_nothing(
        index_elements=[ShelfView.shop_id, ShelfView.day, ShelfView.viewer_key]
    )


_OWNERS = select(Shop.id, Shop.owner_id).where(Shop.id.in_(bindparam("ids", expanding=True)))


class ShelfViewWriter(BatchWriter[PageView]):
    """Write the views of shops' pages a batch at a time, off the requests' path."""

    name = "shelf-views"

    async def write(self, state: Any, batch: list[PageView]) -> int:
        """Write a batch of views in one transaction."""
        async with unit_of_work_for(state) as ctx:
            return await do_record_views(ctx, batch)


# ---------------------------------------------------------------- reading


async def shelf_visitors(
    ctx: Ctx, shop_ids: Sequence[str] | None, since: date, until: date
) -> dict[str, int]:
    """Return these shops' distinct visitors over since..until (included); None: every shop's."""
    # Each shop asked for is answered, 0 when nobody came; with None, the shops somebody did.
    if shop_ids is None:
        rows = await ctx.db.execute(_VISITORS_OF_ALL, {"since": since, "until": until})
        return {shop_id: int(count) for shop_id, count in rows}
    counts = dict.fromkeys(shop_ids, 0)
    for chunk in id_chunks(shop_ids):
        rows = await ctx.db.execute(_VISITORS, {"ids": chunk, "since": since, "until": until})
        counts.update({shop_id: int(count) for shop_id, count in rows})
    return counts


async def shelf_visitor_keys(ctx: Ctx, shop_id: str | None, since: date, until: date) -> set[str]:
    """Return a shop's distinct visitors' keys over since..until (included); None: any shop's."""
    if shop_id is None:
        return set((await ctx.db.scalars(_KEYS_OF_ALL, {"since": since, "until": until})).all())
    wanted = {"shop_id": shop_id, "since": since, "until": until}
    return set((await ctx.db.scalars(_KEYS, wanted)).all())


async def shelf_visitors_by_day(
    ctx: Ctx, shop_ids: Sequence[str] | None, since: date, until: date
) -> dict[str, dict[date, int]]:
    """Return these shops' (None: every shop's) visitors of each day since..until, by day."""
    # Days nobody came are absent. The days do not add up to the range: a viewer of two
    # days is one visitor of both (`shelf_visitors` counts a range).
    if shop_ids is None:
        rows = list(await ctx.db.execute(_DAILY_OF_ALL, {"since": since, "until": until}))
    else:
        rows = []
        for chunk in id_chunks(shop_ids):
            wanted = {"ids": chunk, "since": since, "until": until}
            rows += list(await ctx.db.execute(_DAILY, wanted))
    daily: dict[str, dict[date, int]] = {}
    for shop_id, day, count in rows:
        daily.setdefault(shop_id, {})[day] = int(count)
    return daily


# Built once, at import: building a statement costs about as much as running it.
_IN_RANGE = ShelfView.day.between(bindparam("since"), bindparam("until"))
_OF_SHOPS = ShelfView.shop_id.in_(bindparam("ids", expanding=True))
_DISTINCT = func.count(ShelfView.viewer_key.distinct())
_VISITORS_OF_ALL = select(ShelfView.shop_id, _DISTINCT).where(_IN_RANGE).group_by(ShelfView.shop_id)
_VISITORS = _VISITORS_OF_ALL.where(_OF_SHOPS)
_KEYS_OF_ALL = select(ShelfView.viewer_key).where(_IN_RANGE).distinct()
_KEYS = _KEYS_OF_ALL.where(ShelfView.shop_id == bindparam("shop_id"))
# One row per viewer and day (the primary key), so a day's rows are its distinct viewers.
_DAILY_OF_ALL = (
    select(ShelfView.shop_id, ShelfView.day, func.count())
    .where(_IN_RANGE)
    .group_by(ShelfView.shop_id, ShelfView.day)
)
_DAILY = _DAILY_OF_ALL.where(_OF_SHOPS)
