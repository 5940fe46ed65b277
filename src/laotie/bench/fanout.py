"""`laotie bench room-fanout`: one room's events fanned out to thousands of WebSocket viewers.

The same load runs twice in one run, against laotie (its room WebSocket, hub and ticker)
and against a minimal server (`laotie.bench.broadcast_server`: the `websockets` library
pushing the tick's batch with `websockets.broadcast()`), each pinned to the server's core
while the load generator (this module run as `python -m laotie.bench.fanout`) runs on the
other. Viewers are probes, which time every chat line from the moment a chatter sent it
to the moment the probe read it, and drains, which only count messages; chatters are the
first probes (signed in on laotie); likes come from the drains.

The client speaks WebSocket by hand on asyncio protocols (server frames are unmasked, so
counting a message costs a few header bytes) and asks for no extension: compression is
off on both servers anyway.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx

from laotie.bench.checkout import _expect, _sign_up
from laotie.bench.common import (
    CLIENT_BOUND_SHARE,
    Server,
    client_main,
    cpu_seconds_of,
    free_port,
    own_cpu_seconds,
    percentile,
    pick_cores,
    pinned_process,
    raise_open_files,
    rounded,
    run_pinned_module,
    throwaway_server,
)

# Raised on the benchmark's throwaway server only: the chat load is 50 lines a second from
# 20 accounts, and the defaults (5 per user per 10 s, 50 per room per second, a fixed
# window) would refuse part of it; the benchmark measures fan-out, not the limiter.
FANOUT_ENV = {
    "LAOTIE_CHAT_PER_USER_PER_10S": "100000",
    "LAOTIE_CHAT_PER_ROOM_PER_S": "100000",
}
UVICORN = (
    "-c",
    "import sys, uvicorn; uvicorn.run('laotie.app:create_app', factory=True, "
    "host='127.0.0.1', port=int(sys.argv[1]), log_config=None, access_log=False, "
    "ws_per_message_deflate=False, backlog=4096)",
)
CONNECTS_IN_FLIGHT = 64
CONNECT_TIMEOUT_S = 60.0
SETTLE_S = 2.0  # load runs unmeasured this long after everyone joined
DRAIN_S = 2.0  # chat lines sent in the window may still arrive this long after it
LIKE_STEP_S = 0.01
KEPT_DETAILS = 5
TIMESTAMP = re.compile(rb"t=(\d+)")
SNAPSHOT_MARK = b'"type":"snapshot"'
ERROR_MARKS = (b'{"type": "error"', b'{"type":"error"')


# ================================================================ the client (load generator)


def client_frame(text: str | bytes, opcode: int = 1) -> bytes:
    """Return a masked client-to-server WebSocket frame (one fragment) carrying `text`."""
    payload = text.encode() if isinstance(text, str) else text
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, 0x80 | size])
    elif size < 65_536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + size.to_bytes(8, "big")
    key = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
    return head + mask + (masked if size else b"")


class Stats:
    """What every viewer of one phase adds to: counts, latencies, failures."""

    def __init__(self) -> None:
        self.messages = 0
        self.measuring = False
        self.window: tuple[int, int] = (0, 0)  # send times (ns) whose chat lines count
        self.latencies_ns: list[int] = []
        self.probe_messages = 0
        self.errors: Counter[str] = Counter()
        self.details: list[str] = []

    def fail(self, reason: str, detail: str = "") -> None:
        """Count one failure by reason, keeping the first few details."""
        self.errors[reason] += 1
        if detail and len(self.details) < KEPT_DETAILS:
            self.details.append(f"{reason}: {detail[:200]}")


class Viewer(asyncio.Protocol):
    """One WebSocket viewer: handshake, then count (and, on a probe, time) each message."""

    def __init__(self, stats: Stats, request: bytes, probe: bool) -> None:
        self.stats = stats
        self.request = request
        self.probe = probe
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.first_message: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.upgraded = False
        self.leaving = False
        self.buffer = b""
        self.seen: set[int] = set()  # chat send times (ns) this probe received

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the handshake."""
        # uvloop's transports are not subclasses of asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        """Read the handshake's answer, then walk the frames."""
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if buffer[9:12] != b"101":
                self._refused(buffer[:end])
                return
            self.upgraded = True
            if not self.joined.done():
                self.joined.set_result(None)
            buffer = buffer[end + 4 :]
        self.buffer = self._walk(buffer)

    def _walk(self, buffer: bytes) -> bytes:
        """Handle every whole frame in the buffer; return what is left of the next one."""
        at, size = 0, len(buffer)
        while size - at >= 2:
            length = buffer[at + 1] & 0x7F
            head = 2
            if length == 126:
                if size - at < 4:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 4], "big"), 4
            elif length == 127:
                if size - at < 10:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 10], "big"), 10
            end = at + head + length
            if end > size:
                break
            first = buffer[at]
            opcode = first & 0x0F
            if opcode <= 2:
                if first & 0x80:
                    self._message(buffer, at + head, end)
            elif opcode == 9:  # ping: the server drops viewers that do not answer
                self.send(client_frame(buffer[at + head : end], opcode=10))
            elif opcode == 8:
                self._closed_by_server(buffer[at + head : end])
            at = end
        return buffer[at:] if at < size else b""

    def _message(self, buffer: bytes, start: int, end: int) -> None:
        stats = self.stats
        stats.messages += 1
        if not self.first_message.done():
            self.first_message.set_result(None)
        if not self.probe:
            return
        received = time.monotonic_ns()
        payload = buffer[start:end]
        if stats.measuring:
            stats.probe_messages += 1
        if payload.startswith(ERROR_MARKS):
            stats.fail("error frame", payload.decode(errors="replace"))
            return
        if SNAPSHOT_MARK in payload:  # its recent chat is history, not delivery
            return
        low, high = stats.window
        for found in TIMESTAMP.finditer(payload):
            sent = int(found.group(1))
            if low <= sent < high and sent not in self.seen:
                self.seen.add(sent)
                stats.latencies_ns.append(received - sent)

    def _refused(self, head: bytes) -> None:
        self.stats.fail("handshake refused", head.decode(errors="replace"))
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(head[:80].decode(errors="replace")))
        self.leaving = True
        if self.transport is not None:
            self.transport.close()

    def _closed_by_server(self, payload: bytes) -> None:
        if not self.leaving:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.stats.fail(f"closed by server {code}", payload[2:].decode(errors="replace"))
        self.leaving = True
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """Count a connection that ended while the benchmark still needed it."""
        if not self.leaving:
            self.leaving = True
            self.stats.fail("connection lost", repr(exc))
        if not self.joined.done():
            self.joined.set_exception(ConnectionError("closed before the handshake"))

    def send(self, frame: bytes) -> None:
        """Write a pre-built frame, if the connection is still up."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def leave(self) -> None:
        """Close without a closing handshake; the run is over."""
        self.leaving = True
        if self.transport is not None:
            self.transport.abort()


def handshake(host: str, port: int, path: str) -> bytes:
    """Return the bytes of a WebSocket upgrade request from the site's own origin."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://{host}:{port}\r\n\r\n"
    ).encode()


