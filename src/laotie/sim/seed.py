"""Seed the demo world through the real services, idempotently.

Running it again creates nothing new: people are recognised by email and shops by their
owner and name. The history (sign-ups, listings, price changes, orders) is written at
moments before now, so product pages show price histories and orders sit in every state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor
from laotie.catalog import service as catalog
from laotie.catalog.schemas import (
    ProductCreateIn,
    ProductUpdateIn,
    ShopCreateIn,
    ShopOut,
    ShopVerificationIn,
    SkuIn,
    SkuUpdateIn,
)
from laotie.core.clock import FrozenClock
from laotie.core.context import Ctx
from laotie.orders import addresses, balance, freight, payments, topups, webhooks
from laotie.orders import checkout as order_checkout
from laotie.orders import queries as order_queries
from laotie.orders import service as order_states
from laotie.orders.schemas import FreightTemplateIn
from laotie.sim.affiliate import seed_pool
from laotie.sim.c2m import seed_kiln
from laotie.sim.catalogue import (
    AFFILIATE_ANCHOR,
    DEMO_FREIGHT,
    KILN_OWNER,
    OPERATOR,
    ORDERS,
    PEOPLE,
    SHOPS,
    TEA_HOUSE,
    DemoOrder,
    DemoPerson,
    DemoProduct,
    DemoShop,
    demo_address,
)
from laotie.sim.credentials import demo_password
from laotie.sim.history import seed_history
from laotie.sim.images import URL_PATH

SIGNED_UP_AGO = timedelta(days=30)
LISTED_AGO = timedelta(days=25)
# When a SKU's regular price last changed: the last change 6 days ago, one before it 20
# days ago, so that both spans are inside the 30-day window of the was-price.
REPRICED_DAYS_AGO = (20, 6)
SHIPPED_AFTER = timedelta(hours=20)
DELIVERED_AFTER = timedelta(days=2)

VariantKey = tuple[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class SignIn:
    """A demo account as the sign-in table shows it; no password if it is not on file."""

    role: str
    email: str
    name: str
    password: str | None
    shop: str | None = None


@dataclass
class DemoSeed:
    """What a seeding run found and made."""

    sign_ins: list[SignIn] = field(default_factory=list)
    users_created: int = 0
    shops_created: int = 0
    products_created: int = 0
    orders_placed: int = 0
    # The regular buyers' past orders that give each shop its real score (`sim/history.py`).
    history_orders: int = 0
    images_moved: int = 0
    pool_offers: int = 0  # products the shops offer anchors, all approved for Xiao Mei


async def seed_demo(
    ctx: Ctx, passwords: Mapping[str, str] | None = None, *, history: bool = True
) -> DemoSeed:
    """Create whatever of the demo world is missing; passwords are generated when not given.

    `history` gives the new shops their trust history (`sim/history.py`); without it they
    are new shops, which is all some tests need, and quicker.
    """
    now = ctx.now()
    seed = DemoSeed()
    await catalog.do_ensure_default_categories(ctx)
    actors: dict[str, Actor] = {}
    signed_up = _at(ctx, now - SIGNED_UP_AGO)
    for index, person in enumerate(PEOPLE):
        actors[person.email] = await _ensure_person(
            signed_up, person, (passwords or {}).get(person.email), seed
        )
        await _ensure_address(signed_up, actors[person.email], index)
    variants: dict[VariantKey, str] = {}
    sellers: dict[str, Actor] = {}
    opened: dict[str, tuple[str, Actor]] = {}
    for position, shop in enumerate(SHOPS):
        seller = actors[shop.seller.email]
        existing = await _find_shop(ctx, seller, shop)
        if existing is None:
            shop_out = await _open_shop(ctx, actors[OPERATOR.email], seller, shop, position)
            await freight.do_set_freight_template(
                ctx, seller, shop_out.id, FreightTemplateIn.model_validate(DEMO_FREIGHT)
            )
            sellers[shop_out.id] = seller
            opened[shop.name] = (shop_out.id, seller)
            variants |= await _list_products(ctx, seller, shop_out.id, shop)
            seed.shops_created += 1
            seed.products_created += len(shop.products)
        else:
            seed.images_moved += await _move_images(ctx, seller, existing.id)
        _name_shop(seed, shop)
    # Orders only go with a world seeded from scratch: a later run must not buy again.
    if seed.shops_created == len(SHOPS):
        tea_house, seller = opened[TEA_HOUSE.name]
        operator, owner = actors[OPERATOR.email], actors[KILN_OWNER.email]
        await seed_kiln(ctx, operator, owner, seller, tea_house)
        for index, order in enumerate(ORDERS):
            await _place_order(ctx, actors, sellers, variants, index, order)
            seed.orders_placed += 1
        skus = {key: sku_id for (key, _), sku_id in variants.items()}
        seed.pool_offers = await seed_pool(ctx, actors, actors[AFFILIATE_ANCHOR.email], skus)
        if history:
            seed.history_orders = await seed_history(ctx, opened, pay_through_sandbox)
    return seed


def _at(ctx: Ctx, moment: datetime) -> Ctx:
    """Return the same unit of work with its clock set to a past moment."""
    return replace(ctx, clock=FrozenClock(moment))


# ---------------------------------------------------------------- people


async def _ensure_person(
    ctx: Ctx, person: DemoPerson, password: str | None, seed: DemoSeed
) -> Actor:
    """Sign a demo person up, or find them and make sure they hold their roles."""
    found = await accounts.find_user_by_email(ctx, person.email)
    if found is None:
        password = password or demo_password()
        actor = await accounts.do_sign_up(ctx, person.email, password, person.name, person.roles)
        seed.users_created += 1
    elif not person.roles <= found.roles:
        actor = await accounts.do_grant_roles(ctx, found.id, person.roles)
    else:
        actor = found
    seed.sign_ins.append(SignIn(person.role_label, person.email, person.name, password))
    return actor


async def _ensure_address(ctx: Ctx, actor: Actor, index: int) -> None:
    """Give a demo person a default shipping address, unless they have one."""
    if await addresses.address_book(ctx, actor):
        return
    place = demo_address(actor.name, index, f"1380013{index:04d}")
    await addresses.do_add_address(ctx, actor, place)


def _name_shop(seed: DemoSeed, shop: DemoShop) -> None:
    """Show the shop's name beside its seller in the sign-in table."""
    seed.sign_ins = [
        replace(sign_in, shop=shop.name) if sign_in.email == shop.seller.email else sign_in
        for sign_in in seed.sign_ins
    ]


