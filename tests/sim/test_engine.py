"""The engine's mechanics on small hand-built inputs whose schedules can be worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.model.scenario import Arrival, Deterministic, DutyHours, Exponential, Lognormal
from kizuna.sim.calendar import DutyCalendar
from kizuna.sim.engine import (
    BLOCK,
    DeadlineSpec,
    EngineInput,
    Instance,
    PathTemplate,
    Station,
    StepSpec,
    Stream,
    block_rng,
    critical_mask,
    fifo_order,
    simulate_block,
)
from kizuna.sim.runner import simulate_inputs


def det(hours: float) -> Deterministic:
    return Deterministic(value=hours)


def one_path(
    steps: tuple[StepSpec, ...], stations: tuple[Station, ...], releases: tuple[float, ...] = (0.0,)
) -> EngineInput:
    template = PathTemplate("req", steps, decision=len(steps) - 1, effect=len(steps) - 1)
    instances = tuple(Instance(0, k + 1, r) for k, r in enumerate(releases))
    return EngineInput("test", "s", stations, (template,), instances)


def path_order(inp: EngineInput) -> np.ndarray:
    """Rows of the engine's arrays in the order filing by filing, step by step (as the tests read them)."""
    return np.concatenate(inp.compiled.instance_rows)


def run_once(inp: EngineInput, n: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    out = simulate_block(inp.compiled, block_rng(seed, 0, 0), n)
    rows = path_order(inp)
    return out.begin[rows], out.end[rows]


def test_a_chain_adds_service_and_link_delays() -> None:
    steps = (
        StepSpec("a", 0, det(1.0)),
        StepSpec("b", 1, det(2.0), preds=((0, det(0.5)),)),
        StepSpec("c", 0, det(1.0), preds=((1, None),)),
    )
    inp = one_path(steps, (Station("x", 1), Station("y", 1)))
    _, end = run_once(inp)
    assert end[:, 0].tolist() == [1.0, 3.5, 4.5]


def test_fork_join_waits_for_the_slower_branch() -> None:
    steps = (
        StepSpec("start", 0, det(1.0)),
        StepSpec("fast", 1, det(1.0), preds=((0, None),)),
        StepSpec("slow", 2, det(3.0), preds=((0, det(0.25)),)),
        StepSpec("join", 0, det(0.5), preds=((1, None), (2, None))),
    )
    inp = one_path(steps, (Station("x", 1), Station("y", 1), Station("z", 1)))
    out = simulate_block(inp.compiled, block_rng(0, 0, 0), 2)
    rows = path_order(inp)
    assert out.end[rows[3]].tolist() == [4.75, 4.75]
    on = critical_mask(inp.compiled, out)[rows]
    assert on[:, 0].tolist() == [True, False, True, True]


def test_fifo_servers_queue_requests_of_the_same_organization() -> None:
    # Three filings at once, two servers, one hour each: the third waits an hour.
    inp = one_path((StepSpec("a", 0, det(1.0)),), (Station("x", 2),), releases=(0.0, 0.0, 0.0))
    begin, end = run_once(inp)
    assert sorted(begin[:, 0].tolist()) == [0.0, 0.0, 1.0]
    assert sorted(end[:, 0].tolist()) == [1.0, 1.0, 2.0]


def test_after_effect_steps_do_not_delay_the_effect() -> None:
    steps = (
        StepSpec("decide", 0, det(1.0)),
        StepSpec("report", 1, det(50.0), preds=((0, None),), after_effect=True),
        StepSpec("act", 2, det(2.0), preds=((0, None), (1, None))),
    )
    template = PathTemplate("req", steps, decision=0, effect=2)
    inp = EngineInput(
        "t", "s", (Station("x", 1), Station("y", 1), Station("z", 1)), (template,), (Instance(0),)
    )
    _, end = run_once(inp)
    assert end[2, 0] == 3.0
    assert end[1, 0] == 51.0


def tokyo_office(call_in: Deterministic | None = None) -> DutyCalendar:
    start = datetime(2027, 5, 3, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Monday
    cal = DutyCalendar.build(DutyHours(hours="office", call_in=call_in), "Asia/Tokyo", start)
    assert cal is not None
    return cal


def test_a_step_arriving_at_20_00_waits_for_09_00_next_morning() -> None:
    # Scenario hour 0 is Monday 00:00 JST; the step arrives at 20:00 (hour 20).
    station = Station("cabinet", 1, tokyo_office())
    inp = one_path((StepSpec("approve", 0, det(1.0)),), (station,), releases=(20.0,))
    begin, end = run_once(inp)
    assert begin[0, 0] == pytest.approx(33.0)  # Tuesday 09:00
    assert end[0, 0] == pytest.approx(34.0)


def test_a_call_in_beats_the_morning_when_it_is_sooner() -> None:
    station = Station("cabinet", 1, tokyo_office(det(1.5)), call_in=det(1.5))
    inp = one_path((StepSpec("approve", 0, det(1.0)),), (station,), releases=(20.0, 8.5))
    begin, _ = run_once(inp)
    assert begin[0, 0] == pytest.approx(21.5)  # called in at 20:00, staff there by 21:30
    assert begin[1, 0] == pytest.approx(9.0)  # 08:30: the office opens at 09:00, before the call-in


def test_office_hours_skip_the_weekend_and_follow_the_local_zone() -> None:
    start = datetime(2027, 5, 7, 12, 0, tzinfo=UTC)  # Friday 12:00 UTC = Friday 08:00 in Washington
    cal = DutyCalendar.build(DutyHours(hours="office"), "America/New_York", start)
    assert cal is not None
    assert cal.on_duty(2.0)  # 10:00 EDT Friday
    # Friday 19:00 EDT (hour 11) waits until Monday 09:00 EDT = hour 3*24 + 1.
    assert cal.next_open(np.array([11.0]))[0] == pytest.approx(73.0)


def test_rework_repeats_the_work_by_a_geometric_number() -> None:
    steps = (StepSpec("draft", 0, det(1.0), rework=0.5),)
    inp = one_path(steps, (Station("x", 1),))
    out = simulate_block(inp.compiled, block_rng(3, 0, 0), 20_000)
    work = out.end[0] - out.begin[0]
    assert set(np.unique(work)) <= {float(k) for k in range(1, 60)}
    # Mean of 1 + Geometric(failures) with p = 0.5 is 2; sd of the mean is ~0.01.
    assert work.mean() == pytest.approx(2.0, abs=0.05)


def test_a_revisited_organization_settles_to_the_fifo_schedule() -> None:
    # x -> y -> x with one server at x and two filings an hour apart: a cycle in the station graph.
    steps = (
        StepSpec("draft", 0, det(2.0)),
        StepSpec("check", 1, det(1.0), preds=((0, None),)),
        StepSpec("sign", 0, det(2.0), preds=((1, None),)),
    )
    inp = one_path(steps, (Station("x", 1), Station("y", 1)), releases=(0.0, 1.0))
    assert inp.compiled.groups[0][1]  # processed as a cyclic group
    begin, end = run_once(inp)
    # Filing 1: draft 0-2, check 2-3, sign waits for x (filing 2 drafts 2-4), signs 4-6.
    # Filing 2: draft 2-4, check 4-5, sign 6-8.
    assert begin[:, 0].tolist() == [0.0, 2.0, 4.0, 2.0, 4.0, 6.0]
    assert end[:, 0].tolist() == [2.0, 3.0, 6.0, 4.0, 5.0, 8.0]


def test_prerequisite_requests_hold_back_a_filing() -> None:
    a = PathTemplate("designate", (StepSpec("cabinet", 0, det(5.0)),), 0, 0)
    b = PathTemplate("act", (StepSpec("order", 1, det(1.0)),), 0, 0)
    inp = EngineInput(
        "t", "s", (Station("x", 1), Station("y", 1)), (a, b), (Instance(0), Instance(1, after=(0,)))
    )
    _, end = run_once(inp)
    assert end[:, 0].tolist() == [5.0, 6.0]


def test_arrivals_past_the_horizon_are_not_filed() -> None:
    stream = Stream(Arrival(process="deterministic", interval_h=1.0, horizon_h=2.5))
    template = PathTemplate("r", (StepSpec("a", 0, det(0.1)),), 0, 0)
    instances = tuple(Instance(0, k + 1, None, 0, k) for k in range(stream.arrival.max_count()))
    inp = EngineInput("t", "s", (Station("x", 1),), (template,), instances, (stream,))
    result = simulate_inputs([inp], scenario="t", replications=10, workers=1)
    stats = result.structures["s"].requests["r"]
    assert stats.effect.n == 10 * 3  # arrivals at 0, 1, 2


def test_a_first_step_delay_is_crossed_after_the_filing_and_its_prerequisites() -> None:
    a = PathTemplate("designate", (StepSpec("cabinet", 0, det(5.0)),), 0, 0)
    b = PathTemplate("act", (StepSpec("order", 1, det(1.0), delay=det(0.5)),), 0, 0)
    stations = (Station("x", 1), Station("y", 1))
    alone = EngineInput("t", "s", stations, (a, b), (Instance(0), Instance(1, 1, 2.0)))
    _, end = run_once(alone)
    assert end[:, 0].tolist() == [5.0, 3.5]  # filed at 2, in transit until 2.5, done at 3.5
    waiting = EngineInput("t", "s", stations, (a, b), (Instance(0), Instance(1, after=(0,))))
    out = simulate_block(waiting.compiled, block_rng(0, 0, 0), 2)
    rows = path_order(waiting)
    assert out.end[rows, 0].tolist() == [5.0, 6.5]  # the designation at 5, then 0.5 in transit
    assert out.crit_link[rows[1], 0] == 0.5  # the transit lies on the critical path
    with pytest.raises(ValueError, match="only for a first step"):
        PathTemplate(
            "bad",
            (StepSpec("a", 0, det(1.0)), StepSpec("b", 0, det(1.0), preds=((0, None),), delay=det(1.0))),
            1,
            1,
        )


def test_fixed_interval_arrivals_start_at_their_offset() -> None:
    stream = Stream(Arrival(process="deterministic", interval_h=2.0, offset_h=1.5, horizon_h=7.0), 10.0)
    template = PathTemplate("r", (StepSpec("a", 0, det(0.1)),), 0, 0)
    instances = tuple(Instance(0, k + 1, None, 0, k) for k in range(stream.arrival.max_count()))
    inp = EngineInput("t", "s", (Station("x", 1),), (template,), instances, (stream,))
    out = simulate_block(inp.compiled, block_rng(0, 0, 0), 3)
    # From hour 10 (the inject), offset 1.5, every 2 hours until 7 hours after the inject.
    assert out.release[:, 0].tolist() == [11.5, 13.5, 15.5]
    poisson = Stream(Arrival(process="poisson", rate_per_h=5.0, offset_h=4.0, count=50), 10.0)
    inp = EngineInput("t", "s", (Station("x", 1),), (template,), instances[:1], (poisson,))
    first = simulate_block(inp.compiled, block_rng(0, 0, 0), 1000).release[0]
    assert first.min() > 14.0  # a gap after hour 14
    assert first.mean() == pytest.approx(14.2, abs=0.03)


def test_utilization_is_measured_over_each_stations_own_window() -> None:
    # Station x: a warm-up filing works 0-5; counted filings arrive at 4 (waits, works 5-6) and 14
    # (works 14-15). x's window is 4-15 (first counted arrival to last counted end): 3 hours of work
    # inside it (the warm-up's last hour included). Station y works 0-1 and 100-101: 2 of 101 hours.
    long = PathTemplate("long", (StepSpec("a", 0, det(5.0)),), 0, 0)
    short = PathTemplate("short", (StepSpec("a", 0, det(1.0)),), 0, 0)
    other = PathTemplate("other", (StepSpec("b", 1, det(1.0)),), 0, 0)
    instances = (
        Instance(0, 1, 0.0, counted=False),
        Instance(1, 1, 4.0),
        Instance(1, 2, 14.0),
        Instance(2, 1, 0.0),
        Instance(2, 2, 100.0),
    )
    inp = EngineInput("t", "s", (Station("x", 1), Station("y", 1)), (long, short, other), instances)
    orgs = simulate_inputs([inp], scenario="t", replications=5, workers=1).structures["s"].organizations
    assert orgs["x"].utilization == pytest.approx(3.0 / 11.0, rel=1e-12)
    assert orgs["y"].utilization == pytest.approx(2.0 / 101.0, rel=1e-12)
    assert orgs["x"].utilization_se == pytest.approx(0.0, abs=1e-12)  # the same in every replication


def mixed_input() -> EngineInput:
    """Random service, two organizations, a fork-join and deadlines: for determinism checks."""
    stations = (Station("x", 2), Station("y", 1, tokyo_office(det(2.0)), det(2.0)), Station("z", 3))
    steps = (
        StepSpec("a", 0, Lognormal(dist="lognormal", mean=1.0, cv=0.8)),
        StepSpec("b", 1, Exponential(dist="exponential", mean=2.0), preds=((0, det(0.2)),)),
        StepSpec("c", 2, Exponential(dist="exponential", mean=1.0), preds=((0, None),), rework=0.2),
        StepSpec("d", 0, det(0.5), preds=((1, None), (2, Exponential(dist="exponential", mean=0.3)))),
    )
    template = PathTemplate("req", steps, decision=1, effect=3)
    stream = Stream(Arrival(process="poisson", rate_per_h=0.8, count=12), 3.0)
    deadlines = (DeadlineSpec("soon", "effect", None, 8.0), DeadlineSpec("by day 2", "decision", 48.0))
    instances = tuple(Instance(0, k + 1, None, 0, k, deadlines) for k in range(12))
    return EngineInput("mixed", "s", stations, (template,), instances, (stream,))


def test_same_seed_same_result_whatever_the_chunking_and_workers() -> None:
    inp = mixed_input()
    n = 2 * BLOCK + 100
    one = simulate_inputs([inp], scenario="m", replications=n, seed=7, workers=1, blocks_per_chunk=1)
    two = simulate_inputs([inp], scenario="m", replications=n, seed=7, workers=2, blocks_per_chunk=2)
    big = simulate_inputs([inp], scenario="m", replications=n, seed=7, workers=1, blocks_per_chunk=5)
    assert one.to_json() == two.to_json() == big.to_json()
    other = simulate_inputs([inp], scenario="m", replications=n, seed=8, workers=1)
    assert other.to_json() != one.to_json()


def test_times_are_ordered_and_effect_never_precedes_decision() -> None:
    inp = mixed_input()
    out = simulate_block(inp.compiled, block_rng(1, 0, 0), 500)
    assert np.all(out.ready >= out.arrive)
    assert np.all(out.begin >= out.ready)
    assert np.all(out.end >= out.begin)
    comp = inp.compiled
    assert np.all(out.end[comp.effect_visit] >= out.release)
    # d comes after b (the decision), so the effect never precedes the decision here.
    assert np.all(out.end[comp.effect_visit] >= out.end[comp.decision_visit])


@settings(max_examples=25, deadline=None)
@given(
    servers=st.integers(1, 4),
    rate=st.floats(0.2, 3.0),
    mean=st.floats(0.1, 2.0),
    cv=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_more_servers_never_lengthen_the_mean_wait(
    servers: int, rate: float, mean: float, cv: float, seed: int
) -> None:
    """With the same arrivals and service draws (same seed), adding a server never adds waiting."""

    def mean_end(c: int) -> float:
        stream = Stream(Arrival(process="poisson", rate_per_h=rate, count=30))
        template = PathTemplate("r", (StepSpec("a", 0, Lognormal(dist="lognormal", mean=mean, cv=cv)),), 0, 0)
        instances = tuple(Instance(0, k + 1, None, 0, k) for k in range(30))
        inp = EngineInput("t", "s", (Station("x", c),), (template,), instances, (stream,))
        out = simulate_block(inp.compiled, block_rng(seed, 0, 0), 64)
        assert np.all(out.ready - out.arrive >= 0)
        return float((out.ready - out.arrive).mean())

    assert mean_end(servers + 1) <= mean_end(servers) + 1e-9


@st.composite
def random_inputs(draw: st.DrawFn) -> EngineInput:
    """Small random inputs: random stations (some on office hours), random DAG paths that may revisit."""
    n_st = draw(st.integers(1, 4))
    stations = tuple(
        Station(
            f"o{k}",
            draw(st.integers(1, 3)),
            tokyo_office(det(1.0)) if draw(st.booleans()) else None,
            det(1.0) if draw(st.booleans()) else None,
        )
        for k in range(n_st)
    )
    templates = []
    for t in range(draw(st.integers(1, 3))):
        steps: list[StepSpec] = []
        for j in range(draw(st.integers(1, 5))):
            preds = (
                tuple(
                    (p, det(draw(st.sampled_from([0.0, 0.5]))) if draw(st.booleans()) else None)
                    for p in sorted(draw(st.sets(st.integers(0, j - 1), max_size=2)))
                    if j > 0
                )
                if j > 0
                else ()
            )
            service = Lognormal(dist="lognormal", mean=draw(st.floats(0.1, 3.0)), cv=0.7)
            steps.append(StepSpec(f"s{j}", draw(st.integers(0, n_st - 1)), service, preds=preds, rework=0.1))
        templates.append(PathTemplate(f"r{t}", tuple(steps), len(steps) - 1, len(steps) - 1))
    instances = tuple(
        Instance(draw(st.integers(0, len(templates) - 1)), k + 1, draw(st.floats(0.0, 30.0)))
        for k in range(draw(st.integers(1, 8)))
    )
    return EngineInput("random", "s", stations, tuple(templates), instances)


@settings(max_examples=30, deadline=None)
@given(inp=random_inputs(), seed=st.integers(0, 2**32 - 1))
def test_every_schedule_is_a_fifo_schedule_within_capacity(inp: EngineInput, seed: int) -> None:
    """Whatever the paths (forks, joins, revisits), the schedule respects precedence, FIFO and servers."""
    comp = inp.compiled
    out = simulate_block(comp, block_rng(seed, 0, 0), 16)
    assert out.unsettled == 0
    assert np.all(out.arrive <= out.ready)
    assert np.all(out.ready <= out.begin)
    assert np.all(out.begin < out.end)
    for v, incoming in enumerate(comp.edges_in):
        for p, _ in incoming:
            assert np.all(out.arrive[v] >= out.end[p])  # links only add time
    for s, station in enumerate(inp.stations):
        idx = comp.station_visits[s]
        for lane in range(out.n):
            a, r, e = out.arrive[idx, lane], out.ready[idx, lane], out.end[idx, lane]
            order = np.argsort(a, kind="stable")
            assert np.all(np.diff(r[order]) >= 0)  # served in order of arrival
            # At no moment do more than `servers` steps hold a server (from ready to end).
            for t in r:
                assert np.count_nonzero((r <= t) & (t < e)) <= station.servers


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 70),
    lanes=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    ties=st.booleans(),
)
def test_fifo_order_is_a_stable_sort_of_arrivals(rows: int, lanes: int, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random((rows, lanes)) * 100.0
    if ties:  # simultaneous filings and never-filed visits
        a[rng.random((rows, lanes)) < 0.3] = 5.0
        a[rng.random((rows, lanes)) < 0.1] = np.inf
    if ties and rows > 1:  # and values one unit in the last place apart (the fast path mixes them up)
        a[0] = np.nextafter(a[1], np.inf)
    order, ordered = fifo_order(a)
    assert np.array_equal(order, np.argsort(a, axis=0, kind="stable"))
    assert np.array_equal(ordered, np.sort(a, axis=0))
