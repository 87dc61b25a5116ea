"""The root `kizuna` command. Command groups live in their own modules and import heavy code lazily."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from kizuna import __version__
from kizuna.cli.help import KizunaGroup

app = typer.Typer(
    name="kizuna",
    cls=KizunaGroup,
    help="Kizuna: an alliance's crisis-response arrangement as working software.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

#: (command or group name, module, attribute). A group module defines `app`; a command module a function.
_GROUPS: list[tuple[str, str]] = [
    ("structure", "kizuna.cli.structure"),
    ("source", "kizuna.cli.source"),
    ("authority", "kizuna.cli.authority"),
    ("schema", "kizuna.cli.schema"),
    ("bench", "kizuna.cli.bench"),
    ("db", "kizuna.cli.db"),
    ("user", "kizuna.cli.user"),
    ("exercise", "kizuna.cli.exercise"),
    ("intel", "kizuna.cli.intel"),
    ("cot", "kizuna.cli.cot"),
    ("plan", "kizuna.cli.plan"),
]
_COMMANDS: list[tuple[str, str, str]] = [
    ("demo", "kizuna.cli.demo", "demo"),
    ("serve", "kizuna.cli.serve", "serve"),
    ("simulate", "kizuna.cli.simulate", "simulate"),
    ("sweep", "kizuna.cli.simulate", "sweep"),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kizuna {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Alliance structures, authority rulings, decision-path simulation and live coordination."""


for _name, _module in _GROUPS:
    _mod = importlib.import_module(_module)
    # the module docstring's first paragraph, joined: a line break of the source is not a sentence's end
    _summary = " ".join(_mod.__doc__.split("\n\n")[0].split()) if _mod.__doc__ else None
    app.add_typer(_mod.app, name=_name, help=_summary)
for _name, _module, _attr in _COMMANDS:
    app.command(_name)(getattr(importlib.import_module(_module), _attr))


def main() -> None:
    """Run the CLI; turn Kizuna's own errors into a clear message and exit code, never a traceback."""
    from kizuna.cli.console import fit_to_terminal
    from kizuna.errors import DataError, KizunaError

    fit_to_terminal()
    try:
        app()
    except DataError as error:
        from kizuna.cli.console import EXIT_INVALID, EXIT_USAGE, print_problems

        print_problems(error.problems)
        # a file that is not there is a usage error (2); a file that is there but invalid is 1
        missing = all(p.field == "file" and p.message == "no such file" for p in error.problems)
        sys.exit(EXIT_USAGE if missing else EXIT_INVALID)
    except KizunaError as error:
        from kizuna.cli.console import fail_message

        fail_message(str(error))
        sys.exit(2)
