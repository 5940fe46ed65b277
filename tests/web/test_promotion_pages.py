"""Bought reach from the pages: the console's form buys a promotion through the API's
service and shows a refusal as its message, Stop gives the rest back, and the back office's
report sets what each promotion bought against the followers' free traffic."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.live.room.visits import do_enter
from laotie.live.schemas import EntrySource
from laotie.orders import ledger
from laotie.traffic.impressions import Impression, do_record_impressions
from laotie.traffic.jobs import charge_promotions
from tests.factories import sign_up
from tests.live.sale_room import LiveShow, buy, go_live
from tests.orders.world import pay
from tests.web.pages import PageUser, browsing, flash_of


@pytest.fixture
async def users(app: Any) -> AsyncIterator[Any]:
    """Make signed-in page users."""
    async with browsing(app) as make:
        yield make


async def _shop_of(client: httpx.AsyncClient, show: LiveShow) -> str:
    return str((await client.get(f"/api/live/sessions/{show.session_id}")).json()["shop_id"])


async def _fund(uow: Any, shop_id: str, amount: int) -> None:
    """Release money to a shop, as completed orders would."""
    async with uow() as ctx:
        seller = ledger.seller_account(shop_id)
        await ledger.post(ctx, "release", None, "CNY", [(ledger.ESCROW, amount), (seller, -amount)])


async def _said(user: PageUser, answer: httpx.Response) -> str:
    """Follow a form's answer and return the message the next page shows."""
    assert answer.status_code == 303, answer.text
    return flash_of(await user.http.get(answer.headers["location"]))


def _terms(session_id: str, back: str, **fields: str) -> dict[str, str]:
    """A promotion form: ¥30 per 1,000 impressions, ¥100 of budget over 120 minutes."""
    terms = {"action": "buy", "session_id": session_id, "back": back, "pricing": "cpm"}
    return {**terms, "price": "30.00", "budget": "100.00", "pace_minutes": "120", **fields}


async def test_the_console_buys_a_promotion_shows_refusals_and_stops_it(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, users: Any
) -> None:
    show = await go_live(client, clock, "Tea tasting", price_minor=5_000, stock=20)
    anchor = await users(email=show.anchor.email)
    console = f"/live/{show.session_id}/console"
    page = await anchor.get(console)
    assert page.status_code == 200 and "Promote this show" in page.text
    assert "Balance to spend: <strong>¥0.00</strong>" in page.text

    short = await anchor.post("/seller/promotions", _terms(show.session_id, console))
    assert short.headers["location"] == console
    assert await _said(anchor, short) == ("the released balance, ¥0.00, does not cover ¥100.00")
    await _fund(uow, await _shop_of(client, show), 15_000)
    cheap = await anchor.post(
        "/seller/promotions", _terms(show.session_id, console, budget="10.00")
    )
    assert "at least one unit" in await _said(anchor, cheap)
    bought = await anchor.post("/seller/promotions", _terms(show.session_id, console))
    assert await _said(anchor, bought) == (
        "Promotion bought: ¥100.00 is held from your balance and spent over the show."
    )
    page = await anchor.get(console)
    assert "running" in page.text and "spent <strong>¥0.00</strong> of ¥100.00" in page.text
    assert 'name="action" value="stop"' in page.text
    again = await anchor.post(
        "/seller/promotions", _terms(show.session_id, console, budget="40.00")
    )
    assert await _said(anchor, again) == "this session has a running promotion"

    report = await anchor.get("/seller/promotions")
    assert report.status_code == 200 and "Tea tasting" in report.text
    assert 'data-testid="available">¥50.00<' in report.text  # ¥150 less the ¥100 held
    promotion_id = report.text.split('data-promotion-id="', 1)[1].split('"', 1)[0]
    stopped = await anchor.post(
        "/seller/promotions", {"action": "stop", "promotion_id": promotion_id, "back": console}
    )
    assert await _said(anchor, stopped) == (
        "Promotion stopped: ¥0.00 spent, ¥100.00 back in your balance."
    )
    page = await anchor.get(console)
    assert "Last promotion: stopped by you, ¥0.00 spent of ¥100.00." in page.text
    assert 'data-testid="available">¥150.00<' in (await anchor.get("/seller/promotions")).text


