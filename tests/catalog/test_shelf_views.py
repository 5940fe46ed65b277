"""Shelf views: each viewer's presence on a shop's pages, once a day, counted exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from laotie.catalog.models import ShelfView
from laotie.catalog.views import (
    PageView,
    do_record_views,
    shelf_visitor_keys,
    shelf_visitors,
    shelf_visitors_by_day,
)
from laotie.core.clock import FrozenClock
from laotie.core.signing import unsign
from laotie.core.visitors import VISITOR_COOKIE, VISITOR_PURPOSE
from laotie.settings import Settings
from tests.catalog_factories import make_operator, make_product, make_seller, make_shop
from tests.conftest import TEST_ORIGIN
from tests.factories import ApiUser, sign_up


@dataclass
class Shelf:
    """A shop with one product on sale, and its owner."""

    owner: ApiUser
    shop_id: str
    product_id: str


@pytest.fixture
async def shelf(client: httpx.AsyncClient) -> Shelf:
    """Open a shop with one product on sale."""
    owner = await make_seller(client)
    shop_id = await make_shop(client, owner)
    product = await make_product(client, owner, shop_id)
    return Shelf(owner, shop_id, product.id)


@pytest.fixture
async def anonymous(app: Any) -> AsyncIterator[Any]:
    """Make anonymous browsers, each with a cookie jar of its own."""
    browsers: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app)
        browsers.append(httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN))
        return browsers[-1]

    yield make
    for browser in browsers:
        await browser.aclose()


async def _flush(app: Any) -> int:
    """Write the views waiting, as the writer's next batch would."""
    return int(await app.state.shelf_views.write_waiting(app.state))


async def _presence(uow: Any, shop_id: str) -> list[tuple[date, str, datetime, str | None]]:
    """Return a shop's presence rows: day, viewer, first seen, first product."""
    async with uow() as ctx:
        rows = await ctx.db.execute(
            select(
                ShelfView.day,
                ShelfView.viewer_key,
                ShelfView.first_seen_at,
                ShelfView.first_product_id,
            )
            .where(ShelfView.shop_id == shop_id)
            .order_by(ShelfView.day, ShelfView.viewer_key)
        )
        return [(day, viewer, seen, product) for day, viewer, seen, product in rows]


async def test_a_viewer_is_present_once_a_day_whatever_it_reads_of_the_shop(
    client: httpx.AsyncClient, app: Any, uow: Any, clock: FrozenClock, shelf: Shelf
) -> None:
    buyer = await sign_up(client)
    first_seen = clock.now()
    assert (await client.get(f"/products/{shelf.product_id}", headers=buyer.headers)).is_success
    clock.advance(timedelta(minutes=5))
    assert (await client.get(f"/products/{shelf.product_id}", headers=buyer.headers)).is_success
    assert (await client.get(f"/shops/{shelf.shop_id}", headers=buyer.headers)).is_success
    assert await _flush(app) == 1  # three views, one presence row
    clock.advance(timedelta(hours=1))
    assert (await client.get(f"/shops/{shelf.shop_id}", headers=buyer.headers)).is_success
    await _flush(app)  # the same day again: the row is already there
    clock.advance(timedelta(days=1))
    assert (await client.get(f"/shops/{shelf.shop_id}", headers=buyer.headers)).is_success
    await _flush(app)
    today, tomorrow = first_seen.date(), first_seen.date() + timedelta(days=1)
    assert await _presence(uow, shelf.shop_id) == [
        (today, buyer.id, first_seen, shelf.product_id),
        (tomorrow, buyer.id, clock.now(), None),
    ]


async def test_reads_through_the_api_count_like_the_pages(
    client: httpx.AsyncClient, app: Any, uow: Any, clock: FrozenClock, shelf: Shelf
) -> None:
    first, second = await sign_up(client), await sign_up(client)
    product = await client.get(f"/api/products/{shelf.product_id}", headers=first.headers)
    assert product.is_success
    assert (await client.get(f"/api/shops/{shelf.shop_id}", headers=first.headers)).is_success
    assert (await client.get(f"/api/shops/{shelf.shop_id}", headers=second.headers)).is_success
    await _flush(app)
    assert [(viewer, product) for _, viewer, _, product in await _presence(uow, shelf.shop_id)] == (
        sorted([(first.id, shelf.product_id), (second.id, None)])
    )


async def test_an_anonymous_visitor_is_counted_by_its_signed_visitor_id(
    app: Any, uow: Any, settings: Settings, shelf: Shelf, anonymous: Any
) -> None:
    browser = anonymous()
    page = await browser.get(f"/products/{shelf.product_id}")
    assert page.is_success
    visitor = unsign(settings.secret_key, VISITOR_PURPOSE, page.cookies[VISITOR_COOKIE])
    assert visitor is not None and visitor.startswith("vis_")
    assert (await browser.get(f"/shops/{shelf.shop_id}")).is_success  # the cookie came back
    assert (await browser.get(f"/api/shops/{shelf.shop_id}")).is_success  # and to the API
    other = anonymous()
    assert (await other.get(f"/shops/{shelf.shop_id}")).is_success
    await _flush(app)
    viewers = [viewer for _, viewer, _, _ in await _presence(uow, shelf.shop_id)]
    assert visitor in viewers
    assert len(viewers) == 2 and all(viewer.startswith("vis_") for viewer in viewers)


