"""Price history: every regular price is a span, and the was-price is the 30-day low."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from laotie.catalog.models import SkuPrice
from laotie.catalog.service import lowest_regular_price
from laotie.core.clock import FrozenClock
from tests.catalog_factories import make_product, make_seller, make_shop, sku
from tests.factories import ApiUser


async def _one_sku(client: httpx.AsyncClient, price: int) -> tuple[ApiUser, str]:
    seller = await make_seller(client)
    product = await make_product(client, seller, await make_shop(client, seller), skus=[sku(price)])
    return seller, product.sku_ids[0]


async def _reprice(client: httpx.AsyncClient, seller: ApiUser, sku_id: str, price: int) -> Any:
    answer = await client.patch(
        f"/api/skus/{sku_id}", json={"price_minor": price}, headers=seller.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _spans(uow: Any, sku_id: str) -> list[tuple[str, int, Any, Any]]:
    async with uow() as ctx:
        rows = await ctx.db.scalars(
            select(SkuPrice).where(SkuPrice.sku_id == sku_id).order_by(SkuPrice.id)
        )
        return [(r.kind, r.price_minor, r.valid_from, r.valid_to) for r in rows]


async def test_a_price_change_closes_the_open_span_and_opens_another(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    seller, sku_id = await _one_sku(client, 10_000)
    created = clock.now()
    clock.advance(timedelta(days=2))
    changed = clock.now()
    await _reprice(client, seller, sku_id, 8_000)
    assert await _spans(uow, sku_id) == [
        ("regular", 10_000, created, changed),
        ("regular", 8_000, changed, None),
    ]


async def test_setting_the_same_price_records_nothing(client: httpx.AsyncClient, uow: Any) -> None:
    seller, sku_id = await _one_sku(client, 10_000)
    await _reprice(client, seller, sku_id, 10_000)
    assert len(await _spans(uow, sku_id)) == 1


async def test_was_price_is_the_lowest_regular_price_of_the_last_30_days(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    seller, sku_id = await _one_sku(client, 10_000)
    clock.advance(timedelta(days=1))
    assert (await _reprice(client, seller, sku_id, 8_000))["was_price_minor"] == 8_000
    clock.advance(timedelta(days=1))
    raised = await _reprice(client, seller, sku_id, 12_000)
    assert (raised["price_minor"], raised["was_price_minor"]) == (12_000, 8_000)
    # The 80.00 span ended at day 2; it leaves the window once 30 days have passed since.
    clock.advance(timedelta(days=29, hours=23))
    product_id = raised["product_id"]
    shown = (await client.get(f"/api/products/{product_id}")).json()["skus"][0]
    assert shown["was_price_minor"] == 8_000
    clock.advance(timedelta(hours=2))
    shown = (await client.get(f"/api/products/{product_id}")).json()["skus"][0]
    assert shown["was_price_minor"] == 12_000


async def test_flash_and_fan_prices_do_not_lower_the_was_price(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    _seller, sku_id = await _one_sku(client, 10_000)
    async with uow() as ctx:
        for kind, price in (("flash", 5_000), ("fan", 7_000)):
            ctx.db.add(
                SkuPrice(
                    sku_id=sku_id,
                    kind=kind,
                    price_minor=price,
                    valid_from=clock.now(),
                    valid_to=clock.now() + timedelta(hours=1),
                )
            )
    clock.advance(timedelta(days=1))
    async with uow() as ctx:
        assert await lowest_regular_price(ctx, sku_id) == 10_000
        assert await lowest_regular_price(ctx, "sku_none") is None


async def test_a_price_replaced_in_the_same_instant_never_counts(
    client: httpx.AsyncClient, uow: Any
) -> None:
    seller, sku_id = await _one_sku(client, 10_000)
    typo = await _reprice(client, seller, sku_id, 1)
    assert typo["was_price_minor"] == 1
    fixed = await _reprice(client, seller, sku_id, 9_000)
    assert (fixed["price_minor"], fixed["was_price_minor"]) == (9_000, 9_000)
    async with uow() as ctx:
        assert await lowest_regular_price(ctx, sku_id) == 9_000


async def test_a_shorter_window_can_be_asked_for(
    client: httpx.AsyncClient, uow: Any, clock: FrozenClock
) -> None:
    seller, sku_id = await _one_sku(client, 5_000)
    clock.advance(timedelta(days=3))
    await _reprice(client, seller, sku_id, 6_000)
    clock.advance(timedelta(days=3))
    async with uow() as ctx:
        assert await lowest_regular_price(ctx, sku_id, days=2) == 6_000
        assert await lowest_regular_price(ctx, sku_id, days=7) == 5_000
