"""Sellers' appeals against violations and operators' verdicts: a granted appeal stops the
violation's points counting, and lifts a suspension they caused. Each step is audited.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.trust import penalties
from laotie.trust.audit import AuditAction, audit
from laotie.trust.errors import TrustError
from laotie.trust.models import Appeal
from laotie.trust.queues import mark_decided, oldest_first
from laotie.trust.schemas import AppealDecisionIn, AppealIn, AppealOut

APPEAL_DAYS = 15  # from the violation, how long its shop may appeal
OPEN, GRANTED, REJECTED = "open", "granted", "rejected"


async def file_appeal(ctx: Ctx, actor: Actor, violation_id: str, data: AppealIn) -> AppealOut:
    """Appeal a violation of the actor's shop, once and within the appeal window."""
    violation = await penalties.load_violation(ctx, violation_id)
    if await catalog.shop_owner_id(ctx, violation.shop_id) != actor.id:
        raise not_found("violation")
    if ctx.now() > violation.created_at + timedelta(days=APPEAL_DAYS):
        raise AppError.of(
            TrustError.APPEAL_WINDOW_CLOSED, f"a violation is appealed within {APPEAL_DAYS} days"
        )
    if await ctx.db.scalar(select(Appeal.id).where(Appeal.violation_id == violation.id)):
        raise _already_appealed()
    appeal = Appeal(
        id=new_id("apl"),
        violation_id=violation.id,
        shop_id=violation.shop_id,
        seller_id=actor.id,
        text=data.text,
        status=OPEN,
        created_at=ctx.now(),
    )
    ctx.db.add(appeal)
    try:
        await ctx.db.flush()
    except IntegrityError as exc:  # a second appeal racing this one
        raise _already_appealed() from exc
    detail = {"violation_id": violation.id}
    audit(ctx, actor.id, AuditAction.APPEAL_FILED, violation.shop_id, appeal.id, detail)
    return AppealOut.model_validate(appeal)


def _already_appealed() -> AppError:
    return AppError.of(TrustError.ALREADY_APPEALED, "a violation is appealed once")


async def appeal_queue(
    ctx: Ctx, actor: Actor, status: str, limit: int, offset: int
) -> list[AppealOut]:
    """Appeals of a status, oldest first: the operator's queue (operators only)."""
    rows = await oldest_first(ctx, actor, Appeal, status, limit, offset)
    return [AppealOut.model_validate(row) for row in rows]


async def decide_appeal(
    ctx: Ctx, actor: Actor, appeal_id: str, data: AppealDecisionIn
) -> AppealOut:
    """Grant an appeal (the violation stops counting) or reject it (operators only)."""
    require_role(actor, Role.OPERATOR)
    appeal = await ctx.db.get(Appeal, appeal_id, with_for_update=True)
    if appeal is None:
        raise not_found("appeal")
    if appeal.status != OPEN:
        raise AppError.of(TrustError.APPEAL_DECIDED, f"this appeal was {appeal.status} already")
    mark_decided(ctx, appeal, GRANTED if data.grant else REJECTED, actor.id, data.note)
    if data.grant:
        await penalties.overturn(ctx, await penalties.load_violation(ctx, appeal.violation_id))
    action = AuditAction.APPEAL_GRANTED if data.grant else AuditAction.APPEAL_REJECTED
    detail = {"violation_id": appeal.violation_id, "note": data.note}
    audit(ctx, actor.id, action, appeal.shop_id, appeal.id, detail)
    await ctx.db.flush()
    return AppealOut.model_validate(appeal)
