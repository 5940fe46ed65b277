"""Every mutating API route refuses strangers: built from the app's route table.

Each POST, PUT, PATCH or DELETE under /api must be declared below, either as public by
design or with who may call it; a new route without a declaration, or with a path
parameter this file cannot fill, fails `test_every_mutating_api_route_is_declared`, so
its permissions are decided consciously. For every declared route the request is built
from the route's own request model (its `json_schema_extra` example, with placeholder ids
replaced by the owner's objects) and sent:

- with no credentials: 401, and the database is unchanged;
- as every persona that is neither the owner nor holding the needed role: 401, 403 or 404,
  and the database is unchanged (every table, row by row);
- as the allowed persona: 2xx, which proves the request was valid and the refusals above
  came from the permission check, not from a bad request or a wrong state.

Every refusal seen on the way is JSON with a string `code` and `message`.
"""

from __future__ import annotations

import json
import re
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import select

from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles
from laotie.catalog.models import Sku
from laotie.models import metadata
from laotie.orders import ledger
from laotie.orders.models import Payment
from laotie.supply.closing import do_confirm
from laotie.supply.models import Campaign, Commitment, ProductionRun
from laotie.trust.models import BrushingFlag
from tests.factories import ADDRESS, PASSWORD, ApiUser, sign_in, sign_up
from tests.orders.world import make_shop_with_skus, pay

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED = frozenset({401, 403, 404})

