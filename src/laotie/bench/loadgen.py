"""The load generator: a closed-loop HTTP/1.1 client, run as `python -m laotie.bench.loadgen`.

It reads a plan (JSON) on stdin and writes its figures (JSON) to the file named on its
command line. Each virtual user owns one keep-alive connection and repeats its
scenario's step until the phase ends.
Requests are pre-built bytes and responses are parsed by hand: a general-purpose client
(httpx) costs several times more CPU per request and would itself become the bottleneck.

A plan: {"host", "port", "concurrency", "server_pid", "phases": [{"name", "scenario":
"module:factory", "params", "duration", "warmup", "steps"}]}. A factory is called once per
virtual user as factory(params, user_index) and returns the step, `async step(connection,
recorder)`. A phase with `steps` ends after that many steps in all, or at its duration.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from laotie.bench.common import client_main, cpu_seconds_of, own_cpu_seconds, percentile

Step = Callable[["HttpConnection", "Recorder"], Awaitable[None]]
StepFactory = Callable[[Mapping[str, Any], int], Step]
KEPT_DETAILS = 3


def build_request(
    method: str, path: str, host: str, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> bytes:
    """Return the bytes of an HTTP/1.1 keep-alive request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that sends pre-built requests."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect (again)."""
        self.close()
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        """Drop the connection."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request and return the status and the body of the answer."""
        if self._writer is None or self._reader is None:
            await self.open()
        assert self._writer is not None and self._reader is not None
        self._writer.write(raw)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
            body = await self._reader.readexactly(length) if length else b""
        elif b"\r\ntransfer-encoding: chunked" in lower:
            body = await self._read_chunked()
        else:
            body = b""
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, body

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self._reader.readexactly(size + 2)
            if size == 0:
                return b"".join(parts)
            parts.append(chunk[:-2])


class Recorder:
    """What one phase saw: successes with their timings, failures by reason, kept values."""

    def __init__(self) -> None:
        self.ok = 0
        self.timings: dict[str, list[float]] = {}
        self.failures: dict[str, int] = {}
        self.details: list[str] = []
        self.kept: list[str] = []

    def success(self, keep: str | None = None, **seconds: float) -> None:
        """Count one successful step with its timings (seconds) and a value to keep."""
        self.ok += 1
        for name, value in seconds.items():
            self.timings.setdefault(name, []).append(value)
        if keep is not None:
            self.kept.append(keep)

    @property
    def steps(self) -> int:
        """Return how many steps were counted, successful or not."""
        return self.ok + sum(self.failures.values())

    def failure(self, reason: str, detail: bytes | str = b"") -> None:
        """Count one failed step."""
        self.failures[reason] = self.failures.get(reason, 0) + 1
        if len(self.details) < KEPT_DETAILS:
            text = detail.decode(errors="replace") if isinstance(detail, bytes) else detail
            self.details.append(f"{reason}: {text[:300]}")


async def _drive(
    connections: list[HttpConnection],
    steps: list[Step],
    recorder: Recorder,
    seconds: float,
    limit: int | None = None,
) -> None:
    """Let every virtual user repeat its step until the time (or the `limit` of steps in
    all) is up: a closed loop."""
    deadline = time.perf_counter() + seconds

    def going() -> bool:
        return time.perf_counter() < deadline and (limit is None or recorder.steps < limit)

    async def user(connection: HttpConnection, step: Step) -> None:
        while going():
            try:
                await step(connection, recorder)
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                recorder.failure("connection", repr(error))
                connection.close()

    await asyncio.gather(*(user(c, s) for c, s in zip(connections, steps, strict=True)))


async def run_phase(plan: Mapping[str, Any], phase: Mapping[str, Any]) -> dict[str, Any]:
    """Run one phase: warm up, then measure wall time, client CPU and server CPU."""
    module_name, _, factory_name = str(phase["scenario"]).partition(":")
    factory: StepFactory = getattr(importlib.import_module(module_name), factory_name)
    concurrency = int(plan["concurrency"])
    params = phase.get("params", {})
    steps = [factory(params, user) for user in range(concurrency)]
    connections = [HttpConnection(plan["host"], int(plan["port"])) for _ in range(concurrency)]
    for connection in connections:
        await connection.open()
    warmup = Recorder()
    if float(phase.get("warmup", 0)) > 0:
        await _drive(connections, steps, warmup, float(phase["warmup"]))
    recorder = Recorder()
    server_before = cpu_seconds_of(plan.get("server_pid"))
    cpu_before, started = own_cpu_seconds(), time.perf_counter()
    limit = None if phase.get("steps") is None else int(phase["steps"])
    await _drive(connections, steps, recorder, float(phase["duration"]), limit)
    wall, cpu = time.perf_counter() - started, own_cpu_seconds() - cpu_before
    server_after = cpu_seconds_of(plan.get("server_pid"))
    for connection in connections:
        connection.close()
    return {
        "name": phase["name"],
        "ok": recorder.ok,
        "wall_s": wall,
        "client_cpu_s": cpu,
        "server_cpu_s": None
        if server_before is None or server_after is None
        else server_after - server_before,
        "latency_ms": {
            name: {"p50": 1000 * percentile(values, 50), "p99": 1000 * percentile(values, 99)}
            for name, values in recorder.timings.items()
        },
        "failures": recorder.failures,
        "failure_details": recorder.details,
        "warmup_failures": warmup.failures,
        "kept": warmup.kept + recorder.kept,
    }


async def run_plan(plan: Mapping[str, Any]) -> dict[str, Any]:
    """Run the phases in order."""
    return {"phases": [await run_phase(plan, phase) for phase in plan["phases"]]}


def main() -> None:
    """Read the plan on stdin, run it, write the figures to the file named on the command line."""
    client_main(run_plan)


if __name__ == "__main__":
    main()
