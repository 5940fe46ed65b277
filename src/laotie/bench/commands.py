"""`laotie bench ...`: the benchmarks' command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Benchmarks: the server pinned to one core, the load generator to another.",
    no_args_is_help=True,
)

Url = Annotated[
    str | None,
    typer.Option(
        help="Target a running server (seeded through its API) instead of a throwaway one."
    ),
]
Duration = Annotated[float, typer.Option(min=0.5, help="Seconds of each measured phase.")]
Concurrency = Annotated[int, typer.Option(min=1, help="Virtual users, one connection each.")]
Warmup = Annotated[float, typer.Option(min=0, help="Unmeasured seconds before each phase.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def show(result: dict[str, Any], as_json: bool, width: int = 24) -> None:
    """Print a benchmark's figures: one JSON object, or a line each."""
    if as_json:
        from laotie.bench.common import print_json

        print_json(result)
        return
    for key, value in result.items():
        typer.echo(f"{key:>{width}}: {value}")


@app.command("checkout")
def checkout(
    url: Url = None,
    duration: Duration = 10.0,
    concurrency: Concurrency = 32,
    buyers: Annotated[
        int | None, typer.Option(min=1, help="Buyers to seed; default one per virtual user.")
    ] = None,
    warmup: Warmup = 1.0,
    database: Annotated[
        str,
        typer.Option(
            help="The throwaway server's database: sqlite, or postgresql (a throwaway cluster)."
        ),
    ] = "sqlite",
    as_json: AsJson = False,
) -> None:
    """Orders placed and paid per second, against /healthz on the same server."""
    from laotie.bench.checkout import DATABASES, run_checkout

    if database not in DATABASES:
        raise typer.BadParameter(f"one of {', '.join(DATABASES)}", param_hint="--database")
    result = run_checkout(
        url=url,
        duration=duration,
        concurrency=concurrency,
        buyers=buyers,
        warmup=warmup,
        database=database,
    )
    show(result, as_json)


@app.command("feed")
def feed(
    rooms: Annotated[int, typer.Option(min=1, help="Live rooms to rank.")] = 1_000,
    follows: Annotated[
        int, typer.Option(min=10, help="Follow edges (ten a viewer, so follows/10 viewers).")
    ] = 100_000,
    impressions: Annotated[int, typer.Option(min=0, help="Impressions of the last day.")] = (
        1_000_000
    ),
    duration: Duration = 10.0,
    concurrency: Concurrency = 32,
    warmup: Warmup = 1.0,
    database: Annotated[
        str, typer.Option(help="The throwaway server's database: sqlite or postgresql.")
    ] = "sqlite",
    as_json: AsJson = False,
) -> None:
    """GET /api/feed for viewers with a history: latency one at a time, feeds per second."""
    from laotie.bench.feed import DATABASES, run_feed

    if database not in DATABASES:
        raise typer.BadParameter(f"one of {', '.join(DATABASES)}", param_hint="--database")
    result = run_feed(
        rooms=rooms,
        follows=follows,
        impressions=impressions,
        duration=duration,
        concurrency=concurrency,
        warmup=warmup,
        database=database,
    )
    show(result, as_json)


@app.command("room-fanout")
def room_fanout(
    viewers: Annotated[int, typer.Option(min=1, help="WebSocket viewers in the room.")] = 5_000,
    probes: Annotated[
        int, typer.Option(min=1, help="Viewers that time each chat line; the rest only drain.")
    ] = 200,
    chatters: Annotated[int, typer.Option(min=1, help="Signed-in probes that send the chat.")] = 20,
    chat_rate: Annotated[float, typer.Option(min=0, help="Chat lines per second in all.")] = 50.0,
    like_rate: Annotated[float, typer.Option(min=0, help="Likes per second in all.")] = 1_000.0,
    duration: Duration = 20.0,
    as_json: AsJson = False,
) -> None:
    """Fan-out latency and delivery in one crowded room, against websockets.broadcast()."""
    from laotie.bench.fanout import run_room_fanout

    result = run_room_fanout(
        viewers=viewers,
        probes=probes,
        chatters=chatters,
        chat_rate=chat_rate,
        like_rate=like_rate,
        duration=duration,
    )
    show(result, as_json)


