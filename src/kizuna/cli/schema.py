"""JSON Schemas of Kizuna's file formats, for editors that validate YAML as you type."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def structure() -> None:
    """Print the JSON Schema of a structure file (base, or derived with extends/add/change/remove).

    Save it and point your editor's YAML support at it, e.g. a first line
    `# yaml-language-server: $schema=structure.schema.json` in the structure file.
    """
    import json

    from kizuna.model.schema import structure_file_schema

    typer.echo(json.dumps(structure_file_schema(), indent=2, ensure_ascii=False))
