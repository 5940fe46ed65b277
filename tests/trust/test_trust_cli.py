"""`laotie trust explain SHOP` prints what the API answers, and refuses an unknown shop."""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractAsyncContextManager

import pytest
from typer.testing import CliRunner

from laotie import cli
from laotie.accounts.permissions import Role
from laotie.accounts.service import do_sign_up
from laotie.core.clock import SystemClock
from laotie.core.context import Ctx, unit_of_work
from laotie.db.engine import make_database
from tests.conftest import settings_for
from tests.orders.world import make_shop_with_skus


async def _a_shop(database_url: str) -> str:
    settings = settings_for(database_url)
    database = make_database(settings)
    try:

        def uow() -> AbstractAsyncContextManager[Ctx]:
            return unit_of_work(database, settings, SystemClock())

        async with uow() as ctx:
            seller = await do_sign_up(
                ctx, "cli-seller@example.com", "a long password", "S", frozenset({Role.SELLER})
            )
        shop_id, _ = await make_shop_with_skus(uow, seller.id, (5,), (900,))
        return shop_id
    finally:
        await database.dispose()


def test_explain_prints_the_score_with_its_inputs(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_id = asyncio.run(_a_shop(database_url))
    monkeypatch.setenv("LAOTIE_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli.app, ["trust", "explain", shop_id])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["shop_id"], printed["tier"], printed["score"]) == (shop_id, "new", 4.5)
    assert {d["dimension"] for d in printed["dimensions"]} == {
        "product",
        "logistics",
        "service",
        "loyalty",
    }
    unknown = CliRunner().invoke(cli.app, ["trust", "explain", "shp_missing"])
    assert unknown.exit_code == 2
    assert "shop not found" in unknown.output
