"""`kizuna bench fusion` runs end to end on a small load and says what it measured (no timing asserted)."""

from __future__ import annotations

from typer.testing import CliRunner

from kizuna.cli.app import app
from kizuna.intel import bench


def test_the_benchmark_derives_three_audiences_and_agrees_with_stone_soup() -> None:
    figures = bench.run(
        targets=20, sensors=4, seconds=6, reference_targets=6, reference_budget_s=2, check_scans=6
    )
    assert figures["setup"]["audiences"] == ["JPN@secret", "USA@secret", "JPN,USA@secret"]
    scans = {r["audience"]: r["scans"] for r in figures["engine"]["audiences"]}
    assert scans == {"JPN@secret": 18, "USA@secret": 18, "JPN,USA@secret": 12}  # three sensors, three, two
    assert figures["agreement"]["same_ids"]
    assert figures["agreement"]["max_state_diff"] < 1e-6
    assert figures["reference"]["stonesoup"]["scans"] >= 1


def test_the_command_prints_within_80_columns() -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "fusion",
            "--targets",
            "10",
            "--seconds",
            "5",
            "--reference-targets",
            "4",
            "--reference-budget",
            "1",
        ],
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0, result.output
    assert "real time" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
