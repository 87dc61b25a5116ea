"""Shared terminal output for CLI commands: one stdout and one stderr console, tables, lines, problems.

Everything a command prints goes through here so that it fits the terminal (style.md rule 17): tables
through `print_table` (a table when it fits, one block per row when it does not; ids are never cut),
lines through `print_lines` (long lines wrap at words under their own indentation), and plain prose
through the consoles, which wrap at words at the terminal's width.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from kizuna.errors import Problem

if TYPE_CHECKING:
    from kizuna.report.terminal import Column

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

#: Exit codes shared by every command: 0 ok, 1 invalid input or a failed check, 2 a usage error or a
#: missing file.
EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def fit_to_terminal() -> None:
    """Size both consoles to this invocation's terminal (or COLUMNS), not to the first import's.

    Rich fixes a console's width at construction when COLUMNS is set then; a long-lived process (tests,
    the service) that runs several commands must see each command's own width.
    """
    columns = shutil.get_terminal_size().columns
    for console in (out, err):
        console.width = columns


def plural(count: int, noun: str, many: str | None = None) -> str:
    """Return "1 problem" or "3 problems" (`many` for irregular plurals)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def print_table(
    columns: Sequence[Column],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    console: Console = out,
) -> None:
    """Print rows (Rich markup cells) as a table that fits the console, or in the long format."""
    from kizuna.report.terminal import fit_table

    console.print(fit_table(columns, rows, width=console.width, title=title))


def print_lines(lines: Iterable[str], *, console: Console = out) -> None:
    """Print markup lines; a line wider than the console wraps at words, indented under its own start."""
    from kizuna.report.terminal import wrap_markup

    for line in lines:
        for part in wrap_markup(line, console.width):
            console.print(part, soft_wrap=True)


def say_wrote(text: str, *, console: Console = out) -> None:
    """Print a `wrote PATH ...` line whole: a path is never cut or folded, however narrow the terminal
    (the line may exceed it, so it can be copied), and is not read as markup."""
    console.print(text, soft_wrap=True, markup=False, highlight=False)


def print_problems(problems: Iterable[Problem]) -> int:
    """Print problems to stderr, one a line (wrapped under itself), and return how many there were."""
    count = 0
    for problem in problems:
        print_lines([f"[red]error[/red] {escape(str(problem))}"], console=err)
        count += 1
    return count


def fail_message(message: str) -> None:
    """Print an error message to stderr."""
    print_lines([f"[red]error[/red] {escape(message)}"], console=err)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print an error message to stderr and exit with `code`."""
    fail_message(message)
    raise typer.Exit(code)
