"""Help for people: values named in words, required options marked, paragraphs whole; README lists all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from kizuna.cli.app import app

README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()


def commands() -> list[tuple[str, ...]]:
    """Every command path of the CLI (`structure show`, `simulate`, ...)."""
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(root, ())
    return found


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_help_names_values_in_words(path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    for placeholder in ("<bool>", "<str>", "<int>", "<float>", "<path>", "<list[", "range>"):
        assert placeholder not in result.output, f"{' '.join(path)}: {placeholder}"


def test_required_options_are_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    result = runner.invoke(app, ["authority", "matrix", "--help"])
    assert "[required]" in result.output
    assert "--situation" in result.output


def test_paragraphs_reflow_instead_of_keeping_the_sources_line_breaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    text = runner.invoke(app, ["demo", "--help"]).output
    flat = " ".join(text.split())
    assert "serves the live coordination service on 127.0.0.1" in flat
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert not any(
        line in {"live", "coordination"} for line in lines
    )  # no one-word line left by a source break


def test_the_readme_lists_every_command() -> None:
    readme = README.read_text(encoding="utf-8")
    table = "\n".join(line for line in readme.splitlines() if line.startswith("| `kizuna "))
    for path in commands():
        head = "kizuna " + " ".join(path)
        group, _, name = head.rpartition(" ")
        pattern = re.escape(head) + r"\b|" + re.escape(group) + r" [^`]*\b" + re.escape(name) + r"\b"
        assert re.search(pattern, table), f"README does not list `{head}`"
