"""Random sequences of commits, deposits paid or declined, replayed webhooks, withdrawals,
the clock past the unpaid time, the deadline and the balance's due time, balances paid, and
the factory accepting, shipping or declining its run or the shop cancelling keep C2M's
money exact.

The machine drives the real application in-process (HTTP for the buyers, the provider's
page and its signed webhook, the jobs for the clock) on a fresh database per example, and
after every step checks, straight from the tables:

    Σ all ledger entries = 0, and every transaction sums to 0
    provider:sandbox         = Σ succeeded payments − Σ refunds
    provider:sandbox         = Σ succeeded payments − Σ refunds − Σ transfers to payers
    c2m:deposits:<campaign>  = −Σ deposit over held and confirmed commitments
    deposit:<shop>           = what the shop paid in − Σ transfers to payers
    per commitment, its deposit paid:     held, confirmed, applied or forfeited and never
                                          refunded, or withdrawn or refunded and refunded
                                          exactly once, or returned double: refunded once
                                          and as much transferred
                    its deposit not paid: pending, released or withdrawn, never refunded
    reserved units (pending, held, confirmed) <= the cap
    the jobs have caught up: no pending commitment past the unpaid time, no open campaign
    past its deadline, no confirmed commitment past the balance's due time; a confirmed
    campaign reached its MOQ and has its production run, a failed one holds no deposit, a
    defaulted one owes nobody

Every answer is below 500 and every refusal carries a JSON `code` and `message`.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule
from sqlalchemy import func, select

from laotie.core.context import Ctx
from laotie.orders import ledger
from laotie.orders.models import Payment, Refund, SandboxCharge
from laotie.orders.payments import SIGNATURE_HEADER, sign
from laotie.supply.balances import balance_due
from laotie.supply.models import Campaign, Commitment, ProductionRun
from laotie.supply.money import deposits_account
from tests.app_machine import AppMachine, run_machine
from tests.factories import ApiUser
from tests.supply.campaign_world import (
    RUN_STEPS,
    buyers,
    check_books,
    make_campaign_world,
    open_campaign,
)

ID_SEGMENT = re.compile(r"/[a-z]{3}_[A-Za-z0-9_-]+")
VARIANTS = ("black/M", "black/L", "camel/M", "camel/L", "pink/XS")  # the last one is none
MOQ, CAP = 3, 6
# Minutes the clock may jump: within the unpaid time, past it, past the deadline (rarer,
# so that a campaign gathers commitments first).
JUMPS = (1, 5, 16, 16, 60 * 24 + 1, 60 * 72 + 1)
PAID_OUT = {"held", "confirmed"}  # deposits still in the campaign's account
KEPT = {*PAID_OUT, "applied", "forfeited"}  # deposits never refunded
CONFIRMED_UNITS = {"confirmed", "applied", "forfeited", "returned_double"}
SECURITY_DEPOSIT = 100_000


class CampaignsMachine(AppMachine):
    """Three buyers, the provider and the clock act on one campaign at random."""

    def __init__(self) -> None:
        super().__init__()
        self.commitments: list[tuple[str, str, int]] = []  # id, pay_url, buyer
        world = self.run(make_campaign_world(self.http, self.uow, SECURITY_DEPOSIT))
        self.world = world
        campaign = self.run(open_campaign(self.http, world, self.clock, moq=MOQ, cap_units=CAP))
        self.campaign_id = str(campaign["id"])
        self.buyers: list[ApiUser] = self.run(buyers(self.http, 3))

    def call(self, method: str, path: str, user: ApiUser | None, **kwargs: Any) -> httpx.Response:
        """Send a request: never a 500, and a refusal carries a code."""
        headers = {**(user.headers if user else {}), **kwargs.pop("headers", {})}
        answer = self.run(self.http.request(method, path, headers=headers, **kwargs))
        assert answer.status_code < 500, f"{method} {path}: {answer.text}"
        event(f"{method} {re.sub(ID_SEGMENT, '/{id}', path)} -> {answer.status_code}")
        if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith(
            "application/json"
        ):
            assert isinstance(answer.json().get("code"), str), answer.text
        return answer

    # ------------------------------------------------------------ rules

    @rule(
        buyer=st.integers(0, 2),
        variant=st.sampled_from(VARIANTS),
        quantity=st.integers(1, 3),
    )
    def commit(self, buyer: int, variant: str, quantity: int) -> None:
        """A buyer commits to units of a variant (refused when full, closed or unknown)."""
        answer = self.call(
            "POST",
            f"/api/campaigns/{self.campaign_id}/commitments",
            self.buyers[buyer],
            json={"variant": variant, "quantity": quantity},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code in (201, 409, 422), answer.text
        if answer.status_code == 201:
            made = answer.json()
            self.commitments.append((made["id"], made["pay_url"], buyer))

    @rule(
        buyer=st.integers(0, 2), variant=st.sampled_from(VARIANTS[:4]), quantity=st.integers(1, 2)
    )
    def commit_and_pay(self, buyer: int, variant: str, quantity: int) -> None:
        """A buyer commits and pays the deposit at once, as most do."""
        self.commit(buyer, variant, quantity)
        if self.commitments and self.commitments[-1][2] == buyer:
            self.pay_deposit(len(self.commitments) - 1, approve=True)

    @rule(pick=st.integers(0, 20), approve=st.booleans())
    def pay_deposit(self, pick: int, approve: bool) -> None:
        """The buyer pays or declines a deposit on the provider's page (once)."""
        if not self.commitments:
            return
        _, pay_url, _ = self.commitments[pick % len(self.commitments)]
        answer = self.call("POST", pay_url, None, data={"action": "pay" if approve else "decline"})
        assert answer.status_code in (303, 409), answer.text

    @rule(pick=st.integers(0, 20))
    def replay_webhook(self, pick: int) -> None:
        """The provider sends a webhook again, signed afresh: applied once."""
        if not self.delivered:
            return
        body, _ = self.delivered[pick % len(self.delivered)]
        signed = sign("test-webhook-secret", int(self.clock.now().timestamp()), body)
        headers = {SIGNATURE_HEADER: signed, "content-type": "application/json"}
        answer = self.call(
            "POST", "/api/payments/webhooks/sandbox", None, content=body, headers=headers
        )
        assert answer.status_code == 200 and answer.json()["result"] == "duplicate"

    @rule(pick=st.integers(0, 20), stranger=st.booleans())
    def withdraw(self, pick: int, stranger: bool) -> None:
        """A buyer withdraws a commitment (another buyer's is not found)."""
        if not self.commitments:
            return
        commitment_id, _, buyer = self.commitments[pick % len(self.commitments)]
        who = self.buyers[(buyer + 1) % 3] if stranger else self.buyers[buyer]
        answer = self.call("POST", f"/api/commitments/{commitment_id}/withdrawal", who)
        assert answer.status_code in ((404,) if stranger else (200, 409)), answer.text

    @initialize(confirmed=st.booleans())
    def start(self, confirmed: bool) -> None:
        """Half the walks start from a confirmed campaign, to explore what comes after."""
        if confirmed:
            self.crowd_then_deadline()

    @rule()
    def crowd_then_deadline(self) -> None:
        """Every buyer commits a unit and pays, then the deadline passes."""
        for buyer in range(3):
            self.commit_and_pay(buyer, VARIANTS[buyer], 1)
        self.time_passes(60 * 24 + 1)

    @rule(pick=st.integers(0, 20), pay=st.booleans())
    def pay_balance(self, pick: int, pay: bool) -> None:
        """A committer asks for the balance's order (refused unless confirmed and in time),
        and pays it or leaves it unpaid."""
        if not self.commitments:
            return
        commitment_id, _, buyer = self.commitments[pick % len(self.commitments)]
        answer = self.call(
            "POST",
            f"/api/commitments/{commitment_id}/balance",
            self.buyers[buyer],
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code in (201, 409), answer.text
        if answer.status_code != 201 or not pay:
            return
        started = self.call(
            "POST", "/api/payments", self.buyers[buyer], json={"order_ids": [answer.json()["id"]]}
        )
        assert started.status_code in (201, 409), started.text
        if started.status_code == 201:
            paid = self.call("POST", started.json()["pay_url"], None, data={"action": "pay"})
            assert paid.status_code == 303, paid.text

    @rule(steps=st.sampled_from((1, 5)))
    def factory_reports(self, steps: int) -> None:
        """The factory accepts its run, or reports every step to shipped."""
        run_id = self.run(self._run_id())
        for step in RUN_STEPS[:steps] if run_id else ():
            answer = self.call(
                "POST", f"/api/runs/{run_id}/steps", self.world.factory_owner, json={"step": step}
            )
            assert answer.status_code in (200, 409), answer.text

    @rule(by_shop=st.booleans())
    def default(self, by_shop: bool) -> None:
        """The shop cancels the campaign, or the factory declines its run."""
        if by_shop:
            path, who = f"/api/campaigns/{self.campaign_id}/cancellation", self.world.seller
        else:
            run_id = self.run(self._run_id())
            if run_id is None:
                return
            path, who = f"/api/runs/{run_id}/decline", self.world.factory_owner
        answer = self.call("POST", path, who)
        assert answer.status_code in (200, 409), answer.text

    async def _run_id(self) -> str | None:
        async with self.uow() as ctx:
            return await ctx.db.scalar(
                select(ProductionRun.id).where(ProductionRun.campaign_id == self.campaign_id)
            )

    @rule(minutes=st.sampled_from(JUMPS))
    def time_passes(self, minutes: int) -> None:
        """The clock moves and every periodic job runs once."""
        self.clock.advance(timedelta(minutes=minutes))
        self.run_jobs()
        self.run(self._caught_up())

    async def _caught_up(self) -> None:
        async with self.uow() as ctx:
            unpaid_since = ctx.now() - timedelta(minutes=self.settings.unpaid_order_minutes)
            late = await ctx.db.scalar(
                select(func.count()).where(
                    Commitment.status == "pending", Commitment.created_at <= unpaid_since
                )
            )
            assert late == 0
            campaign = await ctx.db.get(Campaign, self.campaign_id)
            assert campaign is not None
            assert campaign.status != "open" or ctx.now() < campaign.deadline
            if campaign.closed_at is not None and ctx.now() >= balance_due(ctx, campaign):
                owing = select(func.count()).where(Commitment.status == "confirmed")
                assert await ctx.db.scalar(owing) == 0

    # ------------------------------------------------------------ invariants

    @invariant()
    def money_is_exact(self) -> None:
        """The books balance and every deposit is where its commitment says."""
        self.run(self._check_money())

    async def _check_money(self) -> None:
        assert self.webhook_failures == []
        async with self.uow() as ctx:
            await check_books(ctx)
            found = list(await ctx.db.scalars(select(Commitment)))
            held = sum(c.deposit_minor for c in found if c.status in PAID_OUT)
            assert -await ledger.balance(ctx, deposits_account(self.campaign_id)) == held
            doubled = sum(c.deposit_minor for c in found if c.status == "returned_double")
            security = -await ledger.balance(ctx, ledger.deposit_account(self.world.shop_id))
            assert security == SECURITY_DEPOSIT - doubled
            for commitment in found:
                await self._check_commitment(ctx, commitment)
            reserving = ("pending", *PAID_OUT)
            assert sum(c.quantity for c in found if c.status in reserving) <= CAP
            await self._check_campaign(ctx, found)

    @staticmethod
    async def _check_commitment(ctx: Ctx, commitment: Commitment) -> None:
        payment = await ctx.db.get(Payment, commitment.payment_id)
        assert payment is not None and payment.amount_minor == commitment.deposit_minor
        refunds = list(
            await ctx.db.scalars(select(Refund.amount_minor).where(Refund.payment_id == payment.id))
        )
        if payment.status == "succeeded":
            if commitment.status in KEPT:
                assert refunds == [], commitment.status
            elif commitment.status == "returned_double":
                transfers = await ctx.db.scalars(
                    select(SandboxCharge.amount_minor).where(
                        SandboxCharge.payment_id == payment.id, SandboxCharge.kind == "transfer"
                    )
                )
                assert sum(refunds) == commitment.deposit_minor
                assert list(transfers) == [commitment.deposit_minor]
            else:
                assert commitment.status in ("withdrawn", "refunded"), commitment.status
                assert refunds == [commitment.deposit_minor]
        else:
            assert commitment.status in ("pending", "released", "withdrawn"), commitment.status
            assert refunds == []

    async def _check_campaign(self, ctx: Ctx, found: list[Commitment]) -> None:
        campaign = await ctx.db.get(Campaign, self.campaign_id)
        assert campaign is not None
        run = await ctx.db.scalar(
            select(ProductionRun).where(ProductionRun.campaign_id == self.campaign_id)
        )
        confirmed = [c for c in found if c.status in CONFIRMED_UNITS]
        if campaign.status in ("confirmed", "defaulted"):
            assert sum(c.quantity for c in confirmed) >= MOQ and run is not None
            # A forfeited commitment's units left the run's committed units for its buffer.
            taken = [c for c in confirmed if c.status != "forfeited"]
            assert sum(run.committed.values()) == sum(c.quantity for c in taken)
            assert not any(c.status in ("pending", "held") for c in found)
        else:
            assert run is None and confirmed == []
        if campaign.status == "failed":
            assert not any(c.status in ("pending", "held") for c in found)
        if campaign.status == "defaulted":
            assert run is not None and run.status in ("declined", "cancelled")
            assert not any(c.status in ("confirmed", "applied") for c in found)


def test_random_walks_of_campaigns_keep_the_money_exact(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Drive the state machine on fresh databases of the configured backend."""
    run_machine(CampaignsMachine, request, tmp_path, steps=25)
