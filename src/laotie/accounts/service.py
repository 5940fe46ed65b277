"""Use-cases of the accounts feature: sign-up, sign-in, tokens and who a token belongs to."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, or_, select, update

from laotie.accounts.errors import AccountError
from laotie.accounts.models import AuthToken, SignIn, User
from laotie.accounts.permissions import Actor, Role, parse_roles
from laotie.core.context import Ctx
from laotie.core.errors import AppError, not_found
from laotie.core.fingerprint import ClientPrint
from laotie.core.ids import new_id
from laotie.settings import Settings


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """Return an argon2id hasher and a dummy hash to verify against for unknown emails.

    Verifying the dummy when the email is unknown keeps timing from revealing accounts.
    """
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash("not-a-real-password")


def hasher_for(settings: Settings) -> tuple[PasswordHasher, str]:
    """Return the hasher the settings ask for."""
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_kib)


MIN_PASSWORD_LENGTH = 8


def hash_token(token: str) -> str:
    """Return the stored form of a session or API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short to be worth hashing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AppError.of(
            AccountError.WEAK_PASSWORD,
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
        )


def actor_of(user: User, *, via_cookie: bool = False, token: str | None = None) -> Actor:
    """Return the request-facing view of a user."""
    return Actor(user.id, user.email, user.name, parse_roles(user.roles), via_cookie, token)


async def do_sign_up(
    ctx: Ctx, email: str, password: str, name: str, roles: frozenset[Role]
) -> Actor:
    """Create a user with a hashed password."""
    check_password_strength(password)
    email = email.strip().lower()
    taken = await ctx.db.scalar(select(User.id).where(User.email == email))
    if taken is not None:
        raise AppError.of(AccountError.EMAIL_TAKEN, "that email already has an account")
    hasher, _ = hasher_for(ctx.settings)
    password_hash = await anyio.to_thread.run_sync(hasher.hash, password)
    user = User(
        id=new_id("usr"),
        email=email,
        name=name.strip(),
        password_hash=password_hash,
        roles=" ".join(sorted(roles)),
        failed_sign_ins=0,
        created_at=ctx.now(),
    )
    ctx.db.add(user)
    await ctx.db.flush()
    return actor_of(user)


async def do_sign_in(
    ctx: Ctx,
    email: str,
    password: str,
    kind: str = "api",
    label: str | None = None,
    client: ClientPrint | None = None,
) -> tuple[Actor, str]:
    """Check the password and issue a token; lock the account after repeated failures.

    A successful sign-in is kept with the client's address and device (`sign_ins`).
    """
    now = ctx.now()
    user = await ctx.db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise AppError.of(
            AccountError.ACCOUNT_LOCKED,
            "too many failed sign-ins; try again later",
        )
    stored = user.password_hash if user else None
    if user is None or not await _password_matches(ctx.settings, stored, password):
        if user is not None:
            await _record_failure(ctx, user)
        raise AppError.of(AccountError.BAD_CREDENTIALS, "wrong email or password")
    user.failed_sign_ins = 0
    user.locked_until = None
    token = await do_issue_token(ctx, user.id, kind, label)
    if client is not None:
        ctx.db.add(SignIn(user_id=user.id, at=now, ip=client.ip, device_id=client.device_id))
    return actor_of(user, via_cookie=kind == "session", token=token), token


async def _password_matches(settings: Settings, password_hash: str | None, password: str) -> bool:
    """Verify in a worker thread, since argon2 is deliberately slow."""
    hasher, dummy = hasher_for(settings)
    try:
        matched = await anyio.to_thread.run_sync(hasher.verify, password_hash or dummy, password)
        return matched and password_hash is not None
    except (VerifyMismatchError, InvalidHashError):
        return False


async def _record_failure(ctx: Ctx, user: User) -> None:
    """Count a failed sign-in and lock the account once the limit is reached."""
    user.failed_sign_ins += 1
    if user.failed_sign_ins >= ctx.settings.sign_in_max_failures:
        user.locked_until = ctx.now() + timedelta(minutes=ctx.settings.sign_in_lockout_minutes)
        user.failed_sign_ins = 0
    await ctx.db.flush()
    # The failure must be remembered although the request itself fails.
    ctx.commit_on_refusal = True


