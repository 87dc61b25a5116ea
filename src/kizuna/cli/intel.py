"""Intelligence fusion: synthetic pictures (validate, score against truth) and a live picture feed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.cli.console import EXIT_INVALID, EXIT_OK, EXIT_USAGE, err, fail, out, print_problems

if TYPE_CHECKING:
    from kizuna.intel.synthetic import PictureFile

app = typer.Typer(no_args_is_help=True)


def _load(ref: str) -> PictureFile:
    from kizuna.errors import DataError, UnknownId
    from kizuna.intel.synthetic import load_picture

    try:
        return load_picture(ref)
    except UnknownId as error:
        fail(f"{error} (or give a path to a picture file)", EXIT_USAGE)
    except DataError as error:
        print_problems(error.problems)
        raise typer.Exit(EXIT_INVALID) from None


@app.command("pictures")
def list_pictures() -> None:
    """List the bundled synthetic pictures."""
    from kizuna.model import bundled_ids

    for picture_id in bundled_ids("pictures"):
        picture = _load(picture_id)
        count = len(picture.targets) + sum(g.count for g in picture.groups)
        out.print(f"{picture.id}: {picture.name}")
        out.print(f"  {count} targets, {len(picture.sensors)} sensors, {picture.duration_s:g} s")


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Picture files to check.")]) -> None:
    """Validate picture files: exit 0 when all are valid, 1 when any is not, 2 on usage errors."""
    from kizuna.intel.synthetic import check_picture_file

    bad = 0
    for path in files:
        if not path.exists():
            fail(f"{path}: no such file", EXIT_USAGE)
        picture, problems = check_picture_file(path)
        if problems:
            bad += 1
            print_problems(problems)
            err.print(f"[red]invalid[/red] {path}: {len(problems)} problem(s)")
        elif picture is not None:
            out.print(f"[green]valid[/green] {path}: {picture.id} ({len(picture.sensors)} sensors)")
    raise typer.Exit(EXIT_INVALID if bad else EXIT_OK)


@app.command()
def score(
    *,
    picture: Annotated[str, typer.Argument(help="A bundled picture id or a picture file.")],
    audience: Annotated[
        list[str] | None,
        typer.Option(help="Audience(s), e.g. JPN@secret (default: those the markings present call for)."),
    ] = None,
    every: Annotated[int, typer.Option(min=1, help="Score every n-th fused scan.")] = 5,
    cutoff: Annotated[float, typer.Option(min=1, help="GOSPA cutoff c (m).")] = 5_000.0,
    warmup: Annotated[float, typer.Option(min=0, help="Seconds before the steady state.")] = 60.0,
    seed: Annotated[int | None, typer.Option(help="Another seed than the file's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Fuse a picture per audience and score it against the truth (GOSPA), beside the prediction."""
    import json

    from kizuna.intel import Audience, audiences_of
    from kizuna.intel.scoring import score_picture

    loaded = _load(picture)
    chosen = (
        [Audience.parse(a) for a in audience]
        if audience
        else audiences_of(s.to_marking() for s in loaded.sensors)
    )
    results: list[dict[str, Any]] = []
    with err.status("Fusing and scoring..."):
        for one in chosen:
            result = score_picture(
                loaded, audience=one, every=every, cutoff_m=cutoff, warmup_s=warmup, seed=seed
            )
            low, high = result.consistency_bounds()
            results.append(
                {
                    "audience": result.audience,
                    "sensors": list(result.sensors),
                    "gospa_m": result.mean_gospa_m,
                    "predicted_m": result.predicted_gospa_m,
                    "consistency": result.consistency,
                    "consistency_bounds": [low, high],
                    "missed_rate": result.missed_rate,
                    "false_rate": result.false_rate,
                    "samples": result.samples,
                }
            )
    if as_json:
        out.print_json(json.dumps({"picture": loaded.id, "cutoff_m": cutoff, "audiences": results}))
        return
    out.print(f"{loaded.id}: GOSPA (c = {cutoff:g} m, p = 2) after {warmup:g} s")
    for r in results:
        out.print(f"  {r['audience']}: {', '.join(r['sensors'])}")
        out.print(
            f"    GOSPA {r['gospa_m']:.0f} m (predicted {r['predicted_m']:.0f} m); "
            f"error/predicted {r['consistency']:.2f}"
        )
        out.print(f"    missed {r['missed_rate']:.2%}, false {r['false_rate']:.2%} of targets")


@app.command()
def feed(
    *,
    picture: Annotated[str, typer.Argument(help="A bundled picture id or a picture file.")],
    crisis: Annotated[str, typer.Option(help="The crisis the sensors report in.")],
    url: Annotated[
        str | None, typer.Option(help="Database URL (default: KIZUNA_DATABASE_URL or SQLite).")
    ] = None,
    speed: Annotated[float, typer.Option(min=0.1, max=100, help="Play faster than real time.")] = 1.0,
    rounds: Annotated[int | None, typer.Option(min=1, help="Stop after this many plays.")] = None,
    user: Annotated[
        list[str] | None, typer.Option("--as", help="NATION=USER who files for that nation's sensors.")
    ] = None,
) -> None:
    """Play a picture's sensors into a crisis of the live store, scan by scan, until Ctrl-C."""
    import time

    from kizuna.access import Role
    from kizuna.intel import IntelDesk
    from kizuna.intel.feed import PictureFeed
    from kizuna.service import open_runtime
    from kizuna.settings import get_settings
    from kizuna.store import system_clock

    loaded = _load(picture)
    settings = get_settings()
    if url is not None:
        settings = settings.model_copy(update={"database_url": url})
    runtime = open_runtime(settings, system_clock)
    try:
        chosen = dict(item.split("=", 1) for item in user or [] if "=" in item)
        users = {}
        for nation in sorted({s.nation for s in loaded.sensors}):
            candidates = [
                u
                for u in runtime.directory.users()
                if u.nation == nation and u.active and u.role in {Role.OPERATOR, Role.APPROVER}
            ]
            if nation in chosen:
                candidates = [runtime.directory.get(chosen[nation])]
            if not candidates:
                fail(
                    f"no operator or approver of {nation} to file its sensors' scans (use --as {nation}=USER)"
                )
            users[nation] = candidates[0]
        coordinator = runtime.coordinator
        desk = IntelDesk(
            runtime.store,
            clock=system_clock,
            crisis_marking=lambda u, c: coordinator.crisis(u, c).marking,
        )
        player = PictureFeed(
            desk,
            loaded,
            crisis,
            users,
            now=system_clock,
            speed=speed,
            rounds=rounds,
            on_error=lambda error: err.print(f"[yellow]refused[/yellow] {error}"),
        ).start()
        err.print(f"Feeding {loaded.id} into {crisis} at {speed:g}x (Ctrl-C stops)")
        try:
            while player.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            player.stop()
        out.print(f"filed {player.filed} scans")
    finally:
        runtime.close()
