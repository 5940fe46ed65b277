"""HTTP API of the accounts feature."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from laotie.accounts import service
from laotie.accounts.deps import ActorDep
from laotie.accounts.errors import AccountError
from laotie.accounts.permissions import SELF_SERVICE_ROLES
from laotie.accounts.schemas import SignInIn, SignUpIn, TokenOut, UserOut
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError, CommonError
from laotie.core.openapi import errors

router = APIRouter(prefix="/api/auth", tags=["accounts"])


@router.post(
    "/sign-up",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        AccountError.EMAIL_TAKEN, AccountError.WEAK_PASSWORD, AccountError.ROLE_NOT_ALLOWED
    ),
)
async def sign_up(body: SignUpIn, ctx: CtxDep) -> UserOut:
    """Create an account (buyer, seller, anchor or factory)."""
    roles = frozenset(body.roles)
    if not roles <= SELF_SERVICE_ROLES:
        raise AppError.of(AccountError.ROLE_NOT_ALLOWED, "operators are made by an operator")
    actor = await service.do_sign_up(ctx, body.email, body.password, body.name, roles)
    return UserOut.of(actor)


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        AccountError.BAD_CREDENTIALS, AccountError.ACCOUNT_LOCKED, CommonError.RATE_LIMITED
    ),
)
async def create_token(body: SignInIn, request: Request, ctx: CtxDep) -> TokenOut:
    """Sign in with email and password and receive a bearer token."""
    check_sign_in_rate(request)
    actor, token = await service.do_sign_in(ctx, body.email, body.password, kind="api")
    return TokenOut(token=token, user=UserOut.of(actor))


@router.delete("/tokens/current", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(actor: ActorDep, request: Request, ctx: CtxDep) -> None:
    """Sign out: the token used for this request stops working."""
    if actor.session_token is not None:
        await service.do_revoke_token(ctx, actor.session_token)
        request.app.state.token_cache.forget(actor.session_token)


@router.get("/me")
async def me(actor: ActorDep) -> UserOut:
    """Who the caller is."""
    return UserOut.of(actor)


def check_sign_in_rate(request: Request) -> None:
    """Refuse a client address that tries to sign in too often."""
    client = request.client.host if request.client else "unknown"
    if not request.app.state.sign_in_limiter.hit(client):
        raise AppError.of(CommonError.RATE_LIMITED, "too many sign-in attempts; wait a minute")
