"""`kizuna simulate` and `kizuna sweep`: Monte Carlo runs of a scenario and sweeps over its parameters."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.cli.console import EXIT_USAGE, err, fail, out, print_lines, print_table, say_wrote

if TYPE_CHECKING:
    from kizuna.model.scenario import Scenario
    from kizuna.report.findings import Finding
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
        Path | None,
        typer.Option(
            "--report", metavar="FILE", help="Write the HTML report (with its figures) here (.html)."
        ),
    ] = None,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", metavar="FILE", help="Write the report as a PDF file too (.pdf).")
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            metavar="FILE",
            help="Write the results as a table: .csv (times per request and structure) or .xlsx (also "
            "organizations and comparisons).",
        ),
    ] = None,
) -> None:
    """Simulate a scenario under its structures: times to decision and effect, bottlenecks, deadlines."""
    from kizuna.sim.runner import simulate as run

    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        fail(f"--report {report}: the report is an HTML file (FILE.html)", EXIT_USAGE)
    if pdf is not None and pdf.suffix.lower() != ".pdf":
        fail(f"--pdf {pdf}: write a .pdf file", EXIT_USAGE)
    if export is not None and export.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"--export {export}: write a .csv or .xlsx file", EXIT_USAGE)
    loaded = _load_scenario(scenario)
    if structure:
        for sid in structure:
            if loaded.network is None and sid not in loaded.structures:
                from kizuna.errors import suggestion

                hint = suggestion(sid, loaded.structures) + "known: " + ", ".join(loaded.structures)
                fail(
                    f"--structure {sid!r} is not compared by {loaded.id}; {hint}",
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
    findings: list[Finding] = []
    if loaded.network is None:
        from kizuna.report.findings import SENSITIVITY_REPLICATIONS, explain, flagged
        from kizuna.report.simulation import report_structures

        structures = report_structures(result, loaded)
        runs = len(flagged(result, structures)) * 2 * min(replications, SENSITIVITY_REPLICATIONS)
        with _progress("explaining surprising results", runs or None, quiet=as_json) as advance:
            findings = explain(result, loaded, structures, progress=advance)
    if report is not None or pdf is not None:
        from kizuna.report.simulation import write_report

        with _progress("writing the report", None, quiet=as_json):
            written = write_report(result, loaded, report, pdf=pdf, findings=findings)
        if not as_json:
            for path in written:
                say_wrote(f"wrote {path}")
    if export is not None:
        from kizuna.report.exports import write_simulation

        path = write_simulation(result, export, loaded)
        if not as_json:
            say_wrote(f"wrote {path}")
    if as_json:
        data = result.to_json() | {"findings": [f.to_json() for f in findings]}
        typer.echo(json.dumps(finite(data), indent=2, allow_nan=False))
        return
    _print_summary(loaded, result, findings)


def _load_scenario(ref: str) -> Scenario:
    """Load a scenario by bundled id or path; a structure given instead is named as such (exit 2)."""
    from kizuna.errors import UnknownId
    from kizuna.model.loading import bundled_ids
    from kizuna.model.scenario import load_scenario

    path = Path(ref)
    looks_like_file = ref.endswith((".yaml", ".yml")) or "/" in ref
    if looks_like_file and not path.is_file():
        fail(f"{ref}: no such file", EXIT_USAGE)
    if looks_like_file and _is_structure_file(path):
        fail(
            f"{ref} is a structure file, not a scenario: simulate takes a scenario (known: "
            f"{', '.join(bundled_ids('scenarios'))}); a scenario names the structures it compares, and "
            "--structure picks among them",
            EXIT_USAGE,
        )
    try:
        return load_scenario(ref)
    except UnknownId as error:
        structures = {s.casefold() for s in bundled_ids("structures")}
        if ref.casefold() in structures:
            fail(
                f"{ref!r} is a structure, not a scenario: simulate takes a scenario (known: "
                f"{', '.join(error.known)}); use --structure {ref} to simulate a scenario under it",
                EXIT_USAGE,
            )
        fail(f"{error} (or give a path to a scenario file)", EXIT_USAGE)


def _is_structure_file(path: Path) -> bool:
    """Tell whether a YAML file reads as a structure (era and organizations, or extends), not a scenario."""
    from kizuna.errors import DataError
    from kizuna.model.yamlfile import read_yaml

    try:
        root = read_yaml(path)
    except DataError:
        return False
    if not isinstance(root, dict) or "parameters" in root or "network" in root or "requests" in root:
        return False
    return "era" in root and ("organizations" in root or "extends" in root)


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


def _print_summary(scenario: Scenario, result: SimResult, findings: list[Finding]) -> None:
    """Print the figures a reader wants first: per request and structure, then bottlenecks and effects."""
    from rich.markup import escape

    from kizuna.report.simulation import fmt_p, fmt_time, unit_for
    from kizuna.report.terminal import Column

    print_lines(
        [
            f"[bold]{escape(scenario.name)}[/bold]",
            f"{result.replications:,} replications per structure, seed {result.seed}",
        ]
    )
    columns = [
        Column("structure", key=True),
        Column("decision p50", justify="right"),
        Column("effect p50", justify="right"),
        Column("effect mean", justify="right"),
        Column("effect p90", justify="right"),
        Column("deadlines met", wrap=True),
    ]
    names = {r.id: r.name or r.id for r in scenario.requests or []}
    requests = list(names) or list(
        dict.fromkeys(rid for sres in result.structures.values() for rid in sres.requests)
    )
    for rid in requests:
        rows = []
        for sid, sres in result.structures.items():
            stats = sres.requests.get(rid)
            if stats is None:
                rows.append([sid, "[red]not simulated (prohibited)[/red]", "", "", "", ""])
                continue
            unit = unit_for([stats.effect.p99_h])
            rows.append(
                [
                    sid,
                    fmt_time(stats.decision.p50_h, unit),
                    fmt_time(stats.effect.p50_h, unit),
                    fmt_time(stats.effect.mean_h, unit),
                    fmt_time(stats.effect.p90_h, unit),
                    escape("; ".join(f"{name} {fmt_p(p)}" for name, p in stats.deadlines.items()) or "-"),
                ]
            )
        title = f"[bold]{escape(rid)}[/bold]" + (
            f": {escape(names[rid])}" if names.get(rid, rid) != rid else ""
        )
        out.print()
        print_table(columns, rows, title=title)
    out.print()
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
        print_lines([f"[bold]{sid}[/bold] bottlenecks: {text}"])
        print_lines(f"  [yellow]note[/yellow] {escape(note)}" for note in sres.notes)
    comps = result.comparisons()
    if comps:
        lines = [f"[bold]against {next(iter(result.structures))}[/bold] (mean time to effect, Cliff's δ):"]
        for c in comps:
            unit = unit_for([abs(c.diff_mean_h)])
            lines.append(
                f"  {c.request} under {c.a}: {unit(c.diff_mean_h):+.1f} {unit.name} "
                f"\\[{unit(c.ci_low_h):+.1f}, {unit(c.ci_high_h):+.1f}], δ = {c.cliffs_delta:+.2f}"
            )
        print_lines(lines)
    if findings:
        print_lines(["", "[bold yellow]Read with care[/bold yellow]"])
        print_lines(f"  [yellow]•[/yellow] {escape(f.text())}" for f in findings)


def sweep(  # noqa: PLR0917 - Typer passes every option as an argument
    scenario: Annotated[
        str, typer.Argument(metavar="SCENARIO", help="A bundled scenario id or a scenario file.")
    ],
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            metavar="PARAM=LO:HI",
            help="A parameter to vary and its range: PARAM=LO:HI, PARAM=LO:HI:LEVELS or PARAM=V1,V2,... "
            "(repeatable). PARAM is a path under the scenario's `parameters`, e.g. "
            "organizations.jp-nsc.servers=1,2,3; --list shows them all.",
        ),
    ] = None,
    list_parameters: Annotated[
        bool,
        typer.Option("--list", help="List the parameters that can be varied, with their values and why."),
    ] = False,
    design: Annotated[
        str, typer.Option("--design", metavar="grid|lhs", help="A full grid, or a Latin hypercube (lhs).")
    ] = "grid",
    points: Annotated[int, typer.Option("--points", metavar="N", min=2, help="Latin-hypercube points.")] = 16,
    levels: Annotated[
        int, typer.Option("--levels", metavar="N", min=2, help="Grid levels of a LO:HI range.")
    ] = 3,
    replications: Annotated[
        int, typer.Option("-n", "--replications", metavar="N", min=1, help="Replications per design point.")
    ] = 500,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Seed of every point (common random numbers).")
    ] = 0,
    structure: Annotated[
        str | None,
        typer.Option(
            "--structure", "-s", metavar="ID", help="The structure to simulate (default: the first)."
        ),
    ] = None,
    response: Annotated[
        str | None,
        typer.Option(
            "--response",
            metavar="REQUEST.MEASURE.STAT",
            help="What to rank by: REQUEST.decision|effect.mean|p50|p90|p99 (default: the mean time to "
            "effect of the first request with a deadline).",
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", metavar="local|dask", help="Local processes, or a Dask cluster.")
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: a local cluster)."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", metavar="N", min=1, help="Local worker processes.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE", help="Write the tornado plot (.png, .svg or .pdf)."),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", metavar="FILE", help="Write the ranking and every design point (.csv or .xlsx)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Vary scenario parameters and rank them by how much they move a request's time to decision or effect.

    `kizuna sweep SCENARIO --list` shows what can be varied. Every design point runs with the same seed
    (common random numbers), so differences between points come from the parameters.
    """
    from kizuna.model.loading import load_structure, resolve
    from kizuna.sim.sweep import (
        Backend,
        Design,
        check_factors,
        default_response,
        design_points,
        parse_vary,
        sweep_parameters,
    )
    from kizuna.sim.sweep import sweep as run

    loaded = _load_scenario(scenario)
    if loaded.network is not None:
        fail(f"{loaded.id} is a plain network scenario; sweeps vary organizational scenarios", EXIT_USAGE)
    if structure is not None and structure not in loaded.structures:
        from kizuna.errors import UnknownId

        fail(
            f"--structure: {UnknownId('structure of ' + loaded.id, structure, loaded.structures)}", EXIT_USAGE
        )
    sid = structure or loaded.structures[0]
    base = Path(loaded.file).parent if loaded.file else None
    orgs = [o.id for o in load_structure(resolve(sid, relative_to=base)).organizations]
    known = sweep_parameters(loaded, orgs)
    if list_parameters:
        _print_parameters(loaded.id, sid, known)
        return
    if not vary:
        fail(f"name a parameter to vary: --vary PARAM=LO:HI (`kizuna sweep {loaded.id} --list` shows them)")
    try:
        chosen_design = Design(design.lower())
        chosen_backend = Backend(backend.lower())
    except ValueError:
        fail(
            f"--design is grid or lhs (got {design!r}); --backend is local or dask (got {backend!r})",
            EXIT_USAGE,
        )
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        fail(f"--plot {plot}: write a .png, .svg or .pdf file", EXIT_USAGE)
    if export is not None and export.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"--export {export}: write a .csv or .xlsx file", EXIT_USAGE)
    factors = [parse_vary(v) for v in vary]
    check_factors(factors, known, scenario=loaded.id)
    chosen_response = response or default_response(loaded)
    if not as_json:
        _print_setup(
            loaded.id,
            sid,
            chosen_response,
            factors,
            chose_structure=structure is not None,
            chose_response=response is not None,
        )
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
            structure=sid,
            response=chosen_response,
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
            say_wrote(f"wrote {plot}")
    if export is not None:
        from kizuna.report.exports import write_sweep

        write_sweep(result, export)
        if not as_json:
            say_wrote(f"wrote {export}")
    if as_json:
        typer.echo(json.dumps(finite(result.to_json()), indent=2, allow_nan=False))
        return
    _print_ranking(result)


