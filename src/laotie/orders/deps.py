"""What a request's handler reads of the payment providers the app was started with."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import State

from laotie.orders.payments import PaymentProvider, Providers

# The provider whose pay page the site itself serves; the pages and the top-ups use it.
SANDBOX = "sandbox"


def payment_providers(request: Request) -> Providers:
    """Every payment provider, by name."""
    providers: Providers = request.app.state.payment_providers
    return providers


def sandbox_provider(request: Request) -> PaymentProvider:
    """The sandbox provider, which the site's own pay page answers for."""
    return payment_providers(request)[SANDBOX]


def sandbox_provider_of(state: State) -> PaymentProvider:
    """The sandbox provider, for a job that runs outside any request."""
    providers: Providers = state.payment_providers
    return providers[SANDBOX]
