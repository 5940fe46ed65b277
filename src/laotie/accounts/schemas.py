"""Wire format of the accounts feature."""

from __future__ import annotations

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
