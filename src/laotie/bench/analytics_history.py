"""A year of a marketplace's history for `laotie bench analytics`, written by direct inserts.

Every shop streams every day, each day's show hosted by one of its anchors in turn. Buyers
(and anonymous visitors) come into the shows, mostly those of a few favourite shops, and
some of their visits end in an order paid before they leave (a show of the evening may
sell after midnight); others buy from the shelf after looking at the shop's pages.
Traffic grows over the year, with a season and busier weekends, so that a month's change
has something to attribute. The counts are exact: the visits, the orders and the seconds
watched are the sizes asked for (a run with fewer signed-in visits than live orders asked
moves the rest to the shelf).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from laotie.accounts.models import AuthToken, User
from laotie.accounts.service import hash_token
from laotie.catalog.models import ShelfView, Shop
from laotie.core.clock import SystemClock
from laotie.core.context import unit_of_work
from laotie.db.base import Base, table_of
from laotie.db.bulk import insert_many
from laotie.db.engine import Database, make_database
from laotie.live.models import LiveSession, Visit
from laotie.live.schemas import PRIVATE_SOURCES, EntrySource
from laotie.orders.models import Order
from laotie.orders.schemas import OrderStatus
from laotie.settings import Settings

WATCH_SECONDS_PER_VISIT = 120  # 5,000,000 visits watch 10,000,000 minutes
SHELF_EVERY = 5  # one order in five is a shelf order
ANONYMOUS_EVERY = 5  # one visit in five is by a visitor who is not signed in
LOYAL_SHARE = 0.7  # a buyer's visits to one of its favourite shops
FAVOURITES = 3  # favourite shops of each buyer
SHOW_SECONDS = 3 * 3600
BROWSERS_PER_SHELF_ORDER = 3  # visitors of a shop's pages who buy nothing, per shelf order
USERS_A_CHUNK = 20_000
# Where visits come from: about a third private domain (DESIGN.md's entry sources).
SOURCES = tuple(EntrySource)
SOURCE_WEIGHTS = (10, 5, 4, 4, 3, 8, 40, 12, 8, 6)
TIERS = ("first", "new_first", "second", "third_and_below", None)
TIER_WEIGHTS = (20, 25, 25, 25, 5)


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much history to write."""

    shops: int = 500
    buyers: int = 200_000
    anchors: int = 2_000
    orders: int = 1_000_000
    visits: int = 5_000_000
    days: int = 365

    @property
    def watch_seconds(self) -> int:
        """The seconds all visits watch together."""
        return self.visits * WATCH_SECONDS_PER_VISIT

    @property
    def signed_in_visits(self) -> int:
        """The visits by buyers who are signed in, the only ones that can end in an order."""
        return self.visits - self.visits // ANONYMOUS_EVERY

    @property
    def live_orders(self) -> int:
        """The orders placed in a show, from a visit."""
        return min(self.orders - self.orders // SHELF_EVERY, self.signed_in_visits)


@dataclass(frozen=True, slots=True)
class History:
    """What was written: the days it covers, and the shops with their owners' API tokens."""

    first_day: date
    days: int
    shop_ids: list[str]
    owner_tokens: list[str]  # the API token of each shop's owner, in the shops' order

    @property
    def end(self) -> date:
        """The first day after the history."""
        return self.first_day + timedelta(days=self.days)


async def seed_history(database_url: str, sizes: Sizes, end: date, seed: int = 7) -> History:
    """Write `sizes.days` days of history ending the day before `end`; return what was written."""
    # Not synced: a throwaway file, and otherwise each day's commit waits for the disk.
    settings = Settings(database_url=database_url, log_level="WARNING", sqlite_synchronous="OFF")
    database = make_database(settings)
    first_day = end - timedelta(days=sizes.days)
    created = datetime.combine(first_day, time(), UTC) - timedelta(days=30)
    tokens = [f"bench-analytics-{i:05d}" for i in range(sizes.shops)]
    try:
        for model, rows in _people(sizes, tokens, created):
            for chunk in _chunks(rows, USERS_A_CHUNK):
                await _insert(database, settings, [(model, chunk)])
        year = Year(sizes, first_day, random.Random(seed))
        for day in range(sizes.days):
            await _insert(database, settings, year.day(day))
    finally:
        await database.dispose()
    return History(first_day, sizes.days, [shop_id(s) for s in range(sizes.shops)], tokens)


async def _insert(
    database: Database, settings: Settings, tables: Sequence[tuple[type[Base], list[Any]]]
) -> None:
    """Insert rows into several tables in one transaction, as driver-ready executemany."""

    def write(session: Session) -> None:
        if session.connection().dialect.name == "sqlite":
            session.connection().exec_driver_sql("PRAGMA cache_size=-262144")
        for model, rows in tables:
            insert_many(session.connection(), table_of(model), rows)

    async with unit_of_work(database, settings, SystemClock()) as ctx:
        await ctx.db.run_sync(write)


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


# ---------------------------------------------------------------- people and shops


def seller_id(shop: int) -> str:
    """The id of a shop's owner."""
    return f"usr_seller{shop:05d}"


def anchor_id(anchor: int) -> str:
    """The id of an anchor."""
    return f"usr_anchor{anchor:05d}"


def buyer_id(buyer: int) -> str:
    """The id of a buyer."""
    return f"usr_buyer{buyer:07d}"


def shop_id(shop: int) -> str:
    """The id of a shop."""
    return f"shp_bench{shop:05d}"


def _people(
    sizes: Sizes, tokens: list[str], created: datetime
) -> list[tuple[type[Base], Iterator[dict[str, Any]]]]:
    """The users, the shops and the owners' tokens, in the order their keys need."""
    users = itertools.chain(
        (_user(seller_id(s), "buyer seller", created) for s in range(sizes.shops)),
        (_user(anchor_id(a), "buyer anchor", created) for a in range(sizes.anchors)),
        (_user(buyer_id(b), "buyer", created) for b in range(sizes.buyers)),
    )
    shops = (_shop(s, created) for s in range(sizes.shops))
    owner_tokens = (_token(s, token, created) for s, token in enumerate(tokens))
    return [(User, users), (Shop, shops), (AuthToken, owner_tokens)]


def _user(user_id: str, roles: str, created: datetime) -> dict[str, Any]:
    return {
        "id": user_id,
        "email": f"{user_id}@bench.example",
        "name": user_id,
        "password_hash": "-",
        "roles": roles,
        "failed_sign_ins": 0,
        "locked_until": None,
        "created_at": created,
    }


def _shop(shop: int, created: datetime) -> dict[str, Any]:
    return {
        "id": shop_id(shop),
        "owner_id": seller_id(shop),
        "name": f"Bench shop {shop:05d}",
        "description": "",
        "verified": True,
        "deposit_minor": 0,
        "currency": "CNY",
        "created_at": created,
        "suspended_until": None,
        "trust_badge": False,
    }


def _token(shop: int, token: str, created: datetime) -> dict[str, Any]:
    return {
        "token_hash": hash_token(token),
        "id": f"tok_bench{shop:05d}",
        "user_id": seller_id(shop),
        "kind": "api",
        "label": "bench",
        "created_at": created,
        "expires_at": created + timedelta(days=3650),
    }


# ---------------------------------------------------------------- the days


def spread(total: int, weights: Sequence[float]) -> list[int]:
    """Split a whole number in proportion to weights, the units left over to the largest
    remainders, so that the parts add up to it exactly."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    parts = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: parts[i] - shares[i])
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def traffic(day: date, index: int, days: int) -> float:
    """A day's share of the year's traffic: growing, with a season and busier weekends."""
    growth = 1 + 0.6 * index / days
    season = 1 + 0.2 * math.sin(2 * math.pi * day.timetuple().tm_yday / 365.25)
    return growth * season * (1.25 if day.weekday() >= 5 else 1.0)


class Year:
    """What each day writes, with what runs across days: the ids, how many live orders are
    still to come, and how much watch time."""

    def __init__(self, sizes: Sizes, first_day: date, rng: random.Random) -> None:
        self.sizes, self.first_day, self.rng = sizes, first_day, rng
        dates = [first_day + timedelta(days=d) for d in range(sizes.days)]
        weights = [traffic(day, d, sizes.days) for d, day in enumerate(dates)]
        self.visits_of_day = spread(sizes.visits, weights)
        self.shelf_of_day = spread(sizes.orders - sizes.live_orders, weights)
        # A few shops sell far more than most, when a buyer strays from its favourites.
        self.shop_weights = list(
            itertools.accumulate(1 / math.sqrt(1 + s % 50) for s in range(sizes.shops))
        )
        self.source_weights = list(itertools.accumulate(SOURCE_WEIGHTS))
        self.tier_weights = list(itertools.accumulate(TIER_WEIGHTS))
        self.visit_n = self.order_n = 0
        # Selection sampling (Knuth's algorithm S): exactly `live_orders` of the signed-in
        # visits end in an order, each as likely as any other.
        self.orders_to_come, self.visits_to_come = sizes.live_orders, sizes.signed_in_visits
        # Visits watch in pairs that add up to twice the mean, so the total is exact.
        self.mean, self.extra = divmod(sizes.watch_seconds, max(sizes.visits, 1))
        self.partner = 0

    def day(self, d: int) -> list[tuple[type[Base], list[dict[str, Any]]]]:
        """The rows of one day: its shows, its visits, its orders, its shelf visitors."""
        start = datetime.combine(self.first_day + timedelta(days=d), time(), UTC)
        shows = [self._show(s, d, start) for s in range(self.sizes.shops)]
        visits, orders = [], []
        for _ in range(self.visits_of_day[d]):
            shop, visit = self._visit(d, start)
            visits.append(visit)
            if visit["user_id"] is not None and self._ends_in_order():
                orders.append(self._live_order(shop, visit))
        views: dict[tuple[str, str], dict[str, Any]] = {}
        for _ in range(self.shelf_of_day[d]):
            orders.append(self._shelf_order(start, views))
        shelf = list(views.values())
        return [(LiveSession, shows), (Visit, visits), (Order, orders), (ShelfView, shelf)]

    def _show(self, shop: int, d: int, day_start: datetime) -> dict[str, Any]:
        """A shop's show of the day, hosted by its anchors in turn, from 10:00 to 21:00."""
        started = self._show_start(shop, day_start)
        return {
            "id": session_id(shop, d),
            "anchor_id": anchor_id((shop + self.sizes.shops * d) % self.sizes.anchors),
            "shop_id": shop_id(shop),
            "title": f"Bench show {shop} {d}",
            "cover_url": None,
            "status": "ended",
            "scheduled_at": started,
            "started_at": started,
            "ended_at": started + timedelta(seconds=SHOW_SECONDS),
            "pinned_product_id": None,
            "likes": 0,
            "created_at": started - timedelta(days=1),
        }

    @staticmethod
    def _show_start(shop: int, day_start: datetime) -> datetime:
        # The shows of 21:00 run past midnight, and some of their orders are paid after it.
        return day_start + timedelta(hours=10 + (shop * 5 + day_start.toordinal()) % 12)

    def _visit(self, d: int, day_start: datetime) -> tuple[int, dict[str, Any]]:
        """A visit of one of the day's shows, and the shop whose show it is."""
        n, rng = self.visit_n, self.rng
        self.visit_n += 1
        if n % ANONYMOUS_EVERY == ANONYMOUS_EVERY - 1:
            viewer, user = f"vis_bench{rng.randrange(max(self.sizes.buyers, 1)):08d}", None
            shop = self._any_shop()
        else:
            buyer = rng.randrange(self.sizes.buyers)
            viewer = user = buyer_id(buyer)
            shop = self._shop_of(buyer, LOYAL_SHARE)
        entered = self._show_start(shop, day_start) + timedelta(seconds=rng.randrange(SHOW_SECONDS))
        watched = self._watch(n)
        source = rng.choices(SOURCES, cum_weights=self.source_weights)[0]
        return shop, {
            "id": f"vst_bench{n:09d}",
            "session_id": session_id(shop, d),
            "viewer_key": viewer,
            "user_id": user,
            "source": source.value,
            "follows_anchor": False,
            "private": source in PRIVATE_SOURCES,
            "entered_at": entered,
            "last_seen_at": entered + timedelta(seconds=watched),
            "watch_seconds": watched,
        }

    def _watch(self, n: int) -> int:
        """The n-th visit's seconds: pairs add up to twice the mean, the remainder to the first."""
        extra = 1 if n < self.extra else 0
        if n % 2 == 1:
            return self.partner + extra
        if n == self.sizes.visits - 1:  # the last of an odd number of visits
            return self.mean + extra
        first = self.rng.randint(1, max(2 * self.mean - 1, 1))
        self.partner = 2 * self.mean - first
        return first + extra

    def _ends_in_order(self) -> bool:
        taken = self.rng.random() * self.visits_to_come < self.orders_to_come
        self.visits_to_come -= 1
        self.orders_to_come -= taken
        return taken

    def _shop_of(self, buyer: int, loyalty: float) -> int:
        """One of a buyer's favourite shops, or now and then any shop."""
        if self.rng.random() >= loyalty:
            return self._any_shop()
        favourite = self.rng.randrange(FAVOURITES)
        return (buyer * 7919 + favourite * 104_729) % self.sizes.shops

    def _any_shop(self) -> int:
        return self.rng.choices(range(self.sizes.shops), cum_weights=self.shop_weights)[0]

    def _live_order(self, shop: int, visit: dict[str, Any]) -> dict[str, Any]:
        """An order placed during the visit and paid before it ended."""
        entered, watched = visit["entered_at"], visit["watch_seconds"]
        paid = entered + timedelta(seconds=self.rng.randint(1, max(watched, 1)))
        created = max(entered, paid - timedelta(seconds=20))
        return self._order(visit["user_id"], shop, created, paid, visit["session_id"], visit["id"])

    def _shelf_order(
        self, day_start: datetime, views: dict[tuple[str, str], dict[str, Any]]
    ) -> dict[str, Any]:
        """An order from the shop's pages, by a buyer who looked at them first, among others."""
        rng = self.rng
        buyer = rng.randrange(self.sizes.buyers)
        shop = self._shop_of(buyer, LOYAL_SHARE)
        paid = day_start + timedelta(seconds=rng.randrange(2 * 3600, 86_400))
        created = paid - timedelta(seconds=60)
        _view(views, shop, buyer_id(buyer), created - timedelta(seconds=rng.randrange(60, 3600)))
        for _ in range(BROWSERS_PER_SHELF_ORDER):
            browser = buyer_id(rng.randrange(self.sizes.buyers))
            _view(views, shop, browser, day_start + timedelta(seconds=rng.randrange(86_400)))
        return self._order(buyer_id(buyer), shop, created, paid, None, None)

    def _order(
        self,
        buyer: str,
        shop: int,
        created: datetime,
        paid: datetime,
        session: str | None,
        visit: str | None,
    ) -> dict[str, Any]:
        n = self.order_n
        self.order_n += 1
        # Each shop has its price level; a basket varies around it.
        level = 2_000 + (shop % 20) * 1_500
        total = max(100, round(level * self.rng.lognormvariate(0, 0.6), -2))
        return {
            "id": f"ord_bench{n:09d}",
            "buyer_id": buyer,
            "shop_id": shop_id(shop),
            "status": OrderStatus.COMPLETED.value,
            "currency": "CNY",
            "total_minor": int(total),
            "refunded_minor": 0,
            "checkout_key": f"bench-{n}",
            "channel": "live" if session else "shelf",
            "live_session_id": session,
            "visit_id": visit,
            "return_window_days": 7,
            "created_at": created,
            "expires_at": created + timedelta(minutes=15),
            "paid_at": paid,
            "freight_minor": 0,
            "city_tier": self.rng.choices(TIERS, cum_weights=self.tier_weights)[0],
            "discount_minor": 0,
        }


def session_id(shop: int, d: int) -> str:
    """The id of a shop's show of the history's d-th day (the day first, for the index)."""
    return f"liv_bench{d:04d}s{shop:05d}"


def _view(
    views: dict[tuple[str, str], dict[str, Any]], shop: int, viewer: str, seen: datetime
) -> None:
    """Keep a viewer's first view of a shop's pages of the day."""
    kept = views.get((shop_id(shop), viewer))
    if kept is None or seen < kept["first_seen_at"]:
        views[(shop_id(shop), viewer)] = {
            "shop_id": shop_id(shop),
            "day": seen.date(),
            "viewer_key": viewer,
            "first_seen_at": seen,
            "first_product_id": None,
        }
