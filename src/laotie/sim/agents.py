"""The people of the simulated world: shops with their anchors and rings, buyers, an operator.

Made at the world's start through the real services (sign-up, shop, product, address).
What the services do not know is kept here: a shop's kind and hidden quality, a
buyer's tastes, budget, city tier and trust in each shop, whom it follows, whether it
left the platform.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.fingerprint import ClientPrint
from laotie.orders import divisions
from laotie.sim.catalogue import DEMO_ADDRESSES
from laotie.sim.common import (
    CATEGORIES,
    PASSWORD,
    OpenedShop,
    Person,
    open_shop,
    ring_member,
    sign_up_person,
)
from laotie.sim.settings import TRAITS, ShopKind, WorldSettings
from laotie.sim.stage import Stage
from laotie.traffic.impressions import EVERY_S, ImpressionWriter


@dataclass
class Shop:
    """A shop, its anchor (its own seller), its one product and what it hides."""

    index: int
    kind: ShopKind
    quality: float
    category: str
    price_minor: int
    opened: OpenedShop
    start_hour: int
    ring: list[Person] = field(default_factory=list)
    followers: set[int] = field(default_factory=set)  # buyers' indexes

    @property
    def seller(self) -> Actor:
        """The seller, who is also the shop's anchor."""
        return self.opened.seller


@dataclass
class Buyer:
    """A buyer: its tastes, budget, city tier, trust in shops, follows, and whether it left."""

    index: int
    person: Person
    tastes: dict[str, float]
    budget_minor: int
    tier: str
    activity: float
    rng: random.Random
    trust: dict[int, float] = field(default_factory=dict)  # by shop index
    follows: set[int] = field(default_factory=set)  # shop indexes whose anchor it follows
    churned: bool = False
    orders: int = 0

    @property
    def actor(self) -> Actor:
        """The buyer's account."""
        return self.person.actor

    @property
    def key(self) -> str:
        """The viewer key its visits carry: its user id, as a signed-in viewer's."""
        return self.person.actor.id


@dataclass(frozen=True)
class Show:
    """A live show of the world: its session, its shop and its planned end."""

    session_id: str
    shop: Shop
    ends_at: datetime


@dataclass
class Parcel:
    """An order on its way: who bought what, and whether it was a ring's fake order."""

    order_id: str
    line_id: str
    person: Person
    shop: Shop
    buyer: Buyer | None = None  # None for a ring's account
    fake: bool = False


@dataclass
class Tally:
    """What the agents did that the database does not say (or says only expensively)."""

    shows: int = 0
    feed_opens: int = 0
    empty_feeds: int = 0
    entries: int = 0
    purchases: int = 0
    refused_purchases: int = 0
    unpaid: int = 0
    fake_orders: int = 0
    good: int = 0
    bad: int = 0
    reviews: int = 0
    returns: int = 0
    rejected: int = 0
    disputes: int = 0
    follows: int = 0
    notified_entries: int = 0
    churned: int = 0
    flags_confirmed: int = 0


@dataclass
class World:
    """The world: its settings, stage, people, and the tally of what they did."""

    settings: WorldSettings
    stage: Stage
    shops: list[Shop] = field(default_factory=list)
    buyers: list[Buyer] = field(default_factory=list)
    operator: Actor | None = None
    tally: Tally = field(default_factory=Tally)
    ring_buyers: set[str] = field(default_factory=set)  # user ids of the rings' accounts
    by_shop_id: dict[str, Shop] = field(default_factory=dict)
    shows: dict[str, Show] = field(default_factory=dict)  # by session id
    # The feed's impressions, written a batch at a time on the agenda (`buyers.log_impressions`).
    impressions: ImpressionWriter = field(default_factory=lambda: ImpressionWriter(EVERY_S))
    impressions_due: bool = False

    def bad_chance(self, shop: Shop) -> float:
        """The chance an order of this shop disappoints: its hidden quality's shortfall."""
        s = self.settings
        return min(0.95, s.bad_at_five + (5 - shop.quality) * s.bad_per_star)

    def trust_factor(self, buyer: Buyer, shop: Shop) -> float:
        """How much the buyer's trust in a shop scales its choices (1 in the null control)."""
        if not self.settings.trust_matters:
            return 1.0
        prior = self.settings.trust_prior
        return buyer.trust.get(shop.index, prior) / prior

    def affordability(self, buyer: Buyer, shop: Shop) -> float:
        """1 within the buyer's budget; falling with the square of the overshoot beyond it."""
        return min(1.0, buyer.budget_minor / shop.price_minor) ** 2


