"""An anchor's reputation: trust's formula over what the anchor sold in its sessions.

Live knows which sessions are an anchor's; trust scores the orders placed in them
(`trust.service.anchor_trust`), computed on demand and kept once a day for the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from starlette.datastructures import State

from laotie.accounts.permissions import Role
from laotie.accounts.service import access_user
from laotie.core.context import Ctx, unit_of_work_for
from laotie.core.errors import not_found
from laotie.live.models import LiveSession
from laotie.trust import service as trust
from laotie.trust.schemas import AnchorTrustOut, ScoreDayOut

# Sessions started this long ago at most: older ones' orders have left the score's window.
SESSIONS_DAYS = 180
# Anchors scored a run at the most: the jobs runner comes back every few seconds.
BATCH = 100
# Anchors scored together in one transaction, from one read of each kind of fact: small
# enough that the transaction (on SQLite, the process's turn to write) stays short.
ANCHORS_A_TURN = 25


async def anchor_session_ids(ctx: Ctx, anchor_id: str) -> list[str]:
    """Return the anchor's sessions that went live in the last `SESSIONS_DAYS` days."""
    since = ctx.now() - timedelta(days=SESSIONS_DAYS)
    rows = await ctx.db.scalars(
        select(LiveSession.id).where(
            LiveSession.anchor_id == anchor_id, LiveSession.started_at > since
        )
    )
    return list(rows)


async def anchor_reputation(ctx: Ctx, anchor_id: str) -> AnchorTrustOut:
    """Compute an anchor's reputation now; a user who is no anchor is a 404."""
    await _check_anchor(ctx, anchor_id)
    return await trust.anchor_trust(ctx, anchor_id, await anchor_session_ids(ctx, anchor_id))


async def reputation_history(ctx: Ctx, anchor_id: str, days: int) -> list[ScoreDayOut]:
    """Return the anchor's kept daily reputation, oldest first."""
    await _check_anchor(ctx, anchor_id)
    return await trust.anchor_history(ctx, anchor_id, days)


async def _check_anchor(ctx: Ctx, anchor_id: str) -> None:
    user = await access_user(ctx, anchor_id)
    if not user.has(Role.ANCHOR):
        raise not_found("anchor")


async def score_anchors_daily(state: State) -> int:
    """Keep today's reputation of every anchor who went live lately, a batch a run."""
    async with unit_of_work_for(state) as ctx:
        since = ctx.now() - timedelta(days=SESSIONS_DAYS)
        anchors = await ctx.db.scalars(
            select(LiveSession.anchor_id).where(LiveSession.started_at > since).distinct()
        )
        done = await trust.anchors_scored_on(ctx, ctx.now().date())
        due = sorted(set(anchors) - done)[:BATCH]
    kept = 0
    for start in range(0, len(due), ANCHORS_A_TURN):
        async with unit_of_work_for(state) as ctx:
            sessions = await sessions_of_anchors(ctx, due[start : start + ANCHORS_A_TURN])
            kept += await trust.keep_anchor_scores(ctx, sessions)
    return kept


async def sessions_of_anchors(ctx: Ctx, anchor_ids: Sequence[str]) -> dict[str, list[str]]:
    """Return, by anchor, its sessions that went live in the last `SESSIONS_DAYS` days."""
    since = ctx.now() - timedelta(days=SESSIONS_DAYS)
    rows = await ctx.db.execute(
        select(LiveSession.anchor_id, LiveSession.id).where(
            LiveSession.anchor_id.in_(sorted(set(anchor_ids))), LiveSession.started_at > since
        )
    )
    found: dict[str, list[str]] = {anchor_id: [] for anchor_id in anchor_ids}
    for anchor_id, session_id in rows:
        found[anchor_id].append(session_id)
    return found
