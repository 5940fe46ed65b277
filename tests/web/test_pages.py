"""The pages: who sees what, forms guarded by CSRF, escaping, and the buying flow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from laotie.accounts.deps import SESSION_COOKIE
from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles, find_user_by_email
from tests.catalog_factories import make_product, make_seller, make_shop, sku
from tests.conftest import TEST_ORIGIN
from tests.factories import PASSWORD, ApiUser
from tests.web.pages import PageUser, browsing, csrf_of, flash_of

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def users(app: Any) -> Any:
    """Make signed-in page users: `await users("seller")`."""
    async with browsing(app) as make:
        yield make


async def _listed(client: httpx.AsyncClient, **product: Any) -> tuple[ApiUser, str, Any]:
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    made = await make_product(client, seller, shop_id, **product)
    return seller, shop_id, made


async def _seller_page_user(users: Any, client: httpx.AsyncClient, seller: ApiUser) -> PageUser:
    """Sign a seller made through the API in through the page form."""
    return await users(email=seller.email)  # type: ignore[no-any-return]


async def _on_hand(client: httpx.AsyncClient, product_id: str) -> list[int]:
    answer = await client.get(f"/api/products/{product_id}")
    return [item["stock"] for item in answer.json()["skus"]]


# ---------------------------------------------------------------- signing up and in


async def test_sign_up_then_sign_in_through_the_forms_sets_the_session_cookie(
    client: httpx.AsyncClient,
) -> None:
    origin = {"Origin": TEST_ORIGIN}
    form = {"email": "mei@example.com", "password": PASSWORD, "name": "Mei", "role": "buyer"}
    signed_up = await client.post("/sign-up", data=form, headers=origin)
    assert signed_up.status_code == 303
    assert SESSION_COOKIE in signed_up.cookies

    token = csrf_of((await client.get("/")).text)
    out = await client.post("/sign-out", data={"csrf_token": token}, headers=origin)
    assert out.status_code == 303
    client.cookies.clear()
    assert "Sign in" in (await client.get("/")).text

    signed_in = await client.post(
        "/sign-in",
        data={"email": "mei@example.com", "password": PASSWORD, "next": "/orders"},
        headers=origin,
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/orders"
    cookie = signed_in.headers["set-cookie"].lower()
    assert f"{SESSION_COOKIE}=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "Mei" in (await client.get("/orders")).text


async def test_a_wrong_password_shows_the_form_again_with_the_reason(
    client: httpx.AsyncClient, users: Any
) -> None:
    user = await users()
    answer = await client.post(
        "/sign-in",
        data={"email": user.email, "password": "not the password"},
        headers={"Origin": TEST_ORIGIN},
    )
    assert answer.status_code == 401
    assert "wrong email or password" in answer.text
    assert SESSION_COOKIE not in answer.cookies


async def test_sign_up_refuses_a_short_password_and_keeps_the_entered_name(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/sign-up",
        data={"email": "a@example.com", "password": "short", "name": "Ahmed", "role": "seller"},
        headers={"Origin": TEST_ORIGIN},
    )
    assert answer.status_code == 422
    assert 'value="Ahmed"' in answer.text
    assert SESSION_COOKIE not in answer.cookies


async def test_a_sign_in_form_posted_from_another_site_is_refused(
    client: httpx.AsyncClient, users: Any
) -> None:
    user = await users()
    answer = await client.post(
        "/sign-in",
        data={"email": user.email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.cookies


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize(
    "path", ["/cart", "/orders", "/orders/ord_x", "/seller", "/seller/products", "/operator"]
)
async def test_anonymous_visitors_are_sent_to_sign_in_and_back(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/sign-in?next={path}"


async def test_anonymous_visitors_browse_the_shop_front(client: httpx.AsyncClient) -> None:
    _, shop_id, made = await _listed(client, title="Jasmine tea", description="spring picking")
    for path in [
        "/",
        "/categories",
        "/categories/apparel",
        "/search?q=jasmine",
        f"/shops/{shop_id}",
        f"/products/{made.id}",
        "/sign-in",
        "/sign-up",
    ]:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html")
    assert "Jasmine tea" in (await client.get("/search?q=jasmine")).text
    assert "Jasmine tea" not in (await client.get("/search?q=oolong")).text
    assert (await client.get("/static/style.css")).status_code == 200
    assert (await client.get("/static/app.js")).status_code == 200


async def test_unknown_things_are_404_pages(client: httpx.AsyncClient, users: Any) -> None:
    buyer = await users()
    for path in ["/products/prd_nothing", "/categories/nothing", "/orders/ord_nothing"]:
        answer = await buyer.get(path)
        assert answer.status_code == 404, path
        assert "Sorry" in answer.text


async def test_each_role_sees_its_pages(client: httpx.AsyncClient, users: Any, uow: Any) -> None:
    _, _, made = await _listed(client)
    buyer = await users("buyer")
    for path in ["/", "/cart", "/orders", f"/products/{made.id}"]:
        assert (await buyer.get(path)).status_code == 200, path
    home = (await buyer.get("/")).text
    assert "Seller back office" not in home
    assert (await buyer.get("/seller")).status_code == 403
    assert (await buyer.get("/operator")).status_code == 403

    seller = await users("seller")
    first = await seller.get("/seller")
    assert first.status_code == 200
    assert "Open your shop" in first.text
    assert "Seller back office" in first.text
    opened = await seller.post("/seller/shop", {"name": "Old Iron Tea", "description": "pu'er"})
    assert opened.headers["location"] == "/seller"
    for path in ["/seller", "/seller/products", "/seller/products/new"]:
        answer = await seller.get(path)
        assert answer.status_code == 200, path
        assert "Old Iron Tea" in answer.text

    operator = await users("buyer", name="Op", ships=False)  # no request before the grant
    async with uow() as ctx:
        found = await find_user_by_email(ctx, operator.email)
        assert found is not None
        await do_grant_roles(ctx, found.id, frozenset({Role.OPERATOR}))
    page = await operator.get("/operator")
    assert page.status_code == 200
    assert "Dispute queue" in page.text


# ---------------------------------------------------------------- CSRF and escaping


async def test_forms_without_the_right_csrf_token_or_from_another_origin_change_nothing(
    client: httpx.AsyncClient, users: Any
) -> None:
    _, _, made = await _listed(client)
    buyer = await users()
    sku_id = made.sku_ids[0]
    token = await buyer.csrf()
    attempts = [
        ({"sku_id": sku_id, "quantity": "1"}, TEST_ORIGIN),
        ({"sku_id": sku_id, "quantity": "1", "csrf_token": "0" * 40}, TEST_ORIGIN),
        ({"sku_id": sku_id, "quantity": "1", "csrf_token": token}, "https://evil.example"),
    ]
    for data, origin in attempts:
        answer = await buyer.http.post("/cart/items", data=data, headers={"Origin": origin})
        assert answer.status_code == 403
        assert "Sorry" in answer.text
    assert "Your cart is empty" in (await buyer.get("/cart")).text

    done = await buyer.post("/cart/items", {"sku_id": sku_id, "quantity": "2"})
    assert done.status_code == 303
    assert "Linen shirt" in (await buyer.get("/cart")).text


async def test_a_product_title_with_markup_is_shown_as_text(
    client: httpx.AsyncClient, users: Any
) -> None:
    title = '<script>alert("x")</script>'
    _, _, made = await _listed(client, title=title, description="<img src=x onerror=alert(1)>")
    buyer = await users()
    for path in [f"/products/{made.id}", "/", "/search?q=script"]:
        html = (await buyer.get(path)).text
        assert title not in html, path
        assert "&lt;script&gt;" in html, path
    assert "<img src=x" not in (await buyer.get(f"/products/{made.id}")).text


async def test_a_search_query_is_echoed_escaped(client: httpx.AsyncClient) -> None:
    html = (await client.get('/search?q="><script>x</script>')).text
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x" in html


# ---------------------------------------------------------------- buying


async def test_buy_now_submitted_twice_makes_one_order_and_one_payment(
    client: httpx.AsyncClient, users: Any
) -> None:
    _, _, made = await _listed(client, skus=[sku(5_000, 4, size="M")])
    buyer = await users()
    key = await buyer.key_from(f"/products/{made.id}")
    form = {"sku_id": made.sku_ids[0], "quantity": "2", "idempotency_key": key}
    first = await buyer.post("/buy-now", form)
    second = await buyer.post("/buy-now", form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"].startswith("/sandbox/pay/pay_")
    assert second.headers["location"] == first.headers["location"]
    orders = (await buyer.http.get("/api/orders")).json()
    assert len(orders) == 1
    assert orders[0]["total_minor"] == 10_000
    assert await _on_hand(client, made.id) == [2]


async def test_a_refused_checkout_reserves_nothing(client: httpx.AsyncClient, users: Any) -> None:
    _, _, made = await _listed(client, skus=[sku(1_000, 5, size="S"), sku(1_000, 1, size="L")])
    buyer = await users()
    await buyer.post("/cart/items", {"sku_id": made.sku_ids[0], "quantity": "3"})
    await buyer.post("/cart/items", {"sku_id": made.sku_ids[1], "quantity": "1"})
    # The cart takes more than is on hand; checkout is where stock is reserved.
    await buyer.post(f"/cart/items/{made.sku_ids[1]}", {"quantity": "2"})
    key = await buyer.key_from("/cart")
    refused = await buyer.post("/cart/checkout", {"idempotency_key": key})
    assert refused.headers["location"] == "/cart"
    page = await buyer.get("/cart")
    assert "not enough stock" in flash_of(page)
    assert await _on_hand(client, made.id) == [5, 1]
    assert (await buyer.http.get("/api/orders")).json() == []
    assert "Linen shirt" in page.text  # the cart is kept


async def test_cart_update_remove_and_check_out_to_the_pay_page(
    client: httpx.AsyncClient, users: Any
) -> None:
    _, _, made = await _listed(client, skus=[sku(1_250, 5, size="S"), sku(2_000, 5, size="L")])
    other_seller = await make_seller(client)
    other = await make_product(
        client, other_seller, await make_shop(client, other_seller), title="Jade bangle"
    )
    buyer = await users()
    for sku_id in [*made.sku_ids, other.sku_ids[0]]:
        assert (
            await buyer.post("/cart/items", {"sku_id": sku_id, "quantity": "1"})
        ).status_code == 303
    await buyer.post(f"/cart/items/{made.sku_ids[0]}", {"quantity": "3"})
    await buyer.post(f"/cart/items/{made.sku_ids[1]}/remove")
    page = await buyer.get("/cart")
    assert "¥37.50" in page.text  # 3 × ¥12.50, the first shop's total
    assert "Jade bangle" in page.text
    assert 'data-testid="cart-count">2<' in page.text
    key = await buyer.key_from("/cart")
    paying = await buyer.post("/cart/checkout", {"idempotency_key": key})
    assert paying.headers["location"].startswith("/sandbox/pay/")
    orders = (await buyer.http.get("/api/orders")).json()
    assert sorted(order["total_minor"] for order in orders) == [3_750, 9_900]
    assert len({order["payment_id"] for order in orders}) == 1
    assert "Your cart is empty" in (await buyer.get("/cart")).text


async def _bought_and_paid(
    client: httpx.AsyncClient, users: Any
) -> tuple[PageUser, PageUser, str, Any]:
    seller_api, _, made = await _listed(client, skus=[sku(8_800, 3, colour="green")])
    seller = await _seller_page_user(users, client, seller_api)
    buyer = await users()
    key = await buyer.key_from(f"/products/{made.id}")
    paying = await buyer.post(
        "/buy-now", {"sku_id": made.sku_ids[0], "quantity": "1", "idempotency_key": key}
    )
    pay_page = paying.headers["location"]
    paid = await buyer.http.post(pay_page, data={"action": "pay", "return_to": "/orders"})
    assert paid.headers["location"] == "/orders"
    orders = (await buyer.http.get("/api/orders")).json()
    return buyer, seller, orders[0]["id"], made


async def test_the_whole_life_of_an_order_through_the_pages(
    client: httpx.AsyncClient, users: Any
) -> None:
    buyer, seller, order_id, made = await _bought_and_paid(client, users)
    listing = await buyer.get("/orders")
    assert "Paid · to ship" in listing.text

    refused = await buyer.post(f"/orders/{order_id}/receipt")
    assert refused.headers["location"] == f"/orders/{order_id}"
    assert "this needs shipped" in flash_of(await buyer.get(f"/orders/{order_id}"))

    back_office = await seller.get("/seller")
    assert order_id in back_office.text
    shipped = await seller.post(
        f"/seller/orders/{order_id}/ship", {"carrier": "SF Express", "tracking_no": "SF123456"}
    )
    assert shipped.headers["location"] == "/seller"
    assert "shipped" in flash_of(await seller.get("/seller"))

    assert "Confirm receipt" in (await buyer.get(f"/orders/{order_id}")).text
    await buyer.post(f"/orders/{order_id}/receipt")
    detail = await buyer.get(f"/orders/{order_id}")
    assert "Receipt confirmed" in flash_of(detail)
    assert "Return and refund" in detail.text
    await buyer.post(f"/orders/{order_id}/return", {"reason": "colour is off"})
    assert "Return requested" in flash_of(await buyer.get(f"/orders/{order_id}"))

    waiting = await seller.get("/seller")
    assert "colour is off" in waiting.text
    case_id = (await buyer.http.get("/api/aftersales")).json()[0]["id"]
    approved = await seller.post(f"/seller/cases/{case_id}/respond", {"decision": "approve"})
    assert approved.headers["location"] == "/seller"
    inspected = await seller.get("/seller")
    assert "Returned units to inspect" in inspected.text
    await seller.post(f"/seller/cases/{case_id}/restock", {"resellable": "yes"})
    assert await _on_hand(client, made.id) == [3]

    final = await buyer.get(f"/orders/{order_id}")
    assert "Refunded" in final.text
    assert 'data-testid="refunded">¥88.00' in final.text
    for kind in ["placed", "paid", "shipped", "delivered", "case opened", "refunded", "restocked"]:
        assert kind in final.text, kind


async def test_a_rejected_return_goes_to_the_operator_who_refunds(
    client: httpx.AsyncClient, users: Any, uow: Any
) -> None:
    buyer, seller, order_id, _ = await _bought_and_paid(client, users)
    await seller.post(
        f"/seller/orders/{order_id}/ship", {"carrier": "YTO", "tracking_no": "YT-0001"}
    )
    await buyer.post(f"/orders/{order_id}/receipt")
    await buyer.post(f"/orders/{order_id}/return", {"reason": "scratched"})
    case_id = (await buyer.http.get("/api/aftersales")).json()[0]["id"]

    no_note = await seller.post(f"/seller/cases/{case_id}/respond", {"decision": "reject"})
    assert no_note.headers["location"] == "/seller"
    assert "say why" in flash_of(await seller.get("/seller"))
    await seller.post(
        f"/seller/cases/{case_id}/respond", {"decision": "reject", "note": "it was fine"}
    )
    detail = await buyer.get(f"/orders/{order_id}")
    assert "it was fine" in detail.text
    assert "Escalate to the platform" in detail.text
    await buyer.post(f"/cases/{case_id}/escalate", {"reason": "photos attached"})

    operator = await users(name="Op", ships=False)
    async with uow() as ctx:
        found = await find_user_by_email(ctx, operator.email)
        assert found is not None
        await do_grant_roles(ctx, found.id, frozenset({Role.OPERATOR}))
    queue = await operator.get("/operator")
    assert "photos attached" in queue.text
    await operator.post(f"/operator/cases/{case_id}/decide", {"ruling": "refund", "note": "ok"})
    assert "No disputes" in (await operator.get("/operator")).text
    assert "Refunded" in (await buyer.get(f"/orders/{order_id}")).text


async def test_the_buyer_refunds_before_shipping_or_cancels_an_unpaid_order(
    client: httpx.AsyncClient, users: Any
) -> None:
    buyer, _, order_id, made = await _bought_and_paid(client, users)
    await buyer.post(f"/orders/{order_id}/refund", {"reason": "changed my mind"})
    assert "Refunded" in flash_of(await buyer.get(f"/orders/{order_id}"))
    assert await _on_hand(client, made.id) == [3]

    key = await buyer.key_from(f"/products/{made.id}")
    await buyer.post(
        "/buy-now", {"sku_id": made.sku_ids[0], "quantity": "2", "idempotency_key": key}
    )
    unpaid = next(
        o for o in (await buyer.http.get("/api/orders")).json() if o["status"] == "pending_payment"
    )
    assert "Pay" in (await buyer.get("/orders")).text
    again = await buyer.post(f"/orders/{unpaid['id']}/pay")
    assert again.headers["location"].startswith("/sandbox/pay/")
    await buyer.post(f"/orders/{unpaid['id']}/cancel")
    assert "cancelled" in flash_of(await buyer.get(f"/orders/{unpaid['id']}"))
    assert await _on_hand(client, made.id) == [3]


async def test_another_buyer_cannot_see_or_change_an_order(
    client: httpx.AsyncClient, users: Any
) -> None:
    _, _, order_id, _ = await _bought_and_paid(client, users)
    stranger = await users()
    assert (await stranger.get(f"/orders/{order_id}")).status_code == 404
    await stranger.post(f"/orders/{order_id}/refund")
    assert "not found" in flash_of(await stranger.get("/orders"))


# ---------------------------------------------------------------- the back office


async def test_the_seller_lists_reprices_restocks_and_hides_a_product(
    client: httpx.AsyncClient, users: Any
) -> None:
    seller = await users("seller")
    await seller.post("/seller/shop", {"name": "Jade Hall"})
    form = {
        "title": "Hetian jade bangle",
        "category": "jade",
        "description": "certified",
        "images": "https://img.example.com/bangle.jpg",
        "attributes_0": "size=56mm",
        "price_0": "1288",
        "stock_0": "2",
        "attributes_1": "size=58mm, tone=white",
        "price_1": "1388.50",
        "stock_1": "1",
    }
    created = await seller.post("/seller/products", form)
    assert created.headers["location"] == "/seller/products"
    product = (await client.get("/api/products", params={"q": "bangle"})).json()["items"][0]
    detail = (await client.get(f"/api/products/{product['id']}")).json()
    assert [s["price_minor"] for s in detail["skus"]] == [128_800, 138_850]
    assert detail["skus"][1]["attributes"] == {"size": "58mm", "tone": "white"}
    first_sku = detail["skus"][0]["id"]

    await seller.post(f"/seller/skus/{first_sku}/price", {"price": "999.00"})
    await seller.post(f"/seller/skus/{first_sku}/stock", {"delta": "5"})
    refused = await seller.post(f"/seller/skus/{first_sku}/stock", {"delta": "-100"})
    assert refused.headers["location"] == "/seller/products"
    assert "fewer are on hand" in flash_of(await seller.get("/seller/products"))
    await seller.post(f"/seller/products/{product['id']}/visibility", {"status": "hidden"})

    after = (await seller.http.get(f"/api/products/{product['id']}")).json()
    assert after["skus"][0]["price_minor"] == 99_900
    assert after["skus"][0]["stock"] == 7
    assert after["status"] == "hidden"
    assert (await client.get(f"/products/{product['id']}")).status_code == 404
    page = await seller.get("/seller/products")
    assert "Hetian jade bangle" in page.text
    assert "hidden" in page.text


async def test_a_bad_product_form_is_shown_again_with_what_was_typed(users: Any) -> None:
    seller = await users("seller")
    await seller.post("/seller/shop", {"name": "Tea Hall"})
    answer = await seller.post(
        "/seller/products",
        {"title": "Oolong", "category": "food", "attributes_0": "weight=100g", "price_0": "1.234"},
    )
    assert answer.status_code == 422
    assert "decimal places" in answer.text
    assert 'value="Oolong"' in answer.text
    assert 'value="weight=100g"' in answer.text


async def test_late_orders_are_highlighted_in_the_back_office(
    client: httpx.AsyncClient, users: Any, clock: Any
) -> None:
    _, seller, order_id, _ = await _bought_and_paid(client, users)
    assert f'class="ship-row" data-order-id="{order_id}"' in (await seller.get("/seller")).text
    clock.advance(timedelta(hours=49))
    page = (await seller.get("/seller")).text
    assert f'class="ship-row late" data-order-id="{order_id}"' in page


async def test_the_seller_withdraws_its_released_balance_from_the_back_office(
    app: Any, client: httpx.AsyncClient, users: Any, clock: Any
) -> None:
    from laotie.orders.jobs import complete_orders

    buyer, seller, order_id, _made = await _bought_and_paid(client, users)
    await seller.post(
        f"/seller/orders/{order_id}/ship", {"carrier": "SF Express", "tracking_no": "SF123456"}
    )
    await buyer.post(f"/orders/{order_id}/receipt")
    clock.advance(timedelta(days=8))
    assert await complete_orders(app.state) == 1
    page = await seller.get("/seller")
    assert "No payout yet" in page.text and 'action="/seller/payouts"' not in page.text
    saved = await seller.post(
        "/seller/payout-account", {"holder_name": "Green Shop", "account_no": "6222-1234"}
    )
    assert "Payout account saved" in flash_of(await seller.get(saved.headers["location"]))
    too_much = await seller.post("/seller/payouts", {"amount": "100000"})
    assert "does not cover ¥100,000.00" in flash_of(await seller.get(too_much.headers["location"]))
    await seller.post("/seller/payouts", {"amount": "10.00"})
    page = await seller.get("/seller")
    assert "Payout requested" in flash_of(page)
    assert "6222-1234" in page.text and ">paid<" in page.text
