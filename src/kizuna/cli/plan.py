"""Bilateral plans: validate, assign units to missions, simulate decision points, generate an exercise."""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from kizuna.cli.console import EXIT_INVALID, EXIT_OK, EXIT_USAGE, err, fail, out, print_problems, say_wrote

if TYPE_CHECKING:
    from kizuna.authority import FrameworkSet
    from kizuna.model.plan import Plan
    from kizuna.planning.assign import Assignment, AssignmentProblem, Infeasibility

app = typer.Typer(no_args_is_help=True)

PlanArg = Annotated[str, typer.Argument(help="A bundled plan id (e.g. nansei-2027) or a plan file.")]


def _load(ref: str) -> tuple[Plan, FrameworkSet]:
    """Load a plan and its frameworks; exit 2 for an unknown id or missing file, 1 for an invalid file."""
    from kizuna.authority import load_frameworks
    from kizuna.errors import DataError, UnknownId
    from kizuna.model.forces import looks_like_path
    from kizuna.model.plan import load_plan
    from kizuna.planning.assign import check_plan_law

    if looks_like_path(ref) and not Path(ref).is_file():
        fail(f"{ref}: no such file", EXIT_USAGE)
    try:
        plan = load_plan(ref)
        frameworks = load_frameworks(*plan.frameworks)
        check_plan_law(plan, frameworks)
    except UnknownId as error:
        fail(f"{error} (or give a path to a plan file)", EXIT_USAGE)
    except DataError as error:
        print_problems(error.problems)
        err.print(f"[red]invalid[/red] {ref}: {len(error.problems)} problem(s)")
        raise typer.Exit(EXIT_INVALID) from None
    return plan, frameworks


@app.command("list")
def list_plans() -> None:
    """List the bundled plans and forces files."""
    from rich.table import Table

    from kizuna.model.forces import load_forces
    from kizuna.model.loading import bundled_ids
    from kizuna.model.plan import load_plan

    table = Table("plan", "name", "forces", "phases", "missions", "decision points")
    for pid in bundled_ids("plans"):
        p = load_plan(pid)
        table.add_row(
            p.id, p.name, p.forces, str(len(p.phases)), str(len(p.mission_by_id)), str(len(p.decision_points))
        )
    out.print(table)
    forces = Table("forces", "structure", "units", "capabilities", "mission kinds")
    for fid in bundled_ids("forces"):
        f = load_forces(fid)
        forces.add_row(
            f.id, f.structure, str(len(f.units)), str(len(f.capabilities)), str(len(f.mission_kinds))
        )
    out.print(forces)


@app.command()
def validate(
    files: Annotated[list[str] | None, typer.Argument(help="Plan files (or bundled ids) to check.")] = None,
) -> None:
    """Check plan files and the forces they name: exit 0 valid, 1 invalid, 2 usage error."""
    if not files:
        fail("name one or more plan files or bundled plan ids", EXIT_USAGE)
    bad = 0
    for ref in files:
        try:
            plan, _ = _load(ref)
        except typer.Exit as stop:
            if stop.exit_code == EXIT_USAGE:
                raise
            bad += 1
            continue
        out.print(
            f"[green]valid[/green] {ref}: {plan.id} ({len(plan.phases)} phases, {len(plan.mission_by_id)} "
            f"missions, {len(plan.decision_points)} decision points; forces {plan.forces})"
        )
    raise typer.Exit(EXIT_INVALID if bad else EXIT_OK)


def _wrap(text: str, indent: str = "") -> str:
    width = max(40, out.width or 80)
    return "\n".join(
        textwrap.fill(
            line,
            width,
            initial_indent=indent if not line.startswith(" ") else "",
            subsequent_indent=indent + "    ",
            break_on_hyphens=False,
            break_long_words=False,
        )
        for line in text.splitlines()
    )


def _print_infeasible(explanation: Infeasibility) -> None:
    from rich.markup import escape

    out.print(f"[red bold]plan {escape(explanation.plan)}: no assignment exists[/red bold]")
    for line in explanation.lines():
        out.print(escape(_wrap(line)))


