"""The batching writer: gather, write once, keep a failed batch, finish on the way out."""

from __future__ import annotations

import asyncio
from typing import Any

from laotie.core import batching
from laotie.core.batching import BatchWriter


class SlowWriter(BatchWriter[int]):
    """Records each batch after a pause, like a transaction committing in a thread."""

    name = "slow"

    def __init__(self, every_s: float, pause_s: float, failures: int = 0) -> None:
        super().__init__(every_s)
        self.pause_s = pause_s
        self.failures = failures
        self.started = asyncio.Event()
        self.wrote = asyncio.Event()
        self.written: list[list[int]] = []

    async def write(self, state: Any, batch: list[int]) -> int:
        self.started.set()
        await asyncio.sleep(self.pause_s)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database is away")
        self.written.append(list(batch))
        self.wrote.set()
        return len(batch)


async def test_items_gathered_in_a_tick_are_written_as_one_batch() -> None:
    writer = SlowWriter(every_s=0.02, pause_s=0)
    writer.start_writing(None)
    for item in range(5):
        writer.queue(item)
    await asyncio.wait_for(writer.wrote.wait(), 5)
    await writer.stop_writing(None)
    assert writer.written == [[0, 1, 2, 3, 4]]


async def test_stopping_lets_the_batch_being_written_finish_and_writes_it_once() -> None:
    writer = SlowWriter(every_s=0, pause_s=0.1)
    writer.start_writing(None)
    writer.queue(1)
    await writer.started.wait()
    writer.queue(2)  # arrives while the first batch is being written
    await writer.stop_writing(None)
    assert writer.written == [[1], [2]]


async def test_a_failed_batch_is_kept_in_order_and_written_on_the_way_out(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(batching, "RETRY_PAUSES_S", (0.05,))
    writer = SlowWriter(every_s=0, pause_s=0, failures=1)
    writer.start_writing(None)
    writer.queue(1)
    await writer.started.wait()
    writer.queue(2)
    await writer.stop_writing(None)
    assert writer.written == [[1, 2]]
