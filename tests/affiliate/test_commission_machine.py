"""Random sequences of room orders of a pool product (and of the anchor's own), paid or
declined, refunded in part or whole before shipping, shipped, received, returned within the
window (approved, rejected or left to the clock), the shop's rate changed, the clock past
the return window and refunds asked after completion keep every commission exact.

The machine drives the real application in-process (HTTP for the buyer, the shops and the
anchor, the sandbox's page for payments, the jobs for the clock) on a fresh database per
example. It keeps its own account of each order line: the rate in force when the order was
placed and the units refunded. After every step it checks, straight from the tables:

    Σ all ledger entries = 0, and every transaction sums to 0
    each room line carries the anchor, and the rate in force when its order was placed
      (0 for the anchor's own product); its refunded units are those the machine saw refunded
    per completed order with a pool line:
        anchor's release credit = min(Σ fee_of(unit price × kept units, the line's rate),
                                      released − platform fee)
    no commission is credited for an order that is not completed
    anchor:<id> = −Σ of those credits over completed orders
    GET /api/me/commissions: pending = Σ over paid, shipped and delivered orders of the
      commission on what is kept so far; released = balance = the ledger's credits
    the jobs have caught up: no delivered order with no open case is past its return window

Every answer is below 500, every refusal carries a JSON `code`, and a refund asked of a
completed order is refused.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule
from sqlalchemy import func, select

from laotie.core.money import fee_of
from laotie.orders import ledger
from laotie.orders.jobs import JOBS as ORDER_JOBS
from laotie.orders.models import AfterSalesCase, LedgerEntry, Order, OrderLine
from laotie.orders.schemas import OPEN_CASE_STATUSES
from tests.affiliate.world import RATE, AffiliateWorld, approved, make_affiliate_world, set_cart
from tests.app_machine import AppMachine, run_machine
from tests.factories import ApiUser

ID_SEGMENT = re.compile(r"/[a-z]{3}_[A-Za-z0-9_-]+")
# Rates the shop may set: within the platform's bounds (1% to 50%), and two outside them.
RATES = (100, 800, RATE, 3_333, 5_000, 99, 5_001)
# Minutes the clock may jump: within the unpaid time, past it, past the seller's time to
# answer a return (and a rejection's escalation window), past the return window, past the
# time after which a shipped order counts as delivered.
JUMPS = (1, 16, 60 * 72 + 1, 60 * 24 * 7 + 1, 60 * 24 * 10 + 1)
OPEN = ("paid", "shipped", "delivered")
# Most picks are among the orders a rule fits; some among all, to see the others refused.
STRAY = (False, False, False, True)


@dataclass
class Placed:
    """An order the buyer placed in the room, as the machine expects it to be."""

    id: str
    line_id: str
    pooled: bool
    quantity: int
    commission_bps: int  # the rate in force when it was placed (0: the anchor's own product)
    refunded: int = 0  # units the machine saw refunded


class CommissionsMachine(AppMachine):
    """A buyer, the supplier, the anchor and the clock act on room orders at random."""

    def __init__(self) -> None:
        super().__init__()
        self.world: AffiliateWorld = self.run(make_affiliate_world(self.http, self.clock))
        self.run(approved(self.http, self.world))
        cart = self.run(set_cart(self.http, self.world, [self.world.pooled.id, self.world.own.id]))
        assert cart.status_code == 200, cart.text
        self.rate = RATE
        self.orders: list[Placed] = []
        # Return cases left to the clock: case id -> (order index, units).
        self.silent_cases: dict[str, tuple[int, int]] = {}

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

    def refused(self, answer: httpx.Response, *statuses: int) -> None:
        """Assert a refusal with one of the statuses and a JSON code."""
        assert answer.status_code in statuses, answer.text
        assert isinstance(answer.json().get("code"), str), answer.text

    def seller_of(self, placed: Placed) -> ApiUser:
        """Return who sells the order: the supplier, or the anchor for its own product."""
        return self.world.supplier if placed.pooled else self.world.anchor

    def status_of(self, placed: Placed) -> str:
        """Read an order's status from its table."""

        async def read() -> str:
            async with self.uow() as ctx:
                order = await ctx.db.get(Order, placed.id)
                assert order is not None
                return str(order.status)

        return self.run(read())

    def pick(self, pick: int, stray: bool, *statuses: str) -> Placed | None:
        """Return one of the orders in one of the statuses (any order, when straying, to see
        it refused), or None when there is none."""
        if stray:
            return self.orders[pick % len(self.orders)] if self.orders else None

        async def read() -> list[str]:
            async with self.uow() as ctx:
                found = await ctx.db.scalars(
                    select(Order.id).where(Order.status.in_(statuses)).order_by(Order.created_at)
                )
                return list(found)

        chosen = set(self.run(read()))
        fitting = [placed for placed in self.orders if placed.id in chosen]
        return fitting[pick % len(fitting)] if fitting else None

    # ------------------------------------------------------------ rules

    @initialize(
        walks=st.lists(
            st.tuples(st.sampled_from(RATES[:5]), st.integers(1, 3), st.integers(0, 3)),
            min_size=1,
            max_size=3,
        )
    )
    def start(self, walks: list[tuple[int, int, int]]) -> None:
        """Every walk starts from orders placed at rates of their own, paid, some refunded in
        part, shipped and received, so that there is something to complete."""
        for bps, quantity, refunded in walks:
            self.change_rate(bps)
            self.buy(quantity, own=False, then="pay")
            if refunded:
                self.refund_before_shipping(len(self.orders) - 1, True, refunded, whole=False)
            self.ship(len(self.orders) - 1, stray=True, receive=True)

    @rule(
        quantity=st.integers(1, 3),
        own=st.sampled_from((False, False, False, True)),
        then=st.sampled_from(("pay", "pay", "pay", "decline", "leave")),
    )
    def buy(self, quantity: int, own: bool, then: str) -> None:
        """The buyer orders units of the pool product (or the anchor's own) in the room, and
        pays, declines or leaves the payment."""
        product = self.world.own if own else self.world.pooled
        answer = self.call(
            "POST",
            f"/api/live/sessions/{self.world.session_id}/orders",
            self.world.buyer,
            json={"sku_id": product.sku_ids[0], "quantity": quantity},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        if answer.status_code != 201:
            self.refused(answer, 409)  # sold out: the units are in other orders
            return
        (made,) = answer.json()["orders"]
        (line,) = made["lines"]
        bps = 0 if own else self.rate
        assert (line["anchor_id"], line["commission_bps"]) == (self.world.anchor.id, bps)
        self.orders.append(Placed(made["id"], line["id"], not own, quantity, bps))
        if then != "leave":
            self.pay(len(self.orders) - 1, stray=True, approve=then == "pay")

    @rule(pick=st.integers(0, 50), stray=st.sampled_from(STRAY), approve=st.booleans())
    def pay(self, pick: int, stray: bool, approve: bool) -> None:
        """The buyer pays or declines an order on the sandbox's page (refused unless unpaid)."""
        placed = self.pick(pick, stray, "pending_payment")
        if placed is None:
            return
        unpaid = self.status_of(placed) == "pending_payment"
        started = self.call(
            "POST", "/api/payments", self.world.buyer, json={"order_ids": [placed.id]}
        )
        if not unpaid:
            self.refused(started, 409)
            return
        assert started.status_code == 201, started.text
        page = self.call(
            "POST",
            started.json()["pay_url"],
            None,
            data={"action": "pay" if approve else "decline"},
        )
        assert page.status_code == 303, page.text
        assert self.status_of(placed) == ("paid" if approve else "pending_payment")

    @rule(
        pick=st.integers(0, 50),
        stray=st.sampled_from(STRAY),
        units=st.integers(1, 3),
        whole=st.booleans(),
    )
    def refund_before_shipping(self, pick: int, stray: bool, units: int, whole: bool) -> None:
        """The buyer asks a refund of some units of the line, or of the whole order, before
        it ships: paid at once, refused otherwise."""
        placed = self.pick(pick, stray, "paid")
        if placed is None:
            return
        left = placed.quantity - placed.refunded
        body: dict[str, Any] = {"kind": "refund_only"}
        if not whole:
            body["lines"] = [{"line_id": placed.line_id, "quantity": units}]
        paid = self.status_of(placed) == "paid"
        answer = self.call(
            "POST", f"/api/orders/{placed.id}/aftersales", self.world.buyer, json=body
        )
        if paid and (whole or units <= left):
            assert answer.status_code == 201, answer.text
            assert answer.json()["status"] == "refunded"
            placed.refunded += left if whole else units
        else:
            self.refused(answer, 409)

    @rule(pick=st.integers(0, 50), stray=st.sampled_from(STRAY), receive=st.booleans())
    def ship(self, pick: int, stray: bool, receive: bool) -> None:
        """The order's seller ships it (refused unless paid), and the buyer may receive it."""
        placed = self.pick(pick, stray, "paid")
        if placed is None:
            return
        paid = self.status_of(placed) == "paid"
        answer = self.call(
            "POST",
            f"/api/orders/{placed.id}/shipment",
            self.seller_of(placed),
            json={"carrier": "SF", "tracking_no": f"SF{uuid.uuid4().hex[:12]}"},
        )
        if not paid:
            self.refused(answer, 409)
            return
        assert answer.status_code == 200, answer.text
        if receive:
            self.confirm_receipt(self.orders.index(placed), stray=True)

    @rule(pick=st.integers(0, 50), stray=st.sampled_from(STRAY))
    def confirm_receipt(self, pick: int, stray: bool) -> None:
        """The buyer confirms receipt (refused unless shipped)."""
        placed = self.pick(pick, stray, "shipped")
        if placed is None:
            return
        shipped = self.status_of(placed) == "shipped"
        answer = self.call("POST", f"/api/orders/{placed.id}/receipt", self.world.buyer)
        if shipped:
            assert answer.status_code == 200, answer.text
        else:
            self.refused(answer, 409)

    @rule(
        pick=st.integers(0, 50),
        units=st.integers(1, 2),
        answer_with=st.sampled_from(("approve", "reject", "silence")),
    )
    def return_within_window(self, pick: int, units: int, answer_with: str) -> None:
        """The buyer returns units of a delivered order; the seller approves, rejects or lets
        the clock approve."""
        placed = self.pick(pick, False, "delivered")
        if placed is None:
            return
        returnable = (
            self.run(self._returnable(placed)) and units <= placed.quantity - placed.refunded
        )
        asked = self.call(
            "POST",
            f"/api/orders/{placed.id}/aftersales",
            self.world.buyer,
            json={
                "kind": "return_refund",
                "reason": "cracked",
                "lines": [{"line_id": placed.line_id, "quantity": units}],
            },
        )
        if not returnable:
            self.refused(asked, 409)
            return
        assert asked.status_code == 201, asked.text
        case_id = asked.json()["id"]
        if answer_with == "silence":
            self.silent_cases[case_id] = (self.orders.index(placed), units)
            return
        answered = self.call(
            "POST",
            f"/api/aftersales/{case_id}/response",
            self.seller_of(placed),
            json={"approve": answer_with == "approve"},
        )
        assert answered.status_code == 200, answered.text
        if answer_with == "approve":
            assert answered.json()["status"] == "refunded"
            placed.refunded += units

    async def _returnable(self, placed: Placed) -> bool:
        """Whether the order is delivered, within its return window, with no case open."""
        async with self.uow() as ctx:
            order = await ctx.db.get(Order, placed.id)
            assert order is not None
            open_cases = await ctx.db.scalar(
                select(func.count()).where(
                    AfterSalesCase.order_id == order.id,
                    AfterSalesCase.status.in_(OPEN_CASE_STATUSES),
                )
            )
            return (
                order.status == "delivered"
                and order.return_deadline is not None
                and ctx.now() <= order.return_deadline
                and not open_cases
            )

    @rule(bps=st.sampled_from(RATES))
    def change_rate(self, bps: int) -> None:
        """The shop changes its commission (out of bounds: refused); placed orders keep theirs."""
        answer = self.call(
            "PUT",
            f"/api/shops/{self.world.supplier_shop}/pool/{self.world.pooled.id}",
            self.world.supplier,
            json={"commission_bps": bps},
        )
        if 100 <= bps <= 5_000:
            assert answer.status_code == 200, answer.text
            self.rate = bps
        else:
            self.refused(answer, 422)

    @rule(pick=st.integers(0, 50), kind=st.sampled_from(("refund_only", "return_refund")))
    def refund_after_completion(self, pick: int, kind: str) -> None:
        """A refund or a return asked of a completed order is refused."""
        placed = self.pick(pick, False, "completed")
        if placed is None:
            return
        answer = self.call(
            "POST",
            f"/api/orders/{placed.id}/aftersales",
            self.world.buyer,
            json={"kind": kind, "reason": "too late"},
        )
        self.refused(answer, 409)

    @precondition(lambda self: bool(self.orders))
    @rule(minutes=st.sampled_from(JUMPS))
    def time_passes(self, minutes: int) -> None:
        """The clock moves and the orders' jobs run once."""
        self.clock.advance(timedelta(minutes=minutes))
        self.run(self._order_jobs())
        self.run(self._settle_silent_cases())
        self.run(self._caught_up())

    async def _order_jobs(self) -> None:
        """Run the orders' periodic jobs once: they alone move an order or its money with
        time, and the other features' jobs would take most of the walk's time."""
        for job in ORDER_JOBS:
            await job.run(self.app.state)

    async def _settle_silent_cases(self) -> None:
        """Count the units of a return the seller's silence approved."""
        async with self.uow() as ctx:
            for case_id, (index, units) in list(self.silent_cases.items()):
                case = await ctx.db.get(AfterSalesCase, case_id)
                assert case is not None
                if case.status == "refunded":
                    self.orders[index].refunded += units
                if case.status not in OPEN_CASE_STATUSES:
                    del self.silent_cases[case_id]

    async def _caught_up(self) -> None:
        async with self.uow() as ctx:
            late = await ctx.db.scalars(
                select(Order.id).where(
                    Order.status == "delivered", Order.return_deadline <= ctx.now()
                )
            )
            for order_id in late:
                open_case = await ctx.db.scalar(
                    select(func.count()).where(
                        AfterSalesCase.order_id == order_id,
                        AfterSalesCase.status.in_(OPEN_CASE_STATUSES),
                    )
                )
                assert open_case, f"{order_id} is past its return window and not completed"

    # ------------------------------------------------------------ invariants

    @invariant()
    def commissions_are_exact(self) -> None:
        """The books balance and each commission is the rate of what was finally kept."""
        pending, released = self.run(self._check_commissions())
        mine = self.call("GET", "/api/me/commissions", self.world.anchor)
        assert mine.status_code == 200, mine.text
        report = mine.json()
        assert (report["pending_minor"], report["released_minor"], report["balance_minor"]) == (
            pending,
            released,
            released,
        ), report

    async def _check_commissions(self) -> tuple[int, int]:
        """Check the books and each order's commission; return what is pending and released."""
        assert self.webhook_failures == []
        anchor = ledger.anchor_account(self.world.anchor.id)
        async with self.uow() as ctx:
            assert await ledger.trial_balance(ctx) == 0
            assert await ledger.unbalanced_transactions(ctx) == []
            orders = {order.id: order for order in await ctx.db.scalars(select(Order))}
            lines: dict[str, list[OrderLine]] = {}
            for line in await ctx.db.scalars(select(OrderLine).order_by(OrderLine.id)):
                lines.setdefault(line.order_id, []).append(line)
            credits = await ctx.db.execute(
                select(LedgerEntry.order_id, LedgerEntry.kind, func.sum(LedgerEntry.amount_minor))
                .where(LedgerEntry.account == anchor)
                .group_by(LedgerEntry.order_id, LedgerEntry.kind)
            )
            credited: dict[str | None, int] = {}
            for order_id, kind, total in credits:
                assert kind == "release", (order_id, kind)
                credited[order_id] = -int(total)
            txns = await ctx.db.execute(
                select(LedgerEntry.order_id, func.count(func.distinct(LedgerEntry.txn_id)))
                .where(LedgerEntry.kind == "release")
                .group_by(LedgerEntry.order_id)
            )
            releases = {order_id: int(count) for order_id, count in txns}
            assert set(orders) == {placed.id for placed in self.orders}
            assert set(credited) <= set(orders)
            pending = released = 0
            for placed in self.orders:
                order = orders[placed.id]
                earned = self._check_line(placed, order, lines.get(placed.id, []))
                paid = credited.get(placed.id, 0)
                if order.status == "completed":
                    held = order.total_minor - order.refunded_minor
                    assert releases.get(placed.id, 0) == (1 if held else 0)
                    fee = min(fee_of(held, ctx.settings.platform_fee_bps), held)
                    assert paid == min(earned, held - fee), (placed, paid, earned)
                    released += paid
                else:
                    assert paid == 0, f"{placed.id} is {order.status} and paid {paid}"
                    assert placed.id not in releases
                    if order.status in OPEN:
                        pending += earned
            assert await ledger.balance(ctx, anchor) == -released
        return pending, released

    def _check_line(self, placed: Placed, order: Order, lines: list[OrderLine]) -> int:
        """Check the order's line against the machine's account; return the commission on
        what its buyer kept so far."""
        assert [line.id for line in lines] == [placed.line_id]
        (line,) = lines
        assert line.anchor_id == self.world.anchor.id
        assert line.commission_bps == placed.commission_bps
        assert (line.quantity, line.refunded_quantity) == (placed.quantity, placed.refunded)
        assert order.refunded_minor == line.unit_price_minor * placed.refunded
        if placed.refunded == placed.quantity:
            assert order.status == "refunded"
        kept = line.unit_price_minor * (placed.quantity - placed.refunded)
        return fee_of(kept, placed.commission_bps) if placed.commission_bps else 0


def test_random_walks_of_room_orders_keep_commissions_exact(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Drive the state machine on fresh databases of the configured backend."""
    run_machine(CommissionsMachine, request, tmp_path, steps=25)
