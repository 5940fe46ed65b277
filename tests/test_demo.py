"""The demo world: seeded through the real services, idempotent, and ready to sign in to."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from laotie.accounts.models import User
from laotie.accounts.permissions import Role
from laotie.accounts.service import do_sign_in, find_user_by_email
from laotie.catalog import service as catalog
from laotie.catalog.models import Product, Shop, Sku
from laotie.orders.models import Order
from laotie.orders.schemas import OrderStatus
from laotie.sim.catalogue import OPERATOR, ORDERS, PEOPLE, PRODUCTS, SHOPS
from laotie.sim.credentials import DemoCredentials, credentials_path
from laotie.sim.demo import local_url
from laotie.sim.images import STATIC_DEMO_DIR, tile_svg
from laotie.sim.seed import DemoSeed, seed_demo

CHEAP_HASHING = {"LAOTIE_ARGON2_TIME_COST": "1", "LAOTIE_ARGON2_MEMORY_KIB": "1024"}


@pytest.fixture
def uow(savepoint_uow: Any) -> Any:
    """Seed and read inside one transaction rolled back at the end: no database to copy."""
    return savepoint_uow


async def _seed(
    uow: Any, passwords: dict[str, str] | None = None, *, history: bool = False
) -> DemoSeed:
    """Seed the demo world; without the shops' trust history unless asked (it is slower)."""
    async with uow() as ctx:
        return await seed_demo(ctx, passwords, history=history)


async def _counts(uow: Any) -> dict[str, int]:
    async with uow() as ctx:
        return {
            model.__tablename__: await ctx.db.scalar(select(func.count()).select_from(model))
            for model in (User, Shop, Product, Sku, Order)
        }


async def test_seeding_twice_changes_nothing(uow: Any) -> None:
    first = await _seed(uow)
    after_first = await _counts(uow)
    second = await _seed(uow)
    assert (first.users_created, first.shops_created, first.orders_placed) == (
        len(PEOPLE),
        len(SHOPS),
        len(ORDERS),
    )
    assert (second.users_created, second.shops_created, second.products_created) == (0, 0, 0)
    assert second.orders_placed == 0
    assert await _counts(uow) == after_first
    assert after_first["products"] == len(PRODUCTS)


async def test_every_product_is_on_sale_with_stock_and_a_picture(uow: Any) -> None:
    await _seed(uow)
    async with uow() as ctx:
        page = await catalog.browse_products(ctx, None, limit=100)
        assert page.total == len(PRODUCTS)
        for item in page.items:
            product = await catalog.product_detail(ctx, item.id, None)
            assert any(sku.stock > 0 for sku in product.skus), product.title
            assert product.images == [item.image]
            assert item.image is not None
            assert item.image.startswith("http://testserver/static/demo/")


async def test_shops_are_verified_and_span_every_default_category(uow: Any) -> None:
    await _seed(uow)
    async with uow() as ctx:
        shops = await catalog.list_shops(ctx, limit=100)
        categories = {item.category for item in (await catalog.browse_products(ctx, None)).items}
    assert sorted(shop.name for shop in shops) == sorted(shop.name for shop in SHOPS)
    assert all(shop.verified and shop.deposit_minor > 0 for shop in shops)
    assert categories == {"apparel", "beauty", "food", "home", "electronics", "jade"}


async def test_raised_prices_show_the_lower_price_of_the_last_30_days(uow: Any) -> None:
    await _seed(uow)
    async with uow() as ctx:
        page = await catalog.browse_products(ctx, None, limit=100)
        skus = [
            sku
            for item in page.items
            for sku in (await catalog.product_detail(ctx, item.id, None)).skus
        ]
    raised = [sku for sku in skus if sku.was_price_minor < sku.price_minor]
    assert raised, "some SKU should show a 30-day low below its price"
    assert all(sku.was_price_minor <= sku.price_minor for sku in skus)
    # The pu'er cake went from 168.00 to a 148.00 promotion and back.
    assert any((s.price_minor, s.was_price_minor) == (16_800, 14_800) for s in raised)


async def test_the_operator_holds_the_operator_role(uow: Any) -> None:
    await _seed(uow)
    async with uow() as ctx:
        operator = await find_user_by_email(ctx, OPERATOR.email)
    assert operator is not None
    assert operator.has(Role.OPERATOR)