def rss_kib(pid: int) -> int:
    """Return a process's resident set size in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


async def connect_viewers(plan: Mapping[str, Any], stats: Stats) -> list[Viewer]:
    """Open every viewer (probes first, the first ones signed in) and wait until all joined."""
    loop = asyncio.get_running_loop()
    host, port, path = plan["host"], int(plan["port"]), plan["path"]
    tickets: list[str] = plan.get("tickets") or []
    gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)

    async def one(number: int) -> Viewer | None:
        ticket = f"&ticket={tickets[number]}" if number < len(tickets) else ""
        request = handshake(host, port, path + ticket)
        probe = number < int(plan["probes"])
        async with gate:
            try:
                _, viewer = await loop.create_connection(
                    lambda: Viewer(stats, request, probe), host, port
                )
                await asyncio.wait_for(viewer.joined, CONNECT_TIMEOUT_S)
                await asyncio.wait_for(viewer.first_message, CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as error:
                stats.fail("connect", repr(error))
                return None
        return viewer

    found = await asyncio.gather(*(one(n) for n in range(int(plan["viewers"]))))
    return [viewer for viewer in found if viewer is not None]


async def send_chat(chatters: list[Viewer], rate: float, sent: list[int]) -> None:
    """Send chat lines at `rate` a second in all, round robin, each stamped with its send time."""
    if not chatters or rate <= 0:
        return
    started = time.monotonic()
    for number in itertools.count():
        delay = started + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        stamp = time.monotonic_ns()
        frame = client_frame(json.dumps({"type": "chat", "text": f"t={stamp} bench line"}))
        chatters[number % len(chatters)].send(frame)
        sent.append(stamp)


async def send_likes(likers: list[Viewer], rate: float) -> None:
    """Send like frames (one like each) at `rate` a second in all, round robin."""
    if not likers or rate <= 0:
        return
    frame = client_frame('{"type":"like","count":1}')
    started, done = time.monotonic(), 0
    turn = itertools.cycle(likers)
    while True:
        due = int((time.monotonic() - started) * rate)
        for _ in range(due - done):
            next(turn).send(frame)
        done = due
        await asyncio.sleep(LIKE_STEP_S)


async def run_phase(plan: Mapping[str, Any]) -> dict[str, Any]:
    """Join every viewer, run the load, measure one window, and report."""
    stats = Stats()
    pid = plan.get("server_pid")
    rss_before = rss_kib(pid) if pid else None
    join_started, join_cpu_before = time.monotonic(), cpu_seconds_of(pid)
    viewers = await connect_viewers(plan, stats)
    join_s, join_cpu_after = time.monotonic() - join_started, cpu_seconds_of(pid)
    rss_joined = rss_kib(pid) if pid else None
    probes = [viewer for viewer in viewers if viewer.probe]
    chatters = probes[: int(plan["chatters"])]
    drains = [viewer for viewer in viewers if not viewer.probe] or viewers
    sent: list[int] = []
    load = [
        asyncio.create_task(send_chat(chatters, float(plan["chat_rate"]), sent)),
        asyncio.create_task(send_likes(drains, float(plan["like_rate"]))),
    ]
    await asyncio.sleep(SETTLE_S)
    # The window: messages counted, chat lines sent in it timed on every probe.
    messages_before, server_before = stats.messages, cpu_seconds_of(pid)
    cpu_before, started = own_cpu_seconds(), time.perf_counter()
    stats.window = (time.monotonic_ns(), 2**63)
    stats.measuring = True
    await asyncio.sleep(float(plan["duration"]))
    stats.measuring = False
    wall, cpu = time.perf_counter() - started, own_cpu_seconds() - cpu_before
    messages, server_after = stats.messages - messages_before, cpu_seconds_of(pid)
    stats.window = (stats.window[0], time.monotonic_ns())
    rss_loaded = rss_kib(pid) if pid else None
    await asyncio.sleep(DRAIN_S)
    for task in load:
        task.cancel()
    await asyncio.gather(*load, return_exceptions=True)
    low, high = stats.window
    timed = [stamp for stamp in sent if low <= stamp < high]
    received = sum(len(probe.seen) for probe in probes)
    for viewer in viewers:
        viewer.leave()
    return {
        "viewers": len(viewers),
        "probes": len(probes),
        "chatters": len(chatters),
        "join_s": join_s,
        "join_cpu_s": None
        if join_cpu_before is None or join_cpu_after is None
        else join_cpu_after - join_cpu_before,
        "wall_s": wall,
        "client_cpu_s": cpu,
        "server_cpu_s": None
        if server_before is None or server_after is None
        else server_after - server_before,
        "messages": messages,
        "probe_messages": stats.probe_messages,
        "latencies_ms": [value / 1e6 for value in stats.latencies_ns],
        "chat_sent": len(timed),
        "dropped": len(timed) * len(probes) - received,
        "rss_before_kib": rss_before,
        "rss_joined_kib": rss_joined,
        "rss_loaded_kib": rss_loaded,
        "errors": dict(stats.errors),
        "error_details": stats.details,
    }


def viewers_main() -> None:
    """Read a phase's plan on stdin, run it, write the figures to the named file."""
    client_main(run_phase)


