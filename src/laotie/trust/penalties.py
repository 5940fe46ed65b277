"""Penalty points: each confirmed violation carries points for 90 days, and points take
privileges away step by step (a warning, no flash sales, no public-domain traffic, the
shop suspended; the steps are settings, docs/trust.md).

A violation is recorded once, by a key naming what it is about (`dedupe_key`), whoever
finds it: detection from the ship-by deadline, or an operator confirming a buyer's report.
A shop's suspension is written on the shop when its violations change, up to the moment
its points will fall below the step by expiry alone, so that checkout reads one column and
no job has to lift it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import literal, select

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import not_found
from laotie.core.ids import new_id
from laotie.db.bulk import id_chunks
from laotie.orders.trust_facts import late_orders
from laotie.settings import Settings
from laotie.trust.audit import AuditAction, audit
from laotie.trust.models import Appeal, Report, Violation
from laotie.trust.schemas import AppealOut, PenaltiesOut, ThresholdsOut, ViolationOut

POINTS_DAYS = 90  # how long a violation's points count
SHOWN_DAYS = 180  # how far back a shop's penalty page lists violations
# Orders whose ship-by deadline passed this long ago are no longer looked at.
LATE_LOOKBACK_DAYS = 7


class ViolationKind(StrEnum):
    """The rules a shop can break."""

    LATE_SHIPPING = "late_shipping"
    COUNTERFEIT = "counterfeit"
    MISDESCRIPTION = "misdescription"
    FAKE_DISCOUNT = "fake_discount"
    OFF_PLATFORM_TRADING = "off_platform_trading"
    FAKE_ENGAGEMENT = "fake_engagement"


# Points a violation of each kind carries. Late shipping counts once a shop and day, so a
# bad day costs 2 points however many parcels it held up.
POINTS: dict[ViolationKind, int] = {
    ViolationKind.LATE_SHIPPING: 2,
    ViolationKind.MISDESCRIPTION: 6,
    ViolationKind.FAKE_DISCOUNT: 6,
    ViolationKind.FAKE_ENGAGEMENT: 12,
    ViolationKind.OFF_PLATFORM_TRADING: 12,
    ViolationKind.COUNTERFEIT: 24,
}
# Violations that cost a shop the trust badge for as long as they count.
SERIOUS = frozenset({ViolationKind.COUNTERFEIT, ViolationKind.OFF_PLATFORM_TRADING})


class Standing(StrEnum):
    """The step a shop's active points put it on, from the lowest."""

    GOOD = "good"
    WARNING = "warning"
    NO_FLASH_SALES = "no_flash_sales"
    NO_PUBLIC_TRAFFIC = "no_public_traffic"
    SUSPENDED = "suspended"


_STEPS = (Standing.WARNING, Standing.NO_FLASH_SALES, Standing.NO_PUBLIC_TRAFFIC, Standing.SUSPENDED)


def standing_of(points: int, settings: Settings) -> Standing:
    """Return the highest step whose threshold the points reach."""
    reached = [s for s, at in zip(_STEPS, settings.penalty_thresholds, strict=True) if points >= at]
    return reached[-1] if reached else Standing.GOOD


def counts_at(violation: Violation, at: datetime) -> bool:
    """Tell whether a violation's points count at a moment."""
    overturned = violation.overturned_at is not None and violation.overturned_at <= at
    return violation.created_at <= at < violation.expires_at and not overturned


def points_fall_below(violations: Sequence[Violation], at: datetime, step: int) -> datetime | None:
    """Return when the points counting at `at` fall below `step` by expiry, or None if they are."""
    counting = sorted((v for v in violations if counts_at(v, at)), key=lambda v: v.expires_at)
    total = sum(v.points for v in counting)
    if total < step:
        return None
    for violation in counting:
        total -= violation.points
        if total < step:
            return violation.expires_at
    return None  # unreachable: every point expires


async def shop_violations(ctx: Ctx, shop_id: str, since: datetime) -> list[Violation]:
    """Return a shop's violations that expire after `since`, newest first."""
    rows = await ctx.db.scalars(
        select(Violation)
        .where(Violation.shop_id == shop_id, Violation.expires_at > since)
        .order_by(Violation.created_at.desc(), Violation.id)
    )
    return list(rows)


