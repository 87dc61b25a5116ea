"""Assigning units to missions: covered without duplication, lawful, within capacity, or explained."""

from __future__ import annotations

import textwrap
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.authority import FrameworkSet, Query, load_frameworks, rule
from kizuna.errors import DataError, Infeasible, InvalidQuery
from kizuna.model import bundled_dir, load_plan
from kizuna.model.plan import Plan, needs_of
from kizuna.planning.assign import (
    Assignment,
    AssignmentProblem,
    Infeasibility,
    assignment_problem,
    solve,
)
from kizuna.planning.bench import generated_plan, solve_milp


@cache
def frameworks() -> FrameworkSet:
    return load_frameworks()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def check_assignment(problem: AssignmentProblem, assignment: Assignment) -> None:
    """The invariants every assignment keeps, checked from the rows alone."""
    plan, forces = problem.plan, problem.forces
    # every mission covered, each capability by between count and max units that have it
    for mission in problem.missions:
        rows = assignment.units_of(mission.id)
        for need in problem.needs[mission.id]:
            have = sum(need.capability in forces.unit(r.unit).capabilities for r in rows)
            assert need.count <= have <= need.most, (mission.id, need, [r.unit for r in rows])
        # every unit on a mission brings something it needs
        for row in rows:
            assert set(row.provides) & {n.capability for n in problem.needs[mission.id]}
    # capacity per phase
    load = Counter((r.unit, r.phase) for r in assignment.rows)
    for (unit, _phase), n in load.items():
        assert n <= forces.unit(unit).capacity
    # the law: every assigned unit's act is permitted with what the plan assumes
    for row in assignment.rows:
        phase = plan.phase(row.phase)
        mission = plan.mission(row.mission)
        kind = forces.kind_by_id[mission.kind]
        unit = forces.unit(row.unit)
        ruling = rule(
            frameworks(),
            Query(
                situation=phase.situation,
                actor=unit.actor,
                activity=mission.activity or kind.activity_in(phase.situation),
                supported=mission.supported or kind.supported,
                location=mission.location,
                flags=frozenset((*phase.flags, *mission.flags)),
                granted=frozenset((*plan.assumes, *phase.assumes)),
            ),
        )
        assert ruling.permitted, (row, ruling.reasons)
        if mission.ready_within_h is not None:
            assert row.time_h <= mission.ready_within_h
    # pins kept
    for pin in problem.pinned:
        assert any((r.unit, r.mission) == pin for r in assignment.rows)


def test_the_bundled_plan_is_covered_lawfully_without_duplication() -> None:
    plan = load_plan("nansei-2027")
    problem = assignment_problem(plan, frameworks())
    assignment = solve(problem)
    assert assignment.optimal
    check_assignment(problem, assignment)
    by_mission = {m: {r.unit for r in assignment.units_of(m)} for m in plan.mission_by_id}
    # the islands hold with their own units; the law keeps the Marines' logistics off a Japanese mission
    assert "yaeyama-area-security-force" in by_mission["defend-ishigaki"]
    assert "12th-mlr" not in by_mission["logistics-okinawa"]
    # escort of U.S. ships is the SDF's in every phase
    for mission in ("protect-us-ships-deter", "escort-us-ships-sts", "escort-us-ships-defend"):
        assert all(plan.loaded_forces.unit(u).nation == "jp" for u in by_mission[mission])


def test_the_law_blocks_what_it_prohibits_and_says_where_it_is_written() -> None:
    problem = assignment_problem(load_plan("nansei-2027"), frameworks())
    blocks = {(b.unit, b.mission): b for b in problem.blocked}
    # U.S. forces cannot take a Japanese logistics-support mission: the kind is the SDF's
    assert blocks[("12th-mlr", "logistics-okinawa")].kind == "actor"
    # the MSDF's patrol aircraft need a cabinet decision for a maritime security operation
    msdf = blocks[("msdf-fleet-air-wing-5", "maritime-security-senkaku")]
    assert msdf.kind == "law"
    assert "cabinet-decision" in msdf.missing
    assert msdf.rule_ids
    assert msdf.citations
    # a land unit cannot stand at sea
    assert blocks[("asdf-pac3-kanto", "bmd-sea-of-japan")].kind == "reach"