# ---------------------------------------------------------------- shops and products


async def _find_shop(ctx: Ctx, seller: Actor, shop: DemoShop) -> ShopOut | None:
    """Return the seller's demo shop if it exists already."""
    for owned in await catalog.shops_of_owner(ctx, seller.id):
        if owned.name.lower() == shop.name.lower():
            return owned
    return None


async def _open_shop(
    ctx: Ctx, operator: Actor, seller: Actor, shop: DemoShop, position: int
) -> ShopOut:
    """Open the shop a little after its seller signed up, pay its security deposit through
    the sandbox, and have the operator verify it."""
    opened = _at(ctx, ctx.now() - SIGNED_UP_AGO + timedelta(hours=2 + position))
    shop_out = await catalog.do_create_shop(
        opened, seller, ShopCreateIn(name=shop.name, description=shop.description)
    )
    provider = payments.SandboxProvider(ctx.settings.payment_webhook_secret)
    paid = _at(ctx, ctx.now() - SIGNED_UP_AGO + timedelta(hours=3 + position))
    deposit = await topups.do_start_top_up(
        paid, seller, shop_out.id, shop.deposit_minor, provider, balance.DEPOSIT
    )
    await settle_through_sandbox(paid, provider, deposit.payment_id)
    await catalog.do_set_verification(
        _at(ctx, ctx.now() - SIGNED_UP_AGO + timedelta(days=1, hours=position)),
        operator,
        shop_out.id,
        ShopVerificationIn(verified=True),
    )
    return await catalog.get_shop(ctx, shop_out.id)


def image_url(ctx: Ctx, product: DemoProduct) -> str:
    """Return the absolute URL of a product's picture (the catalog takes http(s) URLs only)."""
    return ctx.settings.public_url.rstrip("/") + URL_PATH + product.image_name


async def _list_products(
    ctx: Ctx, seller: Actor, shop_id: str, shop: DemoShop
) -> dict[VariantKey, str]:
    """List the shop's products and write their price histories; return SKU ids by variant."""
    now = ctx.now()
    variants: dict[VariantKey, str] = {}
    for position, product in enumerate(shop.products):
        listed = _at(ctx, now - LISTED_AGO + timedelta(minutes=37 * position))
        created = await catalog.do_create_product(
            listed,
            seller,
            shop_id,
            ProductCreateIn(
                title=product.title,
                description=product.description,
                images=[image_url(ctx, product)],
                category=product.category,
                skus=[
                    SkuIn(
                        attributes=sku.attributes,
                        price_minor=sku.prices[0],
                        stock=sku.stock,
                        per_buyer_limit=sku.per_buyer_limit,
                    )
                    for sku in product.skus
                ],
            ),
        )
        for sku, sku_out in zip(product.skus, created.skus, strict=True):
            await _reprice(ctx, seller, sku_out.id, sku.prices[1:])
            variants[(product.key, frozenset(sku_out.attributes.items()))] = sku_out.id
    return variants