async def test_every_printed_sign_in_works(uow: Any) -> None:
    seed = await _seed(uow)
    assert [s.email for s in seed.sign_ins] == [person.email for person in PEOPLE]
    async with uow() as ctx:
        for sign_in in seed.sign_ins:
            assert sign_in.password is not None
            actor, token = await do_sign_in(ctx, sign_in.email, sign_in.password)
            assert actor.email == sign_in.email
            assert token


async def test_given_passwords_are_used_and_unknown_ones_are_not_invented(uow: Any) -> None:
    chosen = {person.email: f"demo-password-{i}" for i, person in enumerate(PEOPLE)}
    first = await _seed(uow, chosen)
    assert {s.email: s.password for s in first.sign_ins} == chosen
    again = await _seed(uow)
    assert all(s.password is None for s in again.sign_ins)
    async with uow() as ctx:
        await do_sign_in(ctx, OPERATOR.email, chosen[OPERATOR.email])


async def test_orders_sit_in_every_state_a_back_office_shows(uow: Any) -> None:
    await _seed(uow)
    async with uow() as ctx:
        statuses = list(await ctx.db.scalars(select(Order.status)))
    assert sorted(set(statuses)) == sorted(
        {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED}
    )
    assert statuses.count(OrderStatus.PAID) >= 3


async def test_units_add_up_after_the_orders(uow: Any) -> None:
    seeded = await _seed(uow)
    listed = sum(sku.stock for product in PRODUCTS for sku in product.skus)
    async with uow() as ctx:
        on_hand, reserved, sold = (
            await ctx.db.execute(
                select(func.sum(Sku.stock), func.sum(Sku.reserved), func.sum(Sku.sold))
            )
        ).one()
    # The history's regulars buy one unit each, of units added for them beforehand.
    sold_by_orders = sum(line.quantity for order in ORDERS for line in order.lines)
    assert (reserved, sold) == (0, sold_by_orders + seeded.history_orders)
    assert on_hand + sold == listed + seeded.history_orders


async def test_pictures_follow_a_new_public_url(uow: Any) -> None:
    await _seed(uow)
    async with uow() as ctx:
        settings = ctx.settings
    elsewhere = settings.model_copy(update={"public_url": "http://127.0.0.1:8123"})
    async with uow() as ctx:
        moved = await seed_demo(replace(ctx, settings=elsewhere))
        page = await catalog.browse_products(ctx, None, limit=100)
    assert moved.images_moved == len(PRODUCTS)
    assert all(
        item.image is not None and item.image.startswith("http://127.0.0.1:8123/static/demo/")
        for item in page.items
    )


def test_shipped_pictures_are_the_ones_the_catalogue_draws() -> None:
    for product in PRODUCTS:
        path = STATIC_DEMO_DIR / product.image_name
        assert path.read_text(encoding="utf-8") == tile_svg(product), path.name


def test_credentials_live_beside_the_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    assert credentials_path(url) == tmp_path / "shop-demo-credentials.txt"
    assert credentials_path("sqlite+aiosqlite:///./laotie.db").name == "laotie-demo-credentials.txt"
    assert credentials_path("postgresql+asyncpg://u:p@db/laotie").name == (
        "laotie-demo-credentials.txt"
    )


def test_credentials_survive_a_round_trip(tmp_path: Path) -> None:
    book = DemoCredentials.load(tmp_path / "x-demo-credentials.txt")
    passwords = book.ensure_passwords(["a@example.com", "b@example.com"])
    book.secrets["LAOTIE_SECRET_KEY"] = "kept"
    book.changed = True
    book.save()
    again = DemoCredentials.load(book.path)
    assert again.passwords == passwords
    assert again.secrets == {"LAOTIE_SECRET_KEY": "kept"}
    assert again.ensure_passwords(["a@example.com"]) == passwords
    assert not again.changed
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600


def test_local_url_names_a_reachable_address() -> None:
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"  # noqa: S104 - not bound to
    assert local_url("::1", 9000) == "http://[::1]:9000"
    assert local_url("localhost", 8080) == "http://localhost:8080"


