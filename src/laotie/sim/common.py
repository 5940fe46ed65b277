"""What the simulated worlds share: their start, people, shops, throwaway databases, draws.

`sim/trust_world.py` (the trust-attack benchmark's world) and `sim/world.py` (the
simulated marketplace) both sign their people up, open their shops and place their
orders through the real services; the pieces they have in common are here.
"""

from __future__ import annotations

import atexit
import math
import random
import shutil
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.catalog.schemas import ProductCreateIn, ShopCreateIn, SkuIn
from laotie.core.clock import FrozenClock
from laotie.core.context import Ctx
from laotie.core.fingerprint import ClientPrint
from laotie.db.engine import Database, make_database
from laotie.db.migrate import upgrade
from laotie.orders import addresses
from laotie.settings import Settings
from laotie.sim.catalogue import demo_address

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
PASSWORD = "simulated-world-password"  # noqa: S105 - a throwaway world's, never served
CATEGORIES = ("apparel", "beauty", "food", "home", "electronics", "jade")
SHARED_PHONES, SHARED_ACCOUNTS = 3, 2


def at(ctx: Ctx, moment: datetime) -> Ctx:
    """The unit of work with its clock at a moment of the world."""
    return replace(ctx, clock=FrozenClock(moment))


@dataclass
class Person:
    """A buyer of a world, with the fingerprints its orders carry."""

    actor: Actor
    client: ClientPrint
    payer: str | None = None
    ring: int | None = None  # which brushing shop's ring, if any


@dataclass(frozen=True)
class OpenedShop:
    """A shop opened for a world: its seller, its one product and that product's SKU."""

    shop_id: str
    seller: Actor
    product_id: str
    sku_id: str


async def open_shop(
    ctx: Ctx,
    index: int,
    *,
    category: str,
    price_minor: int,
    roles: frozenset[Role] = frozenset({Role.SELLER}),
) -> OpenedShop:
    """Sign a seller up and open its shop with one product of one SKU, amply stocked."""
    seller = await accounts.do_sign_up(
        ctx, f"seller{index}@sim.example", PASSWORD, f"Seller {index}", roles
    )
    shop = await catalog.do_create_shop(ctx, seller, ShopCreateIn(name=f"Sim shop {index:02d}"))
    product = await catalog.do_create_product(
        ctx,
        seller,
        shop.id,
        ProductCreateIn(
            title=f"Goods of shop {index:02d}",
            category=category,
            skus=[SkuIn(price_minor=price_minor, stock=900_000)],
        ),
    )
    return OpenedShop(shop.id, seller, product.id, product.skus[0].id)


async def sign_up_person(
    ctx: Ctx, handle: str, index: int, client: ClientPrint, street: str, payer: str | None = None
) -> Person:
    """Sign a buyer up with an address in the `index`-th of the demo's cities."""
    actor = await accounts.do_sign_up(
        ctx, f"{handle}@sim.example", PASSWORD, f"Buyer {handle}", frozenset({Role.BUYER})
    )
    place = demo_address(actor.name, index, f"139{index:08d}", street)
    await addresses.do_add_address(ctx, actor, place)
    return Person(actor, client, payer)


async def ring_member(ctx: Ctx, ring: int, j: int, ring_size: int, distinct_share: float) -> Person:
    """A brushing ring's fake account: most share the ring's phones, accounts and addresses."""
    index = 100_000 + ring * 1_000 + j
    if j < round(distinct_share * ring_size):
        client = ClientPrint(f"172.16.{ring}.{j}", f"phone-r{ring}-{j}")
        person = await sign_up_person(
            ctx, f"r{ring}x{j}", index, client, f"{index} 号", f"acct-{index}"
        )
    else:
        client = ClientPrint(f"172.31.{ring}.{j % 2}", f"ring{ring}-phone{j % SHARED_PHONES}")
        street, payer = f"仓库 {ring}-{j % 2} 号", f"ring{ring}-acct{j % SHARED_ACCOUNTS}"
        # The ring's shared addresses (and phone) sit in the district its number picks.
        person = await sign_up_person(ctx, f"r{ring}x{j}", ring, client, street, payer)
    person.ring = ring
    return person


def poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson count (Knuth's method: the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def star(rng: random.Random, quality: float) -> int:
    """Draw a star rating around a shop's quality."""
    return min(5, max(1, round(rng.gauss(quality, 0.9))))


def world_settings(url: str, name: str) -> Settings:
    """The settings of a world on this database: fixed secrets, no jobs of their own."""
    return Settings(
        database_url=url,
        secret_key=f"{name}-not-secret",
        payment_webhook_secret=f"{name}-webhooks",
        run_jobs=False,
        log_json=False,
        argon2_time_cost=1,
        argon2_memory_kib=1_024,
        gc_tuning=False,
        sqlite_synchronous="OFF",  # a world lost in a crash is played again from its seed
    )


def migrate(url: str) -> None:
    """Bring a world's database to the current schema with the project's migrations."""
    with ThreadPoolExecutor(1) as pool:  # Alembic runs an event loop of its own
        pool.submit(upgrade, url).result()


@cache
def migrated_template() -> Path:
    """An empty database migrated once a process; each world starts from a copy of it.

    The migrations take seconds; a copy of their result takes milliseconds.
    """
    folder = Path(tempfile.mkdtemp(prefix="laotie-world-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@asynccontextmanager
async def world_database(
    name: str, folder: Path | None = None
) -> AsyncIterator[tuple[Database, Settings]]:
    """Yield a migrated SQLite file (in `folder`, or a throwaway one) and its settings."""
    with tempfile.TemporaryDirectory(prefix=f"laotie-{name}-") as scratch:
        home = folder or Path(scratch)
        home.mkdir(parents=True, exist_ok=True)
        path = home / f"{name}.db"
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)  # a world starts from an empty file
        shutil.copyfile(migrated_template(), path)
        url = f"sqlite+aiosqlite:///{path}"
        settings = world_settings(url, name)
        database = make_database(settings)
        try:
            yield database, settings
        finally:
            await database.dispose()
