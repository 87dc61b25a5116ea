"""`kizuna simulate` and `kizuna sweep` on the command line: JSON shapes, reports, plots and usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli.app import app

runner = CliRunner()


def kizuna(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real entry point (its error handling maps Kizuna errors to exit codes)."""
    code = "import sys; from kizuna.cli.app import main; sys.argv = ['kizuna', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)


def test_simulate_json_has_the_documented_shape() -> None:
    result = runner.invoke(app, ["simulate", "dprk-missile-launch", "-n", "64", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"scenario", "replications", "seed", "structures"} <= set(data)
    assert data["replications"] == 64
    for structure in data["structures"].values():
        for request in structure["requests"].values():
            assert {"mean_h", "p50_h", "p90_h", "p99_h", "p_deadline"} <= set(request)
        for org in structure["organizations"].values():
            assert {"utilization", "delay_share"} <= set(org)


def test_the_same_seed_gives_the_same_json() -> None:
    args = ["simulate", "senkaku-gray-zone", "-n", "32", "--workers", "1", "--json", "--seed", "7"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.stdout == second.stdout


def test_simulate_writes_the_report_and_prints_a_summary(tmp_path: Path) -> None:
    report = tmp_path / "out" / "okinawa.html"
    result = runner.invoke(
        app, ["simulate", "okinawa-earthquake", "-n", "32", "--workers", "1", "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert report.is_file()
    assert "sdf-disaster-relief" in result.stdout
    assert "bottlenecks" in result.stdout


def test_one_structure_can_be_simulated_alone() -> None:
    result = runner.invoke(
        app, ["simulate", "taiwan-contingency", "-n", "16", "--workers", "1", "-s", "us-japan-2015", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["structures"]) == ["us-japan-2015"]


def test_usage_errors_exit_2_with_a_message() -> None:
    unknown = kizuna("simulate", "no-such-scenario")
    assert unknown.returncode == 2
    assert "taiwan-contingency" in unknown.stderr
    structure = kizuna("simulate", "dprk-missile-launch", "-s", "us-rok")
    assert structure.returncode == 2
    assert "us-japan-2015" in structure.stderr
    report = kizuna("simulate", "dprk-missile-launch", "--report", "x.pdf")
    assert report.returncode == 2
    vary = kizuna("sweep", "dprk-missile-launch", "--vary", "organizations.msdf.servers")
    assert vary.returncode == 2
    assert "PARAM=LO:HI" in vary.stderr


def test_an_invalid_scenario_file_exits_1_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\nname: Bad\nstructures: [us-japan-2015]\nnetwork: 3\n", encoding="utf-8")
    done = kizuna("simulate", str(path))
    assert done.returncode == 1
    assert "bad.yaml" in done.stderr


def test_sweep_ranks_parameters_and_writes_the_tornado_plot(tmp_path: Path) -> None:
    plot = tmp_path / "tornado.png"
    result = runner.invoke(
        app,
        [
            "sweep",
            "senkaku-gray-zone",
            "--vary",
            "organizations.jp-cabinet.steps.approve.service.mean=0.25:3",
            "--vary",
            "links.same-country.delay.mean=1:60",
            "--design",
            "grid",
            "--levels",
            "2",
            "-n",
            "48",
            "--workers",
            "1",
            "--response",
            "maritime-security-op.decision.mean",
            "--plot",
            str(plot),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["points"]) == 4
    ranked = [r["parameter"] for r in data["ranking"]]
    assert set(ranked) == {
        "organizations.jp-cabinet.steps.approve.service.mean",
        "links.same-country.delay.mean",
    }
    assert plot.read_bytes().startswith(b"\x89PNG")
