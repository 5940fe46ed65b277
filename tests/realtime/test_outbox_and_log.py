"""The room log's replay window and a viewer's bounded, coalescing outbox."""

from __future__ import annotations

import pytest

from laotie.realtime.events import RoomEvent, Seq
from laotie.realtime.log import MemoryRoomLog
from laotie.realtime.outbox import Outbox, SlowConsumerError


async def test_log_numbers_events_and_replays_what_it_keeps() -> None:
    log = MemoryRoomLog(keep=3, epoch="e1")
    start = log.head("room")
    assert start == Seq("e1", 0)
    for i in range(5):
        await log.append("room", RoomEvent("chat", {"i": i}))
    assert log.head("room") == Seq("e1", 5)
    replay = log.since("room", Seq("e1", 3))
    assert replay is not None
    assert [event.data["i"] for event in replay] == [3, 4]
    assert log.since("room", Seq("e1", 1)) is None  # forgotten: take a snapshot
    assert log.since("room", Seq("other-epoch", 4)) is None  # restarted log
    assert log.since("room", Seq("e1", 9)) is None  # from the future
    assert log.since("room", Seq("e1", 5)) == []


def test_seq_round_trips_and_rejects_garbage() -> None:
    assert Seq.parse(str(Seq("ab12", 42))) == Seq("ab12", 42)
    assert Seq.parse("nonsense") is None
    assert Seq.parse(":5") is None
    assert Seq.parse("e:-1") is None


def test_outbox_coalesces_and_drops_oldest_ordinary_events() -> None:
    box = Outbox(soft_limit=3, hard_limit=10)
    box.put(RoomEvent("stock", {"left": 9}, coalesce="stock:a"))
    for i in range(5):
        box.put(RoomEvent("chat", {"i": i}))
    box.put(RoomEvent("stock", {"left": 7}, coalesce="stock:a"))
    frames = box.take()
    assert [f["type"] for f in frames] == ["stock", "chat", "chat", "chat"]
    assert frames[0]["data"] == {"left": 7}
    assert [f["data"]["i"] for f in frames[1:]] == [2, 3, 4]
    assert box.dropped == 2
    box.put(RoomEvent("stock", {"left": 5}, coalesce="stock:a"))
    box.put(RoomEvent("stock", {"left": 4}, coalesce="stock:a"))
    assert box.take() == [{"type": "stock", "seq": None, "data": {"left": 4}}]
    assert len(box) == 0


def test_priority_events_are_never_dropped_but_a_slow_consumer_is_cut_off() -> None:
    box = Outbox(soft_limit=2, hard_limit=5)
    for i in range(5):
        box.put(RoomEvent("pin", {"i": i}, priority=True))
        box.put(RoomEvent("chat", {"i": i}))
    frames = box.take()
    assert [f["data"]["i"] for f in frames if f["type"] == "pin"] == [0, 1, 2, 3, 4]
    with pytest.raises(SlowConsumerError):
        for i in range(6):
            box.put(RoomEvent("pin", {"i": i}, priority=True))
