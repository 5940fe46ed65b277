"""A shop partnered with a verified factory, its security deposit paid, ready to open
campaigns; buyers who commit and pay their deposits; the factory reporting its runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from laotie.accounts.permissions import Role
from laotie.core.clock import FrozenClock
from laotie.core.context import Ctx
from laotie.orders import ledger
from laotie.orders.models import Payment, Refund, SandboxCharge
from laotie.supply.jobs import close_due_campaigns
from tests.catalog_factories import make_operator, make_seller, make_shop
from tests.factories import ApiUser, sign_up
from tests.supply.factories import make_factory, partner

FACTORY_TIERS = [
    {"min_quantity": 2, "unit_price_minor": 9_000},
    {"min_quantity": 5, "unit_price_minor": 8_000},
]
RETAIL_TIERS = [
    {"min_quantity": 3, "unit_price_minor": 20_000},
    {"min_quantity": 6, "unit_price_minor": 18_000},
]
DEPOSIT_UNIT = 2_000  # 10% of the highest retail price
# The steps a factory reports of a run after it is ordered, in order.
RUN_STEPS = ("accepted", "materials", "producing", "quality_check", "shipped")


@dataclass
class CampaignWorld:
    """The seller, its shop, the factory's owner and its factory."""

    seller: ApiUser
    shop_id: str
    factory_owner: ApiUser
    factory_id: str


async def make_campaign_world(
    client: httpx.AsyncClient, uow: Any, deposit_minor: int = 100_000
) -> CampaignWorld:
    """A verified factory, a shop partnered with it, the shop's deposit paid in."""
    operator = await make_operator(client, uow)
    owner, factory = await make_factory(
        client, operator, moq=2, weekly_capacity=50, price_tiers=FACTORY_TIERS
    )
    seller = await make_seller(client)
    shop_id = await make_shop(client, seller)
    await partner(client, seller, shop_id, owner, factory["id"])
    if deposit_minor:
        await pay_security_deposit(client, seller, shop_id, deposit_minor)
    return CampaignWorld(seller, shop_id, owner, factory["id"])


async def pay_security_deposit(
    client: httpx.AsyncClient, seller: ApiUser, shop_id: str, amount: int
) -> None:
    """The shop's owner pays into its security deposit on the provider's page."""
    opened = await client.post(
        f"/api/shops/{shop_id}/deposit-payments",
        json={"amount_minor": amount},
        headers=seller.headers,
    )
    assert opened.status_code == 201, opened.text
    paid = await client.post(opened.json()["pay_url"], data={"action": "pay"})
    assert paid.status_code == 303, paid.text


def campaign_body(world: CampaignWorld, clock: FrozenClock, **changes: Any) -> dict[str, Any]:
    """A valid campaign of the world's shop, its deadline a day away."""
    return {
        "shop_id": world.shop_id,
        "factory_id": world.factory_id,
        "title": "Wool coat",
        "category": "apparel",
        "options": {"colour": ["black", "camel"], "size": ["M", "L"]},
        "price_tiers": RETAIL_TIERS,
        "moq": 3,
        "cap_units": 10,
        "deposit_bps": 1_000,
        "deadline": (clock.now() + timedelta(days=1)).isoformat(),
        **changes,
    }


async def open_campaign(
    client: httpx.AsyncClient, world: CampaignWorld, clock: FrozenClock, **changes: Any
) -> dict[str, Any]:
    """The seller opens a campaign; return it."""
    opened = await client.post(
        "/api/campaigns", json=campaign_body(world, clock, **changes), headers=world.seller.headers
    )
    assert opened.status_code == 201, opened.text
    campaign: dict[str, Any] = opened.json()
    return campaign