def test_cpsat_and_the_milp_reference_reach_the_same_objective_on_the_bundled_plan() -> None:
    problem = assignment_problem(load_plan("nansei-2027"), frameworks())
    assert solve(problem).objective == solve_milp(problem).objective


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), units=st.integers(20, 60), missions=st.integers(3, 15))
def test_cpsat_agrees_with_the_milp_on_random_plans(seed: int, units: int, missions: int) -> None:
    plan = generated_plan(units, missions, seed, frameworks())
    problem = assignment_problem(plan, frameworks())
    milp = solve_milp(problem)
    try:
        assignment = solve(problem)
    except Infeasible:
        assert milp.objective is None, "CP-SAT found no assignment where HiGHS found one"
        return
    assert milp.objective == assignment.objective
    check_assignment(problem, assignment)


VARIANT = """\
id: sts-variant
name: Too few approvals and the wrong phase for island defense
forces: us-japan-2025
d_day: 2027-04-16T05:00:00+09:00
phases:
  - id: sts
    start: D-2
    situation: survival-threatening
    assumes: [nsc-deliberation, basic-response-plan, diet-prior-approval, prime-minister-order]
    flags: [in-response-plan]
    missions:
      - id: bmd-okinawa-sts
        kind: bmd
        area: kadena
        location: japan-territory
        needs: [{capability: bmd, count: 3}]
        ready_within_h: 100
      - id: hold-ishigaki
        kind: island-defense
        area: ishigaki
        location: japan-territory
        supported: japan
        ready_within_h: 12
"""


def explain(tmp_path: Path, text: str) -> Infeasibility:
    plan = load_plan(write(tmp_path, text))
    with pytest.raises(Infeasible) as caught:
        solve(assignment_problem(plan, frameworks()))
    explanation = caught.value.explanation
    assert isinstance(explanation, Infeasibility)
    return explanation


def test_an_infeasible_plan_names_the_law_and_the_smallest_change(tmp_path: Path) -> None:
    explanation = explain(tmp_path, VARIANT)
    short = {s.mission: s for s in explanation.shortfalls}
    # BMD: only the two U.S. units are eligible; the Aegis and PAC-3 units lack two approvals
    bmd = short["bmd-okinawa-sts"]
    assert set(bmd.eligible) == {"kadena-patriot", "us-7th-fleet-ddg"}
    aegis = next(b for b in bmd.blocked if b.unit == "msdf-aegis-sasebo")
    assert set(aegis.missing) == {"prime-minister-approval", "defense-minister-order"}
    assert "bmd-destruction" in aegis.rule_ids
    assert any("82-3" in c for c in aegis.citations)
    # island defense: prohibited for the GSDF in a survival-threatening situation, whatever is granted
    hold = short["hold-ishigaki"]
    assert hold.eligible == ()
    assert all(b.kind == "law" and not b.missing for b in hold.blocked)
    assert "armed-attack" in hold.blocked[0].lawful_under
    # the smallest change: assume the two approvals for BMD; island defense cannot be made lawful here
    kinds = Counter(c.kind for c in explanation.changes)
    assert kinds == {"grant": 2, "short": 1}
    grants = {c.approval for c in explanation.changes if c.kind == "grant"}
    assert grants == {"prime-minister-approval", "defense-minister-order"}
    short_text = next(c.text for c in explanation.changes if c.kind == "short")
    assert "prohibits" in short_text
    assert "armed-attack" in short_text
    text = "\n".join(explanation.lines())
    assert "defensive-positions-need-attack-on-japan" in text


def test_applying_the_suggested_approvals_makes_the_plan_feasible(tmp_path: Path) -> None:
    fixed = VARIANT.replace(
        "diet-prior-approval, prime-minister-order]",
        "diet-prior-approval, prime-minister-order, prime-minister-approval, defense-minister-order]",
    )
    fixed = fixed[: fixed.index("      - id: hold-ishigaki")]
    plan = load_plan(write(tmp_path, fixed))
    problem = assignment_problem(plan, frameworks())
    check_assignment(problem, solve(problem))


