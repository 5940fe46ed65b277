"""One-off tasks on taskiq: run at once in memory, through a Redis list in a cluster."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from starlette.datastructures import State

from laotie.core.tasks import Task, TaskQueue, make_broker
from laotie.settings import Settings


async def _note(state: State, word: str, number: int) -> None:
    state.seen.append((word, number))


def _state() -> State:
    state = State()
    state.seen = []
    return state


async def test_an_in_memory_task_runs_before_the_kick_returns() -> None:
    state = _state()
    queue = TaskQueue(make_broker(Settings()), [Task("test.note", _note)], state)
    assert queue.in_memory
    await queue.start()
    try:
        await queue.kick("test.note", "hello", 1)
        assert state.seen == [("hello", 1)]
        with pytest.raises(LookupError):
            await queue.kick("test.unknown")
    finally:
        await queue.stop()


@pytest.mark.redis
async def test_a_task_kicked_on_redis_runs_in_a_listening_process(redis_url: str) -> None:
    state = _state()
    queue = TaskQueue(make_broker(Settings(redis_url=redis_url)), [Task("test.note", _note)], state)
    assert not queue.in_memory
    queue.broker.queue_name = f"laotie:tasks:test:{uuid.uuid4().hex[:8]}"  # type: ignore[attr-defined]
    await queue.start()
    try:
        await queue.kick("test.note", "over redis", 2)
        for _ in range(200):  # bounded wait for the receiver
            if state.seen:
                break
            await asyncio.sleep(0.05)
        assert state.seen == [("over redis", 2)]
    finally:
        await queue.stop()
