"""Surprising results are flagged with their cause: the organization, the assumed parameter, its weight."""

from __future__ import annotations

import pytest

from kizuna.model import load_scenario, load_structure
from kizuna.report.findings import Finding, critical_hours, explain, flagged
from kizuna.sim.runner import simulate


@pytest.fixture(scope="module")
def okinawa() -> tuple[object, object, dict[str, object]]:
    sc = load_scenario("okinawa-earthquake")
    result = simulate(sc, replications=600, seed=0, workers=1, structures=["us-japan-2015", "us-japan-2025"])
    return sc, result, {sid: load_structure(sid) for sid in result.structures}


def test_the_reform_slower_for_us_support_is_traced_to_the_acgs_office_hours(okinawa: tuple) -> None:
    """Okinawa earthquake: U.S. support is slower in 2025 because the ACG is assumed to keep office hours."""
    sc, result, structures = okinawa
    slower = [c for c in flagged(result, structures) if c.ci_low_h > 0]
    assert [c.request for c in slower] == ["us-disaster-support"]
    findings = explain(result, sc, structures, replications=600)
    [finding] = [f for f in findings if f.request == "us-disaster-support"]
    assert isinstance(finding, Finding)
    assert finding.against
    assert finding.driver == "acm-acg"
    assert finding.part == "duty hours"
    assert "acm-acg.duty" in finding.parameter
    assert finding.diff_after_h is not None
    assert abs(finding.diff_after_h) < finding.diff_h / 2  # on a 24-hour watch most of the gap goes
    text = finding.text()
    assert "slower under us-japan-2025" in text
    assert "Alliance Coordination Group" in text
    assert "24-hour watch" in text
    assert "rests on that assumption" in text


def test_a_comparison_in_favour_of_the_reform_is_not_flagged(okinawa: tuple) -> None:
    _, result, structures = okinawa
    for c in flagged(result, structures):
        assert c.ci_low_h > 0 or c.ci_low_h <= 0 <= c.ci_high_h  # slower, or no faster
        assert structures[c.a].era.valid_from > structures[c.b].era.valid_from  # a newer era only


def test_critical_hours_split_an_organizations_time_into_its_parts(okinawa: tuple) -> None:
    _, result, _ = okinawa
    hours = critical_hours(result.structures["us-japan-2025"].gantt, "us-disaster-support")
    assert "acm-acg" in hours
    assert set(hours["acm-acg"]) == {"staff", "duty hours", "work"}
    assert all(v >= 0 for parts in hours.values() for v in parts.values())