async def _reprice(ctx: Ctx, seller: Actor, sku_id: str, changes: tuple[int, ...]) -> None:
    """Apply a SKU's price changes since listing, the last one REPRICED_DAYS_AGO[-1] ago."""
    if len(changes) > len(REPRICED_DAYS_AGO):
        raise ValueError(f"a demo SKU changes price at most {len(REPRICED_DAYS_AGO)} times")
    moments = REPRICED_DAYS_AGO[len(REPRICED_DAYS_AGO) - len(changes) :]
    for days_ago, price in zip(moments, changes, strict=True):
        await catalog.do_update_sku(
            _at(ctx, ctx.now() - timedelta(days=days_ago)),
            seller,
            sku_id,
            SkuUpdateIn(price_minor=price),
        )


async def _move_images(ctx: Ctx, seller: Actor, shop_id: str) -> int:
    """Point the shop's demo pictures at the current public URL, if it changed; count them."""
    base = ctx.settings.public_url.rstrip("/") + URL_PATH
    page = await catalog.browse_products(ctx, seller, shop_id=shop_id, limit=100)
    moved = 0
    for item in page.items:
        if item.image is None or URL_PATH not in item.image or item.image.startswith(base):
            continue
        new = base + item.image.split(URL_PATH, 1)[1]
        await catalog.do_update_product(
            ctx,
            seller,
            item.id,
            ProductUpdateIn(images=[new]),
        )
        moved += 1
    return moved


# ---------------------------------------------------------------- orders


async def _place_order(
    ctx: Ctx,
    actors: Mapping[str, Actor],
    sellers: Mapping[str, Actor],
    variants: Mapping[VariantKey, str],
    index: int,
    demo: DemoOrder,
) -> None:
    """Buy, pay through the sandbox, and walk the order to its demo state."""
    buyer = actors[demo.buyer]
    paid_at = ctx.now() - demo.paid_ago
    lines = [
        (variants[(line.product, frozenset(line.attributes.items()))], line.quantity)
        for line in demo.lines
    ]
    checkout = await order_checkout.do_checkout(
        _at(ctx, paid_at - timedelta(minutes=4)), buyer, lines, f"demo-seed-order-{index}"
    )
    order_ids = [order.id for order in checkout.orders]
    await pay_through_sandbox(_at(ctx, paid_at), buyer, order_ids)
    if demo.state == "paid":
        return
    shipped_at = paid_at + SHIPPED_AFTER
    for order in checkout.orders:
        await order_states.do_ship(
            _at(ctx, shipped_at),
            sellers[order.shop_id],
            order.id,
            demo.carrier,
            demo.tracking_no or order.id,
        )
    if demo.state == "shipped":
        return
    for order_id in order_ids:
        await order_states.do_confirm_receipt(
            _at(ctx, shipped_at + DELIVERED_AFTER), buyer, order_id
        )
    if demo.state == "delivered":
        return
    for order_id in order_ids:
        # Completes now only if the return window is over, as the periodic job would.
        await order_states.do_complete(
            ctx, await order_queries.load_order(ctx, order_id, lock=True)
        )


async def pay_through_sandbox(
    ctx: Ctx, buyer: Actor, order_ids: list[str], payer_account: str | None = None
) -> None:
    """Pay on the sandbox's page and deliver its signed webhook to laotie.

    The provider and laotie share this one transaction here, so the webhook the sandbox
    would send after commit is delivered at once; laotie still verifies its signature.
    """
    provider = payments.SandboxProvider(ctx.settings.payment_webhook_secret)
    payment = await payments.do_start_payment(ctx, buyer, order_ids, provider)
    await settle_through_sandbox(ctx, provider, payment.id, payer_account)


async def settle_through_sandbox(
    ctx: Ctx,
    provider: payments.SandboxProvider,
    payment_id: str,
    payer_account: str | None = None,
) -> None:
    """Approve a payment on the sandbox's page and deliver its webhook in this transaction."""
    sent: list[tuple[str, str]] = []

    async def capture(_task: str, outbox_id: str, *args: object) -> None:
        sent.append((outbox_id, str(args[2])))

    sandbox = replace(ctx, after_commit=[])
    await payments.do_sandbox_decide(sandbox, provider, payment_id, True, payer_account, capture)
    for hook in sandbox.after_commit:
        await hook()
    for outbox_id, body in sent:
        raw = body.encode()
        headers = provider.headers_for(raw, ctx.now().timestamp())
        await payments.do_apply_webhook(ctx, provider, raw, headers)
        await webhooks.do_mark_sent(ctx, outbox_id)