async def commit(
    client: httpx.AsyncClient,
    buyer: ApiUser,
    campaign_id: str,
    variant: str = "black/M",
    quantity: int = 1,
    key: str | None = None,
) -> httpx.Response:
    """A buyer commits to units of a variant."""
    return await client.post(
        f"/api/campaigns/{campaign_id}/commitments",
        json={"variant": variant, "quantity": quantity},
        headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def commit_and_pay(
    client: httpx.AsyncClient, buyer: ApiUser, campaign_id: str, **terms: Any
) -> dict[str, Any]:
    """A buyer commits and pays the deposit on the provider's page; return the commitment."""
    made = await commit(client, buyer, campaign_id, **terms)
    assert made.status_code == 201, made.text
    commitment: dict[str, Any] = made.json()
    paid = await client.post(commitment["pay_url"], data={"action": "pay"})
    assert paid.status_code == 303, paid.text
    return commitment


async def run_of(
    client: httpx.AsyncClient, world: CampaignWorld, campaign_id: str
) -> dict[str, Any]:
    """The production run a confirmed campaign of the world sent its factory."""
    runs = await client.get(
        f"/api/factories/{world.factory_id}/runs", headers=world.factory_owner.headers
    )
    assert runs.status_code == 200, runs.text
    (run,) = [run for run in runs.json() if run["campaign_id"] == campaign_id]
    found: dict[str, Any] = run
    return found


async def report_steps(
    client: httpx.AsyncClient, world: CampaignWorld, run_id: str, steps: Sequence[str] = RUN_STEPS
) -> None:
    """The factory's owner reports these steps of its run, in order, now."""
    for step in steps:
        moved = await client.post(
            f"/api/runs/{run_id}/steps", json={"step": step}, headers=world.factory_owner.headers
        )
        assert moved.status_code == 200, moved.text


async def buyers(client: httpx.AsyncClient, count: int) -> list[ApiUser]:
    """Signed-up buyers."""
    return [await sign_up(client, Role.BUYER) for _ in range(count)]


async def check_books(ctx: Ctx) -> None:
    """The ledger balances, and the provider's account is what was paid less what was
    refunded or transferred to payers: no deposit lost or made up."""
    assert await ledger.trial_balance(ctx) == 0
    assert await ledger.unbalanced_transactions(ctx) == []
    paid = await ctx.db.scalar(
        select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
            Payment.status == "succeeded"
        )
    )
    refunded = await ctx.db.scalar(select(func.coalesce(func.sum(Refund.amount_minor), 0)))
    transferred = await ctx.db.scalar(
        select(func.coalesce(func.sum(SandboxCharge.amount_minor), 0)).where(
            SandboxCharge.kind == "transfer"
        )
    )
    provider = await ledger.balance(ctx, ledger.provider_account("sandbox"))
    assert provider == int(paid or 0) - int(refunded or 0) - int(transferred or 0)


async def start_balance(
    client: httpx.AsyncClient, buyer: ApiUser, commitment_id: str, key: str | None = None
) -> httpx.Response:
    """A committer asks for the order of the balance."""
    return await client.post(
        f"/api/commitments/{commitment_id}/balance",
        headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def pay_order(client: httpx.AsyncClient, buyer: ApiUser, order_id: str) -> None:
    """The buyer pays an order on the provider's page."""
    started = await client.post(
        "/api/payments", json={"order_ids": [order_id]}, headers=buyer.headers
    )
    assert started.status_code == 201, started.text
    paid = await client.post(started.json()["pay_url"], data={"action": "pay"})
    assert paid.status_code == 303, paid.text


async def delivered_balance(
    client: httpx.AsyncClient, world: CampaignWorld, buyer: ApiUser, commitment: dict[str, Any]
) -> str:
    """The committer pays the balance, the shop ships it and the buyer gets it."""
    order = (await start_balance(client, buyer, commitment["id"])).json()
    await pay_order(client, buyer, order["id"])
    shipped = await client.post(
        f"/api/orders/{order['id']}/shipment",
        json={"carrier": "SF Express", "tracking_no": "SF1"},
        headers=world.seller.headers,
    )
    assert shipped.status_code == 200, shipped.text
    got = await client.post(f"/api/orders/{order['id']}/receipt", headers=buyer.headers)
    assert got.status_code == 200, got.text
    return str(order["id"])


async def confirmed(
    client: httpx.AsyncClient,
    uow: Any,
    clock: FrozenClock,
    app: Any,
    deposit_minor: int = 100_000,
) -> tuple[CampaignWorld, dict[str, Any], list[tuple[ApiUser, dict[str, Any]]]]:
    """A campaign confirmed with three committers of black/M, one unit each."""
    world = await make_campaign_world(client, uow, deposit_minor)
    campaign = await open_campaign(client, world, clock)
    committed = [
        (buyer, await commit_and_pay(client, buyer, campaign["id"]))
        for buyer in await buyers(client, 3)
    ]
    clock.advance(timedelta(days=1, seconds=1))
    assert await close_due_campaigns(app.state) == 1
    return world, campaign, committed
