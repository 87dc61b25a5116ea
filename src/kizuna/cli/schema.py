"""JSON Schemas of Kizuna's file formats, for editors that validate YAML as you type."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
