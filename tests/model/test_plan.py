"""Plan files: phases, missions and decision points load; each kind of mistake is named with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.errors import Problem
from kizuna.model import check_plan_file, format_d_time, load_plan, parse_d_time

GOOD = """\
id: tiny-plan
name: Tiny plan
forces: us-japan-2025
d_day: 2027-04-16T05:00:00+09:00
sources:
  G15: The Guidelines
phases:
  - id: deter
    start: D-8
    situation: important-influence
    missions:
      - id: watch
        kind: isr
        area: {latitude: 24.0, longitude: 124.5, sea: true}
        location: high-seas-near-japan
        ready_within_h: 12
  - id: defend
    start: D
    after: [deter]
    situation: armed-attack
    missions:
      - id: hold-ishigaki
        kind: island-defense
        area: ishigaki
        needs: [island-defense, {capability: anti-ship-strike, count: 1}]
        units: [yaeyama-area-security-force]
decision_points:
  - id: designate-iis
    filed: D-10
    by: D-8
    gates: [deter]
    request: {designates: important-influence, situation: important-influence}
    source: G15
  - id: recognize-aas
    filed: D-2
    by: D
    after: [designate-iis]
    gates: [defend]
    request: {designates: armed-attack, situation: armed-attack}
    assumption: test
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[Problem]:
    plan, problems = check_plan_file(write(tmp_path, text))
    assert plan is None, "an invalid plan must not load"
    return problems


def test_the_bundled_plan_loads_with_its_forces() -> None:
    plan = load_plan("nansei-2027")
    assert [p.id for p in plan.phases] == ["deter", "sts", "defend"]
    assert plan.loaded_forces.id == "us-japan-2025"
    assert plan.decision_by_id["recognize-sts"].by == -48.0
    assert "sts" in plan.decision_by_id["recognize-sts"].gates
    kinds = {m.kind for m in plan.mission_by_id.values()}
    assert {"bmd", "isr", "island-defense", "protect-us-ships", "logistics-support", "evacuation"} <= kinds


def test_a_good_file_loads_and_times_are_hours_from_d(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, GOOD))
    assert plan.phase("deter").start == -192.0
    assert plan.mission("hold-ishigaki").units == ("yaeyama-area-security-force",)
    assert plan.decision_by_id["recognize-aas"].request.id == "recognize-aas"
    assert plan.at(-24.0).isoformat() == "2027-04-15T05:00:00+09:00"


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("D", 0.0),
        ("D-2", -48.0),
        ("D+1d", 24.0),
        ("D-36h", -36.0),
        ("D+1d6h", 30.0),
        (12, 12.0),
        ("D - 2", -48.0),
    ],
)
def test_times_relative_to_d(text: object, hours: float) -> None:
    assert parse_d_time(text) == hours