@app.command("flash-sale")
def flash_sale(
    mode: Annotated[
        str, typer.Option(help="single: SQLite, 1 process; cluster: 2 workers, PostgreSQL, Redis.")
    ] = "single",
    buyers: Annotated[int, typer.Option(min=1, help="Buyers, one connection each.")] = 2_000,
    units: Annotated[int, typer.Option(min=1, help="Units of the flash sale.")] = 20_000,
    soldout_duration: Annotated[
        float, typer.Option(min=0.5, help="Seconds of sold-out answers measured after the sale.")
    ] = 5.0,
    baseline_duration: Annotated[
        float, typer.Option(min=0.5, help="Seconds of /healthz measured before the sale.")
    ] = 5.0,
    database_url: Annotated[
        str | None,
        typer.Option(help="Cluster: a PostgreSQL server (asyncpg URL); a throwaway one if unset."),
    ] = None,
    redis_url: Annotated[
        str | None, typer.Option(help="Cluster: a Redis server; a throwaway one if unset.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Orders per second on one hot flash-sale SKU until sold out, then sold-out answers."""
    from laotie.bench.flashsale import run_flash_sale

    if mode not in {"single", "cluster"}:
        raise typer.BadParameter("choose single or cluster", param_hint="--mode")
    result = run_flash_sale(
        mode=mode,
        buyers=buyers,
        units=units,
        baseline_s=baseline_duration,
        soldout_s=soldout_duration,
        database_url=database_url,
        redis_url=redis_url,
    )
    show(result, as_json, width=28)


@app.command("trust-attack")
def trust_attack(
    ring_size: Annotated[int, typer.Option(min=3, help="Fake buyers of each ring.")] = 30,
    fake_share: Annotated[
        float,
        typer.Option(min=0.05, max=0.95, help="Share of a brushing shop's orders that are fake."),
    ] = 0.5,
    camouflage: Annotated[
        list[float] | None,
        typer.Option(help="Share of the ring's orders at honest shops; repeat to sweep."),
    ] = None,
    distinct_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of ring buyers with their own fingerprints.")
    ] = 0.2,
    review_delay: Annotated[
        float, typer.Option(min=0, help="Hours from the ring's receipt to its five stars.")
    ] = 0.5,
    honest_shops: Annotated[int, typer.Option(min=1)] = 40,
    honest_buyers: Annotated[int, typer.Option(min=1)] = 2_000,
    brushing_shops: Annotated[int, typer.Option(min=1)] = 5,
    days: Annotated[int, typer.Option(min=7, max=90)] = 60,
    seed: int = 7,
    as_json: AsJson = False,
) -> None:
    """Brushing detection against simulated rings: precision, recall and score inflation."""
    from laotie.bench.trust_attack import run_trust_attack
    from laotie.sim.trust_world import WorldSettings

    for share in camouflage or ():
        if not 0 <= share < 1:
            raise typer.BadParameter("from 0 up to (not including) 1", param_hint="--camouflage")
    base = WorldSettings(
        honest_shops=honest_shops,
        honest_buyers=honest_buyers,
        office_buyers=min(50, honest_buyers),
        brushing_shops=brushing_shops,
        ring_size=ring_size,
        fake_share=fake_share,
        distinct_share=distinct_share,
        review_delay_hours=review_delay,
        days=days,
        seed=seed,
    )
    result = run_trust_attack(base, camouflage or [0.0, 0.3, 0.6])
    show(result, as_json)


@app.command("notify")
def notify(
    followers: Annotated[
        int, typer.Option(min=1, help="Followers of the anchor, seeded by direct inserts.")
    ] = 100_000,
    online: Annotated[
        int, typer.Option(min=0, help="Followers connected to their user socket.")
    ] = 2_000,
    as_json: AsJson = False,
) -> None:
    """An anchor goes live: the request's latency, inbox rows a second, push latency."""
    from laotie.bench.notify import run_notify

    result = run_notify(followers, online)
    show(result, as_json)


@app.command("analytics")
def analytics(
    shops: Annotated[int, typer.Option(min=1, help="Shops, each with a show every day.")] = 500,
    buyers: Annotated[int, typer.Option(min=1, help="Buyers who watch and buy.")] = 200_000,
    anchors: Annotated[int, typer.Option(min=1, help="Anchors hosting the shows.")] = 2_000,
    orders: Annotated[
        int, typer.Option(min=1, help="Paid orders: four in five live, one in five shelf.")
    ] = 1_000_000,
    visits: Annotated[
        int, typer.Option(min=1, help="Visits of the shows, watching two minutes each on average.")
    ] = 5_000_000,
    days: Annotated[int, typer.Option(min=3, max=366, help="Days of history to yesterday.")] = 365,
    requests: Annotated[
        int, typer.Option(min=1, help="Random (shop, month) pairs asked for, one at a time.")
    ] = 200,
    database: Annotated[
        str, typer.Option(help="The throwaway server's database: sqlite or postgresql.")
    ] = "sqlite",
    seed: Annotated[int, typer.Option(help="Seed of the history and of the pairs asked.")] = 7,
    as_json: AsJson = False,
) -> None:
    """A shop's month (its GMV change and repurchase) on a year of history: latency from the
    rollups and from the raw rows, and the time to fill the rollups."""
    from laotie.bench.analytics import DATABASES, run_analytics
    from laotie.bench.analytics_history import Sizes

    if database not in DATABASES:
        raise typer.BadParameter(f"one of {', '.join(DATABASES)}", param_hint="--database")
    sizes = Sizes(
        shops=shops, buyers=buyers, anchors=anchors, orders=orders, visits=visits, days=days
    )
    show(run_analytics(sizes=sizes, requests=requests, database=database, seed=seed), as_json)
