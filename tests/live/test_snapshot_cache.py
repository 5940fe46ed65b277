"""A crowd joining a room shares one snapshot read; a retry reads a new one."""

from __future__ import annotations

import asyncio

import pytest

from laotie.live.room.state import Snapshot, SnapshotCache
from laotie.realtime.events import Seq


class Reader:
    """Counts the database reads a snapshot would cost."""

    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    async def __call__(self) -> Snapshot:
        self.reads += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise RuntimeError("the database is away")
        return {"likes": self.reads}, Seq(1, self.reads)


async def test_viewers_joining_together_share_one_read() -> None:
    cache, read = SnapshotCache(ttl_s=60), Reader()
    got = await asyncio.gather(*(cache.get("room:a", read) for _ in range(50)))
    assert read.reads == 1
    assert {seq for _, seq in got} == {Seq(1, 1)}
    assert (await cache.get("room:b", read))[1] == Seq(1, 2)  # rooms apart


async def test_a_stale_or_refused_snapshot_is_read_again() -> None:
    cache, read = SnapshotCache(ttl_s=0), Reader()
    await cache.get("room:a", read)
    await cache.get("room:a", read)
    assert read.reads == 2
    cache.ttl_s = 60
    await cache.get("room:a", read, fresh=True)
    assert read.reads == 3


async def test_a_failed_read_fails_its_waiters_and_is_not_kept() -> None:
    cache, read = SnapshotCache(), Reader()
    read.fail = True
    results = await asyncio.gather(
        *(cache.get("room:a", read) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert read.reads == 1
    read.fail = False
    assert (await cache.get("room:a", read))[1] == Seq(1, 2)
    with pytest.raises(RuntimeError):
        read.fail = True
        await cache.get("room:c", read)