# Open to anybody by design; each is guarded by something other than a signed-in user.
PUBLIC: dict[tuple[str, str], str] = {
    ("POST", "/api/auth/sign-up"): "creates an account",
    ("POST", "/api/auth/tokens"): "signs in (rate-limited, password-checked)",
    ("POST", "/api/payments/webhooks/{provider}"): "the provider's HMAC signature is checked",
    ("POST", "/api/payouts/webhooks/{provider}"): "the provider's HMAC signature is checked",
    ("POST", "/api/media/publish"): "the media server's callback, its token checked",
    ("POST", "/api/media/publish-done"): "the media server's callback, its token checked",
    # The sandbox's hosted pay page is the provider's, outside /api; listed for the record.
    ("POST", "/sandbox/pay/{payment_id}"): "the provider's own page, outside the API",
}


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and on which of the owner's objects it is tried.

    `allowed` names a persona (the route acts on that persona's objects), `seller` (any
    seller, acting for itself), or `self` (any signed-in user, acting only on its own
    account: the others are allowed too, and must leave the owner's things alone).
    """

    allowed: str
    objects: dict[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    also: tuple[str, ...] = ()  # other personas allowed too (an operator moderating)


RULES: dict[tuple[str, str], Rule] = {
    ("DELETE", "/api/auth/tokens/current"): Rule("self"),
    ("DELETE", "/api/auth/tokens/{token_id}"): Rule("seller_a", {"token_id": "api_token"}),
    ("POST", "/api/live/tickets"): Rule("self"),
    ("POST", "/api/shops"): Rule("seller"),
    ("PATCH", "/api/shops/{shop_id}"): Rule("seller_a"),
    ("POST", "/api/shops/{shop_id}/verification"): Rule("operator"),
    ("POST", "/api/categories"): Rule("operator"),
    ("POST", "/api/shops/{shop_id}/products"): Rule("seller_a"),
    ("PATCH", "/api/products/{product_id}"): Rule("seller_a"),
    ("POST", "/api/products/{product_id}/skus"): Rule("seller_a"),
    ("PATCH", "/api/skus/{sku_id}"): Rule("seller_a"),
    ("POST", "/api/skus/{sku_id}/stock-adjustments"): Rule("seller_a"),
    ("POST", "/api/orders"): Rule("self"),
    ("PUT", "/api/cart/items/{sku_id}"): Rule("self"),
    ("DELETE", "/api/cart/items/{sku_id}"): Rule("self", needs=("cart_item",)),
    ("POST", "/api/cart/checkout"): Rule("self", needs=("cart_item",)),
    ("POST", "/api/orders/{order_id}/cancellation"): Rule("buyer_a", {"order_id": "pending_order"}),
    ("POST", "/api/orders/{order_id}/shipment"): Rule("seller_a", {"order_id": "paid_order"}),
    ("POST", "/api/orders/{order_id}/receipt"): Rule("buyer_a", {"order_id": "shipped_order"}),
    ("POST", "/api/payments"): Rule("buyer_a"),
    ("PUT", "/api/shops/{shop_id}/payout-account"): Rule("seller_a"),
    ("POST", "/api/shops/{shop_id}/payouts"): Rule("seller_a", needs=("payout_ready",)),
    ("POST", "/api/shops/{shop_id}/top-ups"): Rule("seller_a"),
    ("POST", "/api/shops/{shop_id}/deposit-payments"): Rule("seller_a"),
    ("POST", "/api/orders/{order_id}/aftersales"): Rule("buyer_a", {"order_id": "delivered_order"}),
    ("POST", "/api/aftersales/{case_id}/response"): Rule("seller_a", {"case_id": "requested_case"}),
    ("POST", "/api/aftersales/{case_id}/escalation"): Rule("buyer_a", {"case_id": "rejected_case"}),
    ("POST", "/api/aftersales/{case_id}/decision"): Rule("operator", {"case_id": "disputed_case"}),
    ("POST", "/api/aftersales/{case_id}/restock"): Rule("seller_a", {"case_id": "returned_case"}),
    ("POST", "/api/live/sessions"): Rule("seller_a"),
    ("POST", "/api/live/sessions/{session_id}/start"): Rule("seller_a"),
    ("POST", "/api/live/sessions/{session_id}/end"): Rule(
        "seller_a", {"session_id": "live_session"}
    ),
    ("PUT", "/api/live/sessions/{session_id}/cart"): Rule("seller_a"),
    ("PUT", "/api/live/sessions/{session_id}/pin"): Rule(
        "seller_a", {"session_id": "live_session"}
    ),
    ("POST", "/api/live/sessions/{session_id}/flash-sales"): Rule(
        "seller_a", {"session_id": "live_session"}
    ),
    ("POST", "/api/live/flash-sales/{sale_id}/end"): Rule("seller_a"),
    ("POST", "/api/live/sessions/{session_id}/orders"): Rule(
        "self", {"session_id": "live_session"}
    ),
    ("POST", "/api/live/sessions/{session_id}/moderation"): Rule(
        "seller_a", {"session_id": "live_session"}, also=("operator",)
    ),
    ("POST", "/api/addresses"): Rule("self"),
    ("PATCH", "/api/addresses/{address_id}"): Rule("buyer_a"),
    ("DELETE", "/api/addresses/{address_id}"): Rule("buyer_a"),
    ("POST", "/api/addresses/{address_id}/default"): Rule("buyer_a"),
    ("PUT", "/api/shops/{shop_id}/freight"): Rule("seller_a"),
    ("POST", "/api/orders/quote"): Rule("self"),
    ("POST", "/api/orders/{order_id}/reviews"): Rule("buyer_a", {"order_id": "delivered_order"}),
    ("POST", "/api/reviews/{review_id}/follow-up"): Rule("buyer_a"),
    ("POST", "/api/reviews/{review_id}/reply"): Rule("seller_a"),
    ("POST", "/api/orders/{order_id}/reports"): Rule("buyer_a"),
    ("POST", "/api/live/sessions/{session_id}/reports"): Rule(
        "self", {"session_id": "live_session"}
    ),
    ("POST", "/api/operator/reports/{report_id}/decision"): Rule("operator"),
    ("POST", "/api/violations/{violation_id}/appeal"): Rule("seller_a"),
    ("POST", "/api/operator/appeals/{appeal_id}/decision"): Rule("operator"),
    ("POST", "/api/operator/brushing-flags/{flag_id}/decision"): Rule("operator"),
    ("PUT", "/api/follows/{kind}/{target_id}"): Rule("self"),
    ("DELETE", "/api/follows/{kind}/{target_id}"): Rule("self"),
    ("POST", "/api/live/sessions/{session_id}/rsvp"): Rule("self"),
    ("DELETE", "/api/live/sessions/{session_id}/rsvp"): Rule("self"),
    ("PUT", "/api/anchors/{anchor_id}/mute"): Rule("self"),
    ("DELETE", "/api/anchors/{anchor_id}/mute"): Rule("self"),
    ("POST", "/api/me/inbox/read"): Rule("self"),
    ("POST", "/api/me/inbox/{session_id}/read"): Rule("self"),
    ("POST", "/api/me/tickets"): Rule("self"),
    ("PUT", "/api/fan-groups/{anchor_id}"): Rule("self"),
    ("DELETE", "/api/fan-groups/{anchor_id}"): Rule("self"),
    ("PUT", "/api/live/sessions/{session_id}/fan-prices/{sku_id}"): Rule("seller_a"),
    ("DELETE", "/api/live/sessions/{session_id}/fan-prices/{sku_id}"): Rule("seller_a"),
    ("POST", "/api/coupons"): Rule("seller_a"),
    ("POST", "/api/coupons/{coupon_id}/claim"): Rule("self"),
    ("POST", "/api/live/sessions/{session_id}/promotions"): Rule("seller_a", needs=("ad_funds",)),
    ("POST", "/api/promotions/{promotion_id}/stop"): Rule("seller_a"),
    # The anchor persona also holds a factory account, and owns the factory.
    ("POST", "/api/factories"): Rule("anchor"),
    ("PATCH", "/api/factories/{factory_id}"): Rule("anchor"),
    ("POST", "/api/factories/{factory_id}/verification"): Rule("operator"),
    ("POST", "/api/shops/{shop_id}/partners"): Rule("seller_a"),
    ("DELETE", "/api/shops/{shop_id}/partners/{factory_id}"): Rule(
        "seller_a", needs=("partnership_request",), also=("anchor",)
    ),
    ("POST", "/api/factories/{factory_id}/partners/{shop_id}/answer"): Rule(
        "anchor", needs=("partnership_request",)
    ),
    ("POST", "/api/campaigns"): Rule("seller_a", needs=("campaign_ready",)),
    ("POST", "/api/campaigns/{campaign_id}/commitments"): Rule("self"),
    ("POST", "/api/commitments/{commitment_id}/withdrawal"): Rule("buyer_a"),
    ("POST", "/api/runs/{run_id}/steps"): Rule("anchor"),
    ("POST", "/api/runs/{run_id}/decline"): Rule("anchor"),
    ("POST", "/api/runs/{run_id}/shipment"): Rule("anchor", {"run_id": "checked_run"}),
    ("POST", "/api/commitments/{commitment_id}/balance"): Rule(
        "buyer_a", needs=("confirmed_campaign",)
    ),
    ("POST", "/api/campaigns/{campaign_id}/cancellation"): Rule(
        "seller_a", {"campaign_id": "confirmed_campaign"}
    ),
    ("POST", "/api/campaigns/{campaign_id}/reruns"): Rule(
        "seller_a", {"campaign_id": "shipped_campaign"}
    ),
    ("PUT", "/api/shops/{shop_id}/pool/{product_id}"): Rule("seller_a"),
    ("POST", "/api/pool/offers/{offer_id}/withdrawal"): Rule("seller_a"),
    # Seller A holds the anchor role too, and the offer is its own: refused as well.
    ("POST", "/api/pool/offers/{offer_id}/applications"): Rule("anchor"),
    ("POST", "/api/pool/applications/{application_id}/decision"): Rule("seller_a"),
    ("PUT", "/api/me/payout-account"): Rule("anchor", also=("seller_a",)),
    ("POST", "/api/me/payouts"): Rule(
        "anchor", needs=("anchor_payout_ready",), also=("seller_a",)
    ),  # Sellers host their own shows: they hold stream keys too.
    ("POST", "/api/me/stream-key"): Rule("anchor", also=("seller_a", "seller_b")),
    ("DELETE", "/api/me/stream-key"): Rule(
        "anchor", needs=("stream_key",), also=("seller_a", "seller_b")
    ),
}

# Which of the owner's objects fills a path parameter (a rule may ask for another state).
PARAM_KINDS: dict[str, str] = {
    "shop_id": "shop",
    "product_id": "product",
    "sku_id": "sku",
    "order_id": "paid_order",
    "case_id": "requested_case",
    "payment_id": "payment",
    "provider": "provider",
    "session_id": "scheduled_session",
    "sale_id": "flash_sale",
    "token_id": "api_token",
    "address_id": "address",
    "review_id": "review",
    "report_id": "report",
    "violation_id": "violation",
    "appeal_id": "appeal",
    "flag_id": "flag",
    "kind": "follow_kind",
    "target_id": "shop",
    "anchor_id": "anchor_user",
    "coupon_id": "coupon",
    "promotion_id": "promotion",
    "factory_id": "factory",
    "campaign_id": "campaign",
    "commitment_id": "commitment",
    "run_id": "production_run",
    "offer_id": "pool_offer",
    "application_id": "pool_application",
}

# Ids in the request models' examples, and the owner's object that replaces each.
PLACEHOLDERS: dict[str, str] = {
    "sku_x": "sku",
    "ord_x": "pending_order",
    "shp_x": "shop",
    "prd_x": "product",
    "liv_x": "scheduled_session",
    "oln_x": "delivered_line",
    "fac_x": "factory",
}

PERSONAS = ("seller_a", "buyer_a", "seller_b", "buyer_b", "anchor", "operator")


# ---------------------------------------------------------------- the route table


@dataclass(frozen=True)
class Endpoint:
    """A mutating route: method, path template, parameters and request model."""

    method: str
    path: str
    params: tuple[str, ...]
    model: type[BaseModel] | None


def _api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Yield every APIRoute, looking inside included routers where FastAPI nests them."""
    iterate = getattr(routing, "iter_route_contexts", None)
    candidates = (
        (context.original_route for context in iterate(app.routes)) if iterate else app.routes
    )
    for route in candidates:
        if isinstance(route, APIRoute):
            yield route


def _request_model(route: APIRoute) -> type[BaseModel] | None:
    """Return the pydantic model the route reads from the body, if any."""
    hints = typing.get_type_hints(route.endpoint, include_extras=False)
    models = [
        hint
        for name, hint in hints.items()
        if name != "return" and isinstance(hint, type) and issubclass(hint, BaseModel)
    ]
    return models[0] if models else None


def mutating_endpoints(app: FastAPI) -> dict[tuple[str, str], Endpoint]:
    """Return every mutating route of the app, by (method, path)."""
    found: dict[tuple[str, str], Endpoint] = {}
    for route in _api_routes(app):
        for method in sorted(route.methods & MUTATING):
            params = tuple(re.findall(r"\{(\w+)(?::[^}]*)?\}", route.path))
            found[(method, route.path)] = Endpoint(
                method, route.path, params, _request_model(route)
            )
    return found


def api_endpoints(app: FastAPI) -> dict[tuple[str, str], Endpoint]:
    """Return the mutating routes under /api."""
    return {key: e for key, e in mutating_endpoints(app).items() if e.path.startswith("/api/")}


def example_body(model: type[BaseModel] | None, *, required: bool = True) -> dict[str, Any] | None:
    """Return the first example of a request model (every non-public one declares one)."""
    if model is None:
        return None
    examples = model.model_json_schema().get("examples") or []
    if not examples and not required:
        return {}
    assert examples, f"{model.__name__} declares no json_schema_extra example"
    body: dict[str, Any] = examples[0]
    return body


# ---------------------------------------------------------------- the owner's things


class Estate:
    """The personas and the owner's objects, each made on first use, through the API."""

    def __init__(self, client: httpx.AsyncClient, uow: Any) -> None:
        self.client = client
        self.uow = uow
        self.people: dict[str, ApiUser] = {}
        self.made: dict[str, str] = {}

    async def populate(self) -> None:
        """Sign the personas up; seller A and seller B each get a shop."""
        # Seller A hosts its own shows, as most sellers do: its fans get its coupons.
        self.people["seller_a"] = await sign_up(
            self.client, Role.SELLER, Role.ANCHOR, name="Seller A"
        )
        self.people["buyer_a"] = await sign_up(self.client, Role.BUYER, name="Buyer A")
        self.people["seller_b"] = await sign_up(self.client, Role.SELLER, name="Seller B")
        self.people["buyer_b"] = await sign_up(self.client, Role.BUYER, name="Buyer B")
        self.people["anchor"] = await sign_up(self.client, Role.ANCHOR, Role.FACTORY, name="Anchor")
        operator = await sign_up(self.client, Role.BUYER, name="Operator")
        async with self.uow() as ctx:
            await do_grant_roles(ctx, operator.id, frozenset({Role.OPERATOR}))
        self.people["operator"] = ApiUser(
            operator.id, operator.email, await sign_in(self.client, operator.email)
        )
        shop_id, sku_ids = await make_shop_with_skus(
            self.uow, self.people["seller_a"].id, (50, 50), (1_000, 500)
        )
        await make_shop_with_skus(self.uow, self.people["seller_b"].id, (5,), (700,))
        async with self.uow() as ctx:
            product_id = await ctx.db.scalar(select(Sku.product_id).where(Sku.id == sku_ids[0]))
        self.made.update(shop=shop_id, sku=sku_ids[0], product=str(product_id))
        self.made["provider"] = "sandbox"
        self.made["follow_kind"] = "shop"  # the follow routes are tried on seller A's shop
        self.made["anchor_user"] = self.people["anchor"].id  # mutes are tried on the anchor

    async def get(self, kind: str) -> str:
        """Return the owner's object of this kind, making it (and what it needs) first."""
        if kind not in self.made:
            self.made[kind] = await MAKERS[kind](self)
        return self.made[kind]

    async def ok(self, method: str, path: str, who: str, **kwargs: Any) -> dict[str, Any]:
        """Call as a persona and require success."""
        headers = {**self.people[who].headers, **kwargs.pop("headers", {})}
        answer = await self.client.request(method, path, headers=headers, **kwargs)
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        body: dict[str, Any] = answer.json() if answer.content else {}
        return body

    async def ok_list(self, method: str, path: str, who: str) -> list[dict[str, Any]]:
        """Call as a persona, require success, and return the list it answers."""
        answer = await self.client.request(method, path, headers=self.people[who].headers)
        assert answer.status_code == 200, f"{method} {path}: {answer.text}"
        listed: list[dict[str, Any]] = answer.json()
        return listed

    async def new_order(self) -> str:
        """Buyer A places an order for one unit of the owner's SKU."""
        placed = await self.ok(
            "POST",
            "/api/orders",
            "buyer_a",
            json={"lines": [{"sku_id": await self.get("sku"), "quantity": 1}]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        return str(placed["orders"][0]["id"])

    async def paid_order(self) -> str:
        """A new order of buyer A, paid."""
        order_id = await self.new_order()
        await pay(self.client, self.people["buyer_a"], [order_id])
        return order_id

    async def shipped_order(self) -> str:
        """A new order of buyer A, paid and shipped."""
        order_id = await self.paid_order()
        await self.ok(
            "POST",
            f"/api/orders/{order_id}/shipment",
            "seller_a",
            json={"carrier": "SF Express", "tracking_no": "SF0001"},
        )
        return order_id

    async def delivered_order(self) -> str:
        """A new order of buyer A, received."""
        order_id = await self.shipped_order()
        await self.ok("POST", f"/api/orders/{order_id}/receipt", "buyer_a")
        return order_id

    async def requested_case(self) -> str:
        """A return request on a new delivered order of buyer A."""
        order_id = await self.delivered_order()
        case = await self.ok(
            "POST",
            f"/api/orders/{order_id}/aftersales",
            "buyer_a",
            json={"kind": "return_refund", "reason": "too small"},
        )
        return str(case["id"])

    async def answered_case(self, approve: bool) -> str:
        """A return request the seller has approved or rejected."""
        case_id = await self.requested_case()
        await self.ok(
            "POST",
            f"/api/aftersales/{case_id}/response",
            "seller_a",
            json={"approve": approve, "note": ""},
        )
        return case_id

    async def disputed_case(self) -> str:
        """A rejected return request that buyer A took to an operator."""
        case_id = await self.answered_case(False)
        await self.ok(
            "POST", f"/api/aftersales/{case_id}/escalation", "buyer_a", json={"reason": "no"}
        )
        return case_id

    async def payment(self) -> str:
        """A payment buyer A opened for a new order."""
        order_id = await self.new_order()
        started = await self.ok("POST", "/api/payments", "buyer_a", json={"order_ids": [order_id]})
        return str(started["id"])

    async def payout_ready(self) -> str:
        """Seller A's shop has a payout account and some money released to it."""
        shop_id = await self.get("shop")
        await self.ok(
            "PUT",
            f"/api/shops/{shop_id}/payout-account",
            "seller_a",
            json={"holder_name": "Seller A", "account_no": "6222-0001"},
        )
        async with self.uow() as ctx:
            account = ledger.seller_account(shop_id)
            await ledger.post(ctx, "release", None, "CNY", [(ledger.ESCROW, 500), (account, -500)])
        return shop_id

    async def cart_item(self) -> str:
        """Buyer A's cart holds the owner's SKU."""
        sku_id = await self.get("sku")
        await self.ok("PUT", f"/api/cart/items/{sku_id}", "buyer_a", json={"quantity": 1})
        return sku_id

    async def address(self) -> str:
        """A second address in buyer A's book."""
        added = await self.ok("POST", "/api/addresses", "buyer_a", json=ADDRESS)
        return str(added["id"])

    async def scheduled_session(self) -> str:
        """Seller A's show, scheduled with the owner's product in its cart."""
        session = await self.ok(
            "POST",
            "/api/live/sessions",
            "seller_a",
            json={
                "shop_id": await self.get("shop"),
                "title": "Tasting",
                "scheduled_at": "2026-05-01T12:00:00Z",
                "product_ids": [await self.get("product")],
            },
        )
        return str(session["id"])

    async def live_session(self) -> str:
        """Seller A's show, live."""
        session_id = await self.scheduled_session()
        await self.ok("POST", f"/api/live/sessions/{session_id}/start", "seller_a")
        return session_id

    async def flash_sale(self) -> str:
        """A flash sale running in seller A's live show."""
        session_id = await self.get("live_session")
        sale = await self.ok(
            "POST",
            f"/api/live/sessions/{session_id}/flash-sales",
            "seller_a",
            json={"sku_id": await self.get("sku"), "price_minor": 100, "quantity": 5},
        )
        return str(sale["sale_id"])


async def _rejected_case(estate: Estate) -> str:
    return await estate.answered_case(False)


async def _returned_case(estate: Estate) -> str:
    return await estate.answered_case(True)


async def _api_token(estate: Estate) -> str:
    """Seller A signs in once more; return that token's id (not the one it calls with)."""
    await estate.ok(
        "POST",
        "/api/auth/tokens",
        "seller_a",
        json={"email": estate.people["seller_a"].email, "password": PASSWORD, "label": "spare"},
    )
    tokens = await estate.ok_list("GET", "/api/auth/tokens", "seller_a")
    return str(next(t["id"] for t in tokens if t["label"] == "spare"))


async def _delivered_line(estate: Estate) -> str:
    """The line of buyer A's delivered order."""
    order_id = await estate.get("delivered_order")
    placed = await estate.ok("GET", f"/api/orders/{order_id}", "buyer_a")
    return str(placed["lines"][0]["id"])


async def _review(estate: Estate) -> str:
    """Buyer A's review of a line of another delivered order of its own."""
    order_id = await estate.delivered_order()
    placed = await estate.ok("GET", f"/api/orders/{order_id}", "buyer_a")
    stars = {"product_stars": 4, "logistics_stars": 4, "service_stars": 4}
    body = {"line_id": placed["lines"][0]["id"], **stars}
    review = await estate.ok("POST", f"/api/orders/{order_id}/reviews", "buyer_a", json=body)
    return str(review["id"])


async def _report(estate: Estate) -> str:
    """Buyer A's report of a paid order of its own."""
    order_id = await estate.paid_order()
    body = {"kind": "fake_discount", "text": "The 'was' price never was."}
    report = await estate.ok("POST", f"/api/orders/{order_id}/reports", "buyer_a", json=body)
    return str(report["id"])


async def _violation(estate: Estate) -> str:
    """A violation of seller A's shop: buyer A's report, confirmed by the operator."""
    report_id = await estate.get("report")
    decision = {"confirm": True, "note": ""}
    path = f"/api/operator/reports/{report_id}/decision"
    await estate.ok("POST", path, "operator", json=decision)
    shop_id = await estate.get("shop")
    seen = await estate.ok("GET", f"/api/shops/{shop_id}/penalties", "seller_a")
    return str(seen["violations"][0]["id"])


async def _appeal(estate: Estate) -> str:
    """Seller A's appeal against the violation of its shop."""
    violation_id = await estate.get("violation")
    body = {"text": "The 'was' price held for thirty days."}
    appeal = await estate.ok(
        "POST", f"/api/violations/{violation_id}/appeal", "seller_a", json=body
    )
    return str(appeal["id"])


async def _coupon(estate: Estate) -> str:
    """Seller A's coupons for its fans, buyer A one of those fans."""
    seller = estate.people["seller_a"]
    coupon = await estate.ok(
        "POST",
        "/api/coupons",
        "seller_a",
        json={
            "shop_id": await estate.get("shop"),
            "title": "Fans' thanks",
            "amount_off_minor": 100,
            "quantity": 10,
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    await estate.ok("PUT", f"/api/fan-groups/{seller.id}", "buyer_a")
    return str(coupon["id"])


async def _ad_funds(estate: Estate) -> str:
    """Seller A's shop has money released to it, enough for a promotion's budget."""
    shop_id = await estate.get("shop")
    async with estate.uow() as ctx:
        account = ledger.seller_account(shop_id)
        legs = [(ledger.ESCROW, 100_000), (account, -100_000)]
        await ledger.post(ctx, "release", None, "CNY", legs)
    return shop_id


async def _promotion(estate: Estate) -> str:
    """A promotion of seller A's coming show, its budget held."""
    await estate.get("ad_funds")
    session_id = await estate.get("scheduled_session")
    body = {"pricing": "cpm", "price_minor": 3_000, "budget_minor": 50_000}
    bought = await estate.ok(
        "POST", f"/api/live/sessions/{session_id}/promotions", "seller_a", json=body
    )
    return str(bought["id"])


async def _flag(estate: Estate) -> str:
    """An open brushing flag on seller A's shop, as detection files one."""
    shop_id = await estate.get("shop")
    async with estate.uow() as ctx:
        now = ctx.now()
        ctx.db.add(
            BrushingFlag(
                id="flg_permissions",
                shop_id=shop_id,
                status="open",
                signals={},
                buyer_ids=[],
                created_at=now,
                updated_at=now,
            )
        )
    return "flg_permissions"


async def _factory(estate: Estate) -> str:
    """The anchor's factory (the anchor also holds a factory account), verified."""
    body = {
        "name": "Anchor Knitwear",
        "city": "Ningbo",
        "categories": ["apparel"],
        "moq": 100,
        "lead_time_days": 14,
        "weekly_capacity": 800,
        "price_tiers": [{"min_quantity": 100, "unit_price_minor": 9_000}],
    }
    factory = await estate.ok("POST", "/api/factories", "anchor", json=body)
    path = f"/api/factories/{factory['id']}/verification"
    await estate.ok("POST", path, "operator", json={"verified": True})
    return str(factory["id"])


async def _partnership_request(estate: Estate) -> str:
    """Seller A's shop has asked the anchor's factory to partner."""
    factory_id = await estate.get("factory")
    shop_id = await estate.get("shop")
    body = {"factory_id": factory_id}
    await estate.ok("POST", f"/api/shops/{shop_id}/partners", "seller_a", json=body)
    return factory_id


async def _campaign_ready(estate: Estate) -> str:
    """Seller A's shop partners with the anchor's factory and has paid its deposit."""
    factory_id = await estate.get("partnership_request")
    shop_id = await estate.get("shop")
    path = f"/api/factories/{factory_id}/partners/{shop_id}/answer"
    await estate.ok("POST", path, "anchor", json={"answer": "accept"})
    body = {"amount_minor": 5_000_000}  # behind the example campaign's 2,995,000
    opened = await estate.ok(
        "POST", f"/api/shops/{shop_id}/deposit-payments", "seller_a", json=body
    )
    await estate.client.post(opened["pay_url"], data={"action": "pay"})
    return shop_id


async def _campaign(estate: Estate) -> str:
    """Seller A's campaign with the anchor's factory, open a day."""
    await estate.get("campaign_ready")
    body = {
        "shop_id": await estate.get("shop"),
        "factory_id": await estate.get("factory"),
        "title": "Knit scarf",
        "category": "apparel",
        "options": {"colour": ["black"], "size": ["M"]},
        "price_tiers": [{"min_quantity": 100, "unit_price_minor": 10_000}],
        "moq": 100,
        "cap_units": 100,
        "deposit_bps": 1_000,
        "deadline": "2026-01-06T20:00:00Z",
    }
    campaign = await estate.ok("POST", "/api/campaigns", "seller_a", json=body)
    return str(campaign["id"])


async def _commitment(estate: Estate) -> str:
    """Buyer A's commitment to seller A's campaign, its deposit paid."""
    campaign_id = await estate.get("campaign")
    made = await estate.ok(
        "POST",
        f"/api/campaigns/{campaign_id}/commitments",
        "buyer_a",
        json={"variant": "black/M", "quantity": 1},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    await estate.client.post(made["pay_url"], data={"action": "pay"})
    return str(made["id"])


async def _confirmed_campaign(estate: Estate) -> str:
    """Seller A's campaign confirmed: buyer A's unit and buyer B's 99 reach its MOQ, so
    its product is listed, its run ordered from the anchor's factory and the balance due."""
    await estate.get("commitment")
    campaign_id = await estate.get("campaign")
    async with estate.uow() as ctx:
        ctx.db.add(
            Payment(
                id="pay_permissions",
                buyer_id=estate.people["buyer_b"].id,
                provider="sandbox",
                status="succeeded",
                amount_minor=99_000,
                currency="CNY",
                order_ids=[],
                purpose="c2m_deposit",
                created_at=ctx.now(),
            )
        )
        await ctx.db.flush()
        ctx.db.add(
            Commitment(
                id="cmt_permissions",
                campaign_id=campaign_id,
                buyer_id=estate.people["buyer_b"].id,
                variant="black/M",
                quantity=99,
                deposit_minor=99_000,
                payment_id="pay_permissions",
                idempotency_key="permissions",
                status="held",
                created_at=ctx.now(),
                paid_at=ctx.now(),
            )
        )
        await ctx.db.flush()
        campaign = await ctx.db.get(Campaign, campaign_id)
        assert campaign is not None
        held = await ctx.db.scalars(select(Commitment).where(Commitment.campaign_id == campaign_id))
        await do_confirm(ctx, campaign, list(held))
        campaign.closed_at = ctx.now()
    return campaign_id


async def _production_run(estate: Estate) -> str:
    """The purchase order to the anchor's factory that seller A's campaign's confirmation
    wrote."""
    campaign_id = await estate.get("confirmed_campaign")
    async with estate.uow() as ctx:
        run_id = await ctx.db.scalar(
            select(ProductionRun.id).where(ProductionRun.campaign_id == campaign_id)
        )
    assert run_id is not None
    return str(run_id)


async def _checked_run(estate: Estate) -> str:
    """The anchor's factory's run of seller A's campaign, through its quality check."""
    run_id = await estate.get("production_run")
    async with estate.uow() as ctx:
        run = await ctx.db.get(ProductionRun, run_id)
        assert run is not None
        run.status = "quality_check"
    return run_id


async def _shipped_campaign(estate: Estate) -> str:
    """Seller A's confirmed campaign, its run shipped: it may be made again."""
    run_id = await estate.get("production_run")
    async with estate.uow() as ctx:
        run = await ctx.db.get(ProductionRun, run_id)
        assert run is not None
        run.status = "shipped"
        run.steps = {**run.steps, "shipped": ctx.now().isoformat()}
    return await estate.get("confirmed_campaign")


async def _pool_offer(estate: Estate) -> str:
    """Seller A's product in the selection pool."""
    shop_id, product_id = await estate.get("shop"), await estate.get("product")
    offer = await estate.ok(
        "PUT", f"/api/shops/{shop_id}/pool/{product_id}", "seller_a", json={"commission_bps": 1_000}
    )
    return str(offer["id"])


async def _pool_application(estate: Estate) -> str:
    """The anchor's application to sell seller A's pooled product, waiting for an answer."""
    offer_id = await estate.get("pool_offer")
    applied = await estate.ok(
        "POST", f"/api/pool/offers/{offer_id}/applications", "anchor", json={}
    )
    return str(applied["id"])


async def _anchor_payout_ready(estate: Estate) -> str:
    """The anchor has a payout account and some commission released to it."""
    account = {"holder_name": "Anchor", "account_no": "6222-0009"}
    await estate.ok("PUT", "/api/me/payout-account", "anchor", json=account)
    anchor_id = estate.people["anchor"].id
    async with estate.uow() as ctx:
        legs = [(ledger.ESCROW, 500), (ledger.anchor_account(anchor_id), -500)]
        await ledger.post(ctx, "release", None, "CNY", legs)
    return anchor_id


async def _stream_key(estate: Estate) -> str:
    """The anchor's stream key."""
    made = await estate.ok("POST", "/api/me/stream-key", "anchor")
    return str(made["hint"])


MAKERS: dict[str, Callable[[Estate], Awaitable[str]]] = {
    "pending_order": Estate.new_order,
    "paid_order": Estate.paid_order,
    "shipped_order": Estate.shipped_order,
    "delivered_order": Estate.delivered_order,
    "requested_case": Estate.requested_case,
    "rejected_case": _rejected_case,
    "disputed_case": Estate.disputed_case,
    "returned_case": _returned_case,
    "payment": Estate.payment,
    "cart_item": Estate.cart_item,
    "address": Estate.address,
    "payout_ready": Estate.payout_ready,
    "scheduled_session": Estate.scheduled_session,
    "live_session": Estate.live_session,
    "flash_sale": Estate.flash_sale,
    "api_token": _api_token,
    "delivered_line": _delivered_line,
    "review": _review,
    "report": _report,
    "violation": _violation,
    "appeal": _appeal,
    "flag": _flag,
    "coupon": _coupon,
    "ad_funds": _ad_funds,
    "promotion": _promotion,
    "factory": _factory,
    "partnership_request": _partnership_request,
    "campaign_ready": _campaign_ready,
    "campaign": _campaign,
    "commitment": _commitment,
    "production_run": _production_run,
    "confirmed_campaign": _confirmed_campaign,
    "shipped_campaign": _shipped_campaign,
    "checked_run": _checked_run,
    "pool_offer": _pool_offer,
    "pool_application": _pool_application,
    "anchor_payout_ready": _anchor_payout_ready,
    "stream_key": _stream_key,
}


# ---------------------------------------------------------------- calling a route


@dataclass
class Request:
    """A ready request: the method, the filled path, and the JSON body."""

    method: str
    path: str
    body: dict[str, Any] | None


async def build_request(estate: Estate, endpoint: Endpoint, rule: Rule | None) -> Request:
    """Fill the path with the owner's objects and the body from the model's example."""
    objects = rule.objects if rule else {}
    for kind in rule.needs if rule else ():
        await estate.get(kind)
    path = endpoint.path
    for param in endpoint.params:
        value = await estate.get(objects.get(param, PARAM_KINDS[param]))
        path = re.sub(r"\{" + param + r"(?::[^}]*)?\}", value, path)
    body = example_body(endpoint.model, required=rule is not None)
    return Request(endpoint.method, path, await _fill(estate, body) if body is not None else None)


async def _fill(estate: Estate, value: Any) -> Any:
    """Replace the example's placeholder ids with the owner's objects."""
    if isinstance(value, dict):
        return {key: await _fill(estate, item) for key, item in value.items()}
    if isinstance(value, list):
        return [await _fill(estate, item) for item in value]
    if isinstance(value, str) and value in PLACEHOLDERS:
        return await estate.get(PLACEHOLDERS[value])
    return value


async def send(client: httpx.AsyncClient, request: Request, user: ApiUser | None) -> httpx.Response:
    """Send the request as a user (or nobody); every refusal must be a coded JSON answer."""
    headers = {"Idempotency-Key": uuid.uuid4().hex, **(user.headers if user else {})}
    answer = await client.request(request.method, request.path, json=request.body, headers=headers)
    assert answer.status_code < 500, f"{request.method} {request.path}: {answer.text}"
    if answer.status_code >= 400:
        assert_coded(answer)
    return answer


def assert_coded(answer: httpx.Response) -> None:
    """Require a refusal to be JSON with a string code and message."""
    body = answer.json()
    where = f"{answer.request.method} {answer.request.url.path} -> {answer.status_code}"
    assert isinstance(body, dict), where
    assert isinstance(body.get("code"), str) and body["code"], where
    assert isinstance(body.get("message"), str) and body["message"], where


async def snapshot(uow: Any) -> dict[str, list[tuple[str, ...]]]:
    """Return every row of every table, sorted, so that any change shows."""
    tables: dict[str, list[tuple[str, ...]]] = {}
    async with uow() as ctx:
        for table in metadata.sorted_tables:
            rows = (await ctx.db.execute(select(table))).all()
            tables[table.name] = sorted(tuple(map(str, row)) for row in rows)
    return tables


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Name the tables whose rows differ."""
    return [name for name in before if before[name] != after.get(name)]


def intruders(rule: Rule) -> list[str]:
    """Return the personas that are neither the owner nor holding the needed role."""
    if rule.allowed == "self":
        return []
    if rule.allowed == "seller":
        return [p for p in PERSONAS if p not in ("seller_a", "seller_b")]
    return [p for p in PERSONAS if p != rule.allowed and p not in rule.also]


def allowed_persona(rule: Rule) -> str:
    """Return the persona the positive control calls as."""
    return {"self": "buyer_a", "seller": "seller_a"}.get(rule.allowed, rule.allowed)


# ---------------------------------------------------------------- tests


def test_every_mutating_api_route_is_declared(app: FastAPI) -> None:
    """A new mutating route needs a permission rule (or a public reason) and fillable ids."""
    endpoints = api_endpoints(app)
    undeclared = sorted(set(endpoints) - set(RULES) - set(PUBLIC))
    assert not undeclared, f"declare who may call these routes in RULES or PUBLIC: {undeclared}"
    stale = sorted(set(RULES) - set(endpoints))
    assert not stale, f"RULES lists routes the app does not have: {stale}"
    for key, endpoint in endpoints.items():
        unknown = [p for p in endpoint.params if p not in PARAM_KINDS]
        assert not unknown, f"{key}: add these path parameters to PARAM_KINDS: {unknown}"
        example_body(endpoint.model, required=key not in PUBLIC)
        rule = RULES.get(key)
        if rule is not None:
            kinds = [*rule.objects.values(), *rule.needs]
            assert all(kind in MAKERS or kind in PARAM_KINDS.values() for kind in kinds), key
    for key in PUBLIC:
        assert key in mutating_endpoints(app), f"PUBLIC lists a route the app does not have: {key}"


@pytest.mark.parametrize(("method", "path"), sorted(RULES), ids=lambda part: str(part))
async def test_strangers_are_refused_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, uow: Any, method: str, path: str
) -> None:
    """No credentials: 401; the wrong owner or role: refused; the allowed user: done."""
    endpoint = api_endpoints(app).get((method, path))
    assert endpoint is not None, f"{method} {path} is no longer a route"
    rule = RULES[(method, path)]
    estate = Estate(client, uow)
    await estate.populate()
    request = await build_request(estate, endpoint, rule)
    await app.state.tasks.drain()  # a show gone live notifies its followers meanwhile
    before = await snapshot(uow)

    anonymous = await send(client, request, None)
    assert anonymous.status_code == 401, anonymous.text
    assert changed_tables(before, await snapshot(uow)) == []

    for persona in intruders(rule):
        answer = await send(client, request, estate.people[persona])
        assert answer.status_code in REFUSED, (
            f"{method} {path} answered {answer.status_code} to {persona}, who is neither "
            f"its owner nor holds its role ({rule.allowed}): {answer.text}"
        )
        assert changed_tables(before, await snapshot(uow)) == [], persona

    if rule.allowed == "self":
        await _others_leave_the_owner_alone(client, estate, request)

    done = await send(client, request, estate.people[allowed_persona(rule)])
    assert done.status_code < 300, f"the allowed caller was refused: {done.text}"


async def _others_leave_the_owner_alone(
    client: httpx.AsyncClient, estate: Estate, request: Request
) -> None:
    """Other users may call a self-service route, but only their own things change."""
    owner = estate.people["buyer_a"]

    async def owners_view() -> list[Any]:
        views = []
        for path in ("/api/auth/me", "/api/cart", "/api/orders"):
            answer = await client.get(path, headers=owner.headers)
            assert answer.status_code == 200, f"{path}: {answer.text}"
            views.append(answer.json())
        return views

    before = await owners_view()
    for persona in PERSONAS:
        if persona != "buyer_a":
            await send(client, request, estate.people[persona])
            assert await owners_view() == before, persona


async def test_every_refusal_carries_a_code_and_a_message(
    app: FastAPI, client: httpx.AsyncClient, uow: Any
) -> None:
    """Unauthenticated, malformed, unknown-id and wrong-method calls all answer coded JSON."""
    estate = Estate(client, uow)
    await estate.populate()
    malformed = b"{not json"
    endpoints = sorted(api_endpoints(app).items())
    # Built before any call, so that the calls below cannot spoil each other's objects.
    requests = [await build_request(estate, e, RULES.get(key)) for key, e in endpoints]
    for ((method, path), _), request in zip(endpoints, requests, strict=True):
        unknown = re.sub(r"\{\w+(?::[^}]*)?\}", "nothing_here", path)
        for user in (None, await _signed_in(client, estate, "seller_a")):
            headers = {**(user.headers if user else {}), "content-type": "application/json"}
            for target, content in (
                (request.path, json.dumps(request.body).encode()),
                (request.path, malformed),
                (request.path, b'{"unexpected": true}'),
                (unknown, json.dumps(request.body).encode()),
            ):
                answer = await client.request(method, target, content=content, headers=headers)
                _refusal_is_coded(answer)
        wrong_method = await client.request("PUT" if method != "PUT" else "PATCH", request.path)
        _refusal_is_coded(wrong_method)


async def _signed_in(client: httpx.AsyncClient, estate: Estate, persona: str) -> ApiUser:
    """Return the persona with a working token (signing out revokes the one it had)."""
    user = estate.people[persona]
    if (await client.get("/api/auth/me", headers=user.headers)).status_code == 401:
        user = estate.people[persona] = ApiUser(
            user.id, user.email, await sign_in(client, user.email)
        )
    return user


def _refusal_is_coded(answer: httpx.Response) -> None:
    """No server error; a 4xx answer carries a code and a message."""
    assert answer.status_code < 500, f"{answer.request.url.path}: {answer.text}"
    if 400 <= answer.status_code < 500:
        assert_coded(answer)
