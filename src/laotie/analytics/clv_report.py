"""A shop's customer lifetime value: the BG/NBD and the Gamma-Gamma (`analytics/clv.py`)
fitted to its paid orders, or to every shop's where it has too few customers; who may
read it, its wire form and its CSV."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import anyio

from laotie.accounts.permissions import Actor
from laotie.analytics import clv
from laotie.analytics.cohorts import midnight
from laotie.analytics.repurchase_report import EPOCH, check_day
from laotie.analytics.schemas import (
    BgNbdOut,
    ClvCustomerOut,
    ClvOut,
    FitRefusalOut,
    GammaGammaOut,
    ScopeKind,
)
from laotie.analytics.service import access_scope
from laotie.analytics.tables import to_csv
from laotie.core.clock import as_utc
from laotie.core.context import Ctx
from laotie.orders.queries import paid_sales

# Weeks, the unit the models were checked in against the published CDNOW fits; the models
# do not depend on the unit but through alpha, which then reads like the published one.
UNIT: clv.Unit = "weeks"
HORIZON_MONTHS = 12
SHOP, PLATFORM = "shop", "platform"
Purchase = tuple[str, datetime, int]  # customer, moment paid, value in minor units


@dataclass(frozen=True, slots=True)
class Fit:
    """Both models fitted to one set of customers."""

    on: str  # shop or platform
    customers: int
    bgnbd: clv.BgNbd
    gamma_gamma: clv.GammaGamma


@dataclass(frozen=True, slots=True)
class CustomerValue:
    """A customer's history and, with a fit, what the models expect of them."""

    buyer_id: str
    history: clv.History
    p_alive: float | None
    expected_purchases: float | None  # over the horizon
    expected_value: float | None  # minor units, unrounded


@dataclass(frozen=True, slots=True)
class ShopValue:
    """A shop's customers valued as of the end of a day, best first."""

    shop_id: str
    day: date
    currency: str
    fit: Fit | None
    refusals: list[tuple[str, str]]  # (on, reason) of each fit tried and refused
    customers: list[CustomerValue]
    value_minor: int | None  # the customers' summed value, rounded once; None without a fit


def fit_models(histories: Sequence[clv.History]) -> tuple[clv.BgNbd, clv.GammaGamma]:
    """Fit both models, or raise ValueError saying why they cannot be."""
    x, t_x, age, spend = clv.columns(histories)
    bgnbd = clv.fit_bgnbd(x, t_x, age)
    gamma_gamma = clv.fit_gamma_gamma(x, spend)
    if gamma_gamma.q <= 1:  # the spend would have no mean: no value can rest on it
        raise ValueError(f"the Gamma-Gamma fit has q = {gamma_gamma.q:.3f} <= 1: no mean spend")
    return bgnbd, gamma_gamma


def valued(fit: Fit | None, histories: dict[str, clv.History]) -> list[CustomerValue]:
    """Each customer with what the fit expects of them, highest value first."""
    ids, found = list(histories), list(histories.values())
    if fit is None or not found:
        bare = [CustomerValue(i, h, None, None, None) for i, h in histories.items()]
        return sorted(bare, key=lambda c: (-c.history.x, -c.history.spend, c.buyer_id))
    x, t_x, age, _ = clv.columns(found)
    alive = clv.p_alive(fit.bgnbd, x, t_x, age)
    ahead = HORIZON_MONTHS * clv.DAYS_PER_MONTH / clv.UNIT_DAYS[UNIT]
    purchases = clv.expected_purchases(fit.bgnbd, ahead, x, t_x, age)
    values = clv.customer_values(fit.bgnbd, fit.gamma_gamma, found, HORIZON_MONTHS, unit=UNIT)
    customers = [
        CustomerValue(i, h, float(p), float(n), float(v))
        for i, h, p, n, v in zip(ids, found, alive, purchases, values, strict=True)
    ]
    return sorted(customers, key=lambda c: (-(c.expected_value or 0.0), c.buyer_id))


# ---------------------------------------------------------------- reads


async def purchases(ctx: Ctx, shop_id: str | None, currency: str, day: date) -> list[Purchase]:
    """The paid orders in the currency up to the end of a day, as (customer, moment, value):
    a shop's, its buyers the customers, or (no shop) every shop's, each shop and buyer one
    customer."""
    until = midnight(day + timedelta(days=1))
    sales = await paid_sales(ctx, EPOCH, until, shop_id=shop_id)
    return [
        (s.buyer_id if shop_id else f"{s.shop_id} {s.buyer_id}", as_utc(s.paid_at), s.total_minor)
        for s in sales
        if s.currency == currency
    ]