def _run_seed(workdir: Path, database: Path) -> str:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LAOTIE_")}
    environment |= CHEAP_HASHING | {"LAOTIE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    laotie = Path(sys.executable).parent / "laotie"
    done = subprocess.run(
        [str(laotie), "seed"],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.any_backend  # the command seeds its own SQLite file
def test_laotie_seed_migrates_seeds_and_prints_the_same_sign_ins_twice(tmp_path: Path) -> None:
    database = tmp_path / "data" / "demo.db"
    database.parent.mkdir()
    first = _run_seed(tmp_path, database)
    second = _run_seed(tmp_path, database)
    book = DemoCredentials.load(tmp_path / "data" / "demo-demo-credentials.txt")
    assert set(book.passwords) == {person.email for person in PEOPLE}
    assert set(book.secrets) == {"LAOTIE_SECRET_KEY", "LAOTIE_PAYMENT_WEBHOOK_SECRET"}
    for email, password in book.passwords.items():
        line = next(line for line in first.splitlines() if line.split()[1:2] == [email])
        assert password in line
    assert first.startswith(f"seeded {len(PEOPLE)} users, {len(SHOPS)} shops")
    assert second.startswith("demo world already seeded")
    assert first.splitlines()[1:] == second.splitlines()[1:]


def _isolate_environment(monkeypatch: Any, database: Path) -> None:
    """Clear the variables the demo writes, so that the test leaves none behind."""
    for name in ("LAOTIE_SECRET_KEY", "LAOTIE_PAYMENT_WEBHOOK_SECRET", "LAOTIE_PUBLIC_URL"):
        # Set first, so that undoing the patch removes what the command exports.
        monkeypatch.setenv(name, "unset")
        monkeypatch.delenv(name)
    for name, value in CHEAP_HASHING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LAOTIE_DATABASE_URL", f"sqlite+aiosqlite:///{database}")


@pytest.mark.any_backend  # the command seeds and serves its own SQLite file
def test_laotie_demo_seeds_then_serves_where_it_says(monkeypatch: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from laotie import cli

    _isolate_environment(monkeypatch, tmp_path / "demo.db")
    served: list[tuple[str, int, int, str | None]] = []

    def fake_serve(host: str, port: int, workers: int) -> None:
        served.append((host, port, workers, os.environ.get("LAOTIE_PUBLIC_URL")))

    monkeypatch.setattr(cli, "serve", fake_serve)
    result = CliRunner().invoke(cli.app, ["demo", "--host", "0.0.0.0", "--port", "8123"])  # noqa: S104
    assert result.exit_code == 0, result.output
    assert served == [("0.0.0.0", 8123, 1, "http://127.0.0.1:8123")]  # noqa: S104
    assert "laotie demo: http://127.0.0.1:8123" in result.output
    book = DemoCredentials.load(tmp_path / "demo-demo-credentials.txt")
    assert os.environ["LAOTIE_SECRET_KEY"] == book.secrets["LAOTIE_SECRET_KEY"]
    assert all(password in result.output for password in book.passwords.values())


async def test_the_demo_shops_have_real_different_scores_a_history_and_one_a_badge(
    uow: Any,
) -> None:
    from laotie.sim.catalogue import JIANGNAN_ATELIER, TEA_HOUSE
    from laotie.sim.history import HISTORIES, SCORED_DAYS
    from laotie.trust import service as trust

    seeded = await _seed(uow, history=True)
    assert seeded.history_orders == sum(h.buyers for h in HISTORIES.values())
    assert (await _seed(uow, history=True)).history_orders == 0  # a second run buys nothing
    async with uow() as ctx:
        shops = {s.name: s for s in (await catalog.list_shops(ctx, limit=50, offset=0))}
        scores = {name: await trust.shop_trust(ctx, shops[name].id) for name in HISTORIES}
        history = await trust.score_history(ctx, shops[TEA_HOUSE.name].id, 90)
    assert all(not s.new for s in scores.values())
    assert len({s.score for s in scores.values()}) == len(scores)
    best, worst = scores[TEA_HOUSE.name], scores[JIANGNAN_ATELIER.name]
    assert best.score > worst.score and best.tier == "excellent" and best.badge
    assert best.verified_sales > 0
    assert len(history) == SCORED_DAYS + 1
