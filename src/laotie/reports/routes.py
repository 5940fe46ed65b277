"""HTTP routes of the reports that join features: the seed's claims against trust."""

from __future__ import annotations

from fastapi import APIRouter, Response

from laotie.accounts.deps import ActorDep
from laotie.analytics.claims import claims_csv
from laotie.analytics.routes import CSV_OR_REFUSALS, Day, Format, csv_download
from laotie.analytics.schemas import ClaimsOut
from laotie.core.deps import CtxDep
from laotie.reports import claims

router = APIRouter(tags=["analytics"])


@router.get("/api/analytics/platform/claims", response_model=ClaimsOut, responses=CSV_OR_REFUSALS)
async def platform_claims(
    start: Day, end: Day, ctx: CtxDep, actor: ActorDep, format: Format = "json"
) -> ClaimsOut | Response:
    """What the seed claims, over the days [start, end) (operators): each anchor's
    conversion per minute watched (c) and purchase frequency (F) against its trust score,
    with Spearman's rank correlations; public-domain visitors who followed, then bought;
    GMV's concentration across shops (top-20% share, Gini). CSV: one row an anchor. On the
    demo's or a simulation's data these figures only echo the world's own parameters."""
    report = await claims.seed_claims(ctx, actor, start, end)
    if format == "csv":
        return csv_download(claims_csv(report), f"claims-{start}-{end}")
    return report