def fit_purchases(bought: Sequence[Purchase], day: date, on: str) -> Fit:
    """Summarize purchases as of a day and fit both models to them (ValueError: cannot)."""
    found = list(clv.summarize(bought, day, UNIT).values())
    bgnbd, gamma_gamma = fit_models(found)
    return Fit(on, len(found), bgnbd, gamma_gamma)


async def _fit(
    ctx: Ctx, own: Sequence[Purchase], currency: str, day: date
) -> tuple[Fit | None, list[tuple[str, str]]]:
    """Fit the shop's customers; failing that, the platform's; failing that, nothing."""
    refusals: list[tuple[str, str]] = []
    for on in (SHOP, PLATFORM):
        bought = own if on == SHOP else await purchases(ctx, None, currency, day)
        try:
            # Off the event loop: a platform of many customers takes seconds.
            fit = await anyio.to_thread.run_sync(fit_purchases, bought, day, on)
        except ValueError as refused:
            refusals.append((on, str(refused)))
            continue
        return fit, refusals
    return None, refusals


# ---------------------------------------------------------------- use-cases


async def shop_value(ctx: Ctx, actor: Actor, shop_id: str, day: date) -> ShopValue:
    """A shop's customers valued over the next 12 months as of the end of a day."""
    check_day(day)
    scope = await access_scope(ctx, actor, ScopeKind.SHOP, shop_id)
    bought = await purchases(ctx, scope.shop_id, scope.currency, day)
    own = clv.summarize(bought, day, UNIT)
    if not own:  # nothing to value: no fit, and a value of nothing
        return ShopValue(str(scope.shop_id), day, scope.currency, None, [], [], 0)
    fit, refusals = await _fit(ctx, bought, scope.currency, day)
    customers = valued(fit, own)
    if fit is not None and not all(_finite(c) for c in customers):
        # Parameters at the edge of the models' range can overflow on a history unlike
        # those fitted: no figure beats an infinite one.
        refusals.append((fit.on, "the fitted models give no finite value for these customers"))
        fit, customers = None, valued(None, own)
    value = None
    if fit is not None:
        found = list(own.values())
        value = clv.shop_value_minor(fit.bgnbd, fit.gamma_gamma, found, HORIZON_MONTHS, unit=UNIT)
    return ShopValue(str(scope.shop_id), day, scope.currency, fit, refusals, customers, value)


def _finite(customer: CustomerValue) -> bool:
    figures = (customer.p_alive, customer.expected_purchases, customer.expected_value)
    return all(figure is not None and math.isfinite(figure) for figure in figures)


async def clv_report(
    ctx: Ctx, actor: Actor, shop_id: str, day: date, limit: int, offset: int
) -> ClvOut:
    """A shop's customer lifetime value as of the end of a day, and a page of its customers."""
    found = await shop_value(ctx, actor, shop_id, day)
    fit = found.fit
    return ClvOut(
        shop_id=found.shop_id,
        day=found.day,
        currency=found.currency,
        unit=UNIT,
        customers=len(found.customers),
        fitted_on=fit.on if fit else None,
        fit_customers=fit.customers if fit else None,
        refusals=[FitRefusalOut(on=on, reason=reason) for on, reason in found.refusals],
        bgnbd=BgNbdOut(**_fields(fit.bgnbd)) if fit else None,
        gamma_gamma=GammaGammaOut(**_fields(fit.gamma_gamma)) if fit else None,
        value_12_months_minor=found.value_minor,
        limit=limit,
        offset=offset,
        items=[customer_out(c) for c in found.customers[offset : offset + limit]],
    )


def _fields(model: clv.BgNbd | clv.GammaGamma) -> dict[str, float]:
    return asdict(model)


def customer_out(customer: CustomerValue) -> ClvCustomerOut:
    """The wire form of a valued customer."""
    h, value = customer.history, customer.expected_value
    return ClvCustomerOut(
        buyer_id=customer.buyer_id,
        x=h.x,
        recency_weeks=h.t_x,
        age_weeks=h.age,
        average_spend_minor=round(h.spend),
        p_alive=customer.p_alive,
        expected_purchases_12_months=customer.expected_purchases,
        expected_value_minor=None if value is None else round(value),
    )


def clv_csv(customers: Sequence[CustomerValue]) -> str:
    """One row a customer, all of them."""
    header = list(ClvCustomerOut.model_fields)
    outs = (customer_out(c) for c in customers)
    return to_csv(header, ([getattr(c, name) for name in header] for c in outs))