async def test_an_api_caller_known_to_nobody_is_not_counted(
    app: Any, uow: Any, shelf: Shelf, anonymous: Any
) -> None:
    bare = anonymous()
    assert (await bare.get(f"/api/shops/{shelf.shop_id}")).is_success
    assert (await bare.get(f"/api/products/{shelf.product_id}")).is_success
    forged = anonymous()
    forged.cookies.set(VISITOR_COOKIE, "vis_chosen.0000")
    assert (await forged.get(f"/api/shops/{shelf.shop_id}")).is_success
    assert await _flush(app) == 0
    assert await _presence(uow, shelf.shop_id) == []


async def test_the_owner_viewing_its_own_shop_is_not_counted(
    client: httpx.AsyncClient, app: Any, uow: Any, shelf: Shelf
) -> None:
    own = shelf.owner.headers
    for path in (
        f"/shops/{shelf.shop_id}",
        f"/products/{shelf.product_id}",
        f"/api/shops/{shelf.shop_id}",
        f"/api/products/{shelf.product_id}",
    ):
        assert (await client.get(path, headers=own)).is_success, path
    other_seller = await make_seller(client)  # shopping at another's shop, it is a visitor
    assert (await client.get(f"/shops/{shelf.shop_id}", headers=other_seller.headers)).is_success
    await _flush(app)
    assert [viewer for _, viewer, _, _ in await _presence(uow, shelf.shop_id)] == [other_seller.id]


async def test_only_real_reads_of_a_page_on_sale_count(
    client: httpx.AsyncClient, app: Any, uow: Any, shelf: Shelf
) -> None:
    buyer = await sign_up(client)
    operator = await make_operator(client, uow)
    prefetch = {**buyer.headers, "Sec-Purpose": "prefetch"}
    assert (await client.get(f"/shops/{shelf.shop_id}", headers=prefetch)).is_success
    assert (await client.get("/products/prd_nothing", headers=buyer.headers)).status_code == 404
    assert (await client.get("/api/shops/shp_nothing", headers=buyer.headers)).status_code == 404
    hidden = await client.patch(
        f"/api/products/{shelf.product_id}",
        json={"status": "hidden"},
        headers=shelf.owner.headers,
    )
    assert hidden.is_success
    # Operators still see a hidden product; nobody shopping does.
    hidden_read = await client.get(f"/api/products/{shelf.product_id}", headers=operator.headers)
    assert hidden_read.is_success
    assert await _flush(app) == 0
    assert await _presence(uow, shelf.shop_id) == []


async def test_distinct_visitors_over_a_range_are_exact_not_sums_of_days(
    uow: Any, clock: FrozenClock, shelf: Shelf, client: httpx.AsyncClient
) -> None:
    quiet = await make_shop(client, shelf.owner)
    start = clock.now()
    day = [start + timedelta(days=n) for n in range(3)]
    async with uow() as ctx:
        await do_record_views(
            ctx,
            [
                PageView(shelf.shop_id, "usr_a", day[0], shelf.product_id),
                PageView(shelf.shop_id, "usr_a", day[1]),
                PageView(shelf.shop_id, "vis_b", day[1]),
                PageView(shelf.shop_id, "vis_b", day[1] + timedelta(hours=1)),
                PageView(shelf.shop_id, "usr_c", day[2]),  # after the range
            ],
        )
    since, until = day[0].date(), day[1].date()
    async with uow() as ctx:
        assert await shelf_visitors(ctx, [shelf.shop_id, quiet], since, until) == {
            shelf.shop_id: 2,  # usr_a on both days is one visitor
            quiet: 0,
        }
        assert await shelf_visitors(ctx, None, since, until) == {shelf.shop_id: 2}
        assert await shelf_visitors(ctx, None, since, day[2].date()) == {shelf.shop_id: 3}
        assert await shelf_visitor_keys(ctx, shelf.shop_id, since, until) == {"usr_a", "vis_b"}
        assert await shelf_visitor_keys(ctx, quiet, since, until) == set()
        assert await shelf_visitor_keys(ctx, None, since, day[2].date()) == {
            "usr_a",
            "vis_b",
            "usr_c",
        }
        assert await shelf_visitors_by_day(ctx, [shelf.shop_id, quiet], since, until) == {
            shelf.shop_id: {since: 1, until: 2}
        }
        assert await shelf_visitors_by_day(ctx, None, until, until) == {shelf.shop_id: {until: 2}}


async def test_the_writer_writes_what_waits_when_the_server_stops(
    client: httpx.AsyncClient, app: Any, uow: Any, shelf: Shelf
) -> None:
    buyer = await sign_up(client)
    async with app.router.lifespan_context(app):
        assert (await client.get(f"/shops/{shelf.shop_id}", headers=buyer.headers)).is_success
        assert (
            await client.get(f"/api/shops/{shelf.shop_id}", headers=shelf.owner.headers)
        ).is_success
    assert [viewer for _, viewer, _, _ in await _presence(uow, shelf.shop_id)] == [buyer.id]