async def active_points(ctx: Ctx, shop_id: str) -> int:
    """Return the penalty points a shop carries now."""
    now = ctx.now()
    return sum(v.points for v in await shop_violations(ctx, shop_id, now) if counts_at(v, now))


async def has_serious_violation(ctx: Ctx, shop_id: str) -> bool:
    """Tell whether a serious violation (counterfeit, off-platform trading) counts now."""
    now = ctx.now()
    return any(
        v.kind in SERIOUS and counts_at(v, now) for v in await shop_violations(ctx, shop_id, now)
    )


async def with_serious_violation(ctx: Ctx, shop_ids: Sequence[str]) -> set[str]:
    """Return those of the shops a serious violation counts against now, in one read."""
    now = ctx.now()
    rows = await ctx.db.scalars(
        select(Violation).where(
            Violation.shop_id.in_(sorted(set(shop_ids))),
            Violation.expires_at > now,
            Violation.kind.in_(sorted(str(kind) for kind in SERIOUS)),
        )
    )
    return {v.shop_id for v in rows if counts_at(v, now)}


async def record_violation(
    ctx: Ctx,
    shop_id: str,
    kind: ViolationKind,
    *,
    source: str,
    dedupe_key: str,
    evidence: dict[str, Any],
    actor_id: str | None,
) -> Violation | None:
    """Record a violation with its kind's points unless its key is known; return it or None."""
    if await ctx.db.scalar(select(Violation.id).where(Violation.dedupe_key == dedupe_key)):
        return None
    now = ctx.now()
    violation = Violation(
        id=new_id("vio"),
        shop_id=shop_id,
        kind=kind.value,
        points=POINTS[kind],
        source=source,
        dedupe_key=dedupe_key,
        evidence=evidence,
        created_at=now,
        expires_at=now + timedelta(days=POINTS_DAYS),
        decided_by=actor_id,
    )
    ctx.db.add(violation)
    await ctx.db.flush()
    detail = {"kind": kind.value, "points": violation.points, "source": source}
    audit(ctx, actor_id, AuditAction.VIOLATION_RECORDED, shop_id, violation.id, detail)
    await apply_suspension(ctx, shop_id)
    if kind in SERIOUS:  # withdrawn at once; the daily job grants it again once earned
        await catalog.set_shop_badge(ctx, shop_id, False)
    return violation


async def overturn(ctx: Ctx, violation: Violation) -> None:
    """Stop a violation's points counting from now (an appeal granted)."""
    violation.overturned_at = ctx.now()
    await ctx.db.flush()
    await apply_suspension(ctx, violation.shop_id)


async def apply_suspension(ctx: Ctx, shop_id: str) -> None:
    """Write on the shop until when its points keep it suspended (nothing when they do not)."""
    now = ctx.now()
    violations = await shop_violations(ctx, shop_id, now)
    until = points_fall_below(violations, now, ctx.settings.penalty_suspension_points)
    await catalog.set_shop_suspension(ctx, shop_id, until)


async def load_violation(ctx: Ctx, violation_id: str) -> Violation:
    """Return a violation, or answer 404."""
    violation = await ctx.db.get(Violation, violation_id)
    if violation is None:
        raise not_found("violation")
    return violation


# ---------------------------------------------------------------- late shipping


async def detect_late_shipping(ctx: Ctx) -> int:
    """Record a late-shipping violation per shop and deadline day; return how many are new.

    An order is late once its ship-by deadline has passed unshipped, or it shipped after
    it. Orders found late later in a day already recorded join that day's evidence.
    """
    now = ctx.now()
    late = await late_orders(ctx, now - timedelta(days=LATE_LOOKBACK_DAYS), now)
    by_day: dict[tuple[str, date], list[str]] = defaultdict(list)
    for order in late:
        by_day[(order.shop_id, order.ship_by.date())].append(order.order_id)
    keys = {_late_key(shop_id, day): (shop_id, day) for shop_id, day in by_day}
    known = {
        v.dedupe_key: v
        for v in await ctx.db.scalars(select(Violation).where(Violation.dedupe_key.in_(keys)))
    }
    new = 0
    for key, (shop_id, day) in keys.items():
        order_ids = sorted(by_day[(shop_id, day)])
        if key in known:
            _add_late_orders(known[key], order_ids)
            continue
        evidence = {"day": day.isoformat(), "order_ids": order_ids}
        kind = ViolationKind.LATE_SHIPPING
        if await record_violation(
            ctx, shop_id, kind, source="detected", dedupe_key=key, evidence=evidence, actor_id=None
        ):
            new += 1
    return new


