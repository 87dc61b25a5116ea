"""`kizuna simulate` and `kizuna sweep`: Monte Carlo runs of a scenario and sweeps over its parameters."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.cli.console import EXIT_USAGE, fail, out

if TYPE_CHECKING:
    from kizuna.model.scenario import Scenario
    from kizuna.sim.result import SimResult
    from kizuna.sim.sweep import SweepResult


def simulate(  # noqa: PLR0917 - Typer passes every option as an argument
    scenario: Annotated[str, typer.Argument(help="A bundled scenario id or a scenario file.")],
    structure: Annotated[
        list[str] | None,
        typer.Option("--structure", "-s", help="Simulate only this structure (repeatable)."),
    ] = None,
    replications: Annotated[int, typer.Option("-n", "--replications", min=1, help="Replications.")] = 10_000,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed gives the same result.")
    ] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes (default: every CPU).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report (with its figures) here.")
    ] = None,
) -> None:
    """Simulate a scenario under its structures: times to decision and effect, bottlenecks, deadlines."""
    from kizuna.model.scenario import load_scenario
    from kizuna.sim.runner import simulate as run

    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        fail(f"--report {report}: the report is an HTML file (FILE.html)", EXIT_USAGE)
    loaded = load_scenario(scenario)
    if structure:
        for sid in structure:
            if loaded.network is None and sid not in loaded.structures:
                fail(
                    f"--structure {sid!r} is not compared by {loaded.id}; "
                    f"known: {', '.join(loaded.structures)}",
                    EXIT_USAGE,
                )
    count = len(structure or loaded.structures or ["network"])
    with _progress(f"simulating {loaded.id}", replications * count, quiet=as_json) as advance:
        result = run(
            loaded,
            replications=replications,
            seed=seed,
            structures=structure,
            workers=workers,
            progress=advance,
        )
    if report is not None:
        from kizuna.report.simulation import write_report

        with _progress("writing the report", None, quiet=as_json):
            path = write_report(result, loaded, report)
        if not as_json:
            out.print(f"wrote {path}")
    if as_json:
        typer.echo(json.dumps(finite(result.to_json()), indent=2, allow_nan=False))
        return
    _print_summary(loaded, result)


def finite(data: Any) -> Any:
    """Return JSON data with NaN and infinities replaced by null (JSON has no NaN)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data


