"""Who may do what: every role check of the platform goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from laotie.core.errors import AppError, CommonError


class Role(StrEnum):
    """What a user can act as."""

    BUYER = "buyer"
    SELLER = "seller"
    ANCHOR = "anchor"
    FACTORY = "factory"
    OPERATOR = "operator"


# Roles anyone may take when signing up; an operator is made from the command line.
SELF_SERVICE_ROLES = frozenset({Role.BUYER, Role.SELLER, Role.ANCHOR, Role.FACTORY})


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in user a request acts for."""

    id: str
    email: str
    name: str
    roles: frozenset[Role]
    via_cookie: bool = False
    session_token: str | None = None

    def has(self, role: Role) -> bool:
        """Tell whether the actor holds the role."""
        return role in self.roles


def require_role(actor: Actor, *roles: Role) -> None:
    """Refuse unless the actor holds one of the roles."""
    if not any(actor.has(role) for role in roles):
        names = " or ".join(roles)
        raise AppError.of(CommonError.FORBIDDEN, f"this needs the {names} role")


def parse_roles(text: str) -> frozenset[Role]:
    """Read the stored, space-separated roles."""
    return frozenset(Role(part) for part in text.split())