def _late_key(shop_id: str, day: date) -> str:
    return f"late_shipping:{shop_id}:{day.isoformat()}"


def _add_late_orders(violation: Violation, order_ids: list[str]) -> None:
    """Add newly late orders to a day's evidence (a new dict: JSON columns track assignment)."""
    had = list(violation.evidence.get("order_ids", []))
    if set(order_ids) - set(had):
        violation.evidence = {**violation.evidence, "order_ids": sorted(set(had) | set(order_ids))}


# ---------------------------------------------------------------- the shop's page


async def misdescriptions_of_orders(
    ctx: Ctx, order_ids: Collection[str], since: datetime, until: datetime
) -> dict[str, datetime]:
    """Return, by order, when a misdescription reported on it was confirmed, for those of
    the orders that have one confirmed in the window and not overturned on appeal."""
    found: dict[str, datetime] = {}
    for chunk in id_chunks(sorted(set(order_ids))):
        rows = await ctx.db.execute(
            select(Report.order_id, Violation.created_at)
            .join(Violation, Violation.dedupe_key == literal("report:") + Report.id)
            .where(
                Report.order_id.in_(chunk),
                Report.kind == ViolationKind.MISDESCRIPTION,
                Violation.overturned_at.is_(None),
                Violation.created_at > since,
                Violation.created_at <= until,
            )
        )
        found.update({str(order_id): at for order_id, at in rows})
    return found


async def shop_penalties(ctx: Ctx, actor: Actor, shop_id: str) -> PenaltiesOut:
    """A shop's points, standing and recent violations with their appeals (owner, operator)."""
    await access_shop_rules(ctx, actor, shop_id)
    now = ctx.now()
    violations = await shop_violations(ctx, shop_id, now - timedelta(days=SHOWN_DAYS))
    appeals = await _appeals_of(ctx, [v.id for v in violations])
    points = sum(v.points for v in violations if counts_at(v, now))
    settings = ctx.settings
    warning, no_flash, no_traffic, suspension = settings.penalty_thresholds
    return PenaltiesOut(
        shop_id=shop_id,
        as_of=now,
        points=points,
        standing=standing_of(points, settings),
        suspended_until=points_fall_below(violations, now, suspension),
        thresholds=ThresholdsOut(
            warning=warning,
            no_flash_sales=no_flash,
            no_public_traffic=no_traffic,
            suspension=suspension,
        ),
        violations=[violation_out(v, now, appeals.get(v.id)) for v in violations],
    )


def violation_out(violation: Violation, now: datetime, appeal: Appeal | None) -> ViolationOut:
    """Return a violation with whether it counts now and its appeal."""
    out = ViolationOut.model_validate(violation)
    out.active = counts_at(violation, now)
    out.appeal = AppealOut.model_validate(appeal) if appeal else None
    return out


async def _appeals_of(ctx: Ctx, violation_ids: list[str]) -> dict[str, Appeal]:
    rows = await ctx.db.scalars(select(Appeal).where(Appeal.violation_id.in_(violation_ids)))
    return {appeal.violation_id: appeal for appeal in rows}


async def access_shop_rules(ctx: Ctx, actor: Actor, shop_id: str) -> None:
    """Let a shop's owner and operators through; anyone else is told there is no such shop."""
    owner_id = await catalog.shop_owner_id(ctx, shop_id)
    if owner_id != actor.id and not actor.has(Role.OPERATOR):
        raise not_found("shop")
