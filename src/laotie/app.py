"""The composition root: `create_app(settings)` lists every router and job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.types import ASGIApp
from swagger_ui_bundle import swagger_ui_path

from laotie import __version__
from laotie.accounts.deps import TokenCache
from laotie.accounts.routes import router as accounts_router
from laotie.affiliate.routes import router as affiliate_router
from laotie.analytics.jobs import JOBS as ANALYTICS_JOBS
from laotie.analytics.routes import router as analytics_router
from laotie.catalog.routes import router as catalog_router
from laotie.catalog.views import EVERY_S as SHELF_VIEWS_EVERY_S
from laotie.catalog.views import ShelfViewWriter
from laotie.core.bodylimit import BodyLimit
from laotie.core.clock import Clock, SystemClock
from laotie.core.gctune import tune_for_serving
from laotie.core.http import install_error_handlers
from laotie.core.jobs import Job, JobsLease, RedisLease, SoleLease, run_jobs_forever
from laotie.core.logging import configure_logging
from laotie.core.openapi import install_openapi
from laotie.core.ratelimit import RateLimiter
from laotie.core.stopping import Stop, finish
from laotie.core.tasks import TaskQueue, make_broker
from laotie.core.text import RefuseControlInAddress
from laotie.db.engine import make_database
from laotie.live.jobs import JOBS as LIVE_JOBS
from laotie.live.room.ws import RoomSocketLane
from laotie.live.room.ws import router as live_ws_router
from laotie.live.routes import router as live_router
from laotie.live.runtime import make_runtime
from laotie.live.sale.lane import RoomOrderLane
from laotie.orders.jobs import JOBS as ORDER_JOBS
from laotie.orders.jobs import TASKS as ORDER_TASKS
from laotie.orders.payments import HttpWebhookSender, SandboxProvider
from laotie.orders.payouts import SandboxPayoutProvider
from laotie.orders.prepaid import applied_with
from laotie.orders.purposes import settle_with
from laotie.orders.routes import router as orders_router
from laotie.realtime.users import MemoryUserPush, RedisUserPush, UserPush
from laotie.reports.routes import router as reports_router
from laotie.settings import Settings
from laotie.sim.bots import LiveShow
from laotie.supply.balances import DEPOSITS as SUPPLY_DEPOSITS
from laotie.supply.commitments import PURPOSES as SUPPLY_PURPOSES
from laotie.supply.jobs import JOBS as SUPPLY_JOBS
from laotie.supply.routes import router as supply_router
from laotie.traffic.impressions import EVERY_S as IMPRESSIONS_EVERY_S
from laotie.traffic.impressions import ImpressionWriter
from laotie.traffic.jobs import JOBS as TRAFFIC_JOBS
from laotie.traffic.jobs import TASKS as TRAFFIC_TASKS
from laotie.traffic.routes import router as traffic_router
from laotie.traffic.ws import router as traffic_ws_router
from laotie.trust.jobs import JOBS as TRUST_JOBS
from laotie.trust.routes import router as trust_router
from laotie.video.routes import router as video_router
from laotie.web.affiliate import router as web_affiliate_router
from laotie.web.analytics import router as web_analytics_router
from laotie.web.deps import install_page_errors
from laotie.web.fans import router as web_fans_router
from laotie.web.pages import STATIC_DIR
from laotie.web.promotions import router as web_promotions_router
from laotie.web.routes import router as web_router
from laotie.web.supply import router as web_supply_router

# Every periodic job of every feature, run on an interval by each serving process.
JOBS: tuple[Job, ...] = (
    *ORDER_JOBS,
    *LIVE_JOBS,
    *TRUST_JOBS,
    *TRAFFIC_JOBS,
    *ANALYTICS_JOBS,
    *SUPPLY_JOBS,
)
# Every feature's one-off tasks, registered on the task queue's broker.
TASKS = (*ORDER_TASKS, *TRAFFIC_TASKS)
# A sweep under way gets this long to finish when the server stops.
JOBS_STOP_GRACE_S = 10.0


def jobs_lease(redis: Any, interval_s: float) -> JobsLease:
    """Run the sweeps once per cluster when workers share Redis; always when alone."""
    if redis is None:
        return SoleLease()
    # Lapses after three missed ticks, so that a standby takes over from a dead runner.
    return RedisLease(redis, ttl_s=3 * interval_s)


def make_user_push(redis: Any) -> UserPush:
    """Push to users through Redis when the workers share it; in this process otherwise."""
    return MemoryUserPush() if redis is None else RedisUserPush(redis)


class Laotie(FastAPI):
    """The application: FastAPI with the lanes of a room's crowd in front of all of it."""

    def build_middleware_stack(self) -> ASGIApp:
        """Put the lanes outside FastAPI's own middleware: a crowd pays for none of it."""
        # The body limit goes outermost, so that the lane's bodies are capped too.
        lanes = RoomSocketLane(RoomOrderLane(super().build_middleware_stack()))
        return BodyLimit(RefuseControlInAddress(lanes), self.state.settings.max_body_bytes)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the application for these settings; nothing is built at import time."""
    settings = settings or Settings()
    if settings.log_json:
        configure_logging(settings.log_level)
    for purpose, settle in SUPPLY_PURPOSES.items():  # payments that supply settles
        settle_with(purpose, settle, return_page="/commitments")
    for account, applied in SUPPLY_DEPOSITS.items():  # deposits that orders are paid with
        applied_with(account, applied)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner, stop_jobs = None, Stop()
        await app.state.tasks.start()
        await app.state.user_push.start()
        if settings.run_jobs:
            interval = settings.jobs_interval_seconds
            lease = jobs_lease(app.state.live.redis, interval)
            runner = asyncio.create_task(
                run_jobs_forever(app.state, JOBS, interval, stop_jobs, lease)
            )
        await app.state.live.start(app.state)
        app.state.impressions.start_writing(app.state)
        app.state.shelf_views.start_writing(app.state)
        if settings.gc_tuning:
            tune_for_serving()
        show = LiveShow(app.state) if settings.demo_show else None
        if show is not None:
            await show.start()
        yield
        if show is not None:
            await show.stop()
        await app.state.live.stop(app.state)
        await app.state.impressions.stop_writing(app.state)
        await app.state.shelf_views.stop_writing(app.state)
        if runner is not None:
            await finish([runner], stop_jobs, JOBS_STOP_GRACE_S)
        await app.state.tasks.stop()
        await app.state.user_push.stop()
        if isinstance(app.state.webhook_sender, HttpWebhookSender):
            await app.state.webhook_sender.aclose()
        await app.state.database.dispose()

    app = Laotie(
        title="laotie",
        version=__version__,
        description="Live commerce in which trust is the currency.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.database = make_database(settings)
    app.state.sign_in_limiter = RateLimiter(settings.sign_in_rate_per_minute, 60.0)
    app.state.sign_up_limiter = RateLimiter(settings.sign_up_rate_per_minute, 60.0)
    app.state.token_cache = TokenCache()
    app.state.payment_providers = {"sandbox": SandboxProvider(settings.payment_webhook_secret)}
    app.state.payout_providers = {
        "sandbox_payouts": SandboxPayoutProvider(settings.payment_webhook_secret)
    }
    app.state.webhook_sender = HttpWebhookSender(settings.public_url)
    app.state.tasks = TaskQueue(make_broker(settings), TASKS, app.state)
    app.state.live = make_runtime(settings)
    app.state.hub = app.state.live.hub
    app.state.user_push = make_user_push(app.state.live.redis)
    app.state.impressions = ImpressionWriter(IMPRESSIONS_EVERY_S)
    app.state.shelf_views = ShelfViewWriter(SHELF_VIEWS_EVERY_S)
    install_error_handlers(app)
    install_openapi(app)
    _add_probes(app)
    _add_offline_docs(app)
    # The room's socket first: a crowd's handshakes are matched before the HTTP routes.
    app.include_router(live_ws_router)
    app.include_router(traffic_ws_router)
    app.include_router(accounts_router)
    app.include_router(catalog_router)
    app.include_router(orders_router)
    app.include_router(live_router)
    app.include_router(trust_router)
    app.include_router(traffic_router)
    app.include_router(analytics_router)
    app.include_router(reports_router)
    app.include_router(supply_router)
    app.include_router(affiliate_router)
    app.include_router(video_router)
    install_page_errors(app)
    app.include_router(web_router)
    app.include_router(web_fans_router)
    app.include_router(web_promotions_router)
    app.include_router(web_analytics_router)
    app.include_router(web_supply_router)
    app.include_router(web_affiliate_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _add_probes(app: FastAPI) -> None:
    """Liveness (no I/O) and readiness (database, and Redis when configured)."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = {"database": await _database_ready(app)}
        if app.state.settings.redis_url:
            checks["redis"] = await _redis_ready(app.state.settings.redis_url)
        ready = all(checks.values())
        body = "{" + ",".join(f'"{k}":{str(v).lower()}' for k, v in checks.items()) + "}"
        return Response(body, status_code=200 if ready else 503, media_type="application/json")


async def _database_ready(app: FastAPI) -> bool:
    try:
        async with app.state.database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _redis_ready(url: str) -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


def _add_offline_docs(app: FastAPI) -> None:
    """Serve Swagger UI from the installed package, so `/docs` needs no internet."""
    app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="laotie API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )
