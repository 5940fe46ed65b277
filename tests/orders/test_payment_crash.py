"""A real server killed right after a payment commits, its webhook undelivered, still
ends with the order paid and the buyer charged once after it restarts."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from laotie.bench.checkout import seed_market
from laotie.bench.common import free_port
from tests.servers import migrated_sqlite, serving

__all__ = ["migrated_sqlite"]

pytestmark = pytest.mark.server


def _serving(
    database: Path, port: int, public_url: str, log: Path
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return serving(database, port, public_url, log, LAOTIE_JOBS_INTERVAL_SECONDS="0.5")


async def _pay_with_nobody_listening(base_url: str) -> tuple[str, str, str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        market = await seed_market(client, buyers=1, products=1, stock=3)
        buyer = {"Authorization": f"Bearer {market.buyer_tokens[0]}"}
        placed = await client.post(
            "/api/orders",
            json={"lines": [{"sku_id": market.sku_ids[0], "quantity": 1}]},
            headers={**buyer, "Idempotency-Key": "crash-order-1"},
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["orders"][0]["id"]
        started = await client.post("/api/payments", json={"order_ids": [order_id]}, headers=buyer)
        assert started.status_code == 201, started.text
        payment_id = started.json()["id"]
        paid = await client.post(f"/sandbox/pay/{payment_id}", data={"action": "pay"})
        assert paid.status_code == 303, paid.text
        status = (await client.get(f"/api/orders/{order_id}", headers=buyer)).json()["status"]
        assert status == "pending_payment"  # the webhook could not be delivered
        return order_id, payment_id, market.buyer_tokens[0]


async def _wait_until_paid(base_url: str, order_id: str, token: str) -> str:
    status = ""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        # Bounded: the sweep sends the webhook again once its retry is due (seconds).
        for _ in range(240):
            answer = await client.get(
                f"/api/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}
            )
            status = answer.json()["status"]
            if status == "paid":
                break
            await asyncio.sleep(0.25)
    return status


def test_an_order_paid_before_a_kill_is_paid_once_after_the_restart(
    migrated_sqlite: Path, tmp_path: Path
) -> None:
    database = tmp_path / "laotie.db"
    shutil.copyfile(migrated_sqlite, database)
    log = tmp_path / "server.log"
    port, nowhere = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    with _serving(database, port, f"http://127.0.0.1:{nowhere}", log) as server:
        order_id, payment_id, token = asyncio.run(_pay_with_nobody_listening(base_url))
        server.kill()  # SIGKILL: no shutdown, nothing flushed on the way out
        server.wait()
    with _serving(database, port, base_url, log):
        status = asyncio.run(_wait_until_paid(base_url, order_id, token))
    assert status == "paid", log.read_text()[-3000:]
    with contextlib.closing(sqlite3.connect(database)) as db:
        charges = db.execute(
            "SELECT kind, COUNT(*) FROM sandbox_charges WHERE payment_id = ? GROUP BY kind",
            (payment_id,),
        ).fetchall()
        sent = db.execute(
            "SELECT COUNT(*) FROM webhook_outbox WHERE sent_at IS NOT NULL"
        ).fetchone()
        paid = db.execute("SELECT status FROM payments WHERE id = ?", (payment_id,)).fetchone()
    assert charges == [("charge", 1)]
    assert sent == (1,)
    assert paid == ("succeeded",)
