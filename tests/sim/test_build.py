"""From scenario and structure to engine input: parameters resolved per step, links classified, filings."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from kizuna.errors import DataError
from kizuna.model import LinkClass, load_scenario, load_structure
from kizuna.model.scenario import Deterministic, Lognormal, OrgParams
from kizuna.planning import DecisionPath, Step, StepKind
from kizuna.sim.build import check_parameters, classify_link, has_liaison, network_input, structure_input
from kizuna.sim.runner import simulate_inputs

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """\
id: build-check
name: Build check
structures: [us-japan-2025]
start: 2027-05-03T06:00:00+09:00
requests:
  - {id: designate, situation: important-influence, designates: important-influence}
  - {id: support, situation: important-influence, actor: jsdf, activity: supply, supported: us-forces}
injects:
  - at_h: 0
    requests: [designate]
  - at: 2027-05-03T12:00:00+09:00
    requests:
      - request: support
        count: 2
        after: designate
        deadlines:
          - {name: before the landing, at: 2027-05-05T06:00:00+09:00, assumption: test}
parameters:
  defaults: {service: 1, servers: 3, assumption: test}
  step_kinds:
    approve: {service: {dist: triangular, low: 1, mode: 2, high: 6}, assumption: test}
  organizations:
    jp-cabinet:
      servers: 1
      duty: {hours: office, call_in: 2}
      steps: {approve: {service: 4, assumption: test}}
      assumption: test
  links:
    co-located: {delay: 0.1, assumption: test}
    same-country: {delay: 0.5, assumption: test}
    trans-pacific: {delay: {dist: lognormal, mean: 3, cv: 1}, assumption: test}
  liaison: {factor: 0.5, assumption: test}
