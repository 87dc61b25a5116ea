"""Help for people: every option's value is named as a word, flags show no placeholder at all.

Typer names an option's value after its Python type (`<bool>`, `<list[str]>`, `<int range>`). The root
command group walks every command before it parses a command line and gives each parameter a metavar a reader
understands: `N` for a whole number, `X` for a number, `FILE` for a path, the choices for a choice, the
option's own name (`--situation SITUATION`) otherwise, and nothing for a flag. A metavar a command sets
itself is kept. Docstrings are rendered as Markdown (app.py), so a paragraph reflows to the terminal
instead of keeping the line breaks of the source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.core import TyperArgument, TyperGroup, TyperOption


def humanize(command: Any) -> None:
    """Name every parameter's value of `command` and its subcommands as a word (see the module doc)."""
    for param in command.params:
        if isinstance(param, TyperOption):
            if param.is_flag or param.count:
                param.metavar = ""
            elif param.metavar is None:
                param.metavar = _metavar(param)
        elif isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = (param.name or "value").upper().replace("_", "-")
            # the argument's name already says what it is: no type column beside it
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    if not getattr(command, "_kizuna_help", False):  # --help is built on first use: flag it then
        original = command.get_help_option

        def help_option(ctx: Any) -> Any:
            option = original(ctx)
            if option is not None:
                option.metavar = ""
            return option

        command.get_help_option = help_option
        command._kizuna_help = True
    for sub in getattr(command, "commands", {}).values():
        humanize(sub)


def _no_type(ctx: Any) -> None:
    """Show no type beside an argument."""


def _metavar(option: TyperOption) -> str:
    desc = option.type_descriptor
    annotation = desc.annotation
    if desc.is_list:
        annotation = desc.annotation.__args__[0]
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    if annotation is int:
        return "N"
    if annotation is float:
        return "X"
    if desc.is_path or annotation is Path:
        return "FILE"
    name = max(option.opts, key=len).lstrip("-")
    return name.upper()


class KizunaGroup(TyperGroup):
    """The root command group: names every parameter's value in words before it parses a command line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Humanize the whole command tree (built by now), then run as Click does."""
        humanize(self)
        return super().main(*args, **kwargs)
