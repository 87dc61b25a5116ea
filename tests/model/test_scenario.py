"""Scenario files: the format loads, parameters resolve from the most specific level, mistakes are named."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.errors import DataError, UnknownId
from kizuna.model.scenario import (
    STEP_KINDS,
    Deterministic,
    DutyHours,
    Lognormal,
    Triangular,
    check_scenario_file,
    load_scenario,
)
from kizuna.planning import StepKind

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
id: tiny
name: Tiny
sources:
  DOJ24: Defense of Japan 2024
structures: [us-japan-2025]
frameworks: [japan-2015]
start: {date: 2027-05-03, time: "06:00", zone: Asia/Tokyo}
requests:
  - id: logistics
    requester: usfj
    situation: important-influence
    actor: jsdf
    activity: supply
    supported: us-forces
    deadline_h: 24
  - id: designate
    situation: important-influence
    designates: important-influence
injects:
  - at_h: 0
    event: Landing expected within 72 hours
    requests: [designate]
  - at: 2027-05-03T12:00:00+09:00
    requests:
      - request: logistics
        count: 2
        after: designate
        deadlines: [{name: before the landing, at_h: 72, assumption: the inject says 72 hours}]
parameters:
  defaults:
    service: {dist: lognormal, mean: 2, cv: 0.8}
    servers: 2
    assumption: no public data on staff step durations
  step_kinds:
    approve: {service: {dist: triangular, low: 1, mode: 4, high: 24}, source: DOJ24 p.3}
  organizations:
    jp-cabinet:
      servers: 1
      rework: 0.1
      duty: {hours: office, days: mon-fri, call_in: {dist: lognormal, mean: 90, cv: 0.5, unit: min}}
      steps:
        approve: {service: 3, assumption: a cabinet meeting takes about three hours}
      assumption: the cabinet meets in office hours
  links:
    trans-pacific: {delay: {dist: lognormal, mean: 3, cv: 1}, assumption: time-zone hand-offs}
    co-located: {delay: 0.1, assumption: down the hall}
  liaison: {factor: 0.5, assumption: a liaison halves the hand-off}
"""


def line_of(text: str) -> int:
    """The 1-based line of GOOD where `text` starts."""
    return GOOD[: GOOD.index(text)].count("\n") + 1


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    scenario, problems = check_scenario_file(write(tmp_path, text))
    assert scenario is None
    return [str(p) for p in problems]