@given(st.floats(min_value=-2000, max_value=2000).map(lambda h: round(h * 4) / 4))
def test_a_written_time_reads_back(hours: float) -> None:
    assert parse_d_time(format_d_time(hours)) == pytest.approx(hours)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        # unknown units, missions kinds, capabilities, sites
        (
            "units: [yaeyama-area-security-force]",
            "units: [no-such-unit]",
            "phases[defend].missions[hold-ishigaki].units[0]",
            "unknown unit",
        ),
        ("kind: isr", "kind: sonar-sweep", "phases[deter].missions[watch].kind", "unknown mission kind"),
        (
            "needs: [island-defense,",
            "needs: [island-offense,",
            "phases[defend].missions[hold-ishigaki].needs[0]",
            "unknown capability",
        ),
        ("area: ishigaki", "area: atlantis", "phases[defend].missions[hold-ishigaki].area", "unknown site"),
        # unknown phases and decision points
        ("gates: [deter]", "gates: [detter]", "decision_points[designate-iis].gates[0]", "unknown phase"),
        (
            "after: [designate-iis]",
            "after: [designate-isi]",
            "decision_points[recognize-aas].after[0]",
            "unknown decision point",
        ),
        ("after: [deter]", "after: [deterrence]", "phases[defend].after[0]", "unknown phase"),
        # a decision point due after the phase it gates
        (
            "    by: D-8\n",
            "    by: D-7\n",
            "decision_points[designate-iis].by",
            "due after the start of phase 'deter'",
        ),
        # a phase that starts before the phase it follows
        ("    start: D\n", "    start: D-9\n", "phases[defend].start", "starts before 'deter'"),
        # a request filed after it is needed
        ("filed: D-2", "filed: D+1", "decision_points[recognize-aas]", "after it is needed"),
        # malformed times and keys
        ("start: D-8", "start: next tuesday", "phases[deter].start", "a time relative to D"),
        (
            "ready_within_h: 12",
            "ready_within: 12",
            "phases[deter].missions[watch].ready_within",
            "unknown key",
        ),
        ("source: G15", "source: G16", "decision_points[designate-iis].source", "unknown source key"),
        # the plan's own (top-level) source is checked too
        ("sources:\n", "source: KYODO22\nsources:\n", "source", "unknown source key"),
        (
            "count: 1}",
            "count: 0}",
            "phases[defend].missions[hold-ishigaki].needs[1].count",
            "greater than or equal to 1",
        ),
        ("forces: us-japan-2025", "forces: us-japan-1999", "forces", "unknown force"),
        (
            "sources:\n",
            "structures: [us-japan-2015, us-japan-2052]\nsources:\n",
            "structures[1]",
            "unknown structure",
        ),
        ("sources:\n", "parameters_from: taiwan\nsources:\n", "parameters_from", "unknown scenario"),
    ],
)
def test_each_mistake_is_named_with_its_line(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    problems = problems_of(tmp_path, text)
    named = [p for p in problems if p.field == field]
    assert named, "\n".join(map(str, problems))
    # one mistake, one problem (moving a phase earlier also makes a decision point gating it late)
    assert len(problems) == 1 or field == "phases[defend].start", "\n".join(map(str, problems))
    problem = named[0]
    assert message in problem.message
    assert problem.line is not None
    line = text.splitlines()[problem.line - 1]
    key = field.rsplit(".", 1)[-1].split("[", maxsplit=1)[0]
    assert key in line or new.split(":", maxsplit=1)[0].strip() in line or "id:" in line, (problem.line, line)


def test_a_plan_carries_the_catalog_entries_it_cites(tmp_path: Path) -> None:
    # Its own table first, then the sources catalog's entries its keys cite (the top level's too), so a
    # scenario or report made from the plan can list every document it cites.
    plan = load_plan(write(tmp_path, GOOD.replace("sources:\n", "source: [KYODO21, DOJ24 Ch5]\nsources:\n")))
    assert list(plan.sources) == ["G15", "DOJ24", "KYODO21"]
    assert plan.sources["G15"].title == "The Guidelines"
    assert "Taiwan contingency" in plan.sources["KYODO21"].title
    bundled = load_plan("nansei-2027")
    assert {"KYODO21", "5PARTY", "G15"} <= set(bundled.sources)


def test_cycles_between_phases_are_an_error(tmp_path: Path) -> None:
    text = GOOD.replace("    start: D-8\n    situation", "    start: D-8\n    after: [defend]\n    situation")
    problems = problems_of(tmp_path, text)
    cycle = [p for p in problems if "cycle" in p.message]
    assert cycle, problems
    assert "deter -> defend -> deter" in cycle[0].message or "defend -> deter -> defend" in cycle[0].message


def test_cycles_between_decision_points_are_an_error(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    by: D-8\n    gates", "    by: D-8\n    after: [recognize-aas]\n    gates"
    ).replace("    filed: D-2\n    by: D\n", "    filed: D-12\n    by: D-8\n")
    problems = problems_of(tmp_path, text)
    assert any("wait on each other in a cycle" in p.message for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("kind: isr", "kind: sonar-sweep")
        .replace("units: [yaeyama-area-security-force]", "units: [no-such-unit]")
        .replace("gates: [deter]", "gates: [detter]")
        .replace("ready_within_h: 12", "ready_within_h: -1")
    )
    problems = problems_of(tmp_path, text)
    fields = {p.field for p in problems}
    assert "phases[deter].missions[watch].ready_within_h" in fields
    assert "phases[defend].missions[hold-ishigaki].units[0]" in fields
    assert "decision_points[designate-iis].gates[0]" in fields
    # the invalid mission does not hide the rest of its phase, nor make its phase unknown elsewhere
    assert not any(p.message == "unknown phase" and p.value == "deter" for p in problems)


def test_mission_ids_are_unique_across_phases(tmp_path: Path) -> None:
    text = GOOD.replace("- id: hold-ishigaki", "- id: watch")
    (problem,) = problems_of(tmp_path, text)
    assert problem.message == "duplicate mission id"
    assert problem.value == "watch"
