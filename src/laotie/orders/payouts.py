"""Payouts: a shop withdraws its released balance, and an anchor its released commissions,
to its payout account.

A request moves the amount from the seller's ledger account to `payouts:in_transit` and
asks the payout provider to send it; the provider answers later by a signed callback,
paid (in transit → the provider's account) or failed (in transit → back to the seller).
A shop's request passes the balance's one guard (`balance.check_spendable`: the shop's row
lock, then the balance), which a promotion's budget passes too, so that concurrent payouts
and promotions never overdraw the balance together; an anchor's takes its payout account's
row lock, then reads its commissions' balance, which only payouts spend.

The built-in sandbox payout provider pays every account except those whose number
starts with `fail`, and sends its callback through the same webhook outbox as the
sandbox payments (`orders/webhooks.py`), so a callback that fails is sent again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.orders import balance, ledger
from laotie.orders.errors import OrderError
from laotie.orders.models import AnchorPayoutAccount, Payout, PayoutAccount, WebhookReceipt
from laotie.orders.payments import SIGNATURE_HEADER, check_signature, sign
from laotie.orders.schemas import PayoutAccountOut, PayoutOut
from laotie.orders.webhooks import Kick, do_write_webhook

CALLBACK_PATH = "/api/payouts/webhooks/sandbox_payouts"


@dataclass(frozen=True, slots=True)
class PayoutEvent:
    """A payout provider's verified notice about a payout."""

    id: str
    type: str  # payout.paid | payout.failed
    payout_id: str
    amount_minor: int
    reason: str | None


class SandboxPayoutProvider:
    """A payout provider inside laotie: decides at once, tells laotie by a signed callback."""

    name = "sandbox_payouts"
    ledger_name = "sandbox"  # the money leaves the account the sandbox's payments fill

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def headers_for(self, body: bytes, now_s: float) -> dict[str, str]:
        """Return the headers of a signed callback."""
        return {
            SIGNATURE_HEADER: sign(self._secret, int(now_s), body),
            "content-type": "application/json",
        }

    def verify(self, body: bytes, headers: dict[str, str], now_s: float) -> PayoutEvent:
        """Check the callback's signature, then parse it."""
        check_signature(self._secret, body, headers, now_s)
        try:
            data = json.loads(body)
            return PayoutEvent(
                id=str(data["id"]),
                type=str(data["type"]),
                payout_id=str(data["payout_id"]),
                amount_minor=int(data["amount_minor"]),
                reason=None if data.get("reason") is None else str(data["reason"]),
            )
        except (ValueError, KeyError, TypeError):
            raise AppError.of(OrderError.BAD_SIGNATURE, "malformed callback body") from None

    async def do_send(self, ctx: Ctx, payout: Payout, kick: Kick) -> None:
        """Send the money (in the sandbox: decide) and queue the callback in this transaction."""
        failed = payout.account_no.lower().startswith("fail")
        body = json.dumps(
            {
                "id": new_id("evt"),
                "type": "payout.failed" if failed else "payout.paid",
                "payout_id": payout.id,
                "amount_minor": payout.amount_minor,
                "reason": "the bank refused the account" if failed else None,
            }
        ).encode()
        await do_write_webhook(ctx, self.name, CALLBACK_PATH, body, kick)


# ---------------------------------------------------------------- the payout account


def account_out(account: PayoutAccount) -> PayoutAccountOut:
    """Return the wire form of a payout account."""
    return PayoutAccountOut(
        shop_id=account.shop_id,
        holder_name=account.holder_name,
        account_no=account.account_no,
        updated_at=account.updated_at,
    )


async def payout_account(ctx: Ctx, actor: Actor, shop_id: str) -> PayoutAccountOut | None:
    """Return the shop's payout account, if it has one."""
    await balance.access_shop_money(ctx, actor, shop_id)
    account = await ctx.db.get(PayoutAccount, shop_id)
    return None if account is None else account_out(account)


async def do_set_payout_account(
    ctx: Ctx, actor: Actor, shop_id: str, holder_name: str, account_no: str
) -> PayoutAccountOut:
    """Set where the shop's payouts go; payouts already asked for keep their account."""
    await balance.access_shop_money(ctx, actor, shop_id)
    account = await ctx.db.get(PayoutAccount, shop_id, with_for_update=True)
    if account is None:
        account = PayoutAccount(shop_id=shop_id, holder_name="", account_no="")
        ctx.db.add(account)
    account.holder_name = holder_name.strip()
    account.account_no = account_no.strip()
    account.updated_at = ctx.now()
    await ctx.db.flush()
    return account_out(account)


async def anchor_payout_account(ctx: Ctx, actor: Actor) -> PayoutAccountOut | None:
    """Return the anchor's payout account, if it has one."""
    account = await ctx.db.get(AnchorPayoutAccount, actor.id)
    return None if account is None else _anchor_account_out(account)


async def do_set_anchor_payout_account(
    ctx: Ctx, actor: Actor, holder_name: str, account_no: str
) -> PayoutAccountOut:
    """Set where the anchor's payouts go; payouts already asked for keep their account."""
    require_role(actor, Role.ANCHOR)
    account = await ctx.db.get(AnchorPayoutAccount, actor.id, with_for_update=True)
    if account is None:
        account = AnchorPayoutAccount(anchor_id=actor.id, holder_name="", account_no="")
        ctx.db.add(account)
    account.holder_name = holder_name.strip()
    account.account_no = account_no.strip()
    account.updated_at = ctx.now()
    await ctx.db.flush()
    return _anchor_account_out(account)


