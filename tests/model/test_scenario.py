"""Scenario files: the format loads, parameters resolve from the most specific level, mistakes are named."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.errors import DataError, UnknownId
from kizuna.model.scenario import (
    STEP_KINDS,
    Arrival,
    Deterministic,
    DutyHours,
    Lognormal,
    Scenario,
    Triangular,
    check_scenario_file,
    clock_zone,
    load_scenario,
    local_time,
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


# -- the scenario clock: hours are counted in UTC, across daylight saving and fixed offsets ---------------

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("start", "when", "hours"),
    [
        # 14 Mar 2027: New York springs forward at 02:00; from Saturday to Sunday noon is 23 hours.
        (datetime(2027, 3, 13, 12, 0, tzinfo=NEW_YORK), datetime(2027, 3, 14, 12, 0, tzinfo=NEW_YORK), 23.0),
        # 7 Nov 2027: it falls back at 02:00; from Saturday to Sunday noon is 25 hours.
        (datetime(2027, 11, 6, 12, 0, tzinfo=NEW_YORK), datetime(2027, 11, 7, 12, 0, tzinfo=NEW_YORK), 25.0),
    ],
)
def test_scenario_hours_are_elapsed_hours_across_a_clock_change(
    tmp_path: Path, start: datetime, when: datetime, hours: float
) -> None:
    # Both datetimes share one ZoneInfo: Python alone would subtract wall-clock times and say 24.
    assert (when - start) / timedelta(hours=1) == 24.0
    s = load_scenario(write(tmp_path, GOOD)).model_copy(update={"start": start})
    assert s.hours(when) == hours
    assert s.when(hours) == when
    assert s.when(hours).utcoffset() == when.utcoffset()
    assert local_time(start, hours).isoformat() == when.isoformat()


def test_an_inject_at_a_date_time_counts_elapsed_hours_from_a_zoned_start(tmp_path: Path) -> None:
    text = GOOD.replace(
        '{date: 2027-05-03, time: "06:00", zone: Asia/Tokyo}',
        '{date: 2027-03-13, time: "12:00", zone: America/New_York}',
    ).replace("at: 2027-05-03T12:00:00+09:00", "at: 2027-03-14T12:00:00-04:00")
    s = load_scenario(write(tmp_path, text))
    assert s.inject_hours(s.injects[1]) == 23.0


def test_a_fixed_offset_start_keeps_its_offset(tmp_path: Path) -> None:
    text = GOOD.replace('{date: 2027-05-03, time: "06:00", zone: Asia/Tokyo}', "2027-03-12T17:30:00+09:00")
    s = load_scenario(write(tmp_path, text))
    assert s.zone == timezone(timedelta(hours=9))
    assert s.when(0.5).isoformat() == "2027-03-12T18:00:00+09:00"
    zoned = load_scenario(write(tmp_path, GOOD))
    assert zoned.zone == ZoneInfo("Asia/Tokyo")


class _Opaque(tzinfo):
    """A zone whose offset depends on the date and that is not a ZoneInfo (like a pytz zone)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None if dt is None else timedelta(hours=1)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "opaque"


def test_a_start_in_a_zone_the_engine_cannot_read_is_refused() -> None:
    with pytest.raises(ValueError, match=r"IANA zone .* or a fixed UTC offset"):
        clock_zone(datetime(2027, 1, 1, tzinfo=_Opaque()))
    from pydantic import ValidationError

    network = {"nodes": [{"id": "a", "service": 1, "assumption": "t"}], "routes": []}
    with pytest.raises(ValidationError) as err:
        Scenario.model_validate(
            {"id": "x", "name": "x", "start": datetime(2027, 1, 1, tzinfo=_Opaque()), "network": network}
        )
    assert [e["loc"] for e in err.value.errors() if "fixed UTC offset" in e["msg"]] == [("start",)]


def test_arrival_offsets_shift_the_process_and_come_before_the_horizon(tmp_path: Path) -> None:
    every_two = Arrival(process="deterministic", interval_h=2.0, offset_h=1.0, horizon_h=8.0)
    assert every_two.max_count() == 4  # 1, 3, 5, 7
    text = """\
id: net
name: Net
network:
  nodes: [{id: a, service: 1, assumption: test}]
  routes:
    - id: r
      arrival: {process: deterministic, interval_h: 2, offset_h: 9, horizon_h: 8}
      steps: [a]
      assumption: test
"""
    problems = problems_of(tmp_path, text)
    assert any(":7: network.routes.0.arrival" in p and "offset_h (9) must come before" in p for p in problems)


def test_a_copy_with_other_requests_indexes_its_own_requests() -> None:
    """A cached index never outlives a change: the console's percentile copies a scenario with one request."""
    from kizuna.model import load_scenario as load

    base = load("taiwan-contingency")
    assert base.request_by_id  # computed and cached on the original
    one = base.model_copy(update={"requests": base.requests[:1]})
    assert list(one.request_by_id) == [base.requests[0].id]
