"""Alliance structures: validate, list, show, diff, draw, and query chains of command and routes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kizuna.cli.console import EXIT_INVALID, EXIT_OK, EXIT_USAGE, err, fail, out, print_problems

app = typer.Typer(no_args_is_help=True)


@app.command()
def validate(
    files: Annotated[list[Path] | None, typer.Argument(help="Structure files to check.")] = None,
    all_bundled: Annotated[bool, typer.Option("--all", help="Check every bundled structure.")] = False,
) -> None:
    """Validate structure files: exit 0 when all are valid, 1 when any is not, 2 on usage errors."""
    from kizuna.model import bundled_dir, bundled_ids, check_structure_file

    paths = list(files or [])
    if all_bundled:
        paths += [bundled_dir() / f"{sid}.yaml" for sid in bundled_ids()]
    if not paths:
        fail("name one or more structure files, or --all", EXIT_USAGE)
    bad = 0
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file", EXIT_USAGE)
        structure, problems = check_structure_file(path)
        if problems:
            bad += 1
            print_problems(problems)
            err.print(f"[red]invalid[/red] {path}: {len(problems)} problem(s)")
        elif structure is not None:
            out.print(
                f"[green]valid[/green] {path}: {structure.id} ({len(structure.organizations)} organizations, "
                f"{len(structure.relations)} relations, {len(structure.sites)} sites)"
            )
    raise typer.Exit(EXIT_INVALID if bad else EXIT_OK)


@app.command("list")
def list_structures() -> None:
    """List the bundled structures with their eras."""
    from rich.table import Table

    from kizuna.model import bundled_ids, load_structure

    table = Table("id", "name", "valid from", "valid to", "organizations", "relations")
    for sid in bundled_ids():
        s = load_structure(sid)
        table.add_row(
            s.id + (" (hypothetical)" if s.hypothetical else ""),
            s.name,
            str(s.era.valid_from),
            str(s.era.valid_to or "-"),
            str(len(s.organizations)),
            str(len(s.relations)),
        )
    out.print(table)
