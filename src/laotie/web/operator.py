"""The operator's pages: the dispute queue and its rulings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from laotie.accounts import service as accounts
from laotie.catalog import service as catalog
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.orders import aftersales
from laotie.orders import queries as order_queries
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
    return await render(request, ctx, actor, "operator.html", queue=queue)


@router.post("/cases/{case_id}/decide")
async def decide(case_id: str, request: Request, ctx: CtxDep, actor: OperatorViewer) -> Response:
    """Refund the buyer, or side with the seller; the note is kept on the case."""
    form = await request.form()
    providers = request.app.state.payment_providers
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
