"""Alliance structures: validate, list, show, diff, draw, and query chains of command and routes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from kizuna.cli.console import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    err,
    fail,
    out,
    plural,
    print_lines,
    print_problems,
    print_table,
    say_wrote,
)

if TYPE_CHECKING:
    from kizuna.model import Structure

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
            err.print(f"[red]invalid[/red] {path}: {plural(len(problems), 'problem')}")
        elif structure is not None:
            out.print(
                f"[green]valid[/green] {path}: {structure.id} ({len(structure.organizations)} organizations, "
                f"{len(structure.relations)} relations, {len(structure.sites)} sites)"
            )
    raise typer.Exit(EXIT_INVALID if bad else EXIT_OK)


@app.command("list")
def list_structures() -> None:
    """List the bundled structures with their eras."""
    from kizuna.model import bundled_ids, load_structure
    from kizuna.report.terminal import Column

    rows = []
    for sid in bundled_ids():
        s = load_structure(sid)
        name = escape(s.name)
        if s.hypothetical and "hypothetical" not in s.name:
            name += " [dim](hypothetical)[/dim]"
        era = f"{s.era.valid_from} → {s.era.valid_to or 'present'}"
        rows.append([s.id, name, era, str(len(s.organizations))])
    columns = [
        Column("id", key=True),
        Column("name", wrap=True),
        Column("era"),
        Column("orgs", justify="right"),
    ]
    print_table(columns, rows)


def _load(ref: str) -> Structure:
    """Load a structure by id or path; exit 2 naming the known ids, or 1 listing the file's problems."""
    from kizuna.errors import DataError, UnknownId
    from kizuna.model import load_structure

    try:
        return load_structure(ref)
    except UnknownId as error:
        fail(f"{error} (or give a path to a structure file)", EXIT_USAGE)
    except DataError as error:
        print_problems(error.problems)
        missing = all(p.field == "file" and p.message == "no such file" for p in error.problems)
        raise typer.Exit(EXIT_USAGE if missing else EXIT_INVALID) from None


def _check_org(structure: Structure, org_id: str) -> str:
    """Return the organization's id as the structure spells it (read without case); exit 2 if none."""
    if org_id in structure.org_by_id:
        return org_id
    folded = {o.casefold(): o for o in structure.org_by_id}
    if org_id.casefold() not in folded:
        from kizuna.errors import UnknownId

        fail(f"{structure.id}: {UnknownId('organization', org_id, structure.org_by_id)}", EXIT_USAGE)
    return folded[org_id.casefold()]


def _print_json(data: object) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def show(
    ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="A bundled structure id or a file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the structure's data as JSON.")] = False,
) -> None:
    """Show a structure: era, nations, organizations by nation and kind, relations, sites and zones."""
    structure = _load(ref)
    if as_json:
        _print_json(structure.to_data())
        return
    from rich.text import Text

    from kizuna.report.terminal import structure_tables

    for part in structure_tables(structure, width=out.width):
        out.print(part, soft_wrap=isinstance(part, Text))  # a URL longer than the line stays one token


@app.command()
def diff(
    before: Annotated[str, typer.Argument(metavar="A", help="The earlier structure (id or file).")],
    after: Annotated[str, typer.Argument(metavar="B", help="The later structure (id or file).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> None:
    """Compare two structures: organizations, relations and sites changed, operational authority moved."""
    from kizuna.model.diff import diff as structure_diff

    result = structure_diff(_load(before), _load(after))
    if as_json:
        _print_json(result.to_data())
        return
    from kizuna.report.terminal import diff_lines

    print_lines(diff_lines(result))


@app.command()
def graph(
    ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="A bundled structure id or a file.")],
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Where to write the chart: a .png, .svg or .pdf file."
        ),
    ],
    compare_with: Annotated[
        str | None,
        typer.Option(
            "--compare-with",
            metavar="ID|FILE",
            help="An earlier era: the chart uses the layout of both and marks what is new, gone or changed.",
        ),
    ] = None,
    lang: Annotated[
        str, typer.Option("--lang", metavar="en|ja", help="Label language: ja uses the Japanese names.")
    ] = "en",
) -> None:
    """Draw a structure as an org chart: nations side by side, bilateral bodies and their members between."""
    from kizuna.report.orgchart import FORMATS

    if out_file.suffix.lower() not in FORMATS:
        fail(f"--out must end in {', '.join(FORMATS)} (got {out_file.name!r})", EXIT_USAGE)
    if lang not in ("en", "ja"):
        fail(f"--lang is en or ja (got {lang!r})", EXIT_USAGE)
    structure = _load(ref)
    base = _load(compare_with) if compare_with else None
    from kizuna.report.orgchart import draw_orgchart

    path = draw_orgchart(structure, out_file, base=base, lang=lang)
    against = f"; changes marked against {base.id}" if base else ""
    say_wrote(f"wrote {path} ({structure.id}: {len(structure.organizations)} organizations{against})")


@app.command("map")
def map_(
    ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="A bundled structure id or a file.")],
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Where to write the map: .geojson (or .json) or .kml."
        ),
    ],
) -> None:
    """Write a structure's sites and the organizations at each as GeoJSON or KML, with their names."""
    from kizuna.interop.geo import MAP_FORMATS, write_structure_map

    if out_file.suffix.lower() not in MAP_FORMATS:
        fail(f"--out must end in {', '.join(MAP_FORMATS)} (got {out_file.name!r})", EXIT_USAGE)
    structure = _load(ref)
    path = write_structure_map(structure, out_file)
    located = sum(1 for o in structure.organizations if o.site)
    say_wrote(f"wrote {path} ({structure.id}: {len(structure.sites)} sites, {located} organizations placed)")


@app.command()
def chain(
    ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="A bundled structure id or a file.")],
    org: Annotated[str, typer.Argument(help="The organization id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the chain as JSON.")] = False,
) -> None:
    """Show an organization's chain of command, up to the top (operational command preferred)."""
    from kizuna.model.queries import chain_of_command

    structure = _load(ref)
    org = _check_org(structure, org)
    links = chain_of_command(structure, org)
    if as_json:
        _print_json(
            [{"subordinate": x.subordinate, "kind": x.kind.value, "superior": x.superior} for x in links]
        )
        return
    from kizuna.report.terminal import chain_lines

    print_lines(chain_lines(structure, org, links))


@app.command()
def route(
    ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="A bundled structure id or a file.")],
    org_a: Annotated[str, typer.Argument(help="Where the route starts (an organization id).")],
    org_b: Annotated[str, typer.Argument(help="Where it ends (an organization id).")],
    at: Annotated[
        str | None,
        typer.Option(help="Instant for the UTC offsets, ISO 8601 with zone (default: era start, 12:00 UTC)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the route as JSON.")] = False,
) -> None:
    """Show the coordination route between two organizations, with the time zones along it."""
    from datetime import datetime

    from kizuna.errors import KizunaError
    from kizuna.model.queries import coordination_route

    structure = _load(ref)
    org_a = _check_org(structure, org_a)
    org_b = _check_org(structure, org_b)
    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            fail(f"--at: not an ISO 8601 date-time: {at!r} (e.g. 2025-06-01T03:00+00:00)", EXIT_USAGE)
    try:
        result = coordination_route(structure, org_a, org_b, at=when)
    except KizunaError as error:
        fail(str(error), EXIT_USAGE)
    if as_json:
        _print_json(result.to_data())
        return
    from kizuna.report.terminal import route_lines

    print_lines([f"[bold]{structure.id}[/bold]: {org_a} → {org_b}", *route_lines(result)])
