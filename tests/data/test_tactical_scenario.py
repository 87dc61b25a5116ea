"""The bundled tactical-tasking scenario: the same taskings with and without the center; time saved."""

from __future__ import annotations

from functools import cache

from kizuna.model.scenario import Scenario, load_scenario
from kizuna.report.simulation import compile_paths
from kizuna.sim import SimResult, simulate

CENTERS = {"nansei-tcc-okinawa", "nansei-tcc-sakishima"}
WITH, WITHOUT = "us-japan-2025", "us-japan-2025-without-tcc"


@cache
def scenario() -> Scenario:
    return load_scenario("nansei-tactical-tasking")


@cache
def result() -> SimResult:
    return simulate(scenario(), replications=2000, seed=5, workers=1)


def test_the_scenario_compares_the_structure_with_and_without_the_centers() -> None:
    sc = scenario()
    assert list(sc.structures)[1] == WITH
    paths = compile_paths(sc)
    assert set(paths) == {WITH, WITHOUT}
    for request in ("isr-for-marines", "fires-for-marines", "air-defense-for-gsdf"):
        assert CENTERS & {s.organization for s in paths[WITH][request].steps}, request
        assert not CENTERS & {s.organization for s in paths[WITHOUT][request].steps}, request
    # a tasking the law does not yet permit takes the same long route in both
    supply = [
        [(s.organization, s.kind) for s in paths[sid]["supply-for-marines"].order()]
        for sid in (WITH, WITHOUT)
    ]
    assert supply[0] == supply[1]
    assert "defense-minister-order" in paths[WITH]["supply-for-marines"].approvals()


def test_the_center_saves_time_and_the_interval_says_how_surely() -> None:
    comparisons = {c.request: c for c in result().comparisons()}
    for request in ("isr-for-marines", "fires-for-marines", "air-defense-for-gsdf"):
        c = comparisons[request]
        assert (c.a, c.b) == (WITH, WITHOUT)
        assert c.ci_high_h < 0, f"{request}: the center should save time ({c.ci_low_h}, {c.ci_high_h})"
        assert c.ci_low_h <= c.diff_mean_h <= c.ci_high_h
    # the shortcut's tasking beats the deadline far more often
    with_center = result().structures[WITH].requests["isr-for-marines"].p_deadline
    without = result().structures[WITHOUT].requests["isr-for-marines"].p_deadline
    assert with_center is not None
    assert without is not None
    assert with_center > without
