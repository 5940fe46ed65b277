"""Random sequences of buyer, seller, operator, provider and clock actions keep every invariant.

The machine drives the real application in-process (HTTP for every user action, the
signed webhook for the provider, the jobs for the clock) on a fresh database per example,
and after every step checks these equations, read straight from the tables:

Units, for every SKU (stocked = initial stock + the test's accepted stock adjustments):
    stocked             = stock + reserved + sold + returned_unsellable, every bucket >= 0
    reserved            = Σ quantity                      over lines of pending_payment orders
    sold                = Σ (quantity − refunded_quantity) over lines of orders ever paid
                          (paid, shipped, delivered, completed, refunded)
    returned_unsellable = Σ case quantity  over return_refund cases whose restock is
                          pending or unsellable
    per line: refunded_quantity = Σ case quantity over refunded cases, <= quantity

Money (the ledger is double-entry; `late` = a payment that came after its order stopped
waiting for it, captured and refunded at once, so it never touches the order's refunded_minor):
    Σ all entries = 0, and every transaction sums to 0
    escrow                          = −Σ (total − refunded) over paid, shipped, delivered orders
    provider:sandbox                = Σ amount of succeeded payments − Σ refunds
    Σ seller:* + platform:fees      = −Σ (total − refunded) over completed orders
    per order: captured             = total × (succeeded payments listing the order)
               Σ case refunds       = refunded_minor <= total
               late refunds         = (succeeded payments listing it) − (1 if it was paid),
                                      each of the order's total
               Σ refunds            <= captured

States: an order's status is one OrderStatus and its timestamps agree with it (paid_at iff
it was paid, cancelled_at iff cancelled, completed_at iff completed, shipped before
delivered, delivered with a return deadline); a paid order names a succeeded payment that
lists it; an order is refunded iff everything was paid back; the jobs have caught up (no
pending order past its expiry, no shipped order past auto-delivery, no delivered order past
its window without an open case, no case past its answer deadline). A case is one
CaseStatus, at most one is open per order, a refund-only case is refunded at once, closed_at
is set iff it is refunded or closed, returned units wait for inspection only on refunded
return cases, and its amount is the price of its units.

Every answer is below 500 and every refusal carries a JSON `code` and `message`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import func, select

from laotie.accounts.permissions import Role
from laotie.accounts.service import do_grant_roles
from laotie.catalog.models import Sku
from laotie.core.clock import as_utc
from laotie.core.context import Ctx
from laotie.orders import ledger
from laotie.orders.models import (
    AfterSalesCase,
    LedgerEntry,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Refund,
)
from laotie.orders.payments import SIGNATURE_HEADER, sign
from laotie.orders.schemas import OPEN_CASE_STATUSES, CaseStatus, OrderStatus
from tests.app_machine import AppMachine, run_machine
from tests.factories import ApiUser, sign_in, sign_up
from tests.orders.world import make_shop_with_skus

EVER_PAID = {
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
    OrderStatus.REFUNDED,
}
HOLDING = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED}
ID_SEGMENT = re.compile(r"/[a-z]{3}_[A-Za-z0-9_-]+")
WEBHOOK_PATH = "/api/payments/webhooks/sandbox"
# Minutes the clock may jump: within the pay window, past it, past the seller's answer
# deadline, past the escalation window, past the return window, past auto-delivery.
JUMPS = (1, 10, 16, 60, 60 * 24, 60 * 49, 60 * 24 * 3 + 1, 60 * 24 * 8, 60 * 24 * 11)

buyer_index = st.integers(min_value=0, max_value=1)
sku_index = st.integers(min_value=0, max_value=2)
picks = st.integers(min_value=0, max_value=15)
# Now and then act on anything, whatever its state, to be refused.
strays = st.sampled_from([False, False, False, True])


class OrdersMachine(AppMachine):
    """Buyers, a seller, an operator, the provider and the clock act at random."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[int, list[tuple[str, dict[str, int], list[str]]]] = defaultdict(list)
        # What the machine made, in the order it made it, and whose it is.
        self.order_ids: list[str] = []
        self.case_ids: list[str] = []
        self.payment_ids: list[str] = []
        self.buyer_of: dict[str, int] = {}
        # The states as of the last step, refreshed by an invariant; rules choose from them.
        self.order_state: dict[str, str] = {}
        self.case_state: dict[str, tuple[str, str | None]] = {}
        self.payment_terms: dict[str, tuple[int, str]] = {}
        self.stocked: dict[str, int] = {}
        self.sku_ids: list[str] = []
        self.run(self._populate())

    # ------------------------------------------------------------ plumbing

    async def _populate(self) -> None:
        """Sign up two buyers, a seller with two shops of three SKUs, and an operator."""
        self.buyers = [
            await sign_up(self.http, Role.BUYER, name="Buyer A"),
            await sign_up(self.http, Role.BUYER, name="Buyer B"),
        ]
        self.seller = await sign_up(self.http, Role.SELLER, name="Seller")
        operator = await sign_up(self.http, Role.BUYER, name="Operator")
        async with self.uow() as ctx:
            await do_grant_roles(ctx, operator.id, frozenset({Role.OPERATOR}))
        self.operator = ApiUser(
            operator.id, operator.email, await sign_in(self.http, operator.email)
        )
        stocks = {"apparel": (6, 3), "food": (4,)}
        _, first = await make_shop_with_skus(
            self.uow, self.seller.id, stocks["apparel"], (1_290, 450)
        )
        # A limited SKU in a no-returns category: per-buyer limits and a zero-day window.
        _, second = await make_shop_with_skus(
            self.uow, self.seller.id, stocks["food"], (999,), per_buyer_limit=3, category="food"
        )
        self.sku_ids = [*first, *second]
        self.stocked = dict(zip(self.sku_ids, (*stocks["apparel"], *stocks["food"]), strict=True))

    def call(
        self, method: str, path: str, user: ApiUser | None, allowed: set[int], **kwargs: Any
    ) -> httpx.Response:
        """Send a request; its status must be allowed and a refusal must carry a code."""
        headers = {**(user.headers if user else {}), **kwargs.pop("headers", {})}
        answer = self.run(self.http.request(method, path, headers=headers, **kwargs))
        assert answer.status_code in allowed, f"{method} {path}: {answer.status_code} {answer.text}"
        event(f"{method} {re.sub(ID_SEGMENT, '/{id}', path)} -> {answer.status_code}")
        if answer.status_code >= 400:
            body = answer.json()
            assert isinstance(body.get("code"), str), answer.text
            assert isinstance(body.get("message"), str), answer.text
        return answer

    def read(self, check: Callable[[Ctx], Awaitable[None]]) -> None:
        """Run a check in a unit of work of its own."""

        async def go() -> None:
            async with self.uow() as ctx:
                await check(ctx)

        self.run(go())

    # ------------------------------------------------------------ choosing what to act on

    def has_order(self, *statuses: OrderStatus) -> bool:
        """Tell whether some order is in one of the statuses (as of the last step)."""
        return any(status in statuses for status in self.order_state.values())

    def has_case(self, status: CaseStatus, restock: str | None = None) -> bool:
        """Tell whether some case is in the status and restock state (as of the last step)."""
        return (status, restock) in self.case_state.values()

    @staticmethod
    def choose(made: list[str], fits: Callable[[str], bool], pick: int, stray: bool) -> str | None:
        """Pick one of the things made, in the order they were made (so shrinking replays)."""
        candidates = made if stray else [thing for thing in made if fits(thing)]
        return candidates[pick % len(candidates)] if candidates else None

    def choose_order(self, pick: int, stray: bool, *statuses: OrderStatus) -> str | None:
        """Pick an order in one of the statuses, or any order when straying."""
        states = self.order_state
        return self.choose(self.order_ids, lambda o: states[o] in statuses, pick, stray)

    def choose_case(
        self, pick: int, stray: bool, status: CaseStatus, restock: str | None = None
    ) -> str | None:
        """Pick a case in the status (and restock state), or any case when straying."""
        states = self.case_state
        return self.choose(self.case_ids, lambda c: states[c] == (status, restock), pick, stray)

    # ------------------------------------------------------------ buyers

    @initialize(first=st.integers(min_value=1, max_value=3), second=st.integers(1, 2))
    def orders_are_under_way(self, first: int, second: int) -> None:
        """Buyer A pays two orders of one checkout; one is shipped and received already.

        Random steps alone rarely reach after-sales within a few dozen steps; starting with
        a paid and a delivered order lets every example go there.
        """
        self.check_out(0, [(0, first), (2, second)], "no")
        made = self.keys[0][-1][2]
        assert len(made) == 2, made
        answer = self.call("POST", "/api/payments", self.buyers[0], {201}, json={"order_ids": made})
        self.payment_terms[answer.json()["id"]] = (answer.json()["amount_minor"], "CNY")
        self.payment_ids.append(answer.json()["id"])
        self.settle(answer.json()["id"], "sandbox_pay")
        self.call(
            "POST",
            f"/api/orders/{made[0]}/shipment",
            self.seller,
            {200},
            json={"carrier": "SF Express", "tracking_no": "SF0000000001"},
        )
        self.call("POST", f"/api/orders/{made[0]}/receipt", self.buyers[0], {200})

    @rule(
        buyer=buyer_index,
        lines=st.lists(
            st.tuples(sku_index, st.integers(min_value=1, max_value=3)), min_size=1, max_size=2
        ),
        retry=st.sampled_from(["no", "no", "same_lines", "other_lines"]),
    )
    def check_out(self, buyer: int, lines: list[tuple[int, int]], retry: str) -> None:
        """A buyer checks out one or two SKUs, sometimes retrying with an earlier key."""
        wanted: dict[str, int] = {}
        for index, quantity in lines:
            wanted[self.sku_ids[index]] = wanted.get(self.sku_ids[index], 0) + quantity
        earlier = self.keys[buyer][-1] if retry != "no" and self.keys[buyer] else None
        key = uuid.uuid4().hex
        if earlier is not None:
            key = earlier[0]
            wanted = earlier[1] if retry == "same_lines" else wanted
        answer = self.call(
            "POST",
            "/api/orders",
            self.buyers[buyer],
            {201, 404, 409, 422},
            json={"lines": [{"sku_id": s, "quantity": q} for s, q in wanted.items()]},
            headers={"Idempotency-Key": key},
        )
        if earlier is not None:
            # A retry gives back the same orders; the same key for other lines is refused.
            expected = 201 if earlier[1] == wanted else 422
            assert answer.status_code == expected, answer.text
            if expected == 201:
                assert answer.json()["replayed"] is True
                assert sorted(o["id"] for o in answer.json()["orders"]) == sorted(earlier[2])
            return
        if answer.status_code == 201:
            made = [o["id"] for o in answer.json()["orders"]]
            self.keys[buyer].append((key, wanted, made))
            self.order_ids.extend(made)
            self.buyer_of.update(dict.fromkeys(made, buyer))

    @precondition(lambda self: self.has_order(OrderStatus.PENDING_PAYMENT))
    @rule(
        pick=picks,
        both=st.booleans(),
        how=st.sampled_from(["sandbox_pay", "sandbox_pay", "sandbox_decline", "webhook", "none"]),
    )
    def buyer_pays(self, pick: int, both: bool, how: str) -> None:
        """The buyer opens a payment for one or two unpaid orders and settles it somehow."""
        order_id = self.choose_order(pick, False, OrderStatus.PENDING_PAYMENT)
        if order_id is None:
            return
        buyer = self.buyer_of[order_id]
        picked = [order_id]
        if both:
            # Another order of the same buyer, whatever its state: a paid one is refused.
            picked += [o for o in self.order_ids if self.buyer_of[o] == buyer and o != order_id][:1]
        answer = self.call(
            "POST",
            "/api/payments",
            self.buyers[buyer],
            {201, 409},
            json={"order_ids": picked},
        )
        if answer.status_code != 201:
            return
        payment = answer.json()
        self.payment_terms[payment["id"]] = (payment["amount_minor"], payment["currency"])
        self.payment_ids.append(payment["id"])
        self.settle(payment["id"], how)

    @precondition(lambda self: bool(self.payment_ids))
    @rule(
        pick=picks,
        how=st.sampled_from(
            [
                "sandbox_pay",
                "sandbox_decline",
                "webhook",
                "failed_webhook",
                "bad_signature",
                "stale",
                "wrong_amount",
            ]
        ),
    )
    def payment_settles_later(self, pick: int, how: str) -> None:
        """An earlier payment is paid, declined or notified now (perhaps too late)."""
        self.settle(self.payment_ids[pick % len(self.payment_ids)], how)

    def settle(self, payment: str, how: str) -> None:
        """Pay or decline on the sandbox page, or have the provider send a signed event."""
        if how.startswith("sandbox"):
            action = "pay" if how == "sandbox_pay" else "decline"
            self.call("POST", f"/sandbox/pay/{payment}", None, {303, 409}, data={"action": action})
        elif how != "none":
            self.send_webhook(payment, how)

    def send_webhook(self, payment: str, how: str) -> None:
        """Send a signed event straight to the webhook, genuine or forged."""
        amount, currency = self.payment_terms[payment]
        body = json.dumps(
            {
                "id": f"evt_{uuid.uuid4().hex}",
                "type": "payment.failed" if how == "failed_webhook" else "payment.succeeded",
                "payment_id": payment,
                "amount_minor": amount + (1 if how == "wrong_amount" else 0),
                "currency": currency,
            }
        ).encode()
        secret = "not-the-secret" if how == "bad_signature" else "test-webhook-secret"
        when = int(self.clock.now().timestamp()) - (3_600 if how == "stale" else 0)
        headers = {SIGNATURE_HEADER: sign(secret, when, body), "content-type": "application/json"}
        answer = self.call("POST", WEBHOOK_PATH, None, {200, 400}, content=body, headers=headers)
        genuine = how in ("webhook", "failed_webhook")
        assert (answer.status_code == 200) == genuine, answer.text
        if genuine:
            self.delivered.append((body, headers))

    @precondition(lambda self: bool(self.delivered))
    @rule(pick=picks)
    def provider_replays_webhook(self, pick: int) -> None:
        """A webhook arrives again: it changes nothing (or is stale once the clock moved)."""
        body, headers = self.delivered[pick % len(self.delivered)]
        answer = self.call("POST", WEBHOOK_PATH, None, {200, 400}, content=body, headers=headers)
        if answer.status_code == 200:
            assert answer.json() == {"result": "duplicate"}

    @precondition(lambda self: self.has_order(OrderStatus.PENDING_PAYMENT))
    @rule(pick=picks, stray=strays)
    def buyer_cancels(self, pick: int, stray: bool) -> None:
        """The buyer cancels an order (only an unpaid one may go)."""
        order_id = self.choose_order(pick, stray, OrderStatus.PENDING_PAYMENT)
        if order_id is not None:
            buyer = self.buyers[self.buyer_of[order_id]]
            self.call("POST", f"/api/orders/{order_id}/cancellation", buyer, {200, 409})

    @precondition(lambda self: self.has_order(OrderStatus.SHIPPED))
    @rule(pick=picks, stray=strays)
    def buyer_confirms_receipt(self, pick: int, stray: bool) -> None:
        """The buyer says the parcel arrived."""
        order_id = self.choose_order(pick, stray, OrderStatus.SHIPPED)
        if order_id is not None:
            buyer = self.buyers[self.buyer_of[order_id]]
            self.call("POST", f"/api/orders/{order_id}/receipt", buyer, {200, 409})

    @precondition(lambda self: self.has_order(OrderStatus.PAID, OrderStatus.DELIVERED))
    @rule(
        pick=picks,
        stray=strays,
        partial=st.booleans(),
        line_pick=st.integers(min_value=0, max_value=3),
        quantity=st.integers(min_value=1, max_value=3),
    )
    def buyer_opens_case(
        self, pick: int, stray: bool, partial: bool, line_pick: int, quantity: int
    ) -> None:
        """The buyer asks for a refund (paid) or a return (delivered), of all or part of a line."""
        states = self.order_state
        order_id = self.choose(
            self.order_ids,
            lambda o: states[o] in (OrderStatus.PAID, OrderStatus.DELIVERED),
            pick,
            stray,
        )
        if order_id is None:
            return
        buyer = self.buyers[self.buyer_of[order_id]]
        kind = "refund_only" if states[order_id] == OrderStatus.PAID else "return_refund"
        body: dict[str, Any] = {"kind": kind, "reason": "changed my mind"}
        if partial:
            lines = self.call("GET", f"/api/orders/{order_id}", buyer, {200}).json()["lines"]
            line = lines[line_pick % len(lines)]
            body["lines"] = [{"line_id": line["id"], "quantity": quantity}]
        answer = self.call(
            "POST", f"/api/orders/{order_id}/aftersales", buyer, {201, 409}, json=body
        )
        if answer.status_code == 201:
            self.case_ids.append(answer.json()["id"])
            self.buyer_of[answer.json()["id"]] = self.buyer_of[order_id]

    @precondition(lambda self: self.has_case(CaseStatus.REJECTED))
    @rule(pick=picks, stray=strays)
    def buyer_escalates(self, pick: int, stray: bool) -> None:
        """The buyer takes a rejection to an operator."""
        case_id = self.choose_case(pick, stray, CaseStatus.REJECTED)
        if case_id is not None:
            self.call(
                "POST",
                f"/api/aftersales/{case_id}/escalation",
                self.buyers[self.buyer_of[case_id]],
                {200, 409},
                json={"reason": "it arrived broken"},
            )

    # ------------------------------------------------------------ seller and operator

    @precondition(lambda self: self.has_order(OrderStatus.PAID))
    @rule(pick=picks, stray=strays)
    def seller_ships(self, pick: int, stray: bool) -> None:
        """The seller ships a paid order."""
        order_id = self.choose_order(pick, stray, OrderStatus.PAID)
        if order_id is not None:
            self.call(
                "POST",
                f"/api/orders/{order_id}/shipment",
                self.seller,
                {200, 409},
                json={"carrier": "SF Express", "tracking_no": f"SF{uuid.uuid4().hex[:10]}"},
            )

    @precondition(lambda self: self.has_case(CaseStatus.REQUESTED))
    @rule(pick=picks, stray=strays, approve=st.booleans())
    def seller_answers(self, pick: int, stray: bool, approve: bool) -> None:
        """The seller approves or rejects a return request."""
        case_id = self.choose_case(pick, stray, CaseStatus.REQUESTED)
        if case_id is not None:
            self.call(
                "POST",
                f"/api/aftersales/{case_id}/response",
                self.seller,
                {200, 409},
                json={"approve": approve, "note": "checked"},
            )

    @precondition(lambda self: self.has_case(CaseStatus.REFUNDED, "pending"))
    @rule(pick=picks, stray=strays, resellable=st.booleans())
    def seller_inspects_return(self, pick: int, stray: bool, resellable: bool) -> None:
        """The seller says whether returned units can be sold again."""
        case_id = self.choose_case(pick, stray, CaseStatus.REFUNDED, "pending")
        if case_id is not None:
            self.call(
                "POST",
                f"/api/aftersales/{case_id}/restock",
                self.seller,
                {200, 409},
                json={"resellable": resellable},
            )

    @rule(sku=sku_index, delta=st.integers(min_value=-3, max_value=5))
    def seller_adjusts_stock(self, sku: int, delta: int) -> None:
        """The seller puts units on hand or writes some off."""
        sku_id = self.sku_ids[sku]
        answer = self.call(
            "POST",
            f"/api/skus/{sku_id}/stock-adjustments",
            self.seller,
            {200, 409},
            json={"delta": delta},
        )
        if answer.status_code == 200:
            self.stocked[sku_id] += delta

    @precondition(lambda self: self.has_case(CaseStatus.DISPUTED))
    @rule(pick=picks, stray=strays, refund=st.booleans())
    def operator_decides(self, pick: int, stray: bool, refund: bool) -> None:
        """An operator settles a dispute."""
        case_id = self.choose_case(pick, stray, CaseStatus.DISPUTED)
        if case_id is not None:
            self.call(
                "POST",
                f"/api/aftersales/{case_id}/decision",
                self.operator,
                {200, 409},
                json={"refund": refund, "note": "ruled"},
            )

    # ------------------------------------------------------------ time

    @rule(minutes=st.sampled_from(JUMPS))
    def time_passes(self, minutes: int) -> None:
        """The clock moves and every periodic job runs once (a failing job fails the test)."""
        self.clock.advance(timedelta(minutes=minutes))
        self.run_jobs()
        self.read(self._check_caught_up)

    # ------------------------------------------------------------ invariants

    @invariant()
    def remember_states(self) -> None:
        """Note every order's and case's state, for the next step's choices."""

        async def states() -> None:
            async with self.uow() as ctx:
                orders = await ctx.db.execute(select(Order.id, Order.status))
                self.order_state = {order_id: status for order_id, status in orders}
                cases = await ctx.db.execute(
                    select(AfterSalesCase.id, AfterSalesCase.status, AfterSalesCase.restock)
                )
                self.case_state = {case_id: (status, restock) for case_id, status, restock in cases}

        self.run(states())

    @invariant()
    def webhooks_were_accepted(self) -> None:
        """Every webhook the sandbox sent was answered 200."""
        assert self.webhook_failures == []

    @invariant()
    def units_add_up(self) -> None:
        """Each SKU's buckets match what the test stocked and what the orders and cases say."""
        self.read(self._check_units)

    @invariant()
    def books_balance(self) -> None:
        """The ledger balances and each account holds what the orders say."""
        self.read(self._check_money)

    @invariant()
    def states_are_consistent(self) -> None:
        """Orders, payments and cases each sit in one state that their fields agree with."""
        self.read(self._check_states)

    async def _check_units(self, ctx: Ctx) -> None:
        skus = {sku.id: sku for sku in await ctx.db.scalars(select(Sku))}
        lines = (await ctx.db.execute(select(OrderLine, Order.status).join(Order))).all()
        cases = list(await ctx.db.scalars(select(AfterSalesCase)))
        reserved: Counter[str] = Counter()
        sold: Counter[str] = Counter()
        returned: Counter[str] = Counter()
        refunded_by_cases: Counter[str] = Counter()
        sku_of_line = {line.id: line.sku_id for line, _ in lines}
        for line, status in lines:
            if status == OrderStatus.PENDING_PAYMENT:
                reserved[line.sku_id] += line.quantity
            elif status in EVER_PAID:
                sold[line.sku_id] += line.quantity - line.refunded_quantity
        for case in cases:
            for part in case.lines:
                if case.status == CaseStatus.REFUNDED:
                    refunded_by_cases[part["line_id"]] += part["quantity"]
                if case.restock in ("pending", "unsellable"):
                    returned[sku_of_line[part["line_id"]]] += part["quantity"]
        for line, _ in lines:
            assert line.refunded_quantity == refunded_by_cases[line.id], line.id
            assert 0 <= line.refunded_quantity <= line.quantity, line.id
        for sku_id, stocked in self.stocked.items():
            sku = skus[sku_id]
            buckets = (sku.stock, sku.reserved, sku.sold, sku.returned_unsellable)
            assert min(buckets) >= 0, (sku_id, buckets)
            assert sum(buckets) == stocked, (sku_id, buckets, stocked)
            assert sku.reserved == reserved[sku_id], (sku_id, buckets)
            assert sku.sold == sold[sku_id], (sku_id, buckets)
            assert sku.returned_unsellable == returned[sku_id], (sku_id, buckets)

    async def _check_money(self, ctx: Ctx) -> None:
        assert await ledger.trial_balance(ctx) == 0
        assert await ledger.unbalanced_transactions(ctx) == []
        orders = list(await ctx.db.scalars(select(Order)))
        payments = list(await ctx.db.scalars(select(Payment)))
        refunds = list(await ctx.db.scalars(select(Refund)))
        balances = dict(
            (
                await ctx.db.execute(
                    select(LedgerEntry.account, func.sum(LedgerEntry.amount_minor)).group_by(
                        LedgerEntry.account
                    )
                )
            ).all()
        )
        captured = dict(
            (
                await ctx.db.execute(
                    select(LedgerEntry.order_id, func.sum(LedgerEntry.amount_minor))
                    .where(
                        LedgerEntry.kind == "capture",
                        LedgerEntry.account == ledger.provider_account("sandbox"),
                    )
                    .group_by(LedgerEntry.order_id)
                )
            ).all()
        )
        held = sum(o.total_minor - o.refunded_minor for o in orders if o.status in HOLDING)
        assert balances.get(ledger.ESCROW, 0) == -held
        succeeded = [p for p in payments if p.status == "succeeded"]
        provider = sum(p.amount_minor for p in succeeded) - sum(r.amount_minor for r in refunds)
        assert balances.get(ledger.provider_account("sandbox"), 0) == provider
        released = sum(
            o.total_minor - o.refunded_minor for o in orders if o.status == OrderStatus.COMPLETED
        )
        paid_out = sum(
            amount
            for account, amount in balances.items()
            if account.startswith("seller:") or account == ledger.FEES
        )
        assert paid_out == -released
        by_payment = {p.id: p for p in payments}
        cases = {c.id: c for c in await ctx.db.scalars(select(AfterSalesCase))}
        for order in orders:
            paid_for = sum(order.id in p.order_ids for p in succeeded)
            mine = [r for r in refunds if r.order_id == order.id]
            late = [r for r in mine if r.case_id is None]
            assert captured.get(order.id, 0) == order.total_minor * paid_for, order.id
            assert 0 <= order.refunded_minor <= order.total_minor, order.id
            assert sum(r.amount_minor for r in mine if r.case_id) == order.refunded_minor, order.id
            assert len(late) == paid_for - (order.paid_at is not None), order.id
            assert all(r.amount_minor == order.total_minor for r in late), order.id
            assert sum(r.amount_minor for r in mine) <= captured.get(order.id, 0), order.id
            for refund in mine:
                payment = by_payment[refund.payment_id]
                assert payment.status == "succeeded" and order.id in payment.order_ids
                if refund.case_id is not None:
                    case = cases[refund.case_id]
                    assert case.order_id == order.id and case.status == CaseStatus.REFUNDED
                    assert refund.amount_minor == case.amount_minor

    async def _check_states(self, ctx: Ctx) -> None:
        orders = list(await ctx.db.scalars(select(Order)))
        payments = {p.id: p for p in await ctx.db.scalars(select(Payment))}
        cases = list(await ctx.db.scalars(select(AfterSalesCase)))
        prices = {
            line.id: line.unit_price_minor for line in await ctx.db.scalars(select(OrderLine))
        }
        events = Counter(
            (order_id, kind)
            for order_id, kind in await ctx.db.execute(select(OrderEvent.order_id, OrderEvent.kind))
        )
        open_cases = Counter(c.order_id for c in cases if c.status in OPEN_CASE_STATUSES)
        assert max(open_cases.values(), default=0) <= 1, open_cases
        for payment in payments.values():
            assert payment.status in ("pending", "succeeded", "failed"), payment.status
            assert (payment.settled_at is not None) == (payment.status == "succeeded")
        for order in orders:
            self._check_order(order, payments)
            assert events[(order.id, "placed")] == 1, order.id
            assert events[(order.id, "paid")] == (order.paid_at is not None), order.id
        for case in cases:
            status = CaseStatus(case.status)
            assert (case.closed_at is not None) == (
                status in (CaseStatus.REFUNDED, CaseStatus.CLOSED)
            ), case.id
            if case.kind == "refund_only":
                assert status == CaseStatus.REFUNDED and case.restock is None, case.id
            else:
                assert (case.restock is not None) == (status == CaseStatus.REFUNDED), case.id
            assert case.restock in (None, "pending", "resellable", "unsellable"), case.id
            amount = sum(prices[p["line_id"]] * p["quantity"] for p in case.lines)
            assert case.amount_minor == amount, case.id

    @staticmethod
    def _check_order(order: Order, payments: dict[str, Payment]) -> None:
        status = OrderStatus(order.status)
        where = f"{order.id} ({status})"
        assert (order.paid_at is not None) == (status in EVER_PAID), where
        assert (order.cancelled_at is not None) == (status == OrderStatus.CANCELLED), where
        assert (order.completed_at is not None) == (status == OrderStatus.COMPLETED), where
        if order.delivered_at is not None:
            assert order.shipped_at is not None and order.return_deadline is not None, where
        if order.shipped_at is not None:
            assert order.paid_at is not None, where
        if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            assert order.shipped_at is not None, where
        if status in (OrderStatus.PAID, OrderStatus.SHIPPED):
            assert order.delivered_at is None, where
        if status == OrderStatus.PAID:
            assert order.shipped_at is None, where
        if status in (OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            assert order.delivered_at is not None, where
        if status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED):
            assert order.refunded_minor == 0, where
        if status in EVER_PAID:
            payment = payments.get(order.payment_id or "")
            assert payment is not None and payment.status == "succeeded", where
            assert order.id in payment.order_ids, where
            fully_refunded = order.refunded_minor == order.total_minor
            assert fully_refunded == (status == OrderStatus.REFUNDED), where

    async def _check_caught_up(self, ctx: Ctx) -> None:
        """Right after a sweep nothing is overdue (a zero-day window is due at once otherwise)."""
        now = self.clock.now()
        auto_deliver = timedelta(days=self.settings.auto_deliver_days)
        open_orders = {
            c.order_id
            for c in await ctx.db.scalars(select(AfterSalesCase))
            if c.status in OPEN_CASE_STATUSES
        }
        for order in await ctx.db.scalars(select(Order)):
            where = f"{order.id} ({order.status})"
            if order.status == OrderStatus.PENDING_PAYMENT:
                assert as_utc(order.expires_at) > now, where
            if order.status == OrderStatus.SHIPPED:
                assert order.shipped_at is not None, where
                assert as_utc(order.shipped_at) > now - auto_deliver, where
            if order.status == OrderStatus.DELIVERED and order.id not in open_orders:
                assert order.return_deadline is not None, where
                assert as_utc(order.return_deadline) > now, where
        for case in await ctx.db.scalars(select(AfterSalesCase)):
            if case.status in (CaseStatus.REQUESTED, CaseStatus.REJECTED):
                assert case.respond_by is not None and as_utc(case.respond_by) > now, case.id


def test_random_walks_of_orders_keep_every_invariant(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Drive the state machine on fresh databases of the configured backend."""
    run_machine(OrdersMachine, request, tmp_path, steps=30)
