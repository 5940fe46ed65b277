"""`laotie bench ...`: the benchmarks' command line."""

from __future__ import annotations

from typing import Annotated

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


@app.command("checkout")
def checkout(
    url: Url = None,
    duration: Duration = 10.0,
    concurrency: Concurrency = 32,
    buyers: Annotated[
        int | None, typer.Option(min=1, help="Buyers to seed; default one per virtual user.")
    ] = None,
    warmup: Warmup = 1.0,
    as_json: AsJson = False,
) -> None:
    """Orders placed and paid per second, against /healthz on the same server."""
    from laotie.bench.checkout import run_checkout
    from laotie.bench.common import print_json

    result = run_checkout(
        url=url, duration=duration, concurrency=concurrency, buyers=buyers, warmup=warmup
    )
    if as_json:
        print_json(result)
        return
    for key, value in result.items():
        typer.echo(f"{key:>24}: {value}")
