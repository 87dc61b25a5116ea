"""Simulation results, sweeps and rulings as the tables planners open: CSV and Excel."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kizuna.authority import Query, load_frameworks
from kizuna.authority.matrix import build_matrix
from kizuna.errors import InvalidQuery
from kizuna.model import load_scenario
from kizuna.report.exports import matrix_sheets, write_rulings, write_sheets, write_simulation, write_sweep
from kizuna.sim.runner import simulate
from kizuna.sim.sweep import parse_vary, sweep


@pytest.fixture(scope="module")
def okinawa() -> tuple[object, object]:
    sc = load_scenario("okinawa-earthquake")
    return sc, simulate(
        sc, replications=200, seed=3, workers=1, structures=["us-japan-2015", "us-japan-2025"]
    )


def test_a_simulation_as_csv_and_excel_keeps_every_request_and_structure(
    okinawa: tuple, tmp_path: Path
) -> None:  # type: ignore[type-arg]
    sc, result = okinawa
    rows = list(csv.DictReader(write_simulation(result, tmp_path / "r.csv", sc).open(encoding="utf-8-sig")))
    assert {(r["request"], r["structure"]) for r in rows} == {
        (rid, sid) for sid, sres in result.structures.items() for rid in sres.requests
    }
    first = rows[0]
    stats = result.structures[first["structure"]].requests[first["request"]]
    assert float(first["effect mean (h)"]) == pytest.approx(stats.effect.mean_h, abs=1e-3)
    assert first["request name"] != first["request"]  # names beside ids
    book = load_workbook(write_simulation(result, tmp_path / "r.xlsx", sc))
    assert book.sheetnames == ["times", "organizations", "comparisons", "run"]
    times = book["times"]
    assert times["A1"].value == "request"
    assert isinstance(times["H2"].value, float)  # numbers stay numbers
    assert book["comparisons"].max_row == 1 + len(result.comparisons())


def test_a_sweep_as_excel_has_the_ranking_and_every_design_point(tmp_path: Path) -> None:
    sc = load_scenario("okinawa-earthquake")
    result = sweep(sc, [parse_vary("defaults.servers=1:2")], replications=40, workers=1)
    book = load_workbook(write_sweep(result, tmp_path / "s.xlsx"))
    assert book["ranking"]["B2"].value == "defaults.servers"
    assert book["points"].max_row == 1 + len(result.points)
    ranking = list(csv.reader(write_sweep(result, tmp_path / "s.csv").open(encoding="utf-8-sig")))
    assert ranking[0][:3] == ["rank", "parameter", "low"]


def test_rulings_and_the_matrix_as_tables(tmp_path: Path) -> None:
    fw = load_frameworks()
    data = {
        "situation": "important-influence",
        "actor": "jsdf",
        "activity": "supply",
        "supported": "us-forces",
        "location": "high-seas-near-japan",  # no default decides the law (issue 8 item 13)
    }
    query = Query.from_dict(data, fw)
    path = write_rulings(
        [(1, query.to_dict(), fw.rule(query), None), (2, {}, None, "unknown actor 'x'")], tmp_path / "r.csv"
    )
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert rows[0]["outcome"] == "requires-approval"
    assert "basic-plan" in rows[0]["missing approvals (in order)"]
    assert rows[1]["error"] == "unknown actor 'x'"
    m = build_matrix(fw, "important-influence", supported="us-forces", location="japan-territory")
    book = load_workbook(write_sheets(matrix_sheets(m), tmp_path / "m.xlsx"))
    assert [c.value for c in book["matrix"][1]][:2] == ["activity", m.actors[0]]
    with pytest.raises(InvalidQuery, match=r"\.csv or \.xlsx"):
        write_sheets(matrix_sheets(m), tmp_path / "m.ods")
