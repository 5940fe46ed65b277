"""What every benchmark shares: a pinned throwaway server, a pinned load generator, figures.

The server and the load generator run in separate processes pinned to separate cores, so
that the client's work never steals the server's CPU and the client's own load can be
measured: a client that used most of its core is the bottleneck, and then the figures
describe the client, not laotie.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A client above this share of its core is the bottleneck: the ratio then says nothing.
CLIENT_BOUND_SHARE = 0.9
# The shipping address every benchmark buyer holds (its default).
BUYER_ADDRESS = {
    "recipient": "Bench Buyer",
    "phone": "13800138000",
    "province_code": "310000",
    "city_code": "310000",
    "district_code": "310104",
    "street": "1 Bench Road",
}
OPEN_FILES_WANTED = 65_536
LAOTIE = ("-c", "from laotie.cli import main; main()")


# ---------------------------------------------------------------- cores and limits


def pick_cores() -> tuple[int, int]:
    """Return the server's core and the client's core (the same one on a single-core box)."""
    allowed = sorted(os.sched_getaffinity(0))
    return (allowed[0], allowed[1]) if len(allowed) > 1 else (allowed[0], allowed[0])


def raise_open_files() -> None:
    """Raise this process's open-file limit as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def pinned_to(core: int) -> Any:
    """Return a pre-exec hook that pins the child to one core with many open files allowed."""

    def _prepare() -> None:
        os.sched_setaffinity(0, {core})
        raise_open_files()

    return _prepare


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds_of(pid: int | None) -> float | None:
    """Return the CPU time (user + system) a process has used so far, or None if unknown."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; the fields after its closing parenthesis do not.
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """Return the CPU time this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- the throwaway server


@dataclass
class Server:
    """A laotie server the benchmark talks to."""

    url: str
    pid: int | None = None  # known only when the benchmark started it
    database_path: Path | None = None
    env: Mapping[str, str] | None = None

    @property
    def host_port(self) -> tuple[str, int]:
        """Return the host and port of the URL."""
        rest = self.url.split("://", 1)[1].split("/", 1)[0]
        host, _, port = rest.rpartition(":")
        return (host or rest, int(port) if port.isdigit() else 80)


# Loosened only on the throwaway server: seeding signs in one buyer per virtual user from
# one address, and argon2 at full cost would make seeding, not checkout, take the time.
THROWAWAY_ENV = {
    "LAOTIE_SIGN_IN_RATE_PER_MINUTE": "1000000",
    "LAOTIE_SIGN_UP_RATE_PER_MINUTE": "1000000",
    "LAOTIE_WS_TICKET_SECONDS": "600",  # seeding may take a while before viewers connect
    "LAOTIE_ARGON2_TIME_COST": "1",
    "LAOTIE_ARGON2_MEMORY_KIB": "1024",
    "LAOTIE_LOG_LEVEL": "WARNING",
}


BENCH_DB = "bench.db"