async def test_a_stranger_can_neither_buy_nor_stop_a_shops_promotion(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, users: Any
) -> None:
    show = await go_live(client, clock, "Not yours", price_minor=5_000, stock=5)
    await _fund(uow, await _shop_of(client, show), 20_000)
    other = await users(role="seller", name="Other seller")
    refused = await other.post("/seller/promotions", _terms(show.session_id, "/seller"))
    assert await _said(other, refused) == "live session not found"
    anchor = await users(email=show.anchor.email)
    bought = await anchor.post("/seller/promotions", _terms(show.session_id, "/seller/promotions"))
    assert "Promotion bought" in await _said(anchor, bought)
    page = (await anchor.get("/seller/promotions")).text
    promotion_id = page.split('data-promotion-id="', 1)[1].split('"', 1)[0]
    stop = {"action": "stop", "promotion_id": promotion_id, "back": "/seller"}
    assert await _said(other, await other.post("/seller/promotions", stop)) == (
        "promotion not found"
    )
    buyer = await users(name="Just a buyer", ships=False)
    assert (await buyer.get("/seller/promotions")).status_code == 403


async def test_the_report_sets_what_a_promotion_bought_against_the_followers(
    client: httpx.AsyncClient, clock: FrozenClock, uow: Any, users: Any, app: Any
) -> None:
    show = await go_live(client, clock, "Spring teas", price_minor=5_000, stock=20)
    await _fund(uow, await _shop_of(client, show), 50_000)
    anchor = await users(email=show.anchor.email)
    listed = await anchor.get("/seller/live")
    assert f"/seller/promotions?session_id={show.session_id}" in listed.text
    chosen = await anchor.get(f"/seller/promotions?session_id={show.session_id}")
    assert f'value="{show.session_id}" selected' in chosen.text
    bought = await anchor.post("/seller/promotions", _terms(show.session_id, "/seller/promotions"))
    assert "Promotion bought" in await _said(anchor, bought)
    async with uow() as ctx:  # the feed showed the room promoted 2,000 times
        shown = [Impression(f"vis_{i}", show.session_id, 2, True, ctx.now()) for i in range(2_000)]
        await do_record_impressions(ctx, shown)
    fan = await sign_up(client, Role.BUYER, name="Fan")
    await client.put(f"/api/follows/anchor/{show.anchor.id}", headers=fan.headers)
    async with uow() as ctx:
        visit = await do_enter(ctx, show.session_id, fan.id, fan.id, EntrySource.FOLLOW_FEED, False)
    room = {"session_id": show.session_id, "sku_id": show.product.sku_ids[0]}
    placed = await buy(client, room, fan, visit_id=visit)
    await pay(client, fan, [placed.json()["orders"][0]["id"]])
    clock.advance(timedelta(hours=2))
    await charge_promotions(app.state)

    page = (await anchor.get("/seller/promotions")).text
    row = page.split("data-promotion-id=", 1)[1].split("</tr>", 1)[0]
    assert "¥30.00 per 1,000 impressions" in row
    cells = {
        name: " ".join(re.sub(r"<[^>]+>", " ", text).split())
        for name, text in re.findall(r'data-cell="(\w+)">(.*?)</td>', row, re.DOTALL)
    }
    assert cells["status"].startswith("running") and "Stop" in cells["status"]
    assert cells["spent"] == "¥60.00 of ¥100.00"
    bought = [cells[name] for name in ("impressions", "entries", "followers", "orders", "gmv")]
    assert bought == ["2000", "0", "0", "0", "¥0.00"]
    assert cells["cost"] == "entry — follower — order —"  # nothing bought: no cost per one
    assert cells["free"] == "1 viewer 1 order ¥50.00 GMV"  # the follower who came and bought


async def test_the_top_up_form_refuses_a_bad_amount_and_pays_a_good_one_into_the_balance(
    client: httpx.AsyncClient, clock: FrozenClock, users: Any
) -> None:
    show = await go_live(client, clock, "Topped up", price_minor=5_000, stock=20)
    seller = await users(email=show.anchor.email)
    for amount in ("0.50", "100000.01", "ten"):
        refused = await seller.post("/seller/top-ups", {"amount": amount})
        assert refused.headers["location"] == "/seller/promotions"
        assert await _said(seller, refused), amount
    opened = await seller.post("/seller/top-ups", {"amount": "123.45"})
    assert opened.status_code == 303
    pay_page = await seller.get(opened.headers["location"])
    assert "¥123.45" in pay_page.text
    assert "value='/seller/promotions'" in pay_page.text  # the pay page comes back here
    form = {"action": "pay", "return_to": "/seller/promotions"}  # as the page's form sends
    paid = await seller.http.post(opened.headers["location"], data=form)
    assert paid.headers["location"] == "/seller/promotions"
    page = await seller.get("/seller/promotions")
    assert re.search(r'data-testid="available">¥123.45<', page.text), page.text
    assert "credited" in page.text