"""


def path(request: str, *steps: tuple[str, str, StepKind, tuple[str, ...]]) -> DecisionPath:
    built = tuple(Step(id=i, organization=o, kind=k, label=i, predecessors=p) for i, o, k, p in steps)
    return DecisionPath(
        request=request,
        structure="us-japan-2025",
        steps=built,
        decision_step=built[-2].id,
        effect_step=built[-1].id,
    )


@pytest.fixture
def scenario(tmp_path: Path):  # type: ignore[no-untyped-def]
    file = tmp_path / "build-check.yaml"
    file.write_text(SCENARIO, encoding="utf-8")
    return load_scenario(file)


def paths() -> dict[str, DecisionPath]:
    return {
        "designate": path(
            "designate",
            ("draft", "jp-cabinet-secretariat", StepKind.COORDINATE, ()),
            ("decide", "jp-cabinet", StepKind.APPROVE, ("draft",)),
            ("announce", "jp-pm", StepKind.INFORM, ("decide",)),
        ),
        "support": path(
            "support",
            ("file", "jjoc-cooperation-team", StepKind.COORDINATE, ()),
            ("pacific", "indopacom", StepKind.CONSULT, ("file",)),
            ("relay", "jjoc", StepKind.COORDINATE, ("file",)),
            ("approve", "jp-cabinet", StepKind.APPROVE, ("relay", "pacific")),
            ("act", "msdf", StepKind.EXECUTE, ("approve",)),
        ),
    }


def test_links_are_classified_by_where_organizations_sit() -> None:
    s = load_structure("us-japan-2015")
    assert classify_link(s, "jp-pm", "jp-cabinet") is LinkClass.CO_LOCATED  # both at the Kantei
    assert classify_link(s, "jp-mod", "iii-mef") is LinkClass.SAME_COUNTRY  # Tokyo and Okinawa
    assert classify_link(s, "jp-mod", "indopacom") is LinkClass.TRANS_PACIFIC  # Tokyo and Hawaii
    assert classify_link(s, "acm-ccc", "jp-mod") is LinkClass.SAME_COUNTRY  # no site: same-country
    s25 = load_structure("us-japan-2025")
    assert has_liaison(s25, "jjoc", "jjoc-cooperation-team")
    assert has_liaison(s25, "jjoc-cooperation-team", "jjoc")
    assert not has_liaison(s25, "jjoc", "usfj")


def test_parameters_links_and_filings_are_resolved_per_step(scenario) -> None:  # type: ignore[no-untyped-def]
    structure = load_structure("us-japan-2025")
    inp = structure_input(scenario, structure, paths())
    stations = {s.id: s for s in inp.stations}
    assert stations["jp-cabinet"].servers == 1
    assert stations["jp-mofa" if "jp-mofa" in stations else "jjoc"].servers == 3
    cabinet = stations["jp-cabinet"].calendar
    assert cabinet is not None
    # Scenario hour 0 is Monday 06:00 in Tokyo: the cabinet opens at 09:00 (hour 3).
    assert cabinet.next_open(np.array([0.0]))[0] == pytest.approx(3.0)
    assert stations["jjoc"].calendar is None

    support = inp.templates[1]
    steps = {s.id: s for s in support.steps}
    assert steps["approve"].service == Deterministic(value=4)  # org + kind beats kind
    assert isinstance(inp.templates[0].steps[0].service, Deterministic)  # drafting: defaults
    assert steps["act"].service == Deterministic(value=1)  # defaults
    # file (cooperation team) -> relay (JJOC): the liaison relation halves that link's delay.
    base = {LinkClass.CO_LOCATED: 0.1, LinkClass.SAME_COUNTRY: 0.5}
    relay_link = dict(steps["relay"].preds)[0]
    assert relay_link is not None
    expected = 0.5 * base[classify_link(structure, "jjoc", "jjoc-cooperation-team")]
    assert relay_link.mean_h() == pytest.approx(expected)
    pacific_link = dict(steps["pacific"].preds)[0]
    assert isinstance(pacific_link, Lognormal)
    assert pacific_link.mean_h() == pytest.approx(3.0)

    # Filings: the designation at hour 0, two support requests at hour 6 waiting on the designation.
    assert [(inp.label(i), x.release_h, x.after) for i, x in enumerate(inp.instances)] == [
        ("designate", 0.0, ()),
        ("support#1", 6.0, (0,)),
        ("support#2", 6.0, (0,)),
    ]
    assert inp.instances[1].deadlines[0].at_h == pytest.approx(48.0)


def test_the_built_input_runs_and_reports_per_request(scenario) -> None:  # type: ignore[no-untyped-def]
    inp = structure_input(scenario, load_structure("us-japan-2025"), paths())
    result = simulate_inputs([inp], scenario=scenario.id, replications=500, seed=2, workers=1)
    s = result.structures["us-japan-2025"]
    support = s.requests["support"]
    # Support is filed at 06:00 but waits for the designation, decided at the cabinet (opens 09:00).
    assert support.effect.p50_h > 3.0
    assert 0.0 <= support.deadlines["before the landing"] <= 1.0
    assert set(s.critical_steps["support"]) == {"file", "pacific", "relay", "approve", "act"}
    assert s.critical_steps["support"]["act"] == pytest.approx(1.0)
    assert sum(o.delay_share for o in s.organizations.values()) + s.links_share == pytest.approx(1.0)
    bars = result.gantt("us-japan-2025")
    assert {b.instance for b in bars} == {"designate", "support#1", "support#2"}
    assert all(b.arrive_h <= b.ready_h <= b.begin_h <= b.end_h for b in bars)


def test_parameters_for_an_organization_no_structure_has_are_an_error(scenario) -> None:  # type: ignore[no-untyped-def]
    problems = check_parameters(scenario, [load_structure("us-japan-2015")])
    assert problems == []
    renamed = scenario.model_copy(
        update={
            "parameters": scenario.parameters.model_copy(
                update={"organizations": {"jp-cabinett": scenario.parameters.organizations["jp-cabinet"]}}
            )
        }
    )
    problems = check_parameters(renamed, [load_structure("us-japan-2015")])
    assert len(problems) == 1
    assert problems[0].value == "jp-cabinett"
    assert "jp-cabinet" in str(problems[0])


def test_a_path_at_an_unknown_organization_is_a_data_error(scenario) -> None:  # type: ignore[no-untyped-def]
    bad = {
        "designate": path(
            "designate", ("a", "nowhere", StepKind.APPROVE, ()), ("b", "jp-pm", StepKind.INFORM, ("a",))
        )
    }
    with pytest.raises(DataError, match="nowhere"):
        structure_input(scenario, load_structure("us-japan-2025"), bad)


def test_network_routes_become_streams_with_warm_up() -> None:
    scenario = load_scenario(ROOT / "docs" / "examples" / "mmc.yaml")
    inp = network_input(scenario)
    route = scenario.network.routes[0]  # type: ignore[union-attr]
    assert len(inp.instances) == route.arrival.count
    assert sum(not i.counted for i in inp.instances) == route.warmup
    assert inp.stations[0].servers == 3


# -- clocks: a fixed-offset start keeps its offset for network nodes and organizations without a site ----

OFFSET_NETWORK = """\
id: offset-net
name: Office hours on a fixed offset
start: 2027-03-12T17:30:00+09:00
network:
  nodes:
    - id: desk
      servers: 1
      service: 1
      duty: {hours: office, open: "09:00", close: "18:00", days: mon-fri}
      assumption: test
  routes:
    - id: case
      arrival: {process: deterministic, interval_h: 1, count: 2}
      steps: [desk]
      assumption: test
