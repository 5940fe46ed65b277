"""`laotie serve --port N` sends the sandbox's webhooks to port N unless told otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from laotie.cli import app
from laotie.settings import Settings, public_url_for


def _serve(monkeypatch: pytest.MonkeyPatch, *args: str) -> Settings:
    started: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append(k))
    outcome = CliRunner().invoke(app, ["serve", *args])
    assert outcome.exit_code == 0, outcome.output
    assert started and started[0]["port"] == int(args[args.index("--port") + 1])
    return Settings()


def test_the_public_url_follows_the_port_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAOTIE_PUBLIC_URL", "")  # unset for the command; restored after
    assert _serve(monkeypatch, "--port", "8123").public_url == "http://127.0.0.1:8123"


def test_a_public_url_that_is_set_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAOTIE_PUBLIC_URL", "https://shop.example.com")
    assert _serve(monkeypatch, "--port", "8123").public_url == "https://shop.example.com"


def test_a_wildcard_host_is_reached_on_loopback() -> None:
    assert public_url_for("0.0.0.0", 9000) == "http://127.0.0.1:9000"  # noqa: S104
    assert public_url_for("::1", 9000) == "http://[::1]:9000"
    assert public_url_for("shop.local", 80) == "http://shop.local:80"
