"""`kizuna bench sim`: the simulation engine against the SimPy reference, measured in the same run."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from kizuna.cli.console import err, fail, out


def bench_sim(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    replications: Annotated[
        int, typer.Option("--replications", "-n", min=1, help="Engine replications.")
    ] = 100_000,
    simpy_replications: Annotated[
        int | None, typer.Option("--simpy", min=2, help="SimPy replications (default n/500, at least 20).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="Engine worker processes (default: all CPUs)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the scenario generator and the simulations.")] = 0,
) -> None:
    """Replications per second: the engine (all cores) against SimPy (one core), 60 requests x 8 orgs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        import simpy  # noqa: F401 - only to fail early with a clear message
    except ImportError:
        fail("kizuna bench sim needs SimPy for its reference: pip install 'kizuna[dev]'")
    from kizuna.sim.bench import run_bench

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("engine", total=replications)
        result = run_bench(
            replications,
            simpy_replications=simpy_replications,
            workers=workers,
            seed=seed,
            progress=lambda k: progress.update(task, advance=k),
            phase=lambda name: progress.update(task, description=name),
        )
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    from kizuna.cli.console import print_table
    from kizuna.report.terminal import Column

    print_table(
        [
            Column("simulator", wrap=True),
            Column("replications", justify="right"),
            Column("seconds", justify="right"),
            Column("replications/s", justify="right"),
        ],
        [
            [
                f"kizuna ({result.workers} workers)",
                f"{result.replications:,}",
                f"{result.kizuna_s:.2f}",
                f"{result.kizuna_rep_per_s:,.0f}",
            ],
            [
                "SimPy reference (1 process)",
                f"{result.simpy_replications:,}",
                f"{result.simpy_s:.2f}",
                f"{result.simpy_rep_per_s:,.1f}",
            ],
        ],
        title=f"sim: {result.requests} requests x {result.organizations} organizations",
    )
    goal = "met" if result.ratio >= 300 else "not met"
    out.print(
        f"ratio {result.ratio:,.0f}x (goal 300x at 100,000 replications: {goal}); "
        f"worker start-up before the timed run {result.startup_s:.2f} s"
    )
    out.print(
        f"per CPU-second: kizuna {result.kizuna_rep_per_cpu_s:,.0f}, "
        f"SimPy {result.simpy_rep_per_cpu_s:,.1f}, "
        f"ratio per core {result.ratio_per_core:,.0f}x; load average at start {result.load_average:.1f}"
    )
    out.print(
        f"peak memory: main process {result.peak_rss_mib:,.0f} MiB, largest worker "
        f"{result.peak_worker_rss_mib:,.0f} MiB"
    )
    out.print(
        f"mean time to effect {result.mean_effect_h:.2f} h, SimPy {result.simpy_mean_effect_h:.2f} h "
        f"(z = {result.agreement_z:+.1f})"
    )
