"""Helpers shared by the browser tests."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.factories import PASSWORD

TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 900}
# Assertions wait as long as actions: on a loaded machine a form's redirect can take
# longer than `expect`'s own five seconds, which fails a test that is right.
expect.set_options(timeout=TIMEOUT_MS)


async def signed_in(
    browser: Browser, base_url: str, email: str, viewport: dict[str, int] | None = None
) -> Page:
    """Open a fresh browser context and sign in through the form."""
    context = await browser.new_context(base_url=base_url, viewport=viewport or DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".flash")).to_contain_text("Signed in")
    return page