@app.command()
def solve(  # noqa: PLR0917 - Typer passes every option as an argument
    plan_ref: PlanArg,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write the assignment to this .xlsx file.")
    ] = None,
    geojson: Annotated[
        Path | None, typer.Option("--geojson", help="Write units, mission areas and assignments as GeoJSON.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assignment as JSON.")] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="Seconds CP-SAT may search.")
    ] = 60.0,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="CP-SAT search workers (1: reproducible).")
    ] = 1,
) -> None:
    """Assign units to missions (CP-SAT): every mission covered, no duplication, law and capacity respected.

    Exit 0 with the assignment; 1 when no assignment exists, with which mission, law or missing capability
    blocks it and the smallest change that would make the plan feasible.
    """
    from kizuna.errors import Infeasible, InvalidQuery
    from kizuna.planning.assign import assignment_problem
    from kizuna.planning.assign import solve as run

    if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
        fail(f"--xlsx {xlsx}: the workbook is an .xlsx file", EXIT_USAGE)
    plan, frameworks = _load(plan_ref)
    try:
        with err.status(f"ruling on {plan.id}'s units and missions, then solving", spinner="dots") as status:
            problem = assignment_problem(plan, frameworks)
            status.update(f"CP-SAT: {len(problem.candidates):,} lawful (unit, mission) pairs")
            assignment = run(problem, time_limit_s=time_limit, workers=workers)
    except Infeasible as error:
        explanation = cast("Infeasibility", error.explanation)
        if as_json:
            typer.echo(json.dumps(_infeasible_json(explanation), indent=2))
        else:
            _print_infeasible(explanation)
        raise typer.Exit(EXIT_INVALID) from None
    except InvalidQuery as error:
        fail(str(error), EXIT_INVALID)
    if xlsx is not None:
        from kizuna.report.plan import write_assignment_xlsx

        write_assignment_xlsx(problem, assignment, xlsx)
    if geojson is not None:
        from kizuna.report.plan import assignment_geojson

        geojson.write_text(json.dumps(assignment_geojson(problem, assignment), indent=1), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(_assignment_json(problem, assignment), indent=2))
        return
    _print_assignment(plan, problem, assignment)
    for path in (xlsx, geojson):
        if path is not None:
            say_wrote(f"wrote {path}")


def _print_assignment(plan: Plan, problem: AssignmentProblem, assignment: Assignment) -> None:
    from rich.markup import escape

    from kizuna.report.plan import assignment_table

    out.print(f"[bold]{escape(plan.name)}[/bold]")
    out.print(
        f"D = {plan.d_day.isoformat()}; forces {escape(problem.forces.id)} "
        f"({len(problem.forces.units)} units)"
    )
    for table in assignment_table(plan, assignment):
        out.print(table)
    status = "optimal" if assignment.optimal else "feasible, not proven optimal (time limit)"
    out.print(
        _wrap(
            f"{len(assignment.rows)} assignments, cost {assignment.objective:,} ({status}); "
            f"{len(problem.candidates)} lawful (unit, mission) pairs, {len(problem.blocked)} excluded "
            f"(law, reach or time; --xlsx lists them with the rules that block them); CP-SAT "
            f"{assignment.wall_s:.2f} s"
        )
    )


def _assignment_json(problem: AssignmentProblem, assignment: Assignment) -> dict[str, Any]:
    return {
        "plan": assignment.plan,
        "feasible": True,
        "optimal": assignment.optimal,
        "objective": assignment.objective,
        "solver": assignment.solver,
        "wall_s": assignment.wall_s,
        "rows": [
            {
                "phase": r.phase,
                "mission": r.mission,
                "unit": r.unit,
                "brings": list(r.provides),
                "ready_h": r.time_h,
                "distance_km": r.distance_km,
                "cost": r.cost,
                "pinned": r.pinned,
            }
            for r in assignment.rows
        ],
        "blocked": [
            {
                "phase": b.phase,
                "mission": b.mission,
                "unit": b.unit,
                "why": b.kind,
                "reason": b.message,
                "missing": list(b.missing),
                "rule_ids": list(b.rule_ids),
                "citations": list(b.citations),
            }
            for b in problem.blocked
        ],
    }


