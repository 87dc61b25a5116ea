"""`kizuna bench web`: the console's load time and update delay in a real browser (kizuna.web.bench)."""

from __future__ import annotations

from typing import Annotated

import typer

from kizuna.cli.console import err, out


def bench_web(
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    actions: Annotated[int, typer.Option(min=1, max=10_000, help="Actions for the update delay.")] = 100,
    loads: Annotated[int, typer.Option(min=1, max=100, help="Page loads, cold and warm.")] = 5,
) -> None:
    """Time to a usable crisis overview (cold, warm) and command-to-appearance p50/p95 in another browser."""
    import json

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kizuna.web import bench

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("starting", total=1.0)
        figures = bench.run(
            actions=actions,
            loads=loads,
            progress=lambda what, done: progress.update(task, description=what, completed=done),
        )
    if as_json:
        out.print_json(json.dumps(figures))
        return
    goals = figures["goals"]
    out.print(f"Web console benchmark (Debian chromium, loopback): {loads} loads, {actions} actions")
    for key, label in (("overview_cold", "overview cold"), ("overview_warm", "overview warm")):
        f, ref = figures[key], figures[key.replace("overview", "reference_sign_in")]
        met = "met" if goals[f"{key}_met"] else "NOT met"
        out.print(f"  {label}: usable p50 {f['p50_ms']:.0f} ms, max {f['max_ms']:.0f} ms ({met}: < 1500 ms)")
        out.print(f"    reference, sign-in page loaded: p50 {ref['p50_ms']:.0f} ms")
    update, stream = figures["update_appearance"], figures["reference_stream_delivery"]
    met = "met" if goals["update_met"] else "NOT met"
    out.print(
        f"  update in the other browser: p50 {update['p50_ms']:.0f} ms, p95 {update['p95_ms']:.0f} ms "
        f"({met}: p95 < 1000 ms)"
    )
    out.print(
        f"    reference, event reached its stream: p50 {stream['p50_ms']:.0f} ms, "
        f"p95 {stream['p95_ms']:.0f} ms"
    )
