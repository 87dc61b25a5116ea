"""`kizuna plan` on the command line: readable tables, files written, clear errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli.app import app
from kizuna.model.scenario import load_scenario

runner = CliRunner()

INFEASIBLE = """\
id: sts-variant
name: BMD without the approvals it needs
forces: us-japan-2025
d_day: 2027-04-16T05:00:00+09:00
phases:
  - id: sts
    start: D-2
    situation: survival-threatening
    assumes: [nsc-deliberation, basic-response-plan, diet-prior-approval, prime-minister-order]
    flags: [in-response-plan]
    missions:
      - {id: bmd-okinawa-sts, kind: bmd, area: kadena, location: japan-territory,
         needs: [{capability: bmd, count: 3}], ready_within_h: 100}
"""


def kizuna(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real entry point (its error handling maps Kizuna errors to exit codes)."""
    code = "import sys; from kizuna.cli.app import main; sys.argv = ['kizuna', *sys.argv[1:]]; main()"
    env = {"COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, env=env
    )


def test_solve_prints_the_assignment_in_80_columns_and_writes_xlsx_and_geojson(tmp_path: Path) -> None:
    xlsx, geojson = tmp_path / "a.xlsx", tmp_path / "a.geojson"
    result = kizuna("plan", "solve", "nansei-2027", "--xlsx", str(xlsx), "--geojson", str(geojson))
    assert result.returncode == 0, result.stderr
    # every line fits 80 columns but the last two, which name the files written (paths are not cut)
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[-2:]] == ["wrote", "wrote"]
    assert max(len(line) for line in lines[:-2]) <= 80
    assert "defend-ishigaki" in result.stdout
    assert "yaeyama-area-security-force" in result.stdout
    assert "(optimal)" in result.stdout
    assert xlsx.is_file()
    assert json.loads(geojson.read_text(encoding="utf-8"))["type"] == "FeatureCollection"


def test_solve_json_lists_rows_and_blocked_pairs() -> None:
    result = runner.invoke(app, ["plan", "solve", "nansei-2027", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["feasible"] is True
    assert data["optimal"] is True
    assert {r["mission"] for r in data["rows"]} >= {"defend-ishigaki", "bmd-okinawa"}
    assert any(b["why"] == "law" and b["rule_ids"] for b in data["blocked"])


def test_an_infeasible_plan_exits_1_naming_the_law_and_the_change(tmp_path: Path) -> None:
    path = tmp_path / "variant.yaml"
    path.write_text(INFEASIBLE, encoding="utf-8")
    result = kizuna("plan", "solve", str(path))
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "no assignment exists" in out
    assert "bmd-destruction" in out  # the rule
    assert "82-3" in out  # the article
    assert "assume prime-minister-approval obtained in phase sts" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "Traceback" not in result.stderr
    data = json.loads(runner.invoke(app, ["plan", "solve", str(path), "--json"]).stdout)
    assert data["feasible"] is False
    assert {c["kind"] for c in data["changes"]} == {"grant"}


def test_bad_input_gets_a_clear_error_and_the_right_exit_code(tmp_path: Path) -> None:
    # Errors are wrapped to the terminal's 80 columns (at spaces: paths and ids are never cut), so the
    # text is compared with its whitespace normalized.
    def flat(text: str) -> str:
        return " ".join(text.split())

    missing = kizuna("plan", "solve", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert f"{tmp_path / 'nope.yaml'}: no such file" in flat(missing.stderr)
    unknown = kizuna("plan", "solve", "no-such-plan")
    assert unknown.returncode == 2
    assert "nansei-2027" in unknown.stderr  # the known ids
    broken = tmp_path / "broken.yaml"
    broken.write_text(INFEASIBLE.replace("kind: bmd", "kind: bmdd"), encoding="utf-8")
    invalid = kizuna("plan", "solve", str(broken))
    assert invalid.returncode == 1
    expected = f"{broken}:12: phases[sts].missions[bmd-okinawa-sts].kind: unknown mission kind"
    assert expected in flat(invalid.stderr)
    for result in (missing, unknown, invalid):
        assert "Traceback" not in result.stderr


def test_validate_and_list() -> None:
    result = runner.invoke(app, ["plan", "validate", "nansei-2027"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    listing = runner.invoke(app, ["plan", "list"])
    assert "nansei-2027" in listing.stdout
    assert "us-japan-2025" in listing.stdout


def test_simulate_gives_each_decision_point_its_probability_and_hold_up() -> None:
    result = kizuna("plan", "simulate", "nansei-2027", "-n", "300", "--workers", "1", "-s", "us-japan-2025")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "recognize-sts" in result.stdout
    assert "jp-diet" in result.stdout
    data = json.loads(
        runner.invoke(
            app,
            [
                "plan",
                "simulate",
                "nansei-2027",
                "-n",
                "200",
                "--workers",
                "1",
                "-s",
                "us-japan-2025",
                "--json",
            ],
        ).stdout
    )
    outcomes = {o["decision_point"]: o for o in data["outcomes"]}
    assert 0 <= outcomes["recognize-sts"]["p_in_time"] <= 1
    assert outcomes["designate-iis"]["held_up_by"]


def test_exercise_writes_a_scenario_the_loader_and_simulator_accept(tmp_path: Path) -> None:
    out = tmp_path / "exercise.yaml"
    result = runner.invoke(app, ["plan", "exercise", "nansei-2027", "--out", str(out)])
    assert result.exit_code == 0, result.output
    scenario = load_scenario(out)
    assert scenario.id == "nansei-2027-exercise"
    assert {"designate-iis", "recognize-sts"} <= set(scenario.request_by_id)
    assert len(scenario.requests) > len({"designate-iis"}) + 4  # decision points and taskings
    simulated = runner.invoke(app, ["simulate", str(out), "-n", "16", "--workers", "1", "--json"])
    assert simulated.exit_code == 0, simulated.output


def test_exercise_of_an_infeasible_plan_says_so(tmp_path: Path) -> None:
    path = tmp_path / "variant.yaml"
    path.write_text(INFEASIBLE, encoding="utf-8")
    result = runner.invoke(app, ["plan", "exercise", str(path), "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1
    assert "--decisions-only" in result.output


def test_bench_plan_runs_both_solvers_and_they_agree() -> None:
    result = runner.invoke(
        app, ["bench", "plan", "--units", "80", "--missions", "12", "--time-limit", "30", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["nansei-2027", "generated"]
    for row in rows:
        assert row["same_objective"], row
        assert row["cpsat_s"] > 0
        assert row["milp_s"] > 0


def test_the_plan_file_format_in_the_docs_loads(tmp_path: Path) -> None:
    """The example in docs/plans.md is a plan the loader accepts."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "plans.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(textwrap.dedent(example), encoding="utf-8")
    result = runner.invoke(app, ["plan", "validate", str(path)])
    assert result.exit_code == 0, result.output


def test_the_infeasible_listing_in_the_docs_is_what_the_command_prints() -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "plans.md").read_text(encoding="utf-8")
    command = "$ kizuna plan solve docs/examples/nansei-sts-variant.yaml\n"
    listing = text.split(command, 1)[1].split("```", 1)[0]
    code = "import sys; from kizuna.cli.app import main; sys.argv = ['kizuna', *sys.argv[1:]]; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "plan", "solve", "docs/examples/nansei-sts-variant.yaml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert result.stdout == listing
