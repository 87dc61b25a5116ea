"""The README's main job: a sequence of steps, each calling the library and printing what it found.

Later issues add their steps (simulation report, live service) to `STEPS` with one line each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from kizuna.cli.console import out, print_lines, say_wrote

#: The structures the demo compares, and the hypothetical one drawn beside them.
BEFORE, AFTER, HYPOTHETICAL = "us-japan-2015", "us-japan-2025", "us-japan-combined"


@dataclass
class DemoContext:
    """What the steps share: the output folder and the results of earlier steps, by name."""

    out_dir: Path
    results: dict[str, Any] = field(default_factory=dict)


def step_compare(ctx: DemoContext) -> None:
    """Diff the 2015 and 2025 structures and answer the counterpart question in each era."""
    from kizuna.model import load_structure
    from kizuna.report.comparison import US_JAPAN, compare_eras
    from kizuna.report.terminal import diff_lines

    structures = [load_structure(sid) for sid in (BEFORE, AFTER, HYPOTHETICAL)]
    comparison = compare_eras(structures[0], structures[1], US_JAPAN, also=structures[2:])
    ctx.results["structures"] = structures
    ctx.results["comparison"] = comparison
    for line in diff_lines(comparison.diff):
        out.print(line)


def step_routes(ctx: DemoContext) -> None:
    """Print, for each era, the route between the U.S. operational commander and Japan's."""
    from kizuna.report.comparison import EraComparison
    from kizuna.report.terminal import route_lines

    comparison: EraComparison = ctx.results["comparison"]
    for era in comparison.routes:
        s = era.structure
        label = " (hypothetical)" if s.hypothetical else ""
        out.print(
            f"[bold]{s.id}[/bold]{label}: U.S. operational authority over forces in Japan: "
            f"[bold]{era.abroad_commander}[/bold]; operational control of the SDF: "
            f"[bold]{era.host_commander}[/bold]"
        )
        for line in route_lines(era.route):
            out.print(line)
        out.print("")


def step_charts(ctx: DemoContext) -> None:
    """Write the org charts of the three structures on one layout, changes marked (PNG, SVG, PDF)."""
    from rich.progress import Progress

    from kizuna.report.comparison import write_orgcharts
    from kizuna.report.orgchart import FORMATS

    structures = ctx.results["structures"]
    written: list[Path] = []
    with Progress(console=out, transient=True) as progress:
        task = progress.add_task("drawing org charts", total=len(structures) * 2)
        for lang in ("en", "ja"):
            written += write_orgcharts(structures, ctx.out_dir, FORMATS, lang=lang)
            progress.advance(task, len(structures))
    for path in written:
        say_wrote(f"wrote {path}")


def step_simulation(ctx: DemoContext) -> None:
    """Simulate taiwan-contingency under the three structures and write its report to the output folder."""
    from rich.progress import Progress

    from kizuna.report.simulation import headline_lines, simulate_and_report

    with Progress(console=out, transient=True) as progress:
        task = progress.add_task("simulating taiwan-contingency", total=3 * 10_000)
        result, findings, path = simulate_and_report(
            "taiwan-contingency",
            ctx.out_dir / "taiwan-contingency.html",
            replications=10_000,
            progress=lambda n: progress.advance(task, n),
        )
    print_lines(headline_lines(result))
    print_lines(f"[yellow]note[/yellow] {escape(f.text())}" for f in findings)
    say_wrote(f"wrote {path}")


#: The main job's steps, in order: (title, function).
STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    (f"Structure 2015 → 2025: {BEFORE} → {AFTER}", step_compare),
    ("Coordination route between the two operational commands, by era", step_routes),
    ("Org charts", step_charts),
    ("Taiwan contingency: time to decision and effect under each structure", step_simulation),
]


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the charts and reports.")] = Path("out"),
    serve_live: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="End by serving the live coordination service with demo users and a running exercise "
            "(Ctrl-C stops it).",
        ),
    ] = True,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port of the live service.")] = None,
) -> None:
    """Run the main job: structures compared, org charts, the simulated Taiwan contingency, the live service.

    Writes the charts and the simulation report to `--out`, then (unless --no-serve) serves the live
    coordination service on 127.0.0.1 with demo users of both nations, as `kizuna serve --demo` does.
    """
    ctx = DemoContext(out_dir)
    for title, step in STEPS:
        out.rule(f"[bold]{title}[/bold]")
        step(ctx)
    if serve_live:
        from kizuna.cli.serve import serve

        out.rule("[bold]Live coordination service (Ctrl-C stops it)[/bold]")
        serve(port=port, demo=True)
