"""The command line: `laotie serve`, `demo`, `seed`, `simulate`, `db upgrade`, `user create`,
`bench`, `experiment`, `media`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from laotie.bench.commands import app as bench_app
from laotie.settings import Settings, public_url_for

app = typer.Typer(
    help="laotie: live commerce in which trust is the currency.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
trust_app = typer.Typer(help="Trust: scores and what they are made of.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(trust_app, name="trust")
app.add_typer(bench_app, name="bench")
experiment_app = typer.Typer(help="Experiments on simulated worlds.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")
media_app = typer.Typer(
    help="The media server of live video: nginx with its RTMP module.", no_args_is_help=True
)
app.add_typer(media_app, name="media")

MediaFolder = Annotated[Path, typer.Option(help="Where nginx keeps its files.")]
CallbackUrl = Annotated[
    str | None, typer.Option(help="Where nginx reaches laotie; default LAOTIE_PUBLIC_URL.")
]


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Bring the database schema up to date (Alembic migrations)."""
    from laotie.db.migrate import upgrade

    settings = Settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}: {_safe_url(settings.database_url)}")


@user_app.command("create")
def user_create(
    email: str,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[list[str], typer.Option(help="Role; repeat for several.")] = ["buyer"],  # noqa: B006
    password: Annotated[
        str | None, typer.Option(help="Password; generated and printed when omitted.")
    ] = None,
) -> None:
    """Create a user with any roles, operators included."""
    import secrets

    from laotie.accounts.permissions import Role

    roles = frozenset(Role(value) for value in role)
    secret = password or secrets.token_urlsafe(12)
    asyncio.run(_create_user(Settings(), email, name or email.split("@")[0], secret, roles))
    typer.echo(f"created {email} ({', '.join(sorted(roles))})")
    if password is None:
        typer.echo(f"password: {secret}")


async def _create_user(
    settings: Settings, email: str, name: str, password: str, roles: frozenset[object]
) -> None:
    from laotie.accounts.service import do_sign_up
    from laotie.core.clock import SystemClock
    from laotie.core.context import unit_of_work
    from laotie.db.engine import make_database

    database = make_database(settings)
    try:
        async with unit_of_work(database, settings, SystemClock()) as ctx:
            await do_sign_up(ctx, email, password, name, roles)  # type: ignore[arg-type]
    finally:
        await database.dispose()


@trust_app.command("explain")
def trust_explain(shop_id: str) -> None:
    """Print a shop's score with every input and constant, as `GET /api/shops/{id}/trust` does."""
    typer.echo(asyncio.run(_explain(Settings(), shop_id)))


async def _explain(settings: Settings, shop_id: str) -> str:
    from laotie.core.clock import SystemClock
    from laotie.core.context import unit_of_work
    from laotie.core.errors import AppError
    from laotie.db.engine import make_database
    from laotie.trust.service import shop_trust

    database = make_database(settings)
    try:
        async with unit_of_work(database, settings, SystemClock()) as ctx:
            return (await shop_trust(ctx, shop_id)).model_dump_json(indent=2)
    except AppError as refusal:
        raise typer.BadParameter(refusal.message, param_hint="SHOP_ID") from refusal
    finally:
        await database.dispose()


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API and the pages."""
    import uvicorn

    if not os.environ.get("LAOTIE_PUBLIC_URL"):
        # The workers read it too: the sandbox's webhooks must reach this port, not 8000.
        os.environ["LAOTIE_PUBLIC_URL"] = public_url_for(host, port)
    settings = Settings()
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter(
            "several workers need PostgreSQL (LAOTIE_DATABASE_URL) and Redis "
            "(LAOTIE_REDIS_URL); SQLite and the in-process broker serve one process",
            param_hint="--workers",
        )
    if workers > 1 and not settings.redis_url:
        raise typer.BadParameter(
            "several workers need Redis (LAOTIE_REDIS_URL) for shared state",
            param_hint="--workers",
        )
    if workers > 1 and "LAOTIE_SECRET_KEY" not in os.environ:
        raise typer.BadParameter(
            "several workers must share LAOTIE_SECRET_KEY", param_hint="--workers"
        )
    uvicorn.run(
        "laotie.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def seed() -> None:
    """Bring the schema up to date, seed the demo world and print its sign-ins."""
    from laotie.sim.demo import prepare, report, seed_database

    settings, credentials = prepare()
    outcome = seed_database(settings, credentials.passwords)
    typer.echo(report(outcome, settings, credentials.path))


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Seed the demo world, print its sign-ins and serve it."""
    from laotie.sim.demo import local_url, prepare, report, seed_database

    settings, credentials = prepare(public_url=local_url(host, port), live_show=True)
    outcome = seed_database(settings, credentials.passwords)
    typer.echo(report(outcome, settings, credentials.path))
    serve(host=host, port=port, workers=1)


