"""Fake WebSocket viewers for the hub tests."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from laotie.realtime.events import RoomEvent, Seq
from laotie.realtime.hub import Hub


class Viewer:
    """Record every message; a blocked viewer's send waits until released."""

    def __init__(self, *, blocked: bool = False) -> None:
        self.messages: list[str] = []
        self.closed = False
        self.gate = asyncio.Event()
        if not blocked:
            self.gate.set()

    async def send(self, text: str) -> None:
        await self.gate.wait()
        self.messages.append(text)

    async def close(self) -> None:
        self.closed = True

    def frames(self) -> list[dict[str, Any]]:
        """Return every frame received, in order."""
        frames: list[dict[str, Any]] = []
        for text in self.messages:
            message = json.loads(text)
            assert message["type"] == "batch"
            frames.extend(message["frames"])
        return frames


def empty_state() -> dict[str, Any]:
    """Return the toy room's state before anything happened."""
    return {"likes": {}, "chat": [], "pin": None}


def apply(state: dict[str, Any], kind: str, data: dict[str, Any]) -> None:
    """Apply one event to the toy room's state, as a client would."""
    if kind == "chat":
        state["chat"].append(data["text"])
    elif kind == "like":
        state["likes"][data["key"]] = data["count"]
    elif kind == "pin":
        state["pin"] = data["product"]
    else:
        raise AssertionError(f"unknown event {kind}")


class Client(Viewer):
    """A viewer that keeps the toy room's state from its snapshot and events."""

    def __init__(self, state: dict[str, Any] | None = None, seq: Seq | None = None) -> None:
        super().__init__()
        self.state = state
        self.seq = seq
        self.errors: list[str] = []
        self.batch: set[int] = set()

    async def send(self, text: str) -> None:
        await super().send(text)
        try:
            self.receive(text)
        except AssertionError as error:  # the hub would only cut the viewer off: keep it
            self.errors.append(str(error))
            raise

    def receive(self, text: str) -> None:
        """Apply a batch, checking that each event comes once and after the previous batches.

        Within a batch a coalesced event keeps the place of the one it replaced, so numbers
        may go down; the client's position is the batch's highest number.
        """
        top = self.seq
        for frame in json.loads(text)["frames"]:
            seq = Seq.parse(frame["seq"])
            assert seq is not None
            if frame["type"] == "snapshot":
                self.state, self.seq = copy.deepcopy(frame["data"]), seq
                top = seq
                continue
            assert self.state is not None and self.seq is not None, "an event before the snapshot"
            assert top is not None and seq.epoch == self.seq.epoch
            assert seq.n > self.seq.n, f"event {seq} again or out of order after {self.seq}"
            assert seq.n not in self.batch, f"event {seq} twice"
            self.batch.add(seq.n)
            apply(self.state, frame["type"], frame["data"])
            top = max(top, seq)
        self.batch.clear()
        self.seq = top


class World:
    """The toy room's truth: each change is applied and published under one lock."""

    def __init__(self, room: str) -> None:
        self.room = room
        self.state = empty_state()
        self.lock = asyncio.Lock()

    async def act(self, hub: Hub, kind: str, arg: Any) -> None:
        """Change the room and publish the event, as a committed transaction would."""
        async with self.lock:
            if kind == "chat":
                event = RoomEvent("chat", {"text": arg})
            elif kind == "like":
                count = self.state["likes"].get(arg, 0) + 1
                event = RoomEvent("like", {"key": arg, "count": count}, coalesce=f"like:{arg}")
            else:
                event = RoomEvent("pin", {"product": arg}, priority=True)
            await hub.publish(self.room, event)
            apply(self.state, event.type, event.data)  # under the lock: same step as publishing

    async def snapshot(self, hub: Hub, yields: int = 0) -> tuple[dict[str, Any], Seq]:
        """Return the state with the sequence number it reflects."""
        for _ in range(yields):
            await asyncio.sleep(0)
        async with self.lock:
            return copy.deepcopy(self.state), await hub.head(self.room)
