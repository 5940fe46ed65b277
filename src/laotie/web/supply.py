"""C2M pages: a campaign with its progress and the form to commit, a buyer's commitments
with their deposits, the seller's factories and campaigns, and the factory's portal."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from laotie.accounts.permissions import Actor, Role
from laotie.catalog import service as catalog
from laotie.catalog.schemas import ShopOut
from laotie.core.context import Ctx
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.orders.deps import payment_providers, sandbox_provider
from laotie.supply import (
    balances,
    campaigns,
    commitments,
    defaults,
    factories,
    forecasts,
    partners,
    reruns,
    runs,
    shipments,
)
from laotie.supply.schemas import (
    MAX_COMMIT_UNITS,
    MAX_RERUN_UNITS,
    MAX_UNITS,
    CampaignIn,
    CampaignSalesOut,
    CommitIn,
    FactoryIn,
    FactoryOut,
    FactoryVerificationIn,
    PartnershipAnswer,
    PartnershipIn,
    PartnershipOut,
    PartnershipStatus,
    PriceTier,
    RerunIn,
    RunOut,
    RunShipmentIn,
    RunStep,
    ShipTo,
)
from laotie.web import forms
from laotie.web.deps import (
    MaybeViewer,
    OperatorViewer,
    PageError,
    SellerViewer,
    Viewer,
    act_and_go_back,
    act_on_form,
    attempt,
)
from laotie.web.pages import redirect, render
from laotie.web.seller import own_shop

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


@router.post("/commitments/{commitment_id}/balance")
async def balance_form(
    commitment_id: str, request: Request, ctx: CtxDep, actor: Viewer
) -> Response:
    """Place the balance's order of a confirmed commitment and go to it, to pay it."""
    form = await request.form()
    # The key the page gave: the same form sent twice places one order; a new one after
    # an order lapsed carries the lapsed order's id, so it places another.
    key = forms.text(form, "key", max_length=80) or f"balance-{commitment_id}"
    try:
        order = await attempt(
            ctx, lambda: balances.do_start_balance(ctx, actor, commitment_id, key, None)
        )
    except AppError as error:
        return redirect(request, "/commitments", error.message, "error")
    return redirect(request, f"/orders/{order.id}", "Pay the balance before it is due.")


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


# ---------------------------------------------------------------- the seller's side


