"""The sources catalog: the documents the bundled data cites, by the key `source:` references use."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from kizuna.cli.console import EXIT_USAGE, fail, print_lines, print_table

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_sources(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON.")] = False,
) -> None:
    """List every document of the catalog: key, title, publisher and date, and whether it is official."""
    from kizuna.model.sources import catalog
    from kizuna.report.terminal import Column

    entries = sorted(catalog().values(), key=lambda s: s.key)
    if as_json:
        import json

        typer.echo(json.dumps({s.key: s.to_json() for s in entries}, indent=2, ensure_ascii=False))
        return
    print_table(
        [Column("key", key=True), Column("document", wrap=True), Column("official text")],
        [[s.key, escape(s.describe()), "yes" if s.official else "no"] for s in entries],
    )


@app.command()
def show(
    key: Annotated[str, typer.Argument(metavar="KEY", help="A source key, e.g. DOJ24 (any case).")],
) -> None:
    """Show one document of the catalog in full: title, publisher, date, URL, other copies and notes."""
    from kizuna.errors import UnknownId
    from kizuna.model.sources import catalog

    entries = catalog()
    found = entries.get(key) or {k.casefold(): v for k, v in entries.items()}.get(key.casefold())
    if found is None:
        fail(str(UnknownId("source key", key, entries)), EXIT_USAGE)
    lines = [f"[bold]{escape(found.key)}[/bold]  {escape(found.describe())}"]
    if found.url:
        lines.append(
            f"  {escape(found.url)}" + ("" if found.official else "  [dim](not an official text)[/dim]")
        )
    lines += [f"  also: {escape(url)}" for url in found.also]
    if found.note:
        lines.append(f"  note: {escape(' '.join(found.note.split()))}")
    print_lines(lines)
