"""The `kizuna` command line over structures: exit codes, messages, JSON forms, charts, the demo, start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuna.cli.app import app
from kizuna.model import load_structure
from kizuna.model.schema import structure_file_schema

FIXTURES = Path(__file__).resolve().parents[1] / "model" / "fixtures"
TWIN_2010, TWIN_2020 = str(FIXTURES / "twin-2010.yaml"), str(FIXTURES / "twin-2020.yaml")
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "structure"
runner = CliRunner()


def test_help_lists_the_command_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("structure", "schema", "demo"):
        assert group in result.stdout
    sub = runner.invoke(app, ["structure", "--help"])
    for command in ("validate", "list", "show", "diff", "graph", "chain", "route"):
        assert command in sub.stdout


def test_start_up_imports_nothing_heavy() -> None:
    heavy = ["numpy", "pandas", "matplotlib", "networkx", "sqlalchemy", "fastapi", "scipy"]
    code = f"import sys, json, kizuna.cli.app\nprint(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


# -- validate ---------------------------------------------------------------------------------------------


def test_validate_exits_0_for_valid_files() -> None:
    result = runner.invoke(app, ["structure", "validate", TWIN_2010, TWIN_2020])
    assert result.exit_code == 0
    assert result.stdout.count("valid") == 2


def test_validate_all_bundled() -> None:
    result = runner.invoke(app, ["structure", "validate", "--all"])
    assert result.exit_code == 0, result.stderr
    assert "us-japan-2015" in result.stdout


def test_a_dangling_reference_names_the_id_and_its_line_and_exits_1(tmp_path: Path) -> None:
    text = (
        Path(TWIN_2010)
        .read_text(encoding="utf-8")
        .replace(
            "{from: a-ocean, kind: member-of, to: coord-ops,",
            "{from: a-ocean, kind: member-of, to: coord-opz,",
        )
    )
    bad = tmp_path / "dangling.yaml"
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "coord-opz" in row)
    result = runner.invoke(app, ["structure", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:{line}:" in result.stderr
    assert "'coord-opz'" in result.stderr
    assert "unknown organization id" in result.stderr


def test_validate_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["structure", "validate"]).exit_code == 2
    missing = runner.invoke(app, ["structure", "validate", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr


# -- show, diff, chain, route, graph ----------------------------------------------------------------------


def test_unknown_structure_id_lists_the_known_ones_and_exits_2() -> None:
    for command in (["show", "nope"], ["diff", "nope", "us-japan-2015"], ["chain", "nope", "x"]):
        result = runner.invoke(app, ["structure", *command])
        assert result.exit_code == 2, command
        assert "unknown structure 'nope'" in result.stderr
        assert "us-japan-2015" in result.stderr


def test_unknown_organization_exits_2_naming_the_known_ones() -> None:
    result = runner.invoke(app, ["structure", "route", TWIN_2010, "a-ocean", "b-nowhere"])
    assert result.exit_code == 2
    assert "unknown organization 'b-nowhere'" in result.stderr
    assert "b-joint-staff" in result.stderr


def test_invalid_file_exits_1_with_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(TWIN_2010).read_text(encoding="utf-8").replace("code: BOR", "code: borea"), "utf-8")
    result = runner.invoke(app, ["structure", "show", str(bad)])
    assert result.exit_code == 1
    assert "nations[borea].code" in result.stderr


def test_show_prints_the_summary_and_json() -> None:
    result = runner.invoke(app, ["structure", "show", TWIN_2020])
    assert result.exit_code == 0
    for text in ("Aland", "Borea", "b-joint-ops", "Pacific/Honolulu", "(-10:00)"):
        assert text in result.stdout
    data = json.loads(runner.invoke(app, ["structure", "show", TWIN_2020, "--json"]).stdout)
    assert data == load_structure(TWIN_2020).to_data()


def test_diff_text_and_json() -> None:
    result = runner.invoke(app, ["structure", "diff", TWIN_2010, TWIN_2020])
    assert result.exit_code == 0
    assert "b-army: b-joint-staff → b-joint-ops" in result.stdout
    assert "+ b-joint-ops  Borea joint operations command" in result.stdout
    data = json.loads(runner.invoke(app, ["structure", "diff", TWIN_2010, TWIN_2020, "--json"]).stdout)
    assert [o["key"] for o in data["organizations"]["added"]] == ["b-joint-ops"]


def test_chain_and_route() -> None:
    chain = runner.invoke(app, ["structure", "chain", TWIN_2010, "a-marines"])
    assert chain.exit_code == 0
    assert chain.stdout.index("a-ocean") < chain.stdout.index("a-defense") < chain.stdout.index("a-head")
    route = runner.invoke(app, ["structure", "route", TWIN_2010, "a-ocean", "b-joint-staff"])
    assert route.exit_code == 0
    assert "coord-ops" in route.stdout
    assert "+19 h" in route.stdout
    data = json.loads(
        runner.invoke(
            app,
            [
                "structure",
                "route",
                TWIN_2010,
                "a-ocean",
                "b-joint-staff",
                "--json",
                "--at",
                "2015-01-01T00:00Z",
            ],
        ).stdout
    )
    assert [h["org"] for h in data["hops"]] == ["a-ocean", "coord-ops", "b-joint-staff"]
    assert data["at"] == "2015-01-01T00:00:00+00:00"
    bad_at = runner.invoke(app, ["structure", "route", TWIN_2010, "a-ocean", "b-army", "--at", "yesterday"])
    assert bad_at.exit_code == 2


def test_graph_writes_the_chart_and_refuses_other_formats(tmp_path: Path) -> None:
    result = runner.invoke(app, ["structure", "graph", TWIN_2010, "--out", str(tmp_path / "c.svg")])
    assert result.exit_code == 0
    assert (tmp_path / "c.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    refused = runner.invoke(app, ["structure", "graph", TWIN_2010, "--out", str(tmp_path / "c.jpg")])
    assert refused.exit_code == 2
    assert not (tmp_path / "c.jpg").exists()


def test_schema_structure_prints_the_schema() -> None:
    result = runner.invoke(app, ["schema", "structure"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == structure_file_schema()


# -- the main job -------------------------------------------------------------------------------------------


def test_demo_prints_the_comparison_and_writes_the_charts(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--no-serve", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "us-japan-2015 → us-japan-2025" in out
    assert "+ jjoc" in out
    assert "iii-mef: marforpac → usfj" in out
    # 2015: from INDOPACOM in Hawaii through an ACM body; 2025: USFJ to JJOC in one time zone.
    assert "us-japan-2015: U.S. operational authority over forces in Japan: indopacom" in out
    assert "us-japan-2025: U.S. operational authority over forces in Japan: usfj" in out
    assert "Pacific/Honolulu, UTC-10:00" in out
    # In 2015 the SDF's joint operations ran through the Joint Staff, met at the BOCC.
    assert "operational control of the SDF: jsdf-joint-staff" in out
    assert "Bilateral Operations Coordination Center (ACM), from its member" in " ".join(out.split())
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(
        [
            *(
                f"{sid}{lang}{ext}"
                for sid in ("us-japan-2015", "us-japan-2025", "us-japan-combined")
                for lang in ("", ".ja")
                for ext in (".png", ".svg", ".pdf")
            ),
            "taiwan-contingency.html",  # the simulation report (issue 4's step of the main job)
        ]
    )
    assert "combat-ops-from-japan (median decision / effect)" in out


# -- golden ------------------------------------------------------------------------------------------


def test_golden_diff_of_the_bundled_eras(monkeypatch: pytest.MonkeyPatch) -> None:
    """`kizuna structure diff us-japan-2015 us-japan-2025` at 100 columns, exactly (KIZUNA_REGEN_GOLDEN=1
    rewrites it)."""
    from kizuna.cli.console import fit_to_terminal

    monkeypatch.setenv("COLUMNS", "100")
    fit_to_terminal()
    result = runner.invoke(app, ["structure", "diff", "us-japan-2015", "us-japan-2025"])
    assert result.exit_code == 0
    golden = GOLDEN / "diff-us-japan-2015-us-japan-2025.txt"
    if os.environ.get("KIZUNA_REGEN_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.stdout, encoding="utf-8")
        pytest.skip("golden file regenerated")
    assert result.stdout == golden.read_text(encoding="utf-8")