@app.command()
def simulate(
    days: Annotated[int, typer.Option(min=1, help="Simulated days.")] = 60,
    policy: Annotated[str, typer.Option(help="The feed's policy: trust or gmv.")] = "trust",
    seed: Annotated[int, typer.Option(help="The world's seed.")] = 7,
    out: Annotated[Path, typer.Option(help="Folder for the summary, tables and charts.")] = Path(
        "simulation"
    ),
    shops: Annotated[int, typer.Option(min=1, help="Shops.")] = 60,
    buyers: Annotated[int, typer.Option(min=1, help="Buyers.")] = 2_000,
    churn: Annotated[float, typer.Option(min=0, help="Churn sensitivity.")] = 1.0,
    null_control: Annotated[
        bool, typer.Option(help="Buyers' trust does not change their behaviour.")
    ] = False,
) -> None:
    """Play a simulated world on the real services; write its summary, tables and charts."""
    from laotie.sim.command import run_simulation
    from laotie.sim.settings import WorldSettings

    if policy not in ("trust", "gmv"):
        raise typer.BadParameter("trust or gmv", param_hint="--policy")
    settings = WorldSettings(
        shops=shops,
        buyers=buyers,
        days=days,
        seed=seed,
        policy=policy,
        churn=churn,
        trust_matters=not null_control,
    )
    run_simulation(settings, out, typer.echo)


@experiment_app.command("trust-vs-gmv")
def trust_vs_gmv(
    seeds: Annotated[int, typer.Option(min=2, help="Paired seeds (1, 2, ... N).")] = 5,
    out: Annotated[Path, typer.Option(help="Folder for the worlds and the results.")] = Path(
        "experiment-trust-vs-gmv"
    ),
    workers: Annotated[int, typer.Option(min=1, help="Worlds played at once.")] = 2,
    days: Annotated[int, typer.Option(min=1, help="Simulated days of each world.")] = 60,
    shops: Annotated[int, typer.Option(min=1, help="Shops of each world.")] = 60,
    buyers: Annotated[int, typer.Option(min=1, help="Buyers of each world.")] = 2_000,
) -> None:
    """Paired worlds under the trust-aware and the GMV-only feed: churn swept, a null control."""
    from laotie.sim.experiment import run_experiment
    from laotie.sim.settings import WorldSettings

    base = WorldSettings(shops=shops, buyers=buyers, days=days)
    results = run_experiment(base, range(1, seeds + 1), out, workers, say=typer.echo)
    typer.echo(f"done in {results['seconds']} s: {out}")


@experiment_app.command("c2m-forecast")
def c2m_forecast(
    campaigns: Annotated[int, typer.Option(min=10, help="Simulated campaigns forecast.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the simulated campaigns.")] = 1,
) -> None:
    """Forecast simulated C2M campaigns at half time; print each method's MAPE as JSON."""
    import json

    from laotie.sim.campaign_forecast import evaluate

    typer.echo(json.dumps(evaluate(campaigns, seed)))


@media_app.command("config")
def media_config(
    folder: MediaFolder = Path("media"),
    rtmp_port: int = 1935,
    http_port: int = 8081,
    callback_url: CallbackUrl = None,
) -> None:
    """Write nginx's configuration for the media server and print where."""
    typer.echo(_write_media_config(folder, rtmp_port, http_port, callback_url))


@media_app.command("run")
def media_run(
    folder: MediaFolder = Path("media"),
    rtmp_port: int = 1935,
    http_port: int = 8081,
    callback_url: CallbackUrl = None,
) -> None:
    """Write the configuration and run nginx on it in the foreground."""
    from laotie.video.nginx import nginx_program

    program = nginx_program()
    if program is None:
        raise typer.BadParameter("install nginx and libnginx-mod-rtmp first")
    path = _write_media_config(folder, rtmp_port, http_port, callback_url)
    # nginx takes this process's place: our own program and arguments, no shell.
    os.execv(program, [program, "-p", str(path.parent), "-c", str(path)])  # noqa: S606


def _write_media_config(
    folder: Path, rtmp_port: int, http_port: int, callback_url: str | None
) -> Path:
    from laotie.video.nginx import MediaServer, write_config

    settings = Settings()
    if "LAOTIE_SECRET_KEY" not in os.environ:
        raise typer.BadParameter(
            "the media server's callbacks are signed with LAOTIE_SECRET_KEY: set it, the same "
            "as laotie serve's"
        )
    server = MediaServer(
        folder.resolve(), rtmp_port, http_port, callback_url or settings.public_url
    )
    return write_config(server, settings)


def _safe_url(url: str) -> str:
    """Hide the password of a database URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Entry point of the `laotie` command."""
    app()