@router.get("/seller/campaigns", response_class=HTMLResponse)
async def seller_campaigns(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """The shop's factories (asked, partnered) and campaigns, and the forms for both."""
    shop = await own_shop(ctx, actor)
    if shop is None:
        return redirect(request, "/seller", "Open your shop first.", "error")
    partnerships = await partners.partners_of_shop(ctx, actor, shop.id)
    asked = {p.factory_id for p in partnerships if p.status in partners.OPEN}
    verified = await factories.list_factories(ctx, actor, limit=factories.MAX_PAGE)
    shown = await campaigns.campaigns_of(ctx, shop_id=shop.id)
    expected = {
        c.id: await forecasts.campaign_forecast(ctx, actor, c.id)
        for c in shown
        if c.status == campaigns.OPEN
    }
    return await render(
        request,
        ctx,
        actor,
        "seller/campaigns.html",
        shop=shop,
        partnerships=partnerships,
        to_ask=[f for f in verified if f.verified and f.id not in asked],
        campaigns=shown,
        forecasts=expected,
        free_deposit=await campaigns.free_deposit_minor(ctx, shop.id),
        sales=[
            (c, await reruns.campaign_sales(ctx, actor, c.id))
            for c in shown
            if c.production is not None
        ],
        **await _campaign_terms(
            ctx, actor, [p for p in partnerships if p.status == PartnershipStatus.ACTIVE]
        ),
    )


@router.post("/seller/partners")
async def ask_factory(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Ask a verified factory to partner with the shop."""
    form = await request.form()
    shop = await _shop_of(ctx, actor)
    try:
        data = PartnershipIn(
            factory_id=forms.text(form, "factory_id", max_length=40, required=True),
            note=forms.text(form, "note", max_length=1000, multiline=True),
        )
        await attempt(ctx, lambda: partners.do_request_partnership(ctx, actor, shop.id, data))
    except AppError as error:
        return redirect(request, CAMPAIGNS_PAGE, error.message, "error")
    except ValidationError as error:
        return redirect(request, CAMPAIGNS_PAGE, forms.explain(error).message, "error")
    return redirect(request, CAMPAIGNS_PAGE, "Asked: the factory answers on its portal.")


@router.post("/seller/campaigns")
async def open_campaign_form(request: Request, ctx: CtxDep, actor: SellerViewer) -> Response:
    """Open a campaign from the form; on to its page."""
    form = await request.form()
    shop = await _shop_of(ctx, actor)
    try:
        data = _campaign_in(ctx, form, shop.id, shop.currency)
        opened = await attempt(ctx, lambda: campaigns.do_open_campaign(ctx, actor, data))
    except AppError as error:
        return redirect(request, CAMPAIGNS_PAGE, error.message, "error")
    except ValidationError as error:
        return redirect(request, CAMPAIGNS_PAGE, forms.explain(error).message, "error")
    return redirect(request, f"/campaigns/{opened.id}", "Your campaign is open.")


CAMPAIGNS_PAGE = "/seller/campaigns"


async def console_campaigns(
    ctx: Ctx, actor: Actor, shop: ShopOut, session_id: str
) -> dict[str, Any]:
    """What a show's console offers of C2M: its campaigns' panel when the console's user may
    open campaigns in the show, with the shop's partner factories and free security deposit."""
    try:
        active = await partners.partners_of_show(ctx, actor, session_id)
    except AppError:  # neither the show's anchor nor the shop's owner: no panel
        return {"campaign_panel": False}
    return {
        "campaign_panel": True,
        "shop_owner": shop.owner_id == actor.id,
        "free_deposit": await campaigns.free_deposit_minor(ctx, shop.id),
        **await _campaign_terms(ctx, actor, active),
    }


async def _campaign_terms(ctx: Ctx, actor: Actor, active: list[PartnershipOut]) -> dict[str, Any]:
    """The campaign form's choices: the active partners' factories and the categories they
    make (a factory whose verification was withdrawn is not offered to buyers again)."""
    made: list[FactoryOut] = []
    for partnership in active:
        try:
            made.append(await factories.get_factory(ctx, actor, partnership.factory_id))
        except AppError:
            continue
    slugs = {slug for factory in made for slug in factory.categories}
    every = await catalog.list_categories(ctx)
    return {
        "partner_factories": made,
        "categories": [category for category in every if category.slug in slugs],
    }


async def _shop_of(ctx: Ctx, actor: Actor) -> ShopOut:
    shop = await own_shop(ctx, actor)
    if shop is None:
        raise PageError(409, "Open your shop first.")
    return shop


def _campaign_in(ctx: Ctx, form: FormData, shop_id: str, currency: str) -> CampaignIn:
    """Read the campaign form: options as `colour: black, camel; size: M, L`, price tiers
    as `100: 599.00; 300: 499.00`, the deadline in days from now."""
    days = forms.integer(form, "days", low=1, high=30)
    return CampaignIn(
        shop_id=shop_id,
        factory_id=forms.text(form, "factory_id", max_length=40, required=True),
        title=forms.text(form, "title", max_length=120, required=True),
        description=forms.text(form, "description", max_length=5000, multiline=True),
        category=forms.text(form, "category", max_length=40, required=True),
        options=parse_options(forms.text(form, "options", max_length=1000, required=True)),
        price_tiers=parse_tiers(
            forms.text(form, "tiers", max_length=1000, required=True), currency
        ),
        moq=forms.integer(form, "moq", low=1, high=MAX_UNITS),
        cap_units=forms.integer(form, "cap_units", low=1, high=MAX_UNITS),
        deposit_bps=forms.integer(form, "deposit_percent", low=1, high=20) * 100,
        deadline=ctx.now() + timedelta(days=days),
    )


def parse_options(raw: str) -> dict[str, list[str]]:
    """`colour: black, camel; size: M, L` as the options of a campaign."""
    options: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        name, colon, values = part.partition(":")
        if not colon or not name.strip():
            raise forms.invalid(f"write an option as `name: value, value`, not {part!r}")
        options[name.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return options


def parse_tiers(raw: str, currency: str) -> list[PriceTier]:
    """`100: 599.00; 300: 499.00` as price tiers (quantity: unit price)."""
    tiers = []
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        quantity, colon, price = part.partition(":")
        if not colon or not quantity.strip().isdigit():
            raise forms.invalid(f"write a tier as `quantity: price`, not {part!r}")
        tiers.append(
            PriceTier(
                min_quantity=int(quantity),
                unit_price_minor=forms.major_to_minor(price.strip(), currency),
            )
        )
    return tiers


# ---------------------------------------------------------------- the factory's portal

FACTORY_PAGE = "/factory"


@router.get(FACTORY_PAGE, response_class=HTMLResponse)
async def factory_portal(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """The factory's portal: its profile, the shops asking to partner, its purchase orders;
    the form to register a factory before there is one."""
    _check_factory(actor)
    own = await factories.list_factories(ctx, actor, owner_id=actor.id)
    runs_of = {factory.id: await runs.runs_of_factory(ctx, actor, factory.id) for factory in own}
    return await render(
        request,
        ctx,
        actor,
        "factory.html",
        factories=[
            (
                factory,
                await partners.partners_of_factory(ctx, actor, factory.id),
                runs_of[factory.id],
            )
            for factory in own
        ],
        categories=await catalog.list_categories(ctx),
        next_steps={a.value: b.value for a, b in itertools.pairwise(RunStep)},
        sales={f_id: await _sales_of_runs(ctx, actor, made) for f_id, made in runs_of.items()},
    )


async def _sales_of_runs(
    ctx: Ctx, actor: Actor, made: list[RunOut]
) -> list[tuple[str, CampaignSalesOut]]:
    """The sales of what each first run made, with its campaign's title."""
    return [
        (run.campaign_title, await reruns.campaign_sales(ctx, actor, run.campaign_id))
        for run in made
        if run.number == 1
    ]


@router.post("/factory/runs/{run_id}")
async def advance_run_form(run_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Report a run's next step from the portal."""
    form = await request.form()

    async def advance() -> RunOut:
        step = RunStep(forms.choice(form, "step", tuple(RunStep)))
        return await runs.do_advance_run(ctx, actor, run_id, step)

    return await act_and_go_back(
        request,
        ctx,
        FACTORY_PAGE,
        (advance, lambda run: f"Reported: {run.status.replace('_', ' ')}."),
    )


@router.post("/factory/runs/{run_id}/shipment")
async def ship_run_form(run_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Report a run shipped from the portal, to the shop or straight to the buyers."""
    form = await request.form()

    async def ship() -> RunOut:
        data = RunShipmentIn(
            to=ShipTo(forms.choice(form, "to", tuple(ShipTo))),
            carrier=forms.text(form, "carrier", max_length=40, required=True),
            tracking_no=forms.text(form, "tracking_no", max_length=48, required=True),
        )
        return await shipments.do_ship_run(ctx, actor, run_id, data)

    return await act_and_go_back(request, ctx, FACTORY_PAGE, (ship, _where_run_went))


def _where_run_went(shipped: RunOut) -> str:
    """Say where a shipped run's units went: to the shop, or in how many parcels to buyers."""
    shipment = shipped.shipment or {}
    if shipment.get("to") != ShipTo.BUYERS:
        return "The run is on its way to the shop."
    parcels = shipment.get("parcels", 0)
    plural = "parcel is" if parcels == 1 else "parcels are"
    return f"{parcels} {plural} on their way to the buyers."


@router.post("/factory/runs/{run_id}/decline")
async def decline_run_form(run_id: str, request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Decline a run from the portal: the campaign's deposits go back double."""
    providers = payment_providers(request)
    declined = "You declined the run; its buyers are paid back double."
    return await act_and_go_back(
        request,
        ctx,
        FACTORY_PAGE,
        (lambda: defaults.do_decline_run(ctx, actor, run_id, providers), declined),
    )


@router.post("/seller/campaigns/{campaign_id}/rerun")
async def rerun_form(
    campaign_id: str, request: Request, ctx: CtxDep, actor: SellerViewer
) -> Response:
    """Order a rerun from the seller's page: the units given, or the net sales."""
    form = await request.form()

    async def open_rerun() -> RunOut:
        asked = forms.text(form, "units", max_length=20)
        units = forms.integer(form, "units", low=1, high=MAX_RERUN_UNITS) if asked else None
        return await reruns.do_open_rerun(ctx, actor, campaign_id, RerunIn(units=units))

    return await act_and_go_back(
        request,
        ctx,
        CAMPAIGNS_PAGE,
        (open_rerun, lambda ordered: f"The factory has your rerun of {ordered.units} units."),
    )


@router.post("/seller/campaigns/{campaign_id}/cancel")
async def cancel_campaign_form(
    campaign_id: str, request: Request, ctx: CtxDep, actor: SellerViewer
) -> Response:
    """Cancel a confirmed campaign from the seller's page: its deposits go back double."""
    providers = payment_providers(request)
    cancelled = "The campaign is cancelled; its buyers are paid back double."
    return await act_and_go_back(
        request,
        ctx,
        CAMPAIGNS_PAGE,
        (lambda: defaults.do_cancel_campaign(ctx, actor, campaign_id, providers), cancelled),
    )


@router.post(FACTORY_PAGE)
async def register_factory(request: Request, ctx: CtxDep, actor: Viewer) -> Response:
    """Register the factory from the form; an operator verifies it."""
    _check_factory(actor)
    form = await request.form()
    try:
        moq = forms.integer(form, "moq", low=1, high=MAX_UNITS)
        data = FactoryIn(
            name=forms.text(form, "name", max_length=80, required=True),
            description=forms.text(form, "description", max_length=5000, multiline=True),
            city=forms.text(form, "city", max_length=60, required=True),
            categories=form.getlist("categories"),
            moq=moq,
            lead_time_days=forms.integer(form, "lead_time_days", low=1, high=365),
            weekly_capacity=forms.integer(form, "weekly_capacity", low=1, high=MAX_UNITS),
            price_tiers=parse_tiers(
                forms.text(form, "tiers", max_length=1000, required=True), ctx.settings.currency
            ),
        )
        await attempt(ctx, lambda: factories.do_create_factory(ctx, actor, data))
    except AppError as error:
        return redirect(request, FACTORY_PAGE, error.message, "error")
    except ValidationError as error:
        return redirect(request, FACTORY_PAGE, forms.explain(error).message, "error")
    return redirect(request, FACTORY_PAGE, "Registered: an operator verifies it next.")


@router.post("/factory/{factory_id}/partners/{shop_id}")
async def answer_shop(
    factory_id: str, shop_id: str, request: Request, ctx: CtxDep, actor: Viewer
) -> Response:
    """Accept or decline a shop's request from the portal."""
    return await act_on_form(
        request,
        ctx,
        {
            "accept": (
                lambda: partners.do_answer_partnership(
                    ctx, actor, factory_id, shop_id, PartnershipAnswer.ACCEPT
                ),
                "Accepted: the shop may open campaigns with you.",
            ),
            "decline": (
                lambda: partners.do_answer_partnership(
                    ctx, actor, factory_id, shop_id, PartnershipAnswer.DECLINE
                ),
                "Declined.",
            ),
        },
        back=FACTORY_PAGE,
    )


@router.post("/operator/factories/{factory_id}/verify")
async def verify_factory_form(
    factory_id: str, request: Request, ctx: CtxDep, actor: OperatorViewer
) -> Response:
    """Verify a factory from the operator's queues."""
    verdict = FactoryVerificationIn(verified=True)
    return await act_on_form(
        request,
        ctx,
        {
            "verify": (
                lambda: factories.do_verify_factory(ctx, actor, factory_id, verdict),
                "Verified: shops can now ask the factory to partner.",
            )
        },
        back="/operator",
    )


def _check_factory(actor: Actor) -> None:
    if not actor.has(Role.FACTORY):
        raise PageError(403, "The factory portal is for factory accounts.")
