"""The bundled scenarios load, compile under every structure they compare, and simulate."""

from __future__ import annotations

import math
from functools import cache

import pytest

from kizuna.model.loading import bundled_ids
from kizuna.model.scenario import Scenario, load_scenario
from kizuna.report.simulation import compile_paths
from kizuna.sim import simulate

SCENARIOS = ("taiwan-contingency", "senkaku-gray-zone", "dprk-missile-launch", "okinawa-earthquake")


@cache
def scenario(sid: str) -> Scenario:
    return load_scenario(sid)


def test_the_four_scenarios_are_bundled() -> None:
    assert set(SCENARIOS) <= set(bundled_ids("scenarios"))


@pytest.mark.parametrize("sid", SCENARIOS)
def test_a_scenario_compares_the_three_structures_and_cites_its_sources(sid: str) -> None:
    sc = scenario(sid)
    assert set(sc.structures) == {"us-japan-2015", "us-japan-2025", "us-japan-combined"}
    assert sc.sources, "a bundled scenario defines its source keys"
    assert sc.parameters is not None
    for inject in sc.injects:
        assert inject.source or inject.assumption, f"{sid}: inject {inject.event!r} has no provenance"
        for entry in inject.requests:
            for deadline in entry.deadlines:
                assert deadline.source or deadline.assumption, f"{sid}: deadline {deadline.name!r}"


@pytest.mark.parametrize("sid", SCENARIOS)
def test_every_request_compiles_under_every_structure(sid: str) -> None:
    sc = scenario(sid)
    paths = compile_paths(sc)
    assert set(paths) == set(sc.structures)
    for by_request in paths.values():
        assert set(by_request) == {r.id for r in sc.requests}


def test_the_scenarios_that_have_observed_timelines_carry_them() -> None:
    for sid in ("senkaku-gray-zone", "dprk-missile-launch", "okinawa-earthquake"):
        observed = [o for o in scenario(sid).observed if o.kind == "observed"]
        assert observed, f"{sid} sets the model beside an observed timeline"
        for o in observed:
            assert o.source, f"{sid}: an observation cites its source"


def test_the_guam_bound_intercept_is_prohibited_in_every_structure() -> None:
    for by_request in compile_paths(scenario("dprk-missile-launch")).values():
        assert by_request["intercept-guam-bound"].prohibited
        assert not by_request["bmd-intercept"].prohibited


def test_the_taiwan_scenario_holds_the_three_kinds_of_request_the_issue_names() -> None:
    sc = scenario("taiwan-contingency")
    activities = {r.activity for r in sc.requests}
    assert "combat-operations-from-japan" in activities
    assert activities & {"supply", "refueling", "transportation"}
    assert {r.designates for r in sc.requests} >= {"important-influence", "survival-threatening"}
    paths = compile_paths(sc, ["us-japan-2015"])["us-japan-2015"]
    assert "prior-consultation" in paths["combat-ops-from-japan"].approvals()


@pytest.mark.parametrize("sid", SCENARIOS)
def test_every_permitted_request_is_simulated_and_finishes(sid: str) -> None:
    sc = scenario(sid)
    result = simulate(sc, replications=64, seed=3, workers=1)
    paths = compile_paths(sc)
    for structure_id, sres in result.structures.items():
        for request in sc.requests:
            if paths[structure_id][request.id].prohibited:
                assert request.id not in sres.requests
                continue
            stats = sres.requests[request.id]
            assert stats.effect.n > 0
            assert stats.effect.never == 0
            assert math.isfinite(stats.decision.p50_h)
            assert stats.decision.p50_h <= stats.effect.p50_h * 1.01 + 1e-9


def test_a_minutes_scenario_runs_in_minutes_and_an_hours_scenario_in_hours() -> None:
    fast = simulate(scenario("dprk-missile-launch"), replications=64, seed=1, workers=1)
    slow = simulate(scenario("taiwan-contingency"), replications=64, seed=1, workers=1)
    intercept = fast.structures["us-japan-2025"].requests["bmd-intercept"].effect.p50_h
    consultation = slow.structures["us-japan-2025"].requests["combat-ops-from-japan"].decision.p50_h
    assert intercept < 0.5, "an intercept takes minutes"
    assert consultation > 2.0, "a consultation between governments takes hours"
