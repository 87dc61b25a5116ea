"""Exercises: play a scenario with synthetic players, review it, and work with MSELs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.cli.console import EXIT_INVALID, EXIT_USAGE, err, fail, out, print_problems, say_wrote

if TYPE_CHECKING:
    from kizuna.exercise.aar import Review

app = typer.Typer(no_args_is_help=True)
msel_app = typer.Typer(no_args_is_help=True)
app.add_typer(msel_app, name="msel", help="Check an MSEL, make one from a scenario, or a scenario from one.")


def _mapping(items: list[str] | None) -> dict[str, str]:
    out_: dict[str, str] = {}
    for item in items or []:
        header, sep, field = item.rpartition("=")
        if not sep or not header or not field:
            fail(f"--map {item!r}: write HEADER=FIELD (e.g. 'DTG (Z)=time')", EXIT_USAGE)
        out_[header] = field
    return out_


def _speed(text: str) -> float | None:
    if text.lower() in {"max", "step", "stepped"}:
        return None
    try:
        value = float(text.rstrip("xX"))
    except ValueError:
        fail(f"--speed {text!r}: a number from 1 to 3600, or max", EXIT_USAGE)
    if not 1 <= value <= 3600:
        fail(f"--speed {value:g}: the clock runs at 1x to 3600x (or max: stepped)", EXIT_USAGE)
    return value


@app.command("run")
def run(  # noqa: PLR0917 - Typer passes every option as an argument
    scenario: Annotated[str, typer.Argument(help="A bundled scenario id or a scenario file.")],
    play: Annotated[
        list[str] | None, typer.Option("--play", help="An organization the bots play (repeatable), or all.")
    ] = None,
    speed: Annotated[
        str, typer.Option(help="Clock speed, 1 to 3600; max steps the clock from one due action to the next.")
    ] = "3600",
    structure: Annotated[str | None, typer.Option(help="Default: the scenario's first structure.")] = None,
    situation: Annotated[str, typer.Option(help="The situation the exercise opens in.")] = "peacetime",
    seed: Annotated[int, typer.Option(help="Seed of the bots' draws and of the review's simulation.")] = 0,
    exercise_id: Annotated[str | None, typer.Option("--id", help="The exercise id.")] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Database URL (default: a new SQLite file).")
    ] = None,
    replications: Annotated[
        int, typer.Option("-n", min=100, help="Replications the review simulates.")
    ] = 2000,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the review goes.")] = Path("out"),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write the review as PDF.")] = False,
) -> None:
    """Play a scenario with synthetic players through the live service; end with the after-action review."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kizuna.exercise.players import PlayerConfig
    from kizuna.model.scenario import load_scenario
    from kizuna.service.exercise_runner import Progress as RunProgress
    from kizuna.service.exercise_runner import run_exercise

    loaded = load_scenario(scenario)
    if loaded.network is not None:
        fail(f"{loaded.id} is a queueing network; an exercise plays an organizational scenario", EXIT_USAGE)
    clock = _speed(speed)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("H+{task.completed:.0f}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with bar:
        task = bar.add_task(f"playing {loaded.id}", total=None)

        def progress(p: RunProgress) -> None:
            bar.update(
                task,
                completed=p.hours,
                total=p.until_h,
                description=f"{p.filings} filed, {p.actions} steps",
            )

        result = run_exercise(
            loaded,
            play_=play or ["all"],
            speed=clock,
            structure=structure,
            situation=situation,
            exercise_id=exercise_id,
            database_url=url,
            data_dir=out_dir if url is None else None,
            config=PlayerConfig(seed=seed),
            progress=progress,
        )
    team = result.team
    out.print(
        f"exercise {result.exercise}: {team.filings} filings and {team.actions} steps by bots of "
        f"{len(result.played)} organizations; H+{result.hours:.1f} in {result.wall_s:.0f} s"
        + (f" at {clock:g}x" if clock else " (stepped clock)")
    )
    for error in team.errors[:10]:
        err.print(f"[yellow]bot[/yellow] {error}", markup=True)
    out.print(f"database: {result.database_url}")
    _review(result.database_url, result.exercise, out_dir, replications=replications, seed=seed, pdf=pdf)


def _review(url: str, exercise: str, out_dir: Path, *, replications: int, seed: int, pdf: bool) -> None:
    from kizuna.exercise.aar import log_of, review_and_calibration
    from kizuna.exercise.review_report import write_html, write_pdf, write_xlsx
    from kizuna.interop import write_scenario
    from kizuna.store import open_store

    with err.status("building the after-action review (simulating the same exercise)..."):
        with open_store(url, listen=False) as store:
            log = log_of(store)
        review, calibration = review_and_calibration(log, exercise, replications=replications, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    banner = "EXERCISE"
    written = [
        write_html(review, out_dir / f"{exercise}-aar.html", banner=banner),
        write_xlsx(review, out_dir / f"{exercise}-aar.xlsx", banner=banner),
    ]
    if pdf:
        written.append(write_pdf(review, out_dir / f"{exercise}-aar.pdf", banner=banner))
    written.append(
        write_scenario(
            calibration.scenario,
            out_dir / f"{exercise}-calibrated.yaml",
            header=f"Calibrated from exercise {exercise} (kizuna exercise aar).",
        )
    )
    _print_review(review)
    for path in written:
        say_wrote(f"wrote {path}")


def _print_review(review: Review) -> None:
    from rich.table import Table

    verdict = "agree" if review.agrees else "DISAGREE"
    out.print(
        f"[bold]{review.name}[/bold]: measured against {review.replications:,} simulated replications: "
        f"{verdict} ({sum(t.reject for t in review.tests)} of {len(review.tests)} tests reject at "
        f"{100 * review.level:g}% family-wise)"
    )
    table = Table()
    for name in ("request", "of", "measured", "sim p50", "pct", "in 90%"):
        table.add_column(name, no_wrap=name != "request")
    for c in review.paths[:40]:
        measured = "—" if c.measured_h is None else f"{c.measured_h:.1f} h"
        rank = "—" if c.percentile is None else f"{100 * c.percentile:.0f}"
        inside = "—" if c.inside_90 is None else ("yes" if c.inside_90 else "no")
        table.add_row(c.request, c.step, measured, f"{c.simulated.p50:.1f} h", rank, inside)
    out.print(table)
    if review.tests:
        tests = Table()
        for name in ("request", "step", "n", "KS D", "KS p", "verdict"):
            tests.add_column(name, no_wrap=name != "step")
        for t in review.tests:
            tests.add_row(
                t.request,
                t.step,
                str(t.n_measured),
                f"{t.ks_statistic:.3f}",
                f"{t.ks_p:.3f}",
                "rejects" if t.reject else "agrees",
            )
        out.print(tests)


@app.command("aar")
def aar(  # noqa: PLR0917 - Typer passes every option as an argument
    exercise: Annotated[str, typer.Argument(help="The exercise id.")],
    url: Annotated[
        str | None, typer.Option("--url", help="Database URL (default: KIZUNA_DATABASE_URL).")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the review as HTML here.")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write the review as a workbook here.")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the review as PDF here.")] = None,
    calibrated: Annotated[
        Path | None, typer.Option("--calibrated", help="Write the calibrated scenario (YAML) here.")
    ] = None,
    replications: Annotated[int, typer.Option("-n", min=100, help="Replications to simulate.")] = 2000,
    seed: Annotated[int, typer.Option(help="The simulation's seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the review as JSON.")] = False,
) -> None:
    """The after-action review of an exercise: measured times beside the simulated ones, and calibration."""
    from kizuna.exercise.aar import log_of, review_and_calibration
    from kizuna.exercise.review_report import write_html, write_pdf, write_xlsx
    from kizuna.interop import write_scenario
    from kizuna.settings import get_settings
    from kizuna.store import open_store

    database = url or get_settings().resolved_database_url()
    if database.startswith("sqlite:///") and not Path(database.removeprefix("sqlite:///")).is_file():
        fail(f"no database at {database}", EXIT_USAGE)
    for path, suffix in ((html, ".html"), (xlsx, ".xlsx"), (pdf, ".pdf"), (calibrated, ".yaml")):
        if path is not None and path.suffix.lower() != suffix:
            fail(f"{path}: expected a {suffix} file", EXIT_USAGE)
    with err.status("building the after-action review (simulating the same exercise)..."):
        with open_store(database, listen=False) as store:
            log = log_of(store)
        review, calibration = review_and_calibration(log, exercise, replications=replications, seed=seed)
    if as_json:
        typer.echo(review.model_dump_json(indent=1))
    else:
        _print_review(review)
    for path, write in ((html, write_html), (xlsx, write_xlsx), (pdf, write_pdf)):
        if path is not None:
            write(review, path)
            say_wrote(f"wrote {path}", console=err)
    if calibrated is not None:
        write_scenario(calibration.scenario, calibrated, header=f"Calibrated from exercise {exercise}.")
        say_wrote(f"wrote {calibrated}", console=err)


@msel_app.command("check")
def msel_check(  # noqa: PLR0917 - Typer passes every option as an argument
    file: Annotated[Path, typer.Argument(help="The MSEL (.xlsx or .csv).")],
    scenario: Annotated[str, typer.Option(help="The scenario it belongs to (start, requests).")],
    structure: Annotated[
        str | None,
        typer.Option(help="Check recipients against this structure (default: any of the scenario's)."),
    ] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="HEADER=FIELD for another layout (repeatable).")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="The sheet (default: the first).")] = None,
    owner: Annotated[str | None, typer.Option(help="The nation bare markings belong to.")] = None,
) -> None:
    """Check every row of an MSEL (exit 0 valid, 1 invalid: every problem with sheet, row and column)."""
    import time

    from kizuna.errors import DataError
    from kizuna.interop import read_msel
    from kizuna.model import load_scenario

    if not file.is_file():
        fail(f"no such file: {file}", EXIT_USAGE)
    loaded = load_scenario(scenario)
    started = time.perf_counter()
    try:
        msel = read_msel(
            file,
            start=loaded.start,
            organizations=_organizations(loaded, structure),
            requests=[r.id for r in loaded.requests],
            mapping=_mapping(mapping),
            sheet=sheet,
            owner=owner,
        )
    except DataError as error:
        count = print_problems(error.problems)
        err.print(f"{count} problem(s); nothing imported")
        raise typer.Exit(EXIT_INVALID) from error
    requests = sum(1 for r in msel.rows if r.request)
    out.print(
        f"{file}: {len(msel.rows)} injects ({requests} file requests) from {msel.rows[0].time.isoformat()} "
        f"to {msel.rows[-1].time.isoformat()}, read in {time.perf_counter() - started:.1f} s"
        if msel.rows
        else f"{file}: no injects"
    )


