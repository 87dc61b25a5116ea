"""A plan's assignment and decision points for the planner: 80-column tables, xlsx, GeoJSON, hold-ups."""

from __future__ import annotations

import io
import math
from functools import cache
from pathlib import Path

from rich.console import Console

from kizuna.authority import load_frameworks
from kizuna.model import load_plan
from kizuna.planning import assignment_problem, plan_scenario, solve
from kizuna.planning.assign import Assignment, AssignmentProblem
from kizuna.report.plan import (
    assignment_geojson,
    assignment_table,
    decision_holdups,
    decision_outcomes,
    decision_table,
    write_assignment_xlsx,
)
from kizuna.sim import build_inputs, simulate_inputs


@cache
def solved() -> tuple[AssignmentProblem, Assignment]:
    problem = assignment_problem(load_plan("nansei-2027"), load_frameworks())
    return problem, solve(problem)


def rendered(*renderables: object) -> list[str]:
    console = Console(width=80, record=True, file=io.StringIO())
    for r in renderables:
        console.print(r)
    return console.export_text().splitlines()


def test_the_assignment_table_fits_80_columns_with_ids_whole() -> None:
    problem, assignment = solved()
    lines = rendered(*assignment_table(problem.plan, assignment))
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    for row in assignment.rows:
        assert row.unit in text
        assert row.mission in text


def test_the_workbook_holds_the_assignment_and_the_blocked_pairs(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    problem, assignment = solved()
    path = write_assignment_xlsx(problem, assignment, tmp_path / "plan.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Assignment", "Missions", "Blocked", "Plan"]
    rows = list(wb["Assignment"].iter_rows(values_only=True))
    assert rows[0][:3] == ("phase", "situation", "mission")
    assert len(rows) - 1 == len(assignment.rows)
    assert {r[6] for r in rows[1:]} == {a.unit for a in assignment.rows}
    blocked = list(wb["Blocked"].iter_rows(values_only=True))
    assert len(blocked) - 1 == len(problem.blocked)
    law = [r for r in blocked[1:] if r[3] == "law"]
    assert law
    assert all(r[6] for r in law), "a law block names its rules"


def test_the_geojson_places_units_missions_and_assignments() -> None:
    problem, assignment = solved()
    data = assignment_geojson(problem, assignment)
    assert data["type"] == "FeatureCollection"
    kinds = [f["properties"]["feature"] for f in data["features"]]
    assert kinds.count("unit") == len(problem.forces.units)
    assert kinds.count("mission") == len(problem.missions)
    assert kinds.count("assignment") == len(assignment.rows)
    for feature in data["features"]:
        coords = feature["geometry"]["coordinates"]
        points = coords if feature["geometry"]["type"] == "LineString" else [coords]
        for lon, lat in points:
            assert -180 <= lon <= 180
            assert -90 <= lat <= 90
    ishigaki = next(f for f in data["features"] if f["properties"].get("id") == "defend-ishigaki")
    assert ishigaki["geometry"]["coordinates"] == [124.18, 24.42]  # (longitude, latitude) of the site


def test_decision_outcomes_say_who_holds_each_decision_up() -> None:
    plan = load_plan("nansei-2027")
    scenario = plan_scenario(plan)
    inputs = build_inputs(scenario, ["us-japan-2025"])
    result = simulate_inputs(inputs, scenario=scenario.id, replications=400, seed=2, workers=1)
    holdups = decision_holdups(inputs, plan.decision_by_id, seed=2, replications=400)
    for hold in holdups.values():
        assert hold.lanes > 0
        # the organizations' times on the path never add up to more than the time to decision
        assert sum(hold.by_organization.values()) <= hold.mean_h + 1e-9
    # the Diet's prior approval is what a survival-threatening recognition waits on longest
    sts = holdups[("recognize-sts", "us-japan-2025")]
    assert sts.worst is not None
    assert sts.worst[0] == "jp-diet"
    # the hold-up comes from the main run's own replications: its mean is that run's, to Monte Carlo error
    stats = result.structures["us-japan-2025"].requests["recognize-sts"].decision
    assert math.isclose(sts.mean_h, stats.mean_h, rel_tol=0.1)
    outcomes = decision_outcomes(plan, result, holdups)
    assert {o.decision_point for o in outcomes} == set(plan.decision_by_id)
    lines = rendered(decision_table(outcomes))
    assert max(len(line) for line in lines) <= 80
    assert any("jp-diet" in line for line in lines)
