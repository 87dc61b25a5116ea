"""`kizuna bench fusion`: fusion per audience in real time on one core, beside Stone Soup's tracker."""

from __future__ import annotations

from typing import Annotated

import typer

from kizuna.cli.console import err, out


def bench_fusion(
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    targets: Annotated[
        int, typer.Option(min=1, max=100_000, help="Targets (half ships, half aircraft).")
    ] = 500,
    sensors: Annotated[
        int, typer.Option(min=1, max=64, help="Sensors, each of another marking in turn.")
    ] = 4,
    rate: Annotated[float, typer.Option(min=0.01, max=100, help="Scans per second of each sensor.")] = 1.0,
    seconds: Annotated[float, typer.Option(min=5, max=3_600, help="Simulated seconds.")] = 60.0,
    reference_targets: Annotated[
        int, typer.Option(min=1, max=1_000, help="Targets for the Stone Soup reference run.")
    ] = 50,
    reference_budget: Annotated[
        float, typer.Option(min=1, max=3_600, help="CPU seconds Stone Soup may spend.")
    ] = 30.0,
) -> None:
    """Targets x sensors x rate fused per audience in real time on one core, against Stone Soup."""
    import json

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kizuna.intel import bench

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("starting", total=1.0)
        figures = bench.run(
            targets=targets,
            sensors=sensors,
            rate_hz=rate,
            seconds=seconds,
            reference_targets=reference_targets,
            reference_budget_s=reference_budget,
            progress=lambda what, done: progress.update(task, description=what, completed=done),
        )
    if as_json:
        out.print_json(json.dumps(figures))
        return
    setup, engine, reference = figures["setup"], figures["engine"], figures["reference"]
    out.print(
        f"Fusion: {setup['targets']} targets, {setup['sensors']} sensors at {setup['rate_hz']:g} Hz, "
        f"{setup['seconds']:g} s simulated"
    )
    out.print(f"  {setup['scans']} scans, {setup['reports']} reports; one core")
    out.print(f"  audiences from the markings: {', '.join(setup['audiences'])}")
    for run in engine["audiences"]:
        out.print(
            f"  {run['audience']:<16} {run['scans']:>5} scans {run['cpu_s']:7.2f} CPU s "
            f"{run['tracks']:>6} tracks"
        )
    verdict = "real time" if engine["real_time"] else "NOT real time"
    out.print(
        f"  all audiences: {engine['cpu_s']:.2f} CPU s for {setup['seconds']:g} s "
        f"(+{setup['convert_cpu_s']:.2f} s converting)"
    )
    out.print(f"  = {engine['real_time_factor']:.1f}x {verdict}")
    stone = reference["stonesoup"]
    out.print(f"Reference at {reference['targets']} targets, same sensors and rate:")
    out.print(
        f"  Stone Soup, one fusion for everyone: {stone['cpu_per_scan_s']:.3f} CPU s per scan "
        f"({stone['scans']} of {stone['of_scans']} scans)"
    )
    out.print(f"  = {stone['real_time_factor']:.3f}x real time")
    out.print(f"  engine, every audience: {reference['engine_real_time_factor']:.1f}x real time")
    agreement = figures["agreement"]
    same = "the same tracks" if agreement["same_ids"] else "DIFFERENT tracks"
    out.print(
        f"  engine vs Stone Soup, {agreement['scans']} scans: {same}, "
        f"states within {agreement['max_state_diff']:.1e} m"
    )
