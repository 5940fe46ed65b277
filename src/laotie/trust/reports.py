"""Buyers' reports of broken rules, from an order or a live room, and operators' verdicts.

A confirmed report becomes a violation carrying its kind's points (`penalties`); a
dismissed one carries none. Each step is written to the audit trail.
"""

from __future__ import annotations

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.ids import new_id
from laotie.orders.queries import access_buyer_order
from laotie.trust import penalties
from laotie.trust.audit import AuditAction, audit
from laotie.trust.errors import TrustError
from laotie.trust.models import Report
from laotie.trust.queues import mark_decided, oldest_first
from laotie.trust.schemas import ReportDecisionIn, ReportIn, ReportOut

OPEN, CONFIRMED, DISMISSED = "open", "confirmed", "dismissed"


async def report_order(ctx: Ctx, actor: Actor, order_id: str, data: ReportIn) -> ReportOut:
    """Report the shop of one of the actor's orders."""
    order = await access_buyer_order(ctx, actor, order_id)
    return await file_report(ctx, actor, order.shop_id, data, order_id=order.id)


async def file_report(
    ctx: Ctx,
    actor: Actor,
    shop_id: str,
    data: ReportIn,
    *,
    order_id: str | None = None,
    session_id: str | None = None,
) -> ReportOut:
    """File a report on a shop; the same reporter's open report of the same thing is refused."""
    same = select(Report.id).where(
        Report.reporter_id == actor.id,
        Report.shop_id == shop_id,
        Report.kind == data.kind.value,
        Report.status == OPEN,
        Report.order_id.is_(None) if order_id is None else Report.order_id == order_id,
        Report.session_id.is_(None) if session_id is None else Report.session_id == session_id,
    )
    if await ctx.db.scalar(same):
        raise AppError.of(TrustError.ALREADY_REPORTED, "you reported this already")
    report = Report(
        id=new_id("rpt"),
        reporter_id=actor.id,
        shop_id=shop_id,
        kind=data.kind.value,
        order_id=order_id,
        session_id=session_id,
        text=data.text,
        status=OPEN,
        created_at=ctx.now(),
    )
    ctx.db.add(report)
    await ctx.db.flush()
    detail = {"kind": report.kind, "order_id": order_id, "session_id": session_id}
    audit(ctx, actor.id, AuditAction.REPORT_FILED, shop_id, report.id, detail)
    return ReportOut.model_validate(report)


async def report_queue(
    ctx: Ctx, actor: Actor, status: str, limit: int, offset: int
) -> list[ReportOut]:
    """Reports of a status, oldest first: the operator's queue (operators only)."""
    rows = await oldest_first(ctx, actor, Report, status, limit, offset)
    return [ReportOut.model_validate(row) for row in rows]


async def decide_report(
    ctx: Ctx, actor: Actor, report_id: str, data: ReportDecisionIn
) -> ReportOut:
    """Confirm a report (a violation with its points) or dismiss it (operators only)."""
    require_role(actor, Role.OPERATOR)
    report = await ctx.db.get(Report, report_id, with_for_update=True)
    if report is None:
        raise not_found("report")
    if report.status != OPEN:
        raise AppError.of(TrustError.REPORT_DECIDED, f"this report was {report.status} already")
    mark_decided(ctx, report, CONFIRMED if data.confirm else DISMISSED, actor.id, data.note)
    detail: dict[str, str | None] = {"note": data.note}
    if data.confirm:
        violation = await penalties.record_violation(
            ctx,
            report.shop_id,
            penalties.ViolationKind(report.kind),
            source="report",
            dedupe_key=f"report:{report.id}",
            evidence={
                "report_id": report.id,
                "order_id": report.order_id,
                "session_id": report.session_id,
                "text": report.text,
            },
            actor_id=actor.id,
        )
        detail["violation_id"] = violation.id if violation else None
    action = AuditAction.REPORT_CONFIRMED if data.confirm else AuditAction.REPORT_DISMISSED
    audit(ctx, actor.id, action, report.shop_id, report.id, detail)
    await ctx.db.flush()
    return ReportOut.model_validate(report)
