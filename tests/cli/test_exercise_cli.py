"""`kizuna exercise msel ...` and `kizuna exercise aar` on the command line: exit codes, files, problems."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli.app import app
from kizuna.model import load_scenario

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "taiwan-contingency-msel.csv"


def test_the_example_msel_checks_and_becomes_a_scenario_that_loads(tmp_path: Path) -> None:
    checked = runner.invoke(
        app, ["exercise", "msel", "check", str(EXAMPLE), "--scenario", "taiwan-contingency"]
    )
    assert checked.exit_code == 0, checked.output
    assert "13 injects (5 file requests)" in " ".join(checked.stdout.split())  # lines wrap at the width
    out = tmp_path / "from-msel.yaml"
    made = runner.invoke(
        app,
        [
            "exercise",
            "msel",
            "to-scenario",
            str(EXAMPLE),
            "--scenario",
            "taiwan-contingency",
            "--out",
            str(out),
        ],
    )
    assert made.exit_code == 0, made.output
    assert len(load_scenario(out).injects) == 13


def test_a_bad_msel_exits_1_listing_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Serial,Time,Event,To\n1,D-1 05:00,early,usfj\n1,D+0 06:00,dup,nowhere\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["exercise", "msel", "check", str(bad), "--scenario", "taiwan-contingency"])
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())  # each problem wraps at the terminal's width
    assert "3 problem(s); nothing imported" in said
    assert "bad.csv:3: column D (to): unknown organization (got 'nowhere')" in said


def test_from_scenario_writes_an_msel_and_usage_errors_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "msel.xlsx"
    made = runner.invoke(app, ["exercise", "msel", "from-scenario", "senkaku-gray-zone", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert out.is_file()
    wrong = runner.invoke(app, ["exercise", "msel", "from-scenario", "senkaku-gray-zone", "--out", "x.txt"])
    assert wrong.exit_code == 2
    missing = runner.invoke(app, ["exercise", "aar", "nope", "--url", f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 2
    speed = runner.invoke(app, ["exercise", "run", "taiwan-contingency", "--speed", "9000"])
    assert speed.exit_code == 2