# ================================================================ the servers


@contextlib.contextmanager
def laotie_server(core: int) -> Iterator[Server]:
    """Start laotie under uvicorn (compression off) on a fresh SQLite file, pinned to a core."""
    with throwaway_server(
        core, FANOUT_ENV, lambda port: [sys.executable, *UVICORN, str(port)]
    ) as server:
        yield server


@contextlib.contextmanager
def minimal_server(core: int) -> Iterator[Server]:
    """Start the `websockets.broadcast()` server, pinned to a core."""
    with tempfile.TemporaryDirectory(prefix="laotie-broadcast-") as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "laotie.bench.broadcast_server", "--port", str(port)]
        with pinned_process(command, url, Path(folder), core) as process:
            yield Server(url, process.pid)


# ================================================================ seeding laotie's room


async def seed_room(url: str, chatters: int) -> tuple[str, list[str]]:
    """Put an anchor live with one product in the cart; sign chatters in; return their tickets."""
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        anchor_token = await _sign_up(client, f"anchor-{run}@example.com", ["seller"])
        anchor = {"Authorization": f"Bearer {anchor_token}"}
        shop = await _expect(
            await client.post("/api/shops", json={"name": f"Fanout shop {run}"}, headers=anchor),
            201,
        )
        product = await _expect(
            await client.post(
                f"/api/shops/{shop['id']}/products",
                json={
                    "title": "Fanout tea",
                    "category": "home",
                    "skus": [{"attributes": {}, "price_minor": 1_990, "stock": 1_000}],
                },
                headers=anchor,
            ),
            201,
        )
        session = await _expect(
            await client.post(
                "/api/live/sessions",
                json={
                    "shop_id": shop["id"],
                    "title": "Fan-out benchmark",
                    "scheduled_at": datetime.now(UTC).isoformat(),
                    "product_ids": [product["id"]],
                },
                headers=anchor,
            ),
            201,
        )
        await _expect(
            await client.post(f"/api/live/sessions/{session['id']}/start", headers=anchor), 200
        )
        gate = asyncio.Semaphore(8)

        async def chatter(number: int) -> str:
            async with gate:
                token = await _sign_up(client, f"chatter-{run}-{number}@example.com", ["buyer"])
                # The room's socket takes a ticket, never a token in its URL.
                ticket = await _expect(
                    await client.post(
                        "/api/live/tickets",
                        json={"session_id": session["id"]},
                        headers={"Authorization": f"Bearer {token}"},
                    ),
                    201,
                )
                return str(ticket["ticket"])

        tickets = await asyncio.gather(*(chatter(n) for n in range(chatters)))
    return str(session["id"]), list(tickets)