def _organizations(scenario: Any, structure: str | None) -> set[str]:
    """The organizations an MSEL's recipients may be: of one structure, or of any the scenario compares."""
    from kizuna.model import load_structure

    refs = [structure] if structure else list(scenario.structures)
    return {org for ref in refs for org in load_structure(ref).org_by_id}


@msel_app.command("from-scenario")
def msel_from_scenario(
    scenario: Annotated[str, typer.Argument(help="A bundled scenario id or a scenario file.")],
    out_file: Annotated[Path, typer.Option("--out", help="The MSEL to write (.xlsx or .csv).")],
    structure: Annotated[str | None, typer.Option(help="Default: the scenario's first structure.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for arrival processes (an MSEL lists fixed times).")] = 0,
) -> None:
    """Write the MSEL of a scenario: a row per inject and per filing, to the organization that files it."""
    from kizuna.coordination import Law
    from kizuna.exercise.design import msel_for
    from kizuna.interop import write_msel
    from kizuna.model import load_scenario

    if out_file.suffix.lower() not in {".xlsx", ".csv"}:
        fail(f"--out {out_file}: an MSEL is .xlsx or .csv", EXIT_USAGE)
    loaded = load_scenario(scenario)
    msel = msel_for(loaded, structure or loaded.structures[0], Law(), seed=seed)
    write_msel(msel, out_file)
    say_wrote(f"wrote {out_file} ({len(msel.rows)} injects)")