def test_a_scenario_loads_with_its_timeline_and_parameters(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    assert s.start.utcoffset() == timedelta(hours=9)
    assert [s.inject_hours(i) for i in s.injects] == [0.0, 6.0]
    p = s.parameters
    assert p is not None
    # Service: org+kind, then org, then kind, then defaults.
    assert p.service("jp-cabinet", "approve") == Deterministic(value=3)
    assert isinstance(p.service("jp-mofa", "approve"), Triangular)
    assert isinstance(p.service("jp-mofa", "coordinate"), Lognormal)
    assert p.servers("jp-cabinet") == 1
    assert p.servers("jp-mofa") == 2
    assert p.rework("jp-cabinet", "order") == 0.1
    assert p.rework("jp-mofa", "order") == 0.0
    duty = p.duty("jp-cabinet")
    assert duty.hours == "office"
    assert duty.days == ("mon", "tue", "wed", "thu", "fri")
    assert duty.call_in is not None
    assert duty.call_in.mean_h() == pytest.approx(1.5)
    assert p.duty("jp-mofa").always
    assert s.injects[1].requests[0].after == ("designate",)
    assert s.line("parameters.organizations.jp-cabinet") == line_of("    jp-cabinet:")


def test_bundled_scenarios_and_the_mmc_example_load() -> None:
    assert load_scenario(ROOT / "docs" / "examples" / "mmc.yaml").is_network
    for sid in ("taiwan-contingency", "senkaku-gray-zone", "dprk-missile-launch", "okinawa-earthquake"):
        assert load_scenario(sid).id == sid


def test_an_unknown_scenario_id_names_the_known_ones() -> None:
    with pytest.raises(UnknownId, match="taiwan-contingency"):
        load_scenario("no-such-scenario")


def test_step_kinds_match_the_planning_vocabulary() -> None:
    assert set(STEP_KINDS) == {k.value for k in StepKind}


LINK = "parameters.links.co-located"


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("cv: 0.8", "cvv: 0.8", "parameters.defaults.service.cvv", "unknown key; expected one of"),
        ("dist: triangular", "dist: triangle", "parameters.step_kinds.approve.service", "unknown distri"),
        ("source: DOJ24 p.3", "source: DOJ23 p.3", "parameters.step_kinds.approve.source", "(got 'DOJ23'"),
        ("days: mon-fri", "days: mon-fry", "parameters.organizations.jp-cabinet.duty.days", "unknown day"),
        ("servers: 1", "servers: 0", "parameters.organizations.jp-cabinet.servers", "greater than or equal"),
        ("rework: 0.1", "rework: 1.5", "parameters.organizations.jp-cabinet.rework", "less than 1"),
        ("approve: {service: {", "approval: {service: {", "parameters.step_kinds.approval", "'consult'"),
        ("zone: Asia/Tokyo", "zone: Asia/Tokio", "start", "unknown IANA time zone 'Asia/Tokio'"),
        ("trans-pacific:", "transpacific:", "parameters.links.transpacific", "unknown name"),
        ("co-located: {delay: 0.1, assumption: down the hall}", "co-located: {delay: 0.1}", LINK, "needs"),
    ],
)
def test_each_mistake_is_reported_with_line_field_and_value(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    assert old in GOOD
    problems = problems_of(tmp_path, GOOD.replace(old, new, 1))
    where = f"{tmp_path / 's.yaml'}:{line_of(old)}: {field}"
    assert any(p.startswith(where) and message in p for p in problems), problems


def test_an_inject_that_files_an_unknown_request_is_an_error(tmp_path: Path) -> None:
    text = "\n".join(problems_of(tmp_path, GOOD.replace("requests: [designate]", "requests: [desginate]")))
    assert "files unknown request 'desginate'" in text


def test_an_inject_needs_exactly_one_time(tmp_path: Path) -> None:
    text = "\n".join(problems_of(tmp_path, GOOD.replace("  - at_h: 0\n", "  - at_h: 0\n    at_h: 1\n")))
    assert "yaml" in text.lower()  # a duplicate key is a YAML error with its line
    both = GOOD.replace("  - at_h: 0\n", "  - at_h: 0\n    at: 2027-05-03T06:00:00+09:00\n")
    assert "exactly one of at_h and at" in "\n".join(problems_of(tmp_path, both))


def test_a_network_scenario_needs_known_nodes(tmp_path: Path) -> None:
    text = """\
id: net
name: Net
network:
  nodes: [{id: a, service: 1, assumption: test}]
  routes:
    - {id: r, arrival: {process: poisson, rate_per_h: 1, count: 5}, steps: [a, b], assumption: test}
"""
    assert "visits unknown node 'b'" in "\n".join(problems_of(tmp_path, text))
    bad_arrival = text.replace("count: 5", "count: 5, horizon_h: 3").replace("[a, b]", "[a]")
    assert "exactly one of count and horizon_h" in "\n".join(problems_of(tmp_path, bad_arrival))


def test_not_a_mapping_and_not_yaml(tmp_path: Path) -> None:
    assert "a scenario file is a mapping" in "\n".join(problems_of(tmp_path, "- 1\n- 2\n"))
    assert "not valid YAML" in "\n".join(problems_of(tmp_path, "id: [\n"))
    with pytest.raises(DataError):
        load_scenario(write(tmp_path, "id: x\n"))


@given(
    first=st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
    last=st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
)
def test_day_ranges_wrap_around_the_week(first: str, last: str) -> None:
    days = DutyHours(hours="office", days=f"{first}-{last}").days  # type: ignore[arg-type]
    week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    i, j = week.index(first), week.index(last)
    assert len(days) == (j - i) % 7 + 1
    assert days[0] == first
    assert days[-1] == last


def test_start_may_be_an_aware_datetime_or_a_date(tmp_path: Path) -> None:
    text = GOOD.replace('{date: 2027-05-03, time: "06:00", zone: Asia/Tokyo}', "2027-05-03T06:00:00+09:00")
    s = load_scenario(write(tmp_path, text))
    assert s.start == datetime.fromisoformat("2027-05-03T06:00:00+09:00")
    naive = GOOD.replace('{date: 2027-05-03, time: "06:00", zone: Asia/Tokyo}', "2027-05-03T06:00:00")
    assert "start needs a time zone" in "\n".join(problems_of(tmp_path, naive))
