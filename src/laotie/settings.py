"""Configuration from `LAOTIE_*` environment variables."""

from __future__ import annotations

import itertools
import secrets
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def public_url_for(host: str, port: int) -> str:
    """Return the URL that reaches a server bound to this host and port from this machine."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class Settings(BaseSettings):
    """Every setting of a laotie deployment; each can be set as `LAOTIE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="LAOTIE_", env_file=None, extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./laotie.db"
    redis_url: str | None = None
    # Generated per process when unset, so nothing secret lives in the repo; a deployment
    # with several workers must set it, or cookies signed by one worker fail on another.
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    # Where browsers and the sandbox's webhooks reach this server; `laotie serve` derives
    # it from --host and --port when unset.
    public_url: str = "http://127.0.0.1:8000"
    # Where encoders publish video (the media server's RTMP application); unset: the public
    # URL's host on RTMP's port 1935.
    rtmp_url: str | None = None
    currency: str = "CNY"
    debug: bool = False
    log_level: str = "INFO"
    log_json: bool = True  # one JSON object a line on stderr
    echo_sql: bool = False
    # SQLite's `synchronous`: NORMAL survives a power cut in WAL mode (losing at most the
    # last commits); OFF skips the syncs, for a database that can be made again (a
    # simulated world, replayed from its seed).
    sqlite_synchronous: Literal["NORMAL", "OFF"] = "NORMAL"

    platform_fee_bps: int = Field(default=500, ge=0, le=10_000)  # 5.00% of the order value
    unpaid_order_minutes: int = Field(default=15, ge=1)
    ship_within_hours: int = Field(default=48, ge=1)
    auto_deliver_days: int = Field(default=10, ge=1)
    return_window_days: int = Field(default=7, ge=0)
    seller_response_hours: int = Field(default=48, ge=1)
    # How long a confirmed C2M campaign's committers have to pay the balance.
    c2m_balance_hours: int = Field(default=72, ge=1)
    # The bounds of the commission a shop may offer anchors in the selection pool.
    affiliate_min_commission_bps: int = Field(default=100, ge=1, le=10_000)  # 1.00%
    affiliate_max_commission_bps: int = Field(default=5_000, ge=1, le=10_000)  # 50.00%
    max_quantity_per_line: int = Field(default=99, ge=1)
    max_lines_per_checkout: int = Field(default=50, ge=1)

    # argon2id cost; the defaults are the library's recommendation (RFC 9106's second choice).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=1_024)
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_lockout_minutes: int = Field(default=15, ge=1)
    sign_in_rate_per_minute: int = Field(default=20, ge=1)
    # Each sign-up costs an argon2 hash (64 MiB by default): the API and the form share one limit.
    sign_up_rate_per_minute: int = Field(default=10, ge=1)
    session_days: int = Field(default=14, ge=1)
    token_days: int = Field(default=30, ge=1)  # lifetime of an API token
    # A WebSocket ticket (POST /api/live/tickets) lets its holder into one room this long.
    ws_ticket_seconds: int = Field(default=60, ge=5, le=3_600)
    cookie_secure: bool = False
    # A request body over this many bytes is refused (413) before it is read, on every route.
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)

    # Words that point buyers off the platform (a penalty in the trust rules) are refused.
    chat_blocked_words: list[str] = Field(
        default_factory=lambda: ["wechat", "weixin", "微信", "加微", "vx", "whatsapp", "telegram"]
    )
    chat_max_length: int = Field(default=200, ge=1, le=2_000)
    chat_per_user_per_10s: int = Field(default=5, ge=1)
    chat_per_room_per_s: int = Field(default=50, ge=1)
    # A chat line waits this many milliseconds for others to share its transaction.
    chat_save_every_ms: int = Field(default=25, ge=1, le=5_000)
    # Freeze start-up objects and collect cycles less often (core/gctune.py): no long pauses.
    gc_tuning: bool = True
    # A shop runs flash sales from this experience score up (docs/trust.md).
    flash_sale_min_score: float = Field(default=4.0, ge=3.0, le=5.0)
    # The trust badge (信任购) from this score up, without a serious violation (docs/trust.md).
    trust_badge_min_score: float = Field(default=4.7, ge=3.0, le=5.0)
    # Penalty points (active, 90 days) at which each step of the rules applies: a warning,
    # no flash sales, no public-domain traffic, the shop suspended (docs/trust.md).
    penalty_warning_points: int = Field(default=12, ge=1)
    penalty_no_flash_sales_points: int = Field(default=24, ge=1)
    penalty_no_public_traffic_points: int = Field(default=36, ge=1)
    penalty_suspension_points: int = Field(default=48, ge=1)
    payment_webhook_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    jobs_interval_seconds: float = Field(default=5.0, gt=0)
    # A flash-sale take whose order has not committed after this long goes back to the gate.
    sale_inflight_timeout_seconds: float = Field(default=30.0, gt=0)
    run_jobs: bool = True
    # Go-live notifications are written this many recipients to a transaction.
    notify_batch_size: int = Field(default=5_000, ge=1, le=50_000)
    # What the recommendation feed weighs rooms by: their expected value times g(trust)
    # ("trust"), or their expected value alone ("gmv", the experiment's control); the
    # penalty points' bar on public traffic holds under both (docs/traffic.md).
    feed_policy: Literal["trust", "gmv"] = "trust"
    # The feed's picture of the live rooms is read again after this many seconds.
    feed_board_seconds: float = Field(default=10.0, ge=0)
    demo_show: bool = False  # the demo's live show: bots in a live room (laotie.sim.bots)

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("currency must be an ISO 4217 code such as CNY")
        return value.upper()

    @model_validator(mode="after")
    def _penalty_steps_rise(self) -> Settings:
        steps = self.penalty_thresholds
        if any(low >= high for low, high in itertools.pairwise(steps)):
            raise ValueError(
                "the penalty thresholds must rise: warning < flash sales < traffic < suspension"
            )
        return self

    @property
    def penalty_thresholds(self) -> tuple[int, int, int, int]:
        """The penalty steps in order: warning, no flash sales, no public traffic, suspension."""
        return (
            self.penalty_warning_points,
            self.penalty_no_flash_sales_points,
            self.penalty_no_public_traffic_points,
            self.penalty_suspension_points,
        )

    @cached_property
    def is_sqlite(self) -> bool:
        """Tell whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")
