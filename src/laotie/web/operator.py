"""The operator's pages: disputes, buyers' reports, brushing flags and sellers' appeals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from laotie.accounts import service as accounts
from laotie.accounts.permissions import Actor
from laotie.catalog import service as catalog
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.orders import aftersales
from laotie.orders import queries as order_queries
from laotie.orders.deps import payment_providers
from laotie.supply import factories
from laotie.trust import appeals, flags, reports
from laotie.trust.schemas import AppealDecisionIn, FlagDecisionIn, ReportDecisionIn
from laotie.web import forms
from laotie.web.deps import OperatorViewer, attempt
from laotie.web.pages import redirect, render

router = APIRouter(prefix="/operator", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def disputes(request: Request, ctx: CtxDep, actor: OperatorViewer) -> Response:
    """Disputes waiting for a ruling, oldest first, with their orders."""
    queue = []
    for case in await aftersales.dispute_queue(ctx, actor):
        found = await order_queries.access_order(ctx, actor, case.order_id)
        order = (await order_queries.outs(ctx, [found]))[0]
        queue.append(
            {
                "case": case,
                "order": order,
                "shop": (await catalog.get_shop(ctx, case.shop_id)).name,
                "buyer": (await accounts.access_user(ctx, case.buyer_id)).name,
            }
        )
    shops = await _shop_names_of(ctx, actor)
    return await render(
        request,
        ctx,
        actor,
        "operator.html",
        queue=queue,
        reports=await reports.report_queue(ctx, actor, "open", QUEUE, 0),
        flags=await flags.flag_queue(ctx, actor, "open", QUEUE, 0),
        appeals=await appeals.appeal_queue(ctx, actor, "open", QUEUE, 0),
        shops=shops,
        factories=[
            f
            for f in await factories.list_factories(ctx, actor, limit=factories.MAX_PAGE)
            if not f.verified
        ],
    )


QUEUE = 50  # of each queue, the oldest shown


async def _shop_names_of(ctx: Ctx, actor: Actor) -> dict[str, str]:
    """Name the shops the rules' queues speak of."""
    shop_ids = {r.shop_id for r in await reports.report_queue(ctx, actor, "open", QUEUE, 0)}
    shop_ids |= {f.shop_id for f in await flags.flag_queue(ctx, actor, "open", QUEUE, 0)}
    shop_ids |= {a.shop_id for a in await appeals.appeal_queue(ctx, actor, "open", QUEUE, 0)}
    return {shop_id: (await catalog.get_shop(ctx, shop_id)).name for shop_id in shop_ids}


@router.post("/cases/{case_id}/decide")
async def decide(case_id: str, request: Request, ctx: CtxDep, actor: OperatorViewer) -> Response:
    """Refund the buyer, or side with the seller; the note is kept on the case."""
    form = await request.form()
    providers = payment_providers(request)
    try:
        refund = forms.choice(form, "ruling", ("refund", "seller")) == "refund"
        note = forms.text(form, "note", max_length=500, multiline=True)
        await attempt(
            ctx, lambda: aftersales.do_decide(ctx, actor, case_id, refund, note, providers)
        )
    except AppError as error:
        return redirect(request, "/operator", error.message, "error")
    return redirect(
        request, "/operator", "Refunded the buyer." if refund else "Sided with the seller."
    )


@router.post("/reports/{report_id}/decide")
async def decide_report(
    report_id: str, request: Request, ctx: CtxDep, actor: OperatorViewer
) -> Response:
    """Confirm a buyer's report (a violation with its points) or dismiss it."""

    async def decide(confirm: bool, note: str) -> object:
        data = ReportDecisionIn(confirm=confirm, note=note)
        return await reports.decide_report(ctx, actor, report_id, data)

    said = ("Report confirmed.", "Report dismissed.")
    return await _rule(request, ctx, ("confirm", "dismiss"), decide, said)


@router.post("/flags/{flag_id}/decide")
async def decide_flag(
    flag_id: str, request: Request, ctx: CtxDep, actor: OperatorViewer
) -> Response:
    """Confirm a brushing flag (its orders stop counting) or dismiss it."""

    async def decide(confirm: bool, note: str) -> object:
        data = FlagDecisionIn(confirm=confirm, note=note)
        return await flags.decide_flag(ctx, actor, flag_id, data)

    said = ("Brushing confirmed.", "Flag dismissed.")
    return await _rule(request, ctx, ("confirm", "dismiss"), decide, said)


@router.post("/appeals/{appeal_id}/decide")
async def decide_appeal(
    appeal_id: str, request: Request, ctx: CtxDep, actor: OperatorViewer
) -> Response:
    """Grant a seller's appeal (the points stop counting) or reject it."""

    async def decide(grant: bool, note: str) -> object:
        data = AppealDecisionIn(grant=grant, note=note)
        return await appeals.decide_appeal(ctx, actor, appeal_id, data)

    return await _rule(
        request, ctx, ("grant", "reject"), decide, ("Appeal granted.", "Appeal rejected.")
    )


async def _rule(
    request: Request,
    ctx: Ctx,
    rulings: tuple[str, str],
    decide: Callable[[bool, str], Awaitable[object]],
    said: tuple[str, str],
) -> Response:
    """Read a ruling (the first of `rulings` is yes) and its note, apply it, say what was done."""
    form = await request.form()
    try:
        yes = forms.choice(form, "ruling", rulings) == rulings[0]
        note = forms.text(form, "note", max_length=500)
        await attempt(ctx, lambda: decide(yes, note))
    except AppError as error:
        return redirect(request, "/operator", error.message, "error")
    return redirect(request, "/operator", said[0] if yes else said[1])
