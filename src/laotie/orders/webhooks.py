"""The sandbox provider's webhook outbox: written with the charge, delivered by a task.

A webhook is a row of `webhook_outbox`, inserted in the transaction that records the
charge, so the charge and the promise to tell laotie commit together. After commit the
delivery task is kicked (taskiq, `core/tasks.py`): it signs the body afresh (the
signature carries its time, and a retry an hour later must still verify), sends it, and
marks the row sent. A refused or failed send records the error and the next attempt's
time, with exponential backoff; the sweep `requeue_due_webhooks` kicks again every row
whose next attempt is due, so a crash between commit and send, or a broker that lost
the task, loses nothing. The backoff lives on the row rather than in taskiq's retry
middleware because the row survives a restart and the brokers used here have no
delayed delivery. A webhook sent twice is harmless: laotie applies each event once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select, update
from starlette.datastructures import State

from laotie.core.context import Ctx, unit_of_work
from laotie.core.ids import new_id
from laotie.db.engine import run_batch
from laotie.orders.models import WebhookOutbox

log = logging.getLogger(__name__)

DELIVER_WEBHOOK = "orders.deliver_webhook"
# The sweep leaves a fresh row to its first kick this long, and a row it kicked as long.
CLAIM_S = 30.0
RETRY_BASE_S = 5.0
RETRY_MAX_S = 3_600.0
BATCH = 200

Kick = Callable[..., Awaitable[None]]
WebhookSender = Callable[[str, bytes, dict[str, str]], Awaitable[None]]


@runtime_checkable
class SignsWebhooks(Protocol):
    """A provider that sends webhooks signs each attempt."""

    name: str

    def headers_for(self, body: bytes, now_s: float) -> dict[str, str]:
        """Return the headers of a signed webhook."""
        ...


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait after this many failed attempts: doubling, with a ceiling."""
    return timedelta(seconds=min(RETRY_BASE_S * 2 ** max(attempts - 1, 0), RETRY_MAX_S))


async def do_write_webhook(ctx: Ctx, provider: str, path: str, body: bytes, kick: Kick) -> str:
    """Queue a webhook in this transaction; its delivery is kicked once the transaction commits."""
    row = WebhookOutbox(
        id=new_id("whk"),
        provider=provider,
        path=path,
        body=body.decode(),
        headers={"content-type": "application/json"},
        attempts=0,
        next_attempt_at=ctx.now() + timedelta(seconds=CLAIM_S),
        created_at=ctx.now(),
    )
    ctx.db.add(row)

    async def deliver() -> None:
        await kick(DELIVER_WEBHOOK, row.id, row.provider, row.path, row.body, row.headers, 0)

    ctx.publish_on_commit(deliver)
    return row.id


async def do_mark_sent(ctx: Ctx, outbox_id: str) -> None:
    """Mark a webhook delivered by other means (the demo's seed applies its own)."""
    await ctx.db.execute(
        update(WebhookOutbox).where(WebhookOutbox.id == outbox_id).values(sent_at=ctx.now())
    )


async def deliver_webhook(
    state: State,
    outbox_id: str,
    provider: str,
    path: str,
    body: str,
    headers: dict[str, str],
    attempts: int,
) -> bool:
    """Sign and send one webhook; mark it sent, or note the failure and when to try again."""
    signer = state.payment_providers.get(provider) or state.payout_providers.get(provider)
    if not isinstance(signer, SignsWebhooks):
        log.error("webhook of a provider that signs none", extra={"provider": provider})
        return False
    raw = body.encode()
    now_s = state.clock.now().timestamp()
    send: WebhookSender = state.webhook_sender
    error: str | None = None
    try:
        await send(path, raw, {**headers, **signer.headers_for(raw, now_s)})
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"[:500]
        log.warning("webhook not delivered", extra={"outbox_id": outbox_id, "error": error})
    now = state.clock.now()
    values: dict[str, Any] = (
        {"sent_at": now, "attempts": attempts + 1, "last_error": None}
        if error is None
        else {
            "attempts": attempts + 1,
            "next_attempt_at": now + retry_delay(attempts + 1),
            "last_error": error,
        }
    )
    pending = (WebhookOutbox.id == outbox_id, WebhookOutbox.sent_at.is_(None))
    statement = update(WebhookOutbox).where(*pending).values(**values)
    # One statement in a transaction of its own: on SQLite one trip to a worker thread.
    await run_batch(state.database, lambda connection: connection.execute(statement))
    return error is None


async def requeue_due_webhooks(state: State) -> int:
    """Kick again every unsent webhook whose next attempt is due; return how many."""
    async with unit_of_work(state.database, state.settings, state.clock) as ctx:
        due = (
            await ctx.db.scalars(
                select(WebhookOutbox)
                .where(WebhookOutbox.sent_at.is_(None), WebhookOutbox.next_attempt_at <= ctx.now())
                .order_by(WebhookOutbox.next_attempt_at)
                .limit(BATCH)
            )
        ).all()
        rows = [(r.id, r.provider, r.path, r.body, dict(r.headers), r.attempts) for r in due]
        if rows:
            # Claimed: the next sweep leaves them to the kicks below for a while.
            await ctx.db.execute(
                update(WebhookOutbox)
                .where(WebhookOutbox.id.in_([row[0] for row in rows]))
                .values(next_attempt_at=ctx.now() + timedelta(seconds=CLAIM_S))
            )
    for row in rows:
        await state.tasks.kick(DELIVER_WEBHOOK, *row)
    return len(rows)
