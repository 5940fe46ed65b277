"""Every request text refuses control characters (422 `control_characters`) and blank names.

NUL bytes used to reach PostgreSQL, which refuses them with a 500; these run on both
databases.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from laotie.accounts.deps import SESSION_COOKIE
from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.core.text import TextError, clean_text
from tests.factories import PASSWORD, sign_up
from tests.fresh_db import TEST_ORIGIN
from tests.live.sale_room import go_live
from tests.orders.world import buy_and_pay, make_world

NUL = "a\x00b"


def _refused(answer: httpx.Response, code: str, field: str) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == code
    assert field in {error["field"] for error in body["errors"]}
    assert body["message"]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (NUL, "control_characters"),
        ("Li\x1b[31m", "control_characters"),
        ("\x85", "control_characters"),
        ("   ", "blank"),
    ],
)
async def test_a_sign_up_name_with_control_characters_or_blank_is_refused(
    client: httpx.AsyncClient, value: str, code: str
) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    answer = await client.post(
        "/api/auth/sign-up", json={"email": email, "password": PASSWORD, "name": value}
    )
    _refused(answer, code, "name")


async def test_the_sign_up_form_refuses_a_nul_in_the_name(client: httpx.AsyncClient) -> None:
    form = {"email": "nul@example.com", "password": PASSWORD, "name": NUL, "role": "buyer"}
    page = await client.post("/sign-up", data=form, headers={"Origin": TEST_ORIGIN})
    assert page.status_code == 422
    assert "control characters" in page.text
    assert SESSION_COOKIE not in page.headers.get("set-cookie", "")  # nobody is signed in


async def test_a_session_title_with_a_nul_is_refused(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    show = await go_live(client, clock, "Tea", price_minor=1_000, stock=5)
    answer = await client.post(
        "/api/live/sessions",
        json={
            "shop_id": "shp_x",
            "title": NUL,
            "scheduled_at": clock.now().isoformat(),
        },
        headers=show.anchor.headers,
    )
    _refused(answer, "control_characters", "title")
    blank = await client.post(
        "/api/live/sessions",
        json={"shop_id": "shp_x", "title": " ", "scheduled_at": clock.now().isoformat()},
        headers=show.anchor.headers,
    )
    _refused(blank, "blank", "title")


async def test_a_room_order_with_a_nul_in_its_ids_is_refused(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    show = await go_live(client, clock, "Tea", price_minor=1_000, stock=5)
    buyer = await sign_up(client, Role.BUYER)
    answer = await client.post(
        f"/api/live/sessions/{show.session_id}/orders",
        json={"sku_id": NUL, "quantity": 1},
        headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    _refused(answer, "control_characters", "sku_id")


async def test_a_carrier_and_a_case_reason_with_a_nul_are_refused(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    order_id = await buy_and_pay(client, world.buyer, [(world.sku_ids[0], 1)])
    shipment = await client.post(
        f"/api/orders/{order_id}/shipment",
        json={"carrier": NUL, "tracking_no": "SF200"},
        headers=world.seller.headers,
    )
    _refused(shipment, "control_characters", "carrier")
    case = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "refund_only", "reason": NUL},
        headers=world.buyer.headers,
    )
    _refused(case, "control_characters", "reason")
    several_lines = await client.post(
        f"/api/orders/{order_id}/aftersales",
        json={"kind": "refund_only", "reason": "  arrived torn\n\tsee photo  "},
        headers=world.buyer.headers,
    )
    assert several_lines.status_code == 201, several_lines.text
    assert several_lines.json()["reason"] == "arrived torn\n\tsee photo"


def test_one_text_rule_for_every_field() -> None:
    assert clean_text("  Li  ") == "Li"
    assert clean_text("a\r\nb", multiline=True) == "a\nb"
    assert clean_text(" pass word ", strip=False) == " pass word "
    for value, options in (("a\nb", {}), ("a\x00b", {"multiline": True}), ("\x9f", {})):
        with pytest.raises(TextError) as refused:
            clean_text(value, **options)
        assert refused.value.code == "control_characters"
    with pytest.raises(TextError) as blank:
        clean_text(" \t ", multiline=True, blank=False)
    assert blank.value.code == "blank"


@pytest.mark.parametrize(
    "path",
    [
        "/api/live/sessions/a%00b",
        "/api/orders/a%00b",
        "/api/live/sessions?shop_id=a%00b",
        "/api/products?category=a%1F",
        "/live/a%00b",
    ],
)
async def test_a_control_character_in_a_path_or_query_is_refused(
    client: httpx.AsyncClient, path: str
) -> None:
    user = await sign_up(client)
    answer = await client.get(path, headers=user.headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "control_characters"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("recipient", NUL, "control_characters"), ("street", "  ", "blank"), ("phone", NUL, None)],
)
async def test_an_address_with_control_characters_or_a_blank_street_is_refused(
    client: httpx.AsyncClient, field: str, value: str, code: str | None
) -> None:
    buyer = await sign_up(client, Role.BUYER, address=False)
    address = {
        "recipient": "张三",
        "phone": "13800138000",
        "province_code": "330000",
        "city_code": "330100",
        "district_code": "330106",
        "street": "文三路 90 号",
        field: value,
    }
    answer = await client.post("/api/addresses", json=address, headers=buyer.headers)
    if code is None:  # the phone's own pattern refuses it first
        assert answer.status_code == 422, answer.text
    else:
        _refused(answer, code, field)
    listed = await client.get("/api/addresses", headers=buyer.headers)
    assert listed.json() == []  # nothing half-written


async def test_a_payout_account_holder_with_a_nul_is_refused(
    client: httpx.AsyncClient, uow: Any
) -> None:
    world = await make_world(client, uow)
    answer = await client.put(
        f"/api/shops/{world.shop_id}/payout-account",
        json={"holder_name": NUL, "account_no": "6222-0001"},
        headers=world.seller.headers,
    )
    _refused(answer, "control_characters", "holder_name")
