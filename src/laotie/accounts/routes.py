"""HTTP API of the accounts feature."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from laotie.accounts import service
from laotie.accounts.deps import ActorDep
from laotie.accounts.errors import AccountError
from laotie.accounts.permissions import SELF_SERVICE_ROLES
from laotie.accounts.schemas import SignInIn, SignUpIn, TokenInfoOut, TokenOut, UserOut
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError, CommonError
from laotie.core.fingerprint import client_print
from laotie.core.openapi import errors
from laotie.core.ratelimit import check_rate
from laotie.core.text import Text

router = APIRouter(prefix="/api/auth", tags=["accounts"])


@router.post(
    "/sign-up",
    status_code=status.HTTP_201_CREATED,
    responses=errors(
        AccountError.EMAIL_TAKEN,
        AccountError.WEAK_PASSWORD,
        AccountError.ROLE_NOT_ALLOWED,
        CommonError.RATE_LIMITED,
    ),
)
async def sign_up(body: SignUpIn, request: Request, ctx: CtxDep) -> UserOut:
    """Create an account (buyer, seller, anchor or factory)."""
    check_sign_up_rate(request)
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
    actor, token = await service.do_sign_in(
        ctx, body.email, body.password, kind="api", label=body.label, client=client_print(request)
    )
    return TokenOut(token=token, user=UserOut.of(actor))


@router.get("/tokens")
async def list_tokens(actor: ActorDep, ctx: CtxDep) -> list[TokenInfoOut]:
    """The caller's tokens that still work: API tokens and signed-in browsers."""
    return [TokenInfoOut(**asdict(token)) for token in await service.tokens_of(ctx, actor)]


@router.delete("/tokens/current", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(actor: ActorDep, request: Request, ctx: CtxDep) -> None:
    """Sign out: the token used for this request stops working."""
    if actor.session_token is not None:
        await service.do_revoke_token(ctx, actor.session_token)
        request.app.state.token_cache.forget(actor.session_token)


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(CommonError.NOT_FOUND),
)
async def revoke_token_by_id(
    token_id: Annotated[Text, Path(max_length=32)], actor: ActorDep, request: Request, ctx: CtxDep
) -> None:
    """Revoke one of the caller's tokens by its id (from the list)."""
    await service.do_revoke_token_by_id(ctx, actor, token_id)
    request.app.state.token_cache.forget_id(token_id)


@router.get("/me")
async def me(actor: ActorDep) -> UserOut:
    """Who the caller is."""
    return UserOut.of(actor)


def check_sign_in_rate(request: Request) -> None:
    """Refuse a client address that tries to sign in too often."""
    limiter = request.app.state.sign_in_limiter
    check_rate(limiter, request, "too many sign-in attempts; wait a minute")


def check_sign_up_rate(request: Request) -> None:
    """Refuse a client address that signs up too often (the API and the form alike)."""
    limiter = request.app.state.sign_up_limiter
    check_rate(limiter, request, "too many sign-ups from your address; wait a minute")
