"""Shared terminal output for CLI commands: one stdout and one stderr console, and problem listings."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from kizuna.errors import Problem

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: Exit codes shared by every command.
EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def fit_to_terminal() -> None:
    """Size both consoles to this invocation's terminal (or COLUMNS), not to the first import's.

    Rich fixes a console's width at construction when COLUMNS is set then; a long-lived process (tests,
    the service) that runs several commands must see each command's own width.
    """
    columns = shutil.get_terminal_size().columns
    for console in (out, err):
        console.width = columns


def print_problems(problems: Iterable[Problem]) -> int:
    """Print problems to stderr, one a line, and return how many there were."""
    count = 0
    for problem in problems:
        err.print(f"[red]error[/red] {escape(str(problem))}")
        count += 1
    return count


def fail_message(message: str) -> None:
    """Print an error message to stderr."""
    err.print(f"[red]error[/red] {escape(message)}")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print an error message to stderr and exit with `code`."""
    fail_message(message)
    raise typer.Exit(code)