async def do_issue_token(ctx: Ctx, user_id: str, kind: str, label: str | None = None) -> str:
    """Create a session or API token for a user and return it (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    days = ctx.settings.session_days if kind == "session" else ctx.settings.token_days
    ctx.db.add(
        AuthToken(
            token_hash=hash_token(token),
            id=new_id("tok"),
            user_id=user_id,
            kind=kind,
            label=label,
            created_at=ctx.now(),
            expires_at=ctx.now() + timedelta(days=days),
        )
    )
    await ctx.db.flush()
    return token


async def do_revoke_token(ctx: Ctx, token: str) -> None:
    """Forget a token, so it signs nobody in any more."""
    await ctx.db.execute(delete(AuthToken).where(AuthToken.token_hash == hash_token(token)))


async def do_revoke_token_by_id(ctx: Ctx, actor: Actor, token_id: str) -> None:
    """Revoke one of the actor's own tokens by its id; others' are not there."""
    gone = await ctx.db.execute(
        delete(AuthToken).where(AuthToken.id == token_id, AuthToken.user_id == actor.id)
    )
    if not getattr(gone, "rowcount", 0):
        raise not_found("token")


async def tokens_of(ctx: Ctx, actor: Actor) -> list[TokenInfo]:
    """Return the actor's tokens that still work, newest first."""
    rows = await ctx.db.scalars(
        select(AuthToken)
        .where(
            AuthToken.user_id == actor.id,
            or_(AuthToken.expires_at.is_(None), AuthToken.expires_at > ctx.now()),
        )
        .order_by(AuthToken.created_at.desc(), AuthToken.id)
    )
    current = hash_token(actor.session_token) if actor.session_token else None
    return [
        TokenInfo(
            row.id, row.kind, row.label, row.created_at, row.expires_at, row.token_hash == current
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What its owner may see of a token: never the token itself."""

    id: str
    kind: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    current: bool  # the token this request came with


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """Who a token signs in, which token it is and until when."""

    actor: Actor
    token_id: str
    expires_at: datetime | None


async def access_token_holder(ctx: Ctx, token: str, *, via_cookie: bool) -> TokenHolder | None:
    """Return who a token signs in, in one statement; None if unknown, and refuse if expired."""
    row = (
        await ctx.db.execute(
            select(User, AuthToken.id, AuthToken.expires_at)
            .join(AuthToken, AuthToken.user_id == User.id)
            .where(AuthToken.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        return None
    user, token_id, expires_at = row
    if expires_at is not None and expires_at <= ctx.now():
        if via_cookie:
            return None  # an old page session: the visitor is simply signed out
        raise token_expired()
    return TokenHolder(actor_of(user, via_cookie=via_cookie, token=token), token_id, expires_at)


async def access_actor_by_token(ctx: Ctx, token: str, *, via_cookie: bool) -> Actor | None:
    """Return who a token signs in, or None if it is unknown; refuse an expired API token."""
    holder = await access_token_holder(ctx, token, via_cookie=via_cookie)
    return None if holder is None else holder.actor


def token_expired() -> AppError:
    """Refuse an API token past its lifetime."""
    return AppError(AccountError.TOKEN_EXPIRED, "this token has expired; sign in again", 401)


async def access_user(ctx: Ctx, user_id: str) -> Actor:
    """Return a user by id."""
    user = await ctx.db.get(User, user_id)
    if user is None:
        raise not_found("user")
    return actor_of(user)


async def names_of(ctx: Ctx, user_ids: Iterable[str]) -> dict[str, str]:
    """Return the names of these users in one read; an unknown id is left out."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    rows = await ctx.db.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


async def find_user_by_email(ctx: Ctx, email: str) -> Actor | None:
    """Return the user with this email, if any."""
    user = await ctx.db.scalar(select(User).where(User.email == email.strip().lower()))
    return None if user is None else actor_of(user)


async def do_grant_roles(ctx: Ctx, user_id: str, roles: frozenset[Role]) -> Actor:
    """Add roles to a user (operators and the command line only)."""
    user = await ctx.db.get(User, user_id)
    if user is None:
        raise not_found("user")
    user.roles = " ".join(sorted(parse_roles(user.roles) | roles))
    await ctx.db.execute(update(User).where(User.id == user_id).values(roles=user.roles))
    return actor_of(user)