def migrated_sqlite_env(folder: Path, url: str, extra_env: Mapping[str, str]) -> dict[str, str]:
    """Return a throwaway server's environment on a fresh SQLite file, migrated already."""
    env = {
        **os.environ,
        "LAOTIE_DATABASE_URL": f"sqlite+aiosqlite:///{folder / BENCH_DB}",
        "LAOTIE_SECRET_KEY": os.urandom(24).hex(),
        "LAOTIE_PAYMENT_WEBHOOK_SECRET": os.urandom(24).hex(),
        "LAOTIE_PUBLIC_URL": url,
        **THROWAWAY_ENV,
        **extra_env,
    }
    subprocess.run(
        [sys.executable, *LAOTIE, "db", "upgrade"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return env


def serve_command(port: int) -> list[str]:
    """Return the command line of `laotie serve` on a local port."""
    return [sys.executable, *LAOTIE, "serve", "--host", "127.0.0.1", "--port", str(port)]


@contextlib.contextmanager
def pinned_process(
    command: list[str], url: str, folder: Path, core: int, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server pinned to one core, logging into `folder`, until it answers; stop it after."""
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=None if env is None else dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned_to(core),  # the parent has no threads at this point
        )
    try:
        wait_until_healthy(url, process, log_path)
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Ask a process to stop, and kill it if it has not within the grace period."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def throwaway_server(
    core: int,
    extra_env: Mapping[str, str] | None = None,
    command: Callable[[int], list[str]] = serve_command,
) -> Iterator[Server]:
    """Start a server on a fresh migrated SQLite file, pinned to one core; stop it after."""
    with tempfile.TemporaryDirectory(prefix="laotie-bench-") as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = migrated_sqlite_env(Path(folder), url, extra_env or {})
        with pinned_process(command(port), url, Path(folder), core, env) as process:
            yield Server(url, process.pid, Path(folder) / BENCH_DB, env)


# Generous: a server of several workers imports the whole application in each, and on a
# loaded 2-core machine that alone has taken half a minute.
HEALTHY_WITHIN_S = 90


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes] | None = None, log_path: Path | None = None
) -> None:
    """Wait until the server answers /healthz, or fail with the end of its log."""
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    tail = log_path.read_text(errors="replace")[-2000:] if log_path else ""
    raise RuntimeError(f"the server at {url} did not become healthy\n{tail}")


# ---------------------------------------------------------------- the load generator


def run_load_generator(plan: Mapping[str, Any], core: int) -> dict[str, Any]:
    """Run `python -m laotie.bench.loadgen` pinned to a core with this plan; return its answer."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    answer = run_pinned_module("laotie.bench.loadgen", plan, core)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    answer["process_cpu_s"] = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    return answer


def client_share(phase: Mapping[str, Any]) -> float:
    """Return the share of one core the client used during a phase."""
    return float(phase["client_cpu_s"]) / max(float(phase["wall_s"]), 1e-9)


# ---------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rounded(value: float | None, digits: int = 3) -> float | None:
    """Round a figure for printing; NaN and None become None (JSON null)."""
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


def print_json(result: Mapping[str, Any]) -> None:
    """Print one JSON object on one line."""
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    sys.stdout.flush()


def run_pinned_module(module: str, plan: Mapping[str, Any], core: int) -> dict[str, Any]:
    """Run `python -m module` with a JSON plan on stdin, pinned to a core; return its JSON.

    The client writes its figures to a file named on its command line, not to a pipe: an
    event loop may leave an inherited pipe non-blocking, and a large answer written to it
    then reached the parent cut short.
    """
    with tempfile.TemporaryDirectory(prefix="laotie-bench-") as folder:
        figures = Path(folder) / "figures.json"
        finished = subprocess.run(
            [sys.executable, "-m", module, str(figures)],
            input=json.dumps(plan).encode(),
            capture_output=True,
            preexec_fn=pinned_to(core),  # the parent has no threads at this point
            check=False,
        )
        if finished.returncode != 0 or not figures.exists():
            stderr = finished.stderr.decode(errors="replace")[-3000:]
            raise RuntimeError(f"{module} failed:\n{stderr}")
        answer: dict[str, Any] = json.loads(figures.read_text())
    return answer


def client_main(run: Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]) -> None:
    """Read a plan on stdin, run it on uvloop when available, write the figures to a file."""
    plan = json.loads(sys.stdin.read())
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(plan))
    else:
        result = uvloop.run(run(plan))
    Path(sys.argv[1]).write_text(json.dumps(result))


# ---------------------------------------------------------------- a throwaway PostgreSQL


def postgres_bindir() -> Path | None:
    """Find the PostgreSQL server programs: on PATH, or Debian's versioned folder."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    return Path(candidates[-1]).parent if candidates else None


@contextlib.contextmanager
def postgres_server(core: int | None = None) -> Iterator[str]:
    """Start a throwaway PostgreSQL (trust auth, fsync off); yield its asyncpg URL."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server not found (initdb)")
    workdir = Path(tempfile.mkdtemp(prefix="laotie-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(workdir, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log, port = workdir / "data", workdir / "server.log", free_port()
    prepare = None if core is None else pinned_to(core)
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        subprocess.run(
            [*as_user, *initdb, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=workdir,
        )
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={workdir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
        try:
            start = [*pg_ctl, "-o", options, "-w", "-t", "60", "start"]
            started = subprocess.run(
                start, check=False, cwd=workdir, stdout=subprocess.DEVNULL, preexec_fn=prepare
            )
            if started.returncode:
                raise RuntimeError(f"PostgreSQL did not start:\n{tail_of(log)}")
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
        finally:
            stop_server = [*pg_ctl, "-m", "immediate", "stop"]
            subprocess.run(stop_server, check=False, capture_output=True, cwd=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database on a PostgreSQL server; yield its URL and drop it after."""
    name = f"laotie_flash_{uuid.uuid4().hex[:12]}"
    admin = server_url.rsplit("/", 1)[0] + "/postgres"
    asyncio.run(_execute(admin, f"CREATE DATABASE {name}"))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def _execute(url: str, statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def tail_of(path: Path, size: int = 3000) -> str:
    """Return the end of a log file, or nothing if it cannot be read."""
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""