def _anchor_account_out(account: AnchorPayoutAccount) -> PayoutAccountOut:
    return PayoutAccountOut(
        anchor_id=account.anchor_id,
        holder_name=account.holder_name,
        account_no=account.account_no,
        updated_at=account.updated_at,
    )


# ---------------------------------------------------------------- payouts


def payout_out(payout: Payout) -> PayoutOut:
    """Return the wire form of a payout."""
    return PayoutOut(
        id=payout.id,
        shop_id=payout.shop_id,
        anchor_id=payout.anchor_id,
        status=payout.status,
        amount_minor=payout.amount_minor,
        currency=payout.currency,
        account_no=payout.account_no,
        failure_reason=payout.failure_reason,
        created_at=payout.created_at,
        settled_at=payout.settled_at,
    )


async def do_request_payout(
    ctx: Ctx,
    actor: Actor,
    shop_id: str,
    amount_minor: int,
    provider: SandboxPayoutProvider,
    kick: Kick,
) -> PayoutOut:
    """Withdraw part of the released balance to the payout account; never below zero."""
    await balance.access_shop_money(ctx, actor, shop_id)
    account = await ctx.db.get(PayoutAccount, shop_id, with_for_update=True)
    if account is None:
        raise AppError(OrderError.PAYOUT_ACCOUNT_MISSING, "set a payout account first", 409)
    await balance.check_spendable(ctx, shop_id, amount_minor)
    payout = Payout(id=new_id("po"), shop_id=shop_id, account_no=account.account_no)
    return await _send(ctx, payout, amount_minor, provider, kick)


async def do_request_anchor_payout(
    ctx: Ctx, actor: Actor, amount_minor: int, provider: SandboxPayoutProvider, kick: Kick
) -> PayoutOut:
    """Withdraw part of the anchor's released commissions to its payout account."""
    require_role(actor, Role.ANCHOR)
    account = await ctx.db.get(AnchorPayoutAccount, actor.id, with_for_update=True)
    if account is None:
        raise AppError(OrderError.PAYOUT_ACCOUNT_MISSING, "set a payout account first", 409)
    available = -await ledger.balance(ctx, ledger.anchor_account(actor.id))
    balance.check_covers(ctx, available, amount_minor, "the balance of released commissions")
    payout = Payout(id=new_id("po"), anchor_id=actor.id, account_no=account.account_no)
    return await _send(ctx, payout, amount_minor, provider, kick)


async def _send(
    ctx: Ctx, payout: Payout, amount_minor: int, provider: SandboxPayoutProvider, kick: Kick
) -> PayoutOut:
    """Record a checked payout, move its amount in transit, and ask the provider to pay it."""
    payout.provider, payout.status = provider.name, "requested"
    payout.amount_minor, payout.currency = amount_minor, ctx.settings.currency
    payout.created_at = ctx.now()
    ctx.db.add(payout)
    await ctx.db.flush()
    await ledger.post_payout(
        ctx,
        "payout_requested",
        payee_account(payout),
        provider.ledger_name,
        amount_minor,
        payout.currency,
    )
    await provider.do_send(ctx, payout, kick)
    return payout_out(payout)


def payee_account(payout: Payout) -> str:
    """Return the ledger account a payout's money comes from."""
    if payout.anchor_id is not None:
        return ledger.anchor_account(payout.anchor_id)
    return ledger.seller_account(str(payout.shop_id))


async def payouts_of_shop(ctx: Ctx, actor: Actor, shop_id: str, limit: int = 50) -> list[PayoutOut]:
    """Return the shop's payouts, newest first."""
    await balance.access_shop_money(ctx, actor, shop_id)
    rows = await ctx.db.scalars(
        select(Payout)
        .where(Payout.shop_id == shop_id)
        .order_by(Payout.created_at.desc(), Payout.id)
        .limit(limit)
    )
    return [payout_out(payout) for payout in rows]


async def payouts_of_anchor(ctx: Ctx, actor: Actor, limit: int = 50) -> list[PayoutOut]:
    """Return the anchor's payouts of its commissions, newest first."""
    rows = await ctx.db.scalars(
        select(Payout)
        .where(Payout.anchor_id == actor.id)
        .order_by(Payout.created_at.desc(), Payout.id)
        .limit(limit)
    )
    return [payout_out(payout) for payout in rows]


async def do_apply_callback(
    ctx: Ctx, provider: SandboxPayoutProvider, body: bytes, headers: dict[str, str]
) -> str:
    """Apply a verified payout callback once: the payout is paid, or its money goes back."""
    event = provider.verify(body, headers, ctx.now().timestamp())
    try:
        async with ctx.db.begin_nested():
            ctx.db.add(
                WebhookReceipt(event_id=event.id, provider=provider.name, received_at=ctx.now())
            )
            await ctx.db.flush()
    except IntegrityError:
        return "duplicate"
    payout = await ctx.db.get(Payout, event.payout_id, with_for_update=True)
    if payout is None:
        raise not_found("payout")
    if event.amount_minor != payout.amount_minor:
        raise AppError.of(OrderError.WEBHOOK_MISMATCH, "callback does not match the payout")
    if payout.status != "requested" or event.type not in ("payout.paid", "payout.failed"):
        return "ignored"
    paid = event.type == "payout.paid"
    payout.status = "paid" if paid else "failed"
    payout.failure_reason = None if paid else (event.reason or "failed")
    payout.settled_at = ctx.now()
    await ledger.post_payout(
        ctx,
        "payout_paid" if paid else "payout_failed",
        payee_account(payout),
        provider.ledger_name,
        payout.amount_minor,
        payout.currency,
    )
    return payout.status
