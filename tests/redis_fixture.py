"""Redis for tests: the runner's server, or a throwaway redis-server that a test may restart.

`redis_url` is shared by the session: tests keep to their own key prefix on it.
`redis_server` is a private process for tests that restart or flush Redis.
Without redis-server and without LAOTIE_TEST_REDIS_URL the tests are skipped, unless
CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from laotie.bench.common import free_port

REDIS_URL_ENV = "LAOTIE_TEST_REDIS_URL"


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def redis_program() -> str:
    """Return the redis-server program, or skip (fail on CI) when it is not installed."""
    program = shutil.which("redis-server")
    if program is None:
        _missing("redis-server not found (install the redis-server package)")
    assert program is not None
    return program


class RedisProcess:
    """A redis-server that keeps nothing on disk, on a port it keeps across restarts."""

    def __init__(self, program: str, workdir: Path) -> None:
        self.program = program
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the server's URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        command = [self.program, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.workdir), "--save", "", "--appendonly", "no"]
        with (self.workdir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while not self._pings():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.workdir / "server.log").read_text()[-2000:])
            time.sleep(0.02)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGKILL when `kill`, as a crash would) and wait for it."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=20)
        self.process = None

    def restart(self) -> None:
        """Kill the server and start an empty one on the same port."""
        self.stop(kill=True)
        self.start()

    def _pings(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield the URL of a Redis shared by the session (the runner's, or a throwaway one)."""
    given = os.environ.get(REDIS_URL_ENV)
    if given:
        yield given
        return
    server = RedisProcess(redis_program(), tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    """Yield a private redis-server that the test may restart or flush."""
    server = RedisProcess(redis_program(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
