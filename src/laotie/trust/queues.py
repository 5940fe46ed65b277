"""The operators' queues of the rules (reports, appeals, brushing flags) and their verdicts."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select

from laotie.accounts.permissions import Actor, Role, require_role
from laotie.core.context import Ctx

Row = TypeVar("Row")


async def oldest_first(
    ctx: Ctx, actor: Actor, model: type[Row], status: str, limit: int, offset: int
) -> list[Row]:
    """Rows of a status, oldest first (operators only)."""
    require_role(actor, Role.OPERATOR)
    table: Any = model  # every queue's model has `status`, `created_at` and `id`
    rows = await ctx.db.scalars(
        select(table)
        .where(table.status == status)
        .order_by(table.created_at, table.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


def mark_decided(ctx: Ctx, row: Any, status: str, actor_id: str, note: str) -> None:
    """Write an operator's verdict on a queued row: its new status, when, by whom, and why."""
    row.status = status
    row.decided_at = ctx.now()
    row.decided_by = actor_id
    row.decision_note = note
