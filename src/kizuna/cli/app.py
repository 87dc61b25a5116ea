"""The root `kizuna` command. Command groups live in their own modules and import heavy code lazily."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from kizuna import __version__

app = typer.Typer(
    name="kizuna",
    help="Kizuna: an alliance's crisis-response arrangement as working software.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

#: (command or group name, module, attribute). A group module defines `app`; a command module a function.
_GROUPS: list[tuple[str, str]] = [
    ("structure", "kizuna.cli.structure"),
    ("authority", "kizuna.cli.authority"),
    ("schema", "kizuna.cli.schema"),
    ("bench", "kizuna.cli.bench"),
    ("db", "kizuna.cli.db"),
    ("user", "kizuna.cli.user"),
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
    app.add_typer(_mod.app, name=_name, help=_mod.__doc__.splitlines()[0] if _mod.__doc__ else None)
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
        from kizuna.cli.console import print_problems

        print_problems(error.problems)
        sys.exit(1)
    except KizunaError as error:
        from kizuna.cli.console import fail_message

        fail_message(str(error))
        sys.exit(2)
