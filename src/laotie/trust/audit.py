"""The rules' audit trail: every report, flag, violation, appeal and decision, kept for good."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.core.context import Ctx
from laotie.trust.models import AuditEntry
from laotie.trust.schemas import AuditOut


class AuditAction(StrEnum):
    """What an audit entry records."""

    REPORT_FILED = "report_filed"
    REPORT_CONFIRMED = "report_confirmed"
    REPORT_DISMISSED = "report_dismissed"
    VIOLATION_RECORDED = "violation_recorded"
    APPEAL_FILED = "appeal_filed"
    APPEAL_GRANTED = "appeal_granted"
    APPEAL_REJECTED = "appeal_rejected"
    FLAG_RAISED = "flag_raised"
    FLAG_CONFIRMED = "flag_confirmed"
    FLAG_DISMISSED = "flag_dismissed"


def audit(
    ctx: Ctx,
    actor_id: str | None,
    action: AuditAction,
    shop_id: str,
    subject_id: str,
    detail: dict[str, Any],
) -> None:
    """Add an entry to the trail, in the transaction of the decision it records."""
    ctx.db.add(
        AuditEntry(
            at=ctx.now(),
            actor_id=actor_id,
            action=action.value,
            shop_id=shop_id,
            subject_id=subject_id,
            detail=detail,
        )
    )


async def audit_trail(
    ctx: Ctx, actor: Actor, shop_id: str | None, limit: int, offset: int
) -> list[AuditOut]:
    """Return the trail, newest first, of one shop or of all (operators only)."""
    require_role(actor, Role.OPERATOR)
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if shop_id is not None:
        query = query.where(AuditEntry.shop_id == shop_id)
    rows = await ctx.db.scalars(query.limit(limit).offset(offset))
    return [AuditOut.model_validate(row) for row in rows]
