"""Wire format of the accounts feature."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from laotie.accounts.permissions import Actor, Role
from laotie.core.text import Name, Secret, Text


class SignUpIn(BaseModel):
    """A new account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "li@example.com", "password": "correct horse", "name": "Li"}]
        },
    )

    email: EmailStr
    password: Secret = Field(min_length=8, max_length=200)
    name: Name = Field(max_length=80)
    roles: list[Role] = Field(default_factory=lambda: [Role.BUYER], max_length=4)


class SignInIn(BaseModel):
    """Credentials for a token."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "li@example.com", "password": "correct horse"}]},
    )

    email: Text = Field(min_length=3, max_length=254)
    password: Secret = Field(min_length=1, max_length=200)
    label: Text | None = Field(default=None, max_length=80, description="what the token is for")


class UserOut(BaseModel):
    """A user as the user sees itself."""

    id: str
    email: str
    name: str
    roles: list[Role]

    @classmethod
    def of(cls, actor: Actor) -> UserOut:
        """Build from an actor."""
        return cls(id=actor.id, email=actor.email, name=actor.name, roles=sorted(actor.roles))


class TokenOut(BaseModel):
    """A bearer token for API clients."""

    token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    user: UserOut


class TokenInfoOut(BaseModel):
    """One of the caller's tokens as its list shows it: never the token itself."""

    id: str
    kind: str  # "api" or "session" (a signed-in browser)
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    current: bool  # the token this request came with
