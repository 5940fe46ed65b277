"""What the seed claims: analytics' measures joined with the anchors' trust scores.

Analytics may not read trust (the import contracts keep the measures independent of the
engine they judge), so the join happens here, a module allowed to read both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from laotie.accounts.permissions import Actor
from laotie.analytics import claims
from laotie.analytics.schemas import ClaimsOut
from laotie.core.context import Ctx
from laotie.live.session.reputation import sessions_of_anchors
from laotie.trust import service as trust


async def anchor_trust(
    ctx: Ctx, anchor_ids: Sequence[str], day: date
) -> dict[str, claims.AnchorTrust]:
    """Each anchor's reputation kept for a day; computed now for those not kept that day
    (a period ending today, or a deployment without the daily job)."""
    kept = await trust.anchor_scores_on(ctx, day, anchor_ids)
    found = {anchor_id: claims.AnchorTrust(score, day) for anchor_id, score in kept.items()}
    missing = [anchor_id for anchor_id in anchor_ids if anchor_id not in kept]
    if missing:
        today = ctx.now().date()
        now = await trust.anchors_trust(ctx, await sessions_of_anchors(ctx, missing))
        found |= {a: claims.AnchorTrust(t.score, today) for a, t in now.items()}
    return found


async def seed_claims(ctx: Ctx, actor: Actor, start: date, end: date) -> ClaimsOut:
    """The seed's claims measured over the days [start, end), with the anchors' trust."""
    measured = await claims.read_claims(ctx, actor, start, end)
    anchor_ids = [rates.anchor_id for rates in measured.anchors]
    scores = await anchor_trust(ctx, anchor_ids, measured.period.last_day)
    return claims.claims_out(measured, scores)
