"""Fan levels: the formula (`fan-level-1`) and the levels kept for each fan.

Each day a fan watched the anchor's sessions or bought in them earns points (watch
minutes up to 60, 10 for being there, 1 a 1,000 minor units paid up to 200); each day's
points halve every 30 days, so a fan who stays away sinks back while a regular climbs.
Levels double in width: level L needs 50 × (2^(L-1) − 1) points. docs/traffic.md has the
worked example. This module reads only traffic's own table, so the room's chat can ask
for badges without knowing the rest of the feature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from laotie.core.context import Ctx
from laotie.core.errors import AppError
from laotie.traffic.errors import TrafficError
from laotie.traffic.models import FanMember

FORMULA = "fan-level-1"
WINDOW_DAYS = 90
HALF_LIFE_DAYS = 30.0
WATCH_MINUTES_CAP = 60  # a day's watch points
PRESENCE_POINTS = 10  # a day the fan watched a minute or bought
MINOR_PER_POINT = 1_000  # ¥10 paid earns a point
PURCHASE_POINTS_CAP = 200
LEVEL_BASE = 50.0
MAX_LEVEL = 10


@dataclass(frozen=True, slots=True)
class Day:
    """What a fan did on one day in an anchor's sessions."""

    day: date
    watch_seconds: int = 0
    paid_minor: int = 0


def day_points(day: Day) -> float:
    """Return a day's points: watch minutes (capped), presence, purchases (capped)."""
    watch = min(day.watch_seconds / 60, WATCH_MINUTES_CAP)
    present = PRESENCE_POINTS if day.watch_seconds >= 60 or day.paid_minor > 0 else 0
    bought = min(day.paid_minor // MINOR_PER_POINT, PURCHASE_POINTS_CAP)
    return watch + present + bought


def intimacy(days: Iterable[Day], today: date) -> float:
    """Return the intimacy score: each day's points, halved every 30 days of age."""
    total = 0.0
    for day in days:
        age = (today - day.day).days
        if 0 <= age < WINDOW_DAYS:
            total += day_points(day) * 0.5 ** (age / HALF_LIFE_DAYS)
    return total


def level_of(score: float) -> int:
    """Return the level of an intimacy score: 1 on joining, 10 at most."""
    return min(MAX_LEVEL, 1 + math.floor(math.log2(1 + max(score, 0.0) / LEVEL_BASE)))


def points_for_level(level: int) -> float:
    """Return the intimacy a level needs."""
    return LEVEL_BASE * float(2 ** (level - 1) - 1)


async def check_fan(ctx: Ctx, anchor_id: str, user_id: str, min_level: int) -> int:
    """Return the user's level in the anchor's fan group; refuse a non-fan or a lower level."""
    level = await ctx.db.scalar(
        select(FanMember.level).where(
            FanMember.anchor_id == anchor_id, FanMember.user_id == user_id
        )
    )
    if level is None:
        raise AppError.of(TrafficError.NOT_A_FAN, "join the anchor's fan group first")
    if level < min_level:
        raise AppError.of(TrafficError.FAN_LEVEL_TOO_LOW, f"this needs fan level {min_level}")
    return int(level)


async def levels_among(ctx: Ctx, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Return the fan level of each (anchor, user) pair that is a membership, in one read."""
    wanted = set(pairs)
    if not wanted:
        return {}
    anchors, users = {a for a, _ in wanted}, {u for _, u in wanted}
    rows = await ctx.db.execute(
        select(FanMember.anchor_id, FanMember.user_id, FanMember.level).where(
            FanMember.anchor_id.in_(sorted(anchors)), FanMember.user_id.in_(sorted(users))
        )
    )
    return {(a, u): int(level) for a, u, level in rows if (a, u) in wanted}