async def populate(ctx: Ctx, world: World) -> None:
    """Open the shops, sign the buyers, rings and the operator up, at the world's start."""
    settings = world.settings
    await catalog.do_ensure_default_categories(ctx)
    rng = world.stage.rng("shops")
    kinds = [kind for kind, n in settings.kind_counts().items() for _ in range(n)]
    rng.shuffle(kinds)
    for index, kind in enumerate(kinds):
        world.shops.append(await _open(ctx, settings, rng, index, kind))
    for shop in world.shops:
        world.by_shop_id[shop.opened.shop_id] = shop
    brushing = [shop for shop in world.shops if shop.kind is ShopKind.BRUSHING]
    for ring, shop in enumerate(brushing):
        for j in range(settings.ring_size):
            member = await ring_member(
                ctx, ring, j, settings.ring_size, settings.ring_distinct_share
            )
            shop.ring.append(member)
            world.ring_buyers.add(member.actor.id)
    for index in range(settings.buyers):
        world.buyers.append(await _buyer(ctx, world, index))
    operator = await accounts.do_sign_up(
        ctx, "operator@sim.example", PASSWORD, "Operator", frozenset({Role.BUYER})
    )
    world.operator = await accounts.do_grant_roles(ctx, operator.id, frozenset({Role.OPERATOR}))


async def _open(
    ctx: Ctx, settings: WorldSettings, rng: random.Random, index: int, kind: ShopKind
) -> Shop:
    low, high = TRAITS[kind].quality
    quality = round(rng.uniform(low, high), 3)
    category = CATEGORIES[index % len(CATEGORIES)]
    price = rng.lognormvariate(math.log(settings.price_median_yuan), settings.price_sigma)
    price_minor = int(min(max(price, 10.0), 1_000.0)) * 100
    opened = await open_shop(
        ctx,
        index,
        category=category,
        price_minor=price_minor,
        roles=frozenset({Role.SELLER, Role.ANCHOR}),
    )
    start_hour = rng.randint(*settings.show_start_hours)
    return Shop(index, kind, quality, category, price_minor, opened, start_hour)


async def _buyer(ctx: Ctx, world: World, index: int) -> Buyer:
    settings = world.settings
    rng = world.stage.rng(f"buyer:{index}")
    city = rng.choices(range(len(DEMO_ADDRESSES)), settings.city_weights)[0]
    client = ClientPrint(f"10.{index // 250}.{index % 250}.9", f"phone-b{index:05d}")
    person = await sign_up_person(
        ctx, f"b{index}", index * len(DEMO_ADDRESSES) + city, client, f"{index} 号"
    )
    tier = divisions.city_tier(DEMO_ADDRESSES[city][1]).value
    raw = {category: rng.gammavariate(settings.taste_shape, 1.0) for category in CATEGORIES}
    top = max(raw.values())
    budget = rng.lognormvariate(math.log(settings.budget_median_yuan), settings.budget_sigma)
    budget *= settings.tier_budget.get(tier, 1.0)
    activity = rng.lognormvariate(-(settings.activity_sigma**2) / 2, settings.activity_sigma)
    return Buyer(
        index=index,
        person=person,
        tastes={category: value / top for category, value in raw.items()},
        budget_minor=int(budget * 100),
        tier=tier,
        activity=activity,
        rng=rng,
    )
