"""`kizuna bench service`: load on the live service over loopback (the measuring code is in the library)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.cli.console import err, out

if TYPE_CHECKING:
    from rich.table import Table


def bench_service(
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    clients: Annotated[int, typer.Option(min=1, max=500, help="Concurrent clients.")] = 50,
    seconds: Annotated[
        float, typer.Option(min=1, max=600, help="Seconds of command load per database.")
    ] = 10.0,
    subscribers: Annotated[int, typer.Option(min=1, max=2000, help="Stream subscribers for fan-out.")] = 200,
    rate: Annotated[
        float, typer.Option(min=1, help="Offered commands per second for the paced run.")
    ] = 500.0,
    no_postgresql: Annotated[
        bool, typer.Option("--no-postgresql", help="Skip the PostgreSQL run (no server binaries here).")
    ] = False,
) -> None:
    """Commands per second and p50/p99 latency on SQLite and PostgreSQL; fan-out to stream subscribers."""
    import json

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kizuna.service import benchmark

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("starting", total=1.0)

        def report(what: str, done: float) -> None:
            progress.update(task, description=what, completed=done)

        figures = benchmark.run(
            clients=clients,
            seconds=seconds,
            subscribers=subscribers,
            postgresql=not no_postgresql,
            rate=rate,
            progress=report,
        )
    if as_json:
        out.print_json(json.dumps(figures))
        return
    out.print(_table(figures, clients))
    fanout = figures["fanout"]
    out.print(
        f"fan-out to {fanout['subscribers']} subscribers: p50 {fanout['p50_ms']:.1f} ms, "
        f"p99 {fanout['p99_ms']:.1f} ms\nover {fanout['deliveries']} deliveries (goal: p99 < 250 ms)"
    )
    load = figures["setup"]["load_average"]
    out.print(
        f"load average (1 min): {load['start']:.1f} at the start, {load['end']:.1f} at the end\n"
        "(latency depends on other work on the machine; CPU per command much less)"
    )


def _table(figures: dict[str, Any], clients: int) -> Table:
    """Lay the runs out as one table: throughput, latency and CPU per command of server and client."""
    from rich import box
    from rich.table import Column, Table

    table = Table(
        Column("run", no_wrap=True),
        *(Column(name, justify="right") for name in ("done/s", "p50 ms", "p99 ms", "server", "client")),
        Column("errors", justify="right"),
        box=box.SIMPLE_HEAD,
        title=f"kizuna serve under load: {clients} clients over loopback, {figures['setup']['cpus']} CPUs",
        caption=(
            "max: saturation (each client sends when answered)\n"
            "500/s: offered on a schedule, the clients' cycles in phase (all file at once)\n"
            "spread: the same rate, the clients' cycles spread evenly\n"
            "server, client: CPU ms per command (per request for GET /api/health)\n"
            "goal: 500/s offered on SQLite done with p99 < 100 ms"
        ),
    )

    def row(name: str, r: dict[str, Any]) -> None:
        table.add_row(
            name,
            f"{r['commands_per_s']:.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['server_cpu_ms']:.2f}",
            f"{r['client_cpu_ms']:.2f}",
            str(r["errors"]),
        )

    row("GET /api/health", figures["reference"])
    for name in ("sqlite", "postgresql"):
        if name in figures:
            r = figures[name]
            row(f"{name} max", r)
            paced = r.get("at_offered_rate")
            if paced:
                row(f"{name} {paced['offered_per_s']:.0f}/s", paced)
            spread = r.get("at_offered_rate_out_of_phase")
            if spread:
                row(f"{name} {spread['offered_per_s']:.0f}/s spread", spread)
    return table