def test_missions_that_compete_for_too_few_units_are_named_with_the_change(tmp_path: Path) -> None:
    # Two missions each need the only Yonaguni observation unit (capacity 1) in the same phase.
    text = """\
    id: competing
    name: Two missions, one unit
    forces: us-japan-2025
    d_day: 2027-04-16T05:00:00+09:00
    phases:
      - id: watch
        start: D
        situation: armed-attack
        missions:
          - {id: ew-west, kind: isr, area: yonaguni, location: japan-territory, needs: [ew],
             ready_within_h: 6}
          - {id: ew-south, kind: isr, area: yonaguni, location: japan-territory, needs: [ew],
             ready_within_h: 6}
    """
    explanation = explain(tmp_path, text)
    assert not explanation.shortfalls  # each mission alone has its unit
    assert set(explanation.conflict) == {"ew-west", "ew-south"}
    assert "yonaguni-coast-observation-unit" in explanation.conflict_units
    (change,) = explanation.changes
    assert change.kind == "capacity"
    assert change.unit == "yonaguni-coast-observation-unit"


def test_a_capability_no_unit_has_is_called_missing(tmp_path: Path) -> None:
    text = VARIANT.replace(
        "needs: [{capability: bmd, count: 3}]", "needs: [{capability: mine-countermeasures}]"
    )
    text = text.replace("kind: bmd", "kind: isr")
    forces_text = (bundled_dir("forces") / "us-japan-2025.yaml").read_text(encoding="utf-8")
    # A copy of the bundled forces without mine-countermeasures units.
    stripped = forces_text.replace("capabilities: [mine-countermeasures]", "capabilities: [sealift]")
    (tmp_path / "forces.yaml").write_text(stripped, encoding="utf-8")
    text = text.replace("forces: us-japan-2025", "forces: forces.yaml")
    text = text[: text.index("      - id: hold-ishigaki")]
    explanation = explain(tmp_path, text)
    (short,) = explanation.shortfalls
    assert short.units_with_capability == 0
    assert any("no unit of the forces has mine-countermeasures" in line for line in explanation.lines())


def test_a_pinned_unit_that_cannot_take_its_mission_is_a_clear_error(tmp_path: Path) -> None:
    text = VARIANT.replace("        supported: japan\n", "        supported: japan\n        units: [ardb]\n")
    plan = load_plan(write(tmp_path, text))
    with pytest.raises(
        InvalidQuery, match="pinned unit ardb cannot take it: gsdf defensive-positions is prohibited"
    ):
        assignment_problem(plan, frameworks())


def test_an_unknown_law_id_in_a_plan_is_named_with_its_line(tmp_path: Path) -> None:
    text = VARIANT.replace("situation: survival-threatening", "situation: survival-threatend")
    plan = load_plan(write(tmp_path, text))
    with pytest.raises(DataError) as caught:
        assignment_problem(plan, frameworks())
    (problem,) = caught.value.problems
    assert problem.field == "phases[sts].situation"
    assert problem.line == 8
    assert "survival-threatening" in (problem.expected or "")


def test_needs_default_to_the_mission_kind() -> None:
    plan: Plan = load_plan("nansei-2027")
    (need,) = needs_of(plan, plan.mission("bmd-sea-of-japan"))
    assert (need.capability, need.count, need.most) == ("bmd", 1, 1)


def test_a_mission_that_leaves_out_a_fact_the_law_needs_is_asked_for_it(tmp_path: Path) -> None:
    # No default decides the law (issue 8 item 13): an intercept is ruled differently over Japan or the
    # high seas and in foreign territory, so a BMD mission must say where it is.
    text = VARIANT.replace("        location: japan-territory\n        needs", "        needs", 1)
    plan = load_plan(write(tmp_path, text))
    with pytest.raises(DataError) as caught:
        assignment_problem(plan, frameworks())
    (problem,) = caught.value.problems
    assert problem.field == "phases[sts].missions[bmd-okinawa-sts].location"
    assert problem.line == text.splitlines().index("      - id: bmd-okinawa-sts") + 1
    assert "not stated" in problem.message
    assert "foreign-territory" in problem.message  # where the ruling differs
    assert problem.expected is not None
    assert "japan-territory" in problem.expected
