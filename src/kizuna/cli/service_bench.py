"""`kizuna bench service`: load on the live service over loopback (the measuring code is in the library)."""

from __future__ import annotations

from typing import Annotated

import typer

from kizuna.cli.console import err, out


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
    reference = figures["reference"]
    out.print(f"Service benchmark: {clients} clients over loopback, {figures['setup']['cpus']} CPUs")
    out.print(
        f"  reference GET /api/health (SQLite server): {reference['commands_per_s']:.0f} req/s, "
        f"p50 {reference['p50_ms']:.1f} ms, p99 {reference['p99_ms']:.1f} ms"
    )
    for name in ("sqlite", "postgresql"):
        if name in figures:
            r = figures[name]
            ratio = r["commands_per_s"] / reference["commands_per_s"]
            out.print(
                f"  {name:<10} saturation: {r['commands_per_s']:.0f} commands/s "
                f"({ratio:.3f}x the reference), p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                f"{r['errors']} errors"
            )
            paced = r.get("at_offered_rate")
            if paced:
                out.print(
                    f"  {'':<10} at {paced['offered_per_s']:.0f}/s offered: "
                    f"{paced['commands_per_s']:.0f}/s done, p50 {paced['p50_ms']:.1f} ms, "
                    f"p99 {paced['p99_ms']:.1f} ms (goal: 500/s with p99 < 100 ms)"
                )
    fanout = figures["fanout"]
    out.print(
        f"  fan-out of one event to {fanout['subscribers']} subscribers: p50 {fanout['p50_ms']:.1f} ms, "
        f"p99 {fanout['p99_ms']:.1f} ms over {fanout['deliveries']} deliveries (goal: p99 < 250 ms)"
    )
