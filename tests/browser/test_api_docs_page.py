"""The API documentation page works in a real browser without the internet."""

from __future__ import annotations

from playwright.async_api import Page, Request


async def test_api_docs_render_every_operation_from_local_assets(
    page: Page, live_server: str
) -> None:
    requested: list[str] = []

    def remember(request: Request) -> None:
        requested.append(request.url)

    page.on("request", remember)
    await page.goto(f"{live_server}/docs")
    await page.wait_for_load_state("networkidle")
    assert await page.title() == "laotie API"
    assert requested
    assert all(url.startswith(live_server) for url in requested), requested
    shown = await page.inner_text("#swagger-ui")
    for path in ("/api/auth/sign-up", "/api/orders", "/api/products"):
        assert path in shown, shown
