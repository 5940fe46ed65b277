"""C2M pages: a campaign with its progress and the form to commit, and a buyer's
commitments with their deposits."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.orders.deps import sandbox_provider
from laotie.supply import campaigns, commitments
from laotie.supply.schemas import MAX_COMMIT_UNITS, CommitIn
from laotie.web import forms
from laotie.web.deps import MaybeViewer, Viewer, act_on_form, attempt
from laotie.web.pages import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_page(
    campaign_id: str, request: Request, ctx: CtxDep, actor: MaybeViewer
) -> Response:
    """A campaign: what it is, its progress toward the MOQ, and the form to commit."""
    campaign = await campaigns.get_campaign(ctx, campaign_id)
    mine = []
    if actor is not None:
        provider = sandbox_provider(request)
        every = await commitments.commitments_of_buyer(ctx, actor, provider)
        mine = [c for c in every if c.campaign_id == campaign.id]
    return await render(
        request,
        ctx,
        actor,
        "campaign.html",
        campaign=campaign,
        mine=mine,
        open=campaign.status == campaigns.OPEN and ctx.now() < campaign.deadline,
        progress=min(100, round(100 * campaign.committed / campaign.moq)),
        key=uuid.uuid4().hex,
        max_units=MAX_COMMIT_UNITS,
    )


@router.post("/campaigns/{campaign_id}/commit")
async def commit_form(campaign_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Commit from the campaign's page: on to the provider's page to pay the deposit."""
    form = await request.form()
    back = f"/campaigns/{campaign_id}"
    provider = sandbox_provider(request)
    try:
        data = CommitIn(
            variant=forms.text(form, "variant", max_length=120, required=True),
            quantity=forms.integer(form, "quantity", low=1, high=MAX_COMMIT_UNITS),
        )
        key = forms.text(form, "key", max_length=80, required=True)
        made = await attempt(
            ctx, lambda: commitments.do_commit(ctx, actor, campaign_id, data, key, provider)
        )
    except AppError as error:
        return redirect(request, back, error.message, "error")
    if made.pay_url is None:  # the same form sent twice: its deposit is paid already
        return redirect(request, back, "You have committed already.")
    return redirect(request, made.pay_url)


@router.post("/commitments/{commitment_id}/withdraw")
async def withdraw_form(
    commitment_id: str, request: Request, ctx: CtxDep, actor: Viewer
) -> Response:
    """Withdraw a commitment from a page; a paid deposit is refunded."""
    provider = sandbox_provider(request)
    return await act_on_form(
        request,
        ctx,
        {
            "withdraw": (
                lambda: commitments.do_withdraw(ctx, actor, commitment_id, provider),
                "You withdrew; a paid deposit is on its way back to you.",
            )
        },
    )


@router.get("/commitments", response_class=HTMLResponse)
async def commitments_page(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The buyer's commitments and what became of their deposits."""
    provider = sandbox_provider(request)
    return await render(
        request,
        ctx,
        actor,
        "commitments.html",
        commitments=await commitments.commitments_of_buyer(ctx, actor, provider),
    )