# ================================================================ the benchmark


def run_client(plan: Mapping[str, Any], core: int) -> dict[str, Any]:
    """Run one phase's load generator pinned to a core; return its figures."""
    return run_pinned_module("laotie.bench.fanout", plan, core)


def run_room_fanout(
    *,
    viewers: int = 5_000,
    probes: int = 200,
    chatters: int = 20,
    chat_rate: float = 50.0,
    like_rate: float = 1_000.0,
    duration: float = 20.0,
) -> dict[str, Any]:
    """Run the load against laotie, then against the minimal server; return the figures."""
    raise_open_files()
    load_before = os.getloadavg()[0]
    server_core, client_core = pick_cores()
    probes = min(probes, viewers)
    chatters = min(chatters, probes)
    load = {
        "viewers": viewers,
        "probes": probes,
        "chatters": chatters,
        "chat_rate": chat_rate,
        "like_rate": like_rate,
        "duration": duration,
    }
    with laotie_server(server_core) as server:
        session_id, tickets = asyncio.run(seed_room(server.url, chatters))
        host, port = server.host_port
        laotie = run_client(
            {
                **load,
                "host": host,
                "port": port,
                "path": f"/ws/live/{session_id}?source=other",
                "tickets": tickets,
                "server_pid": server.pid,
            },
            client_core,
        )
    with minimal_server(server_core) as server:
        host, port = server.host_port
        baseline = run_client(
            {**load, "host": host, "port": port, "path": "/room", "server_pid": server.pid},
            client_core,
        )
    return summarize(
        laotie,
        baseline,
        requested=viewers,
        cores=(server_core, client_core),
        load=load,
        load_before=load_before,
    )