def _infeasible_json(explanation: Infeasibility) -> dict[str, Any]:
    return {
        "plan": explanation.plan,
        "feasible": False,
        "shortfalls": [
            {
                "mission": s.mission,
                "phase": s.phase,
                "capability": s.capability,
                "count": s.count,
                "eligible": list(s.eligible),
                "blocked": [
                    {
                        "unit": b.unit,
                        "why": b.kind,
                        "reason": b.message,
                        "missing": list(b.missing),
                        "rule_ids": list(b.rule_ids),
                        "citations": list(b.citations),
                        "lawful_under": list(b.lawful_under),
                    }
                    for b in s.blocked
                ],
            }
            for s in explanation.shortfalls
        ],
        "conflict": list(explanation.conflict),
        "conflict_units": list(explanation.conflict_units),
        "changes": [
            {
                "kind": c.kind,
                "text": c.text,
                "mission": c.mission,
                "unit": c.unit,
                "phase": c.phase,
                "approval": c.approval,
            }
            for c in explanation.changes
        ],
        "explanation": explanation.lines(),
    }


@app.command()
def simulate(  # noqa: PLR0917 - Typer passes every option as an argument
    plan_ref: PlanArg,
    structure: Annotated[
        list[str] | None, typer.Option("--structure", "-s", help="Simulate only this structure (repeatable).")
    ] = None,
    replications: Annotated[int, typer.Option("-n", "--replications", min=1, help="Replications.")] = 10_000,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed gives the same result.")
    ] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes (default: every CPU).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcomes as JSON.")] = False,
) -> None:
    """Simulate the plan's decision points: P(made in time) per structure and who holds each up."""
    from kizuna.cli.simulate import _progress
    from kizuna.planning.decisions import plan_scenario
    from kizuna.report.plan import decision_holdups, decision_outcomes, decision_table
    from kizuna.sim import build_inputs, simulate_inputs
    from kizuna.sim.build import start_iso

    plan, _ = _load(plan_ref)
    scenario = plan_scenario(plan)
    if structure:
        for sid in structure:
            if sid not in scenario.structures:
                fail(
                    f"--structure {sid!r} is not compared by {plan.id}; "
                    f"known: {', '.join(scenario.structures)}"
                )
    inputs = build_inputs(scenario, structure)
    with _progress(f"simulating {plan.id}", replications * len(inputs), quiet=as_json) as advance:
        result = simulate_inputs(
            inputs,
            scenario=scenario.id,
            replications=replications,
            seed=seed,
            start=start_iso(scenario),
            workers=workers,
            progress=advance,
        )
        holdups = decision_holdups(inputs, plan.decision_by_id, seed=seed, replications=replications)
    outcomes = decision_outcomes(plan, result, holdups)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "plan": plan.id,
                    "replications": replications,
                    "seed": seed,
                    "outcomes": [dataclasses.asdict(o) for o in outcomes],
                },
                indent=2,
            )
        )
        return
    out.print(f"[bold]{plan.name}[/bold]")
    out.print(f"{replications:,} replications per structure, seed {seed}; times from filing")
    out.print(decision_table(outcomes))
    for sid, sres in result.structures.items():
        ranked = sorted(
            (o for o in sres.organizations.values() if math.isfinite(o.delay_share)),
            key=lambda o: -o.delay_share,
        )
        top = ", ".join(f"{o.organization} {100 * o.delay_share:.0f}%" for o in ranked[:3])
        out.print(_wrap(f"{sid}: largest share of the decisions' critical time: {top}"))