"""


def test_network_nodes_keep_office_hours_on_a_fixed_offset_start(tmp_path: Path) -> None:
    file = tmp_path / "offset.yaml"
    file.write_text(OFFSET_NETWORK, encoding="utf-8")
    inp = network_input(load_scenario(file))
    cal = inp.stations[0].calendar
    assert cal is not None
    # Hour 0 is Friday 17:30 at UTC+09:00: open until 18:00, then closed until Monday 09:00 (hour 63.5).
    # Read as UTC (the bug), 17:30+09:00 is 08:30 UTC: closed until 09:00 UTC.
    assert cal.on_duty(0.0)
    assert cal.next_open(np.array([1.0]))[0] == pytest.approx(63.5)
    result = simulate_inputs([inp], scenario="offset-net", replications=3, seed=1, workers=1)
    case = result.structures["network"].instances
    assert case["case#1"].effect.mean_h == 1.0  # starts at once, staff stay late
    assert case["case#2"].effect.mean_h == pytest.approx(63.5)  # filed at 1, begins 63.5, ends 64.5


def test_an_organization_without_a_site_keeps_the_offset_of_start(scenario) -> None:  # type: ignore[no-untyped-def]
    structure = load_structure("us-japan-2025")
    assert structure.site_of("acm-ccc") is None
    office = scenario.parameters.defaults.duty.model_copy(update={"hours": "office"})
    params = scenario.parameters.model_copy(
        update={
            "organizations": {
                **scenario.parameters.organizations,
                "acm-ccc": OrgParams(duty=office, assumption="test"),
            }
        }
    )
    # The file's start, 2027-05-03T06:00:00+09:00, is a fixed offset: Monday 06:00 at UTC+09:00.
    assert scenario.start.tzinfo is not None
    assert not isinstance(scenario.start.tzinfo, ZoneInfo)
    fixed = scenario.model_copy(update={"parameters": params})
    bodies = {
        "designate": path(
            "designate",
            ("consult", "acm-ccc", StepKind.COORDINATE, ()),
            ("decide", "jp-cabinet", StepKind.APPROVE, ("consult",)),
            ("announce", "jp-pm", StepKind.INFORM, ("decide",)),
        )
    }
    inp = structure_input(fixed, structure, bodies)
    acm = next(s for s in inp.stations if s.id == "acm-ccc").calendar
    assert acm is not None
    assert acm.next_open(np.array([0.0]))[0] == pytest.approx(3.0)  # 09:00 at UTC+09:00, not 09:00 UTC


def test_a_delay_on_a_routes_first_step_is_a_transit_from_the_arrival(tmp_path: Path) -> None:
    text = """\
id: first-delay
name: First-step delay
network:
  nodes:
    - {id: a, service: 1, assumption: test}
    - {id: b, service: 2, assumption: test}
  routes:
    - id: r
      arrival: {process: deterministic, interval_h: 10, offset_h: 3, count: 2}
      steps: [{id: a, node: a, delay: 0.5}, {id: b, node: b, delay: 0.25}]
      assumption: test
"""
    file = tmp_path / "first-delay.yaml"
    file.write_text(text, encoding="utf-8")
    inp = network_input(load_scenario(file))
    first, second = inp.templates[0].steps
    assert first.delay == Deterministic(value=0.5)
    assert second.delay is None  # its delay is on the edge from `a`
    assert dict(second.preds)[0] == Deterministic(value=0.25)
    result = simulate_inputs([inp], scenario="first-delay", replications=2, seed=0, workers=1)
    s = result.structures["network"]
    # Filed at hours 3 and 13; 0.5 in transit, 1 at a, 0.25 in transit, 2 at b: 3.75 hours each.
    assert s.instances["r#1"].effect.mean_h == 3.75
    assert s.instances["r#2"].effect.mean_h == 3.75
    assert s.requests["r"].effect.p50_h == 3.75