def _print_setup(
    scenario: str,
    structure: str,
    response: str,
    factors: list[Any],
    *,
    chose_structure: bool,
    chose_response: bool,
) -> None:
    """Say on stderr what is swept, under which structure, ranked by what, and why those."""
    from rich.markup import escape

    why_structure = (
        "chosen with --structure"
        if chose_structure
        else "the scenario's first structure; --structure chooses"
    )
    why_response = (
        "chosen with --response"
        if chose_response
        else "the mean time to effect of the scenario's first request with a deadline; --response chooses"
    )
    lines = [
        f"Sweeping [bold]{escape(scenario)}[/bold] under [bold]{escape(structure)}[/bold] ({why_structure})",
        f"  ranking by [bold]{escape(response)}[/bold] ({why_response})",
    ]
    for f in factors:
        at = f" at {', '.join(f'{v:g}' for v in f.levels)}" if f.levels else ""
        lines.append(f"  varying {escape(f.parameter)} over {f.low:g} – {f.high:g}{at}")
    print_lines(lines, console=err)


def _print_parameters(scenario: str, structure: str, known: list[Any]) -> None:
    from rich.markup import escape

    from kizuna.report.terminal import Column

    print_lines(
        [
            f"Parameters of [bold]{escape(scenario)}[/bold] a sweep can vary (under {escape(structure)}):",
            "[dim]give one as --vary PATH=LO:HI; `organizations.ORG.servers` exists for every "
            "organization[/dim]",
        ]
    )
    print_table(
        [
            Column("parameter", key=True),
            Column("now", justify="right"),
            Column("why it has this value", wrap=True),
        ],
        [[p.path, "-" if p.value is None else f"{p.value:g}", escape(p.why or "-")] for p in known],
    )


def _print_ranking(result: SweepResult) -> None:
    from rich.markup import escape

    from kizuna.report.terminal import Column

    print_lines(
        [
            f"[bold]{escape(result.scenario)}[/bold]: what drives {escape(result.response)} — "
            f"{result.design.value}, {len(result.points)} points × {result.replications} replications, "
            f"linear fit R² = {result.r_squared:.2f}"
        ]
    )
    rows = []
    for rank, e in enumerate(result.effects, start=1):
        simulated = []
        for mean, low, high in (e.low_interval, e.high_interval):
            simulated.append("—" if not math.isfinite(mean) else f"{mean:.2f} [{low:.2f}, {high:.2f}]")
        rows.append(
            [
                str(rank),
                e.parameter,
                f"{e.low:g} – {e.high:g}",
                f"{e.swing:+.2f}",
                escape(f"{simulated[0]} → {simulated[1]}"),
                f"{e.spearman:+.2f}",
            ]
        )
    print_table(
        [
            Column("#", justify="right"),
            Column("parameter", key=True),
            Column("range"),
            Column("fitted swing (h)", justify="right"),
            Column("simulated low → high end (h, mean [95%])", wrap=True),
            Column("Spearman ρ", justify="right"),
        ],
        rows,
    )