def figures(phase: Mapping[str, Any]) -> dict[str, Any]:
    """Return one server's headline figures from its phase."""
    latencies = phase["latencies_ms"]
    viewers = max(int(phase["viewers"]), 1)
    before, joined, loaded = (
        phase["rss_before_kib"],
        phase["rss_joined_kib"],
        phase["rss_loaded_kib"],
    )
    return {
        "p50_ms": rounded(percentile(latencies, 50), 2),
        "p99_ms": rounded(percentile(latencies, 99), 2),
        "max_ms": rounded(max(latencies, default=float("nan")), 2),
        "frames_per_s": rounded(phase["messages"] / phase["wall_s"], 1),
        "rss_kib_per_viewer": rounded((loaded - before) / viewers, 2) if before else None,
        "rss_kib_per_viewer_joined": rounded((joined - before) / viewers, 2) if before else None,
        "server_cpu": rounded(phase["server_cpu_s"] / phase["wall_s"], 3)
        if phase["server_cpu_s"] is not None
        else None,
        # Steady however much of its core the server got from the rest of the machine.
        "server_cpu_us_per_frame": rounded(1e6 * phase["server_cpu_s"] / phase["messages"], 2)
        if phase["server_cpu_s"] is not None and phase["messages"]
        else None,
        "client_cpu": rounded(phase["client_cpu_s"] / phase["wall_s"], 3),
        "viewers": phase["viewers"],
        "join_s": rounded(phase["join_s"], 1),
        # The server's CPU for the whole crowd's joins: what the join costs, however much
        # of its core the server got meanwhile.
        "join_cpu_s": rounded(phase["join_cpu_s"], 2),
        "chat_sent": phase["chat_sent"],
        "timed": len(latencies),
        "probe_messages": phase["probe_messages"],
        "dropped": phase["dropped"],
        "errors": sum(phase["errors"].values()),
        "error_kinds": phase["errors"],
        "error_details": phase["error_details"],
    }


def summarize(
    laotie: Mapping[str, Any],
    baseline: Mapping[str, Any],
    *,
    requested: int,
    cores: tuple[int, int],
    load: Mapping[str, Any],
    load_before: float,
) -> dict[str, Any]:
    """Turn the two phases into the benchmark's one JSON object."""
    ours, theirs = figures(laotie), figures(baseline)
    client_cpu = max(ours["client_cpu"], theirs["client_cpu"])
    ratio = (
        ours["frames_per_s"] / theirs["frames_per_s"]
        if ours["frames_per_s"] and theirs["frames_per_s"]
        else float("nan")
    )
    return {
        "benchmark": "room-fanout",
        **{key: ours[key] for key in ("p50_ms", "p99_ms", "frames_per_s", "rss_kib_per_viewer")},
        # Messages delivered per second by laotie over those delivered by the minimal
        # server under the same load: 1.0 means laotie's fan-out costs it nothing extra.
        "ratio": rounded(ratio, 4),
        # The baseline's server CPU per message over laotie's: the ratio laotie would reach
        # with its core to itself, whatever else ran on the machine.
        "cpu_ratio": _cpu_ratio(ours, theirs),
        # laotie's join over the minimal server's: by the clock, and by the server's CPU.
        "join_ratio": _ratio(ours["join_s"], theirs["join_s"]),
        "join_cpu_ratio": _ratio(ours["join_cpu_s"], theirs["join_cpu_s"]),
        "client_cpu": client_cpu,
        "client_bound": client_cpu > CLIENT_BOUND_SHARE,
        "viewers": ours["viewers"],
        "dropped": ours["dropped"],
        "errors": ours["errors"],
        "laotie": {
            key: value
            for key, value in ours.items()
            if key not in {"p50_ms", "p99_ms", "frames_per_s", "rss_kib_per_viewer"}
        },
        "baseline": theirs,
        "requested_viewers": requested,
        **load,
        "server_core": cores[0],
        "client_core": cores[1],
        "loadavg_before": round(load_before, 2),
    }


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return rounded(ours / theirs, 2) if ours and theirs else None


def _cpu_ratio(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> float | None:
    mine, yardstick = ours["server_cpu_us_per_frame"], theirs["server_cpu_us_per_frame"]
    return rounded(yardstick / mine, 4) if mine and yardstick else None


if __name__ == "__main__":
    viewers_main()
