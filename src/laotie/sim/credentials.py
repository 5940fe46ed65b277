"""The demo's local credentials file: generated passwords and secrets, one per database.

Nothing secret lives in the repository. The first `laotie demo` or `laotie seed`
generates the passwords and secrets and keeps them in a file next to the SQLite database
(git-ignored), so the next run prints the same sign-ins and cookies survive a restart.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

SUFFIX = "-demo-credentials.txt"
DEFAULT_FILE = Path("laotie" + SUFFIX)
SECRET_VARIABLES = ("LAOTIE_SECRET_KEY", "LAOTIE_PAYMENT_WEBHOOK_SECRET")
HEADER = (
    "# laotie demo credentials: generated, for this demo database only; never use them\n"
    "# in production. Delete this file together with the database to start afresh.\n"
)


def credentials_path(database_url: str) -> Path:
    """Return where a database's demo credentials live: beside the SQLite file, or here."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return DEFAULT_FILE
    database = Path(url.database)
    return database.with_name(database.stem + SUFFIX)


# Letters and digits that cannot be mistaken for one another when read off a terminal.
_READABLE = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def demo_password() -> str:
    """Return a fresh password (about 64 bits) that says what it is."""
    return "demo-" + "".join(secrets.choice(_READABLE) for _ in range(11))


@dataclass
class DemoCredentials:
    """Passwords by email and secrets by variable name, as kept in the file."""

    path: Path
    passwords: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def load(cls, path: Path) -> DemoCredentials:
        """Read the file, or start an empty book if there is none."""
        book = cls(path)
        if not path.exists():
            return book
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            if key in SECRET_VARIABLES:
                book.secrets[key] = value
            elif "@" in key:
                book.passwords[key.lower()] = value
        return book

    def ensure_passwords(self, emails: Iterable[str]) -> dict[str, str]:
        """Generate a password for every email that has none yet; return them all."""
        for email in emails:
            if email not in self.passwords:
                self.passwords[email] = demo_password()
                self.changed = True
        return dict(self.passwords)

    def export_secrets(self) -> None:
        """Put the demo's secrets in the environment, unless the environment has its own."""
        for name in SECRET_VARIABLES:
            if os.environ.get(name):
                continue
            if name not in self.secrets:
                self.secrets[name] = secrets.token_urlsafe(32)
                self.changed = True
            os.environ[name] = self.secrets[name]

    def save(self) -> None:
        """Write the file if anything was added, readable by its owner only."""
        if not self.changed:
            return
        lines = [HEADER]
        lines += [f"{name}={value}\n" for name, value in sorted(self.secrets.items())]
        lines += [f"{email}={password}\n" for email, password in self.passwords.items()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.writelines(lines)
        self.changed = False