@contextmanager
def _progress(label: str, total: int | None, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """Show a Rich progress bar on stderr (nothing when quiet); yield a function that advances it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kizuna.cli.console import err

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}" if total else ""),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet,
    )
    task = bar.add_task(label, total=total)
    with bar:
        yield lambda n: bar.advance(task, n)


def _print_summary(scenario: Scenario, result: SimResult) -> None:
    """Print the figures a reader wants first: per request and structure, then bottlenecks and effects."""
    from rich.table import Table

    from kizuna.report.simulation import fmt_p, fmt_time, unit_for

    out.print(f"[bold]{scenario.name}[/bold]")
    out.print(f"{result.replications:,} replications per structure, seed {result.seed}")
    table = Table()
    for name in ("request", "structure"):
        table.add_column(name, no_wrap=True)
    for name in ("decision p50", "effect p50", "effect mean", "effect p90"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("deadlines met")
    for request in scenario.requests or []:
        for sid, sres in result.structures.items():
            stats = sres.requests.get(request.id)
            if stats is None:
                table.add_row(request.id, sid, "[red]not simulated (prohibited)[/red]", "", "", "", "")
                continue
            unit = unit_for([stats.effect.p99_h])
            deadlines = "; ".join(f"{name} {fmt_p(p)}" for name, p in stats.deadlines.items())
            table.add_row(
                request.id,
                sid,
                fmt_time(stats.decision.p50_h, unit),
                fmt_time(stats.effect.p50_h, unit),
                fmt_time(stats.effect.mean_h, unit),
                fmt_time(stats.effect.p90_h, unit),
                deadlines,
            )
    if scenario.network is not None:
        for sid, sres in result.structures.items():
            for rid, stats in sres.requests.items():
                unit = unit_for([stats.effect.p99_h])
                table.add_row(
                    rid,
                    sid,
                    fmt_time(stats.decision.p50_h, unit),
                    fmt_time(stats.effect.p50_h, unit),
                    fmt_time(stats.effect.mean_h, unit),
                    fmt_time(stats.effect.p90_h, unit),
                    "; ".join(f"{n} {fmt_p(p)}" for n, p in stats.deadlines.items()),
                )
    out.print(table)
    for sid, sres in result.structures.items():
        ranked = sorted(
            (o for o in sres.organizations.values() if math.isfinite(o.delay_share)),
            key=lambda o: -o.delay_share,
        )[:3]
        text = ", ".join(
            f"{o.organization} {fmt_p(o.delay_share)} (queue {fmt_p(o.queue_share)}, "
            f"duty {fmt_p(o.duty_share)})"
            for o in ranked
        )
        out.print(f"[bold]{sid}[/bold] bottlenecks: {text}")
        for note in sres.notes:
            out.print(f"  [yellow]note[/yellow] {note}")
    comps = result.comparisons()
    if comps:
        out.print(f"[bold]against {next(iter(result.structures))}[/bold] (mean time to effect, Cliff's δ):")
        for c in comps:
            unit = unit_for([abs(c.diff_mean_h)])
            out.print(
                f"  {c.request} under {c.a}: {unit(c.diff_mean_h):+.1f} {unit.name} "
                f"[{unit(c.ci_low_h):+.1f}, {unit(c.ci_high_h):+.1f}], δ = {c.cliffs_delta:+.2f}"
            )


def sweep(  # noqa: PLR0917 - Typer passes every option as an argument
    scenario: Annotated[str, typer.Argument(help="A bundled scenario id or a scenario file.")],
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            help="PARAM=LO:HI, PARAM=LO:HI:LEVELS or PARAM=V1,V2,... under `parameters`, e.g. "
            "organizations.jp-nsc.servers=1,2,3 (repeatable).",
        ),
    ],
    design: Annotated[str, typer.Option("--design", help="grid or lhs (Latin hypercube).")] = "grid",
    points: Annotated[int, typer.Option("--points", min=2, help="Latin-hypercube points.")] = 16,
    levels: Annotated[int, typer.Option("--levels", min=2, help="Grid levels of a LO:HI range.")] = 3,
    replications: Annotated[
        int, typer.Option("-n", "--replications", min=1, help="Replications per design point.")
    ] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every point (common random numbers).")] = 0,
    structure: Annotated[
        str | None, typer.Option("--structure", "-s", help="Structure to simulate (default: the first).")
    ] = None,
    response: Annotated[
        str | None,
        typer.Option("--response", help="REQUEST.decision|effect.mean|p50|p90|p99 to rank by."),
    ] = None,
    backend: Annotated[str, typer.Option("--backend", help="local (processes) or dask.")] = "local",
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address (default: a local cluster).")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Local worker processes.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the tornado plot (PNG or SVG).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Vary scenario parameters and rank them by how much they move a request's latency."""
    from kizuna.model.scenario import load_scenario
    from kizuna.sim.sweep import Backend, Design, design_points, parse_vary
    from kizuna.sim.sweep import sweep as run

    try:
        chosen_design = Design(design)
        chosen_backend = Backend(backend)
    except ValueError as error:
        fail(f"{error}; --design is grid or lhs, --backend is local or dask", EXIT_USAGE)
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        fail(f"--plot {plot}: write a .png, .svg or .pdf file", EXIT_USAGE)
    factors = [parse_vary(v) for v in vary]
    loaded = load_scenario(scenario)
    total = len(design_points(factors, chosen_design, points=points, grid_levels=levels, seed=seed))
    with _progress(f"sweeping {loaded.id}", total, quiet=as_json) as advance:
        result = run(
            loaded,
            factors,
            design=chosen_design,
            points=points,
            grid_levels=levels,
            replications=replications,
            seed=seed,
            structure=structure,
            response=response,
            backend=chosen_backend,
            workers=workers,
            address=scheduler,
            progress=advance,
        )
    if plot is not None:
        from kizuna.sim.sweep import tornado_figure

        plot.parent.mkdir(parents=True, exist_ok=True)
        tornado_figure(result).savefig(plot, dpi=120)
        if not as_json:
            out.print(f"wrote {plot}")
    if as_json:
        typer.echo(json.dumps(finite(result.to_json()), indent=2, allow_nan=False))
        return
    _print_ranking(result)


def _print_ranking(result: SweepResult) -> None:
    from rich.table import Table

    out.print(
        f"[bold]{result.scenario}[/bold]: what drives {result.response} — {result.design.value}, "
        f"{len(result.points)} points × {result.replications} replications, linear fit R² = "
        f"{result.r_squared:.2f}"
    )
    table = Table("#")
    table.add_column("parameter", overflow="fold")
    for name in ("range", "swing (h)", "Spearman ρ"):
        table.add_column(name, justify="right", no_wrap=True)
    for rank, e in enumerate(result.effects, start=1):
        table.add_row(
            str(rank), e.parameter, f"{e.low:g} – {e.high:g}", f"{e.swing:+.2f}", f"{e.spearman:+.2f}"
        )
    out.print(table)
