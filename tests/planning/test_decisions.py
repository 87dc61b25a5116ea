"""Decision points as requests, the plan as a scenario the simulator and exercises run."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from kizuna.authority import FrameworkSet, load_frameworks
from kizuna.model import load_plan, load_structure
from kizuna.model.plan import Plan
from kizuna.model.scenario import check_scenario_file
from kizuna.model.yamlfile import dump_yaml
from kizuna.planning import compile_request, decision_requests, plan_scenario, scenario_document, solve_plan
from kizuna.planning.assign import Assignment


@cache
def frameworks() -> FrameworkSet:
    return load_frameworks()


@cache
def plan() -> Plan:
    return load_plan("nansei-2027")


@cache
def assignment() -> Assignment:
    return solve_plan(plan(), frameworks())


def test_each_decision_point_implies_its_request() -> None:
    requests = {r.id: r for r in decision_requests(plan())}
    assert set(requests) == set(plan().decision_by_id)
    assert requests["recognize-sts"].designates == "survival-threatening"
    assert requests["recognize-sts"].name.startswith("Recognize a survival-threatening situation")


def test_the_plan_becomes_a_scenario_with_filings_deadlines_and_prerequisites() -> None:
    p = plan()
    scenario = plan_scenario(p)
    assert scenario.structures == p.structures
    # hour 0 is the earliest filing, D-10
    assert scenario.start == p.at(-240.0)
    entries = {e.request: (scenario.inject_hours(i), e) for i in scenario.injects for e in i.requests}
    at, entry = entries["recognize-sts"]
    assert at == (-120.0) - (-240.0)  # filed at D-5
    (deadline,) = entry.deadlines
    assert deadline.of == "decision"
    assert deadline.at_h == (-48.0) - (-240.0)  # by D-2
    assert entry.after == ("designate-iis",)
    # the timing parameters come from the scenario the plan names, with the sources they cite
    assert scenario.parameters is not None
    assert "jp-diet" in scenario.parameters.organizations
    assert {"5PARTY", "KYODO21"} <= set(scenario.sources)


def test_the_scenario_document_is_accepted_by_the_scenario_loader(tmp_path: Path) -> None:
    for with_taskings in (False, True):
        scenario = plan_scenario(plan(), assignment() if with_taskings else None)
        path = tmp_path / f"{scenario.id}.yaml"
        path.write_text(dump_yaml(scenario_document(scenario)), encoding="utf-8")
        loaded, problems = check_scenario_file(path)
        assert not problems, problems
        assert loaded is not None
        assert loaded.model_dump(exclude={"file"}) == scenario.model_dump(exclude={"file"})


def test_the_exercise_carries_a_tasking_per_assigned_unit_that_compiles() -> None:
    p, a = plan(), assignment()
    scenario = plan_scenario(p, a)
    taskings = [r for r in scenario.requests if r.id not in p.decision_by_id]
    assert len(taskings) == len(a.rows)
    structure = load_structure("us-japan-2025")
    forces = p.loaded_forces
    by_id = {r.id: r for r in taskings}
    for row in a.rows:
        spec = next(r for r in taskings if r.note and f"{row.unit} takes {row.mission}" in r.note)
        assert spec.executor == forces.executor[row.unit]
        path = compile_request(structure, frameworks(), spec)
        assert not path.prohibited, (spec.id, path.notes)
    # taskings of the defend phase wait for the decision that opens it
    defend = [
        e
        for i in scenario.injects
        for e in i.requests
        if e.request in by_id and "phase defend:" in (by_id[e.request].note or "")
    ]
    assert defend
    assert all(e.after == ("recognize-armed-attack",) for e in defend)
