"""What `laotie seed` and `laotie demo` do before serving: secrets, schema, seed, sign-ins."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from laotie.core.clock import SystemClock
from laotie.core.context import unit_of_work
from laotie.db.engine import make_database
from laotie.db.migrate import upgrade
from laotie.settings import Settings
from laotie.sim.catalogue import PEOPLE
from laotie.sim.credentials import DemoCredentials, credentials_path
from laotie.sim.seed import DemoSeed, seed_demo

_ANY_ADDRESS = {"", "0.0.0.0", "::"}  # noqa: S104 - recognised, not bound to


def local_url(host: str, port: int) -> str:
    """Return the URL a browser on this machine uses to reach the server."""
    if host in _ANY_ADDRESS:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def prepare(
    public_url: str | None = None, *, live_show: bool = False
) -> tuple[Settings, DemoCredentials]:
    """Load or create the demo's credentials and put its secrets in the environment.

    The server builds its own settings from the environment, so the secrets (and the
    public URL the sandbox sends its webhooks to, and whether the live show runs) go
    there; variables already set win.
    """
    book = DemoCredentials.load(credentials_path(Settings().database_url))
    book.export_secrets()
    if public_url and not os.environ.get("LAOTIE_PUBLIC_URL"):
        os.environ["LAOTIE_PUBLIC_URL"] = public_url
    if live_show and not os.environ.get("LAOTIE_DEMO_SHOW"):
        os.environ["LAOTIE_DEMO_SHOW"] = "true"
    book.ensure_passwords(person.email for person in PEOPLE)
    book.save()
    return Settings(), book


def seed_database(settings: Settings, passwords: Mapping[str, str]) -> DemoSeed:
    """Bring the schema up to date, then seed what is missing of the demo world."""
    upgrade(settings.database_url)
    return asyncio.run(_seed(settings, passwords))


async def _seed(settings: Settings, passwords: Mapping[str, str]) -> DemoSeed:
    database = make_database(settings)
    try:
        async with unit_of_work(database, settings, SystemClock()) as ctx:
            return await seed_demo(ctx, passwords)
    finally:
        await database.dispose()


def report(seed: DemoSeed, settings: Settings, credentials_file: Path) -> str:
    """Return the sign-in table and how to start afresh."""
    rows = [("role", "email", "password", "")]
    rows += [
        (s.role, s.email, s.password or "(not on file)", s.shop or s.name) for s in seed.sign_ins
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    table = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[3]
        for row in rows
    ]
    return "\n".join(
        [
            _summary(seed),
            "",
            f"laotie demo: {settings.public_url.rstrip('/')}  (API: /docs)",
            "",
            *(line.rstrip() for line in table),
            "",
            f"Demo-only credentials, generated for this database, kept in {credentials_file}.",
            f"To start afresh, stop the server, delete {_database_file(settings)} and that file.",
        ]
    )


def _summary(seed: DemoSeed) -> str:
    if not (seed.users_created or seed.shops_created or seed.orders_placed):
        return "demo world already seeded; nothing new"
    return (
        f"seeded {seed.users_created} users, {seed.shops_created} shops, "
        f"{seed.products_created} products and {seed.orders_placed} orders"
    )


def _database_file(settings: Settings) -> str:
    url = make_url(settings.database_url)
    if settings.is_sqlite and url.database:
        return url.database
    return f"the database {url.database}"