@msel_app.command("to-scenario")
def msel_to_scenario(  # noqa: PLR0917 - Typer passes every option as an argument
    file: Annotated[Path, typer.Argument(help="The MSEL (.xlsx or .csv).")],
    base: Annotated[str, typer.Option("--scenario", help="The scenario giving structures and parameters.")],
    out_file: Annotated[Path, typer.Option("--out", help="The scenario to write (.yaml).")],
    mapping: Annotated[list[str] | None, typer.Option("--map", help="HEADER=FIELD (repeatable).")] = None,
    owner: Annotated[str | None, typer.Option(help="The nation bare markings belong to.")] = None,
    structure: Annotated[
        str | None, typer.Option(help="Check recipients against this structure only.")
    ] = None,
) -> None:
    """Turn an MSEL (with request rows) into a scenario file that `kizuna simulate` runs."""
    from kizuna.errors import DataError
    from kizuna.interop import read_msel, scenario_from_msel, write_scenario
    from kizuna.model import load_scenario

    if not file.is_file():
        fail(f"no such file: {file}", EXIT_USAGE)
    if out_file.suffix.lower() not in {".yaml", ".yml"}:
        fail(f"--out {out_file}: a scenario is a .yaml file", EXIT_USAGE)
    loaded = load_scenario(base)
    try:
        msel = read_msel(
            file,
            start=loaded.start,
            organizations=_organizations(loaded, structure),
            requests=[r.id for r in loaded.requests],
            mapping=_mapping(mapping),
            owner=owner,
        )
    except DataError as error:
        count = print_problems(error.problems)
        err.print(f"{count} problem(s); nothing written")
        raise typer.Exit(EXIT_INVALID) from error
    made = scenario_from_msel(msel, loaded)
    write_scenario(made, out_file, header=f"Made from the MSEL {file} with the parameters of {loaded.id}.")
    load_scenario(out_file)  # the written file loads and validates
    say_wrote(f"wrote {out_file} ({len(made.injects)} injects, {len(made.requests)} requests)")