@app.command()
def exercise(
    plan_ref: PlanArg,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The scenario file to write (.yaml).")],
    decisions_only: Annotated[
        bool,
        typer.Option("--decisions-only", help="Only the decision points, not the assignment's taskings."),
    ] = False,
) -> None:
    """Write the plan as a scenario (decision points and the assignment's taskings) for an exercise."""
    from kizuna.errors import Infeasible, InvalidQuery
    from kizuna.model.scenario import check_scenario_file
    from kizuna.model.yamlfile import dump_yaml
    from kizuna.planning.assign import solve_plan
    from kizuna.planning.decisions import plan_scenario, scenario_document

    if out_file.suffix.lower() not in (".yaml", ".yml"):
        fail(f"--out {out_file}: the scenario is a YAML file (.yaml)", EXIT_USAGE)
    plan, frameworks = _load(plan_ref)
    assignment = None
    if not decisions_only:
        try:
            assignment = solve_plan(plan, frameworks)
        except Infeasible as error:
            _print_infeasible(cast("Infeasibility", error.explanation))
            err.print("no taskings without an assignment: fix the plan, or use --decisions-only")
            raise typer.Exit(EXIT_INVALID) from None
        except InvalidQuery as error:
            fail(str(error), EXIT_INVALID)
    scenario = plan_scenario(plan, assignment)
    header = f"# Scenario generated from plan {plan.id} by `kizuna plan exercise`.\n"
    out_file.write_text(header + dump_yaml(scenario_document(scenario)), encoding="utf-8")
    loaded, problems = check_scenario_file(out_file)
    if problems or loaded is None:  # pragma: no cover - the document is built from validated objects
        print_problems(problems)
        raise typer.Exit(EXIT_INVALID)
    say_wrote(
        f"wrote {out_file}: scenario {loaded.id} ({len(loaded.requests)} requests, {len(loaded.injects)} "
        f"injects, structures {', '.join(loaded.structures)})"
    )


def bench_plan(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    units: Annotated[int, typer.Option("--units", min=2, help="Units of the generated plan.")] = 500,
    missions: Annotated[int, typer.Option("--missions", min=1, help="Missions of the generated plan.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the generated plan.")] = 0,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1.0, help="Seconds each solver may use.")
    ] = 120.0,
) -> None:
    """Solve time: CP-SAT against a plain MILP (scipy's HiGHS) on the bundled plan and a generated one."""
    try:
        import scipy.optimize  # noqa: F401 - only to fail early with a clear message
    except ImportError:
        fail("kizuna bench plan needs SciPy for its reference: pip install 'kizuna[dev]'")
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from kizuna.planning.bench import run_bench

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as progress:
        task = progress.add_task("building", total=None)
        results = run_bench(
            units=units,
            missions=missions,
            seed=seed,
            time_limit_s=time_limit,
            phase=lambda name: progress.update(task, description=name),
        )
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in results], indent=2))
        return
    from rich.table import Table

    table = Table(title="plan: CP-SAT against a plain MILP (HiGHS), same run", title_justify="left")
    for name, justify in (
        ("problem", "left"),
        ("pairs", "right"),
        ("CP-SAT s", "right"),
        ("HiGHS s", "right"),
        ("objective", "right"),
        ("same", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "problem")  # type: ignore[arg-type]
    for r in results:
        same = "yes" if r.same_objective else ("both infeasible" if r.agree else "[red]no[/red]")
        table.add_row(
            f"{r.name} ({r.units} units, {r.missions} missions)",
            f"{r.pairs:,}",
            f"{r.cpsat_s:.2f}",
            f"{r.milp_s:.2f}",
            f"{r.cpsat_objective:,}" if r.cpsat_objective is not None else "—",
            same,
        )
    out.print(table)
    for r in results:
        out.print(
            _wrap(
                f"{r.name}: model build {r.build_s:.2f} s (law rulings and distances); "
                f"CP-SAT {r.cpsat_status}, HiGHS {r.milp_status}; load average {r.load_average:.1f}"
            )
        )