def bench_exercise(
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    filings: Annotated[int, typer.Option(min=2, max=2000, help="Filings the bots play at top speed.")] = 20,
    events: Annotated[
        int, typer.Option(min=100, max=200_000, help="Events in the reviewed exercise.")
    ] = 10_000,
    realtime: Annotated[
        bool, typer.Option("--realtime/--no-realtime", help="Also play taiwan-contingency at 3600x.")
    ] = True,
) -> None:
    """Bots at top speed (events/s), the review of 10,000 events, taiwan-contingency at 3600x."""
    import json

    from kizuna.service import exercise_bench

    with err.status("starting") as status:
        figures = exercise_bench.run(
            filings=filings, events=events, realtime=realtime, progress=status.update
        )
    if as_json:
        typer.echo(json.dumps(figures, indent=1, default=str))
        return
    bots, direct, review = figures["bots"], figures["direct"], figures["review"]
    out.print(f"Exercise benchmark ({figures['setup']['cpus']} CPUs, load {figures['setup']['load']:.1f})")
    out.print(
        f"  bots, stepped clock: {bots['events_per_s']:.1f} events/s ({bots['events']} events, "
        f"{bots['filings']} filings, {bots['wall_s']:.0f} s)"
    )
    out.print(
        f"  reference, one client carrying the same requests: {direct['events_per_s']:.1f} events/s "
        f"(bots at {bots['events_per_s'] / direct['events_per_s']:.2f}x)"
    )
    out.print(
        f"  review of {review['events']:,} events, {review['replications']:,} replications: "
        f"{review['build_s']:.1f} s; reference simulate: {review['simulate_s']:.1f} s "
        f"(ratio {review['ratio']:.1f})"
    )
    if "taiwan" in figures:
        t = figures["taiwan"]
        out.print(
            f"  taiwan-contingency at {t['speed']:g}x: H+{t['hours']:.0f} in {t['wall_s']:.0f} s against "
            f"{t['ideal_s']:.0f} s of exercise time at that speed: ratio {t['ratio']:.2f}"
        )


@app.command("bots")
def bots(
    play: Annotated[list[str], typer.Option("--play", help="An organization the bots play (repeatable).")],
    structure: Annotated[str, typer.Option(help="The exercise's structure.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where the bots' API tokens go (JSON).")],
    url: Annotated[
        str | None, typer.Option("--url", help="Database URL (default: KIZUNA_DATABASE_URL).")
    ] = None,
) -> None:
    """Add users for synthetic players (an operator and an approver per organization); write their tokens."""
    import json

    from kizuna.service import open_runtime
    from kizuna.service.exercise_runner import bot_users
    from kizuna.settings import get_settings
    from kizuna.store import system_clock

    settings = get_settings()
    if url is not None:
        settings = settings.model_copy(update={"database_url": url})
    runtime = open_runtime(settings, system_clock)
    try:
        tokens = bot_users(runtime, structure, play)
    finally:
        runtime.close()
    out_file.write_text(json.dumps(tokens, indent=1), encoding="utf-8")
    out_file.chmod(0o600)
    say_wrote(f"wrote {out_file}: tokens of {2 * len(tokens)} bot users (keep it private)")


@app.command("play")
def play_live(
    exercise: Annotated[str, typer.Argument(help="The exercise id.")],
    service: Annotated[
        str, typer.Option("--service", help="The service's base URL (http://127.0.0.1:8000).")
    ],
    tokens: Annotated[Path, typer.Option("--tokens", help="The bots' tokens (kizuna exercise bots).")],
    until: Annotated[float, typer.Option("--until", help="Stop at this exercise hour (H+).")],
    seed: Annotated[int, typer.Option(help="Seed of the bots' draws.")] = 0,
) -> None:
    """Let bots play their organizations of a running exercise (people play the others) until H+`until`."""
    import json

    from kizuna.exercise.players import PlayerConfig
    from kizuna.service.exercise_runner import play_against

    if not tokens.is_file():
        fail(f"no such file: {tokens}", EXIT_USAGE)
    with err.status(f"bots playing {exercise}") as status:
        result = play_against(
            service,
            exercise,
            json.loads(tokens.read_text(encoding="utf-8")),
            config=PlayerConfig(seed=seed),
            until_h=until,
            progress=lambda p: status.update(f"H+{p.hours:.1f}: {p.filings} filed, {p.actions} steps"),
        )
    out.print(f"bots: {result.filings} filings, {result.actions} steps in {result.wall_s:.0f} s")
    for error in result.errors[:10]:
        err.print(f"bot {error}", markup=False)
