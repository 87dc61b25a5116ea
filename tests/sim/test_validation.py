"""The engine against theory and against discrete-event simulation, within Monte Carlo error.

Tolerances come from the replication counts: a mean agrees when the difference is within Z standard
errors of the difference; a 95th percentile agrees when the other sample's empirical CDF at it is within
Z binomial standard errors of 0.95 (plus the engine's histogram resolution). Z = 4 keeps the chance of
a false alarm per check below 1e-4, and the seeds are fixed, so the suite is repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import simpy

from kizuna.model.scenario import (
    Arrival,
    Deterministic,
    DutyHours,
    Exponential,
    Lognormal,
    load_scenario,
)
from kizuna.sim import simulate
from kizuna.sim.calendar import DutyCalendar
from kizuna.sim.engine import EngineInput, Instance, PathTemplate, Station, StepSpec, Stream
from kizuna.sim.reference import simulate_reference
from kizuna.sim.result import GROWTH, RequestStats
from kizuna.sim.runner import simulate_inputs

Z = 4.0
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def erlang_c(lam: float, mu: float, c: int) -> tuple[float, float]:
    """Return (P(wait), mean wait in queue) of an M/M/c queue."""
    a = lam / mu
    rho = a / c
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (head + tail)
    return p_wait, p_wait / (c * mu - lam)


def test_mmc_matches_erlang_c() -> None:
    scenario = load_scenario(EXAMPLES / "mmc.yaml")
    assert scenario.network is not None
    node = scenario.network.nodes[0]
    route = scenario.network.routes[0]
    assert isinstance(node.service, Exponential)
    assert route.arrival.rate_per_h is not None
    p_wait, wq = erlang_c(route.arrival.rate_per_h, 1.0 / node.service.mean_h(), node.servers)

    result = simulate(scenario, replications=400, seed=11, workers=1)
    desk = result.structures["network"].organizations[node.id]
    # Lane means are independent across replications, so their standard errors are honest; the
    # warm-up leaves a bias well below them (checked: 200 of 2,000 customers dropped).
    assert abs(desk.mean_wait_h - wq) <= Z * desk.mean_wait_se_h
    assert abs(desk.p_wait - p_wait) <= Z * desk.p_wait_se
    sojourn = result.structures["network"].requests[route.id].effect
    assert abs(sojourn.mean_h - (wq + node.service.mean_h())) <= Z * sojourn.se_h
    rho = route.arrival.rate_per_h * node.service.mean_h() / node.servers
    assert abs(desk.utilization - rho) <= Z * desk.utilization_se


# -- single queues and a tandem against queueing theory --------------------------------------------------


def queue_file(tmp_path: Path, nodes: str, route: str) -> Path:
    """Write a network scenario with the given node lines and route lines (YAML, indented)."""
    path = tmp_path / "queue.yaml"
    text = f"id: queue\nname: Queue\nnetwork:\n  nodes:\n{nodes}\n  routes:\n{route}\n"
    path.write_text(text, encoding="utf-8")
    return path


def assert_within(label: str, value: float, theory: float, se: float) -> None:
    assert math.isfinite(se), (label, se)
    assert se > 0, (label, se)
    assert abs(value - theory) <= Z * se, (label, value, theory, se, (value - theory) / se)


@pytest.mark.slow
def test_mm1_at_rho_0_9_matches_theory(tmp_path: Path) -> None:
    """M/M/1, λ = 0.9, μ = 1: Wq = ρ / (μ - λ) = 9 h, W = 10 h, P(wait) = utilization = 0.9.

    At ρ = 0.9 the queue forgets its empty start slowly (relaxation time 1 / (μ (1 - √ρ)²) ≈ 380 h,
    about 340 customers), so the first 1,000 of 4,000 customers are warm-up.
    """
    file = queue_file(
        tmp_path,
        "    - {id: desk, servers: 1, service: {dist: exponential, mean: 1.0}, assumption: M/M/1}",
        "    - {id: c, arrival: {process: poisson, rate_per_h: 0.9, count: 4000}, steps: [desk],\n"
        "       warmup: 1000, assumption: steady state}",
    )
    result = simulate(file, replications=200, seed=3, workers=1).structures["network"]
    desk = result.organizations["desk"]
    assert_within("Wq", desk.mean_wait_h, 9.0, desk.mean_wait_se_h)
    assert_within("P(wait)", desk.p_wait, 0.9, desk.p_wait_se)
    assert_within("utilization", desk.utilization, 0.9, desk.utilization_se)
    sojourn = result.requests["c"].effect
    assert_within("W", sojourn.mean_h, 10.0, sojourn.se_h)


def test_md1_matches_pollaczek_khinchine(tmp_path: Path) -> None:
    """M/D/1, λ = 0.7, service 1 h: Wq = λ E[S²] / (2 (1 - ρ)) = 0.7 / 0.6 h; P(wait) = ρ = 0.7."""
    file = queue_file(
        tmp_path,
        "    - {id: desk, servers: 1, service: 1.0, assumption: M/D/1}",
        "    - {id: c, arrival: {process: poisson, rate_per_h: 0.7, count: 1500}, steps: [desk],\n"
        "       warmup: 200, assumption: steady state}",
    )
    result = simulate(file, replications=150, seed=4, workers=1).structures["network"]
    desk = result.organizations["desk"]
    wq = 0.7 * 1.0**2 / (2 * (1 - 0.7))
    assert_within("Wq", desk.mean_wait_h, wq, desk.mean_wait_se_h)
    assert_within("P(wait)", desk.p_wait, 0.7, desk.p_wait_se)
    assert_within("utilization", desk.utilization, 0.7, desk.utilization_se)
    sojourn = result.requests["c"].effect
    assert_within("W", sojourn.mean_h, wq + 1.0, sojourn.se_h)
    # Deterministic service: time in system is the wait plus exactly one hour, never less.
    assert sojourn.p50_h >= 1.0


def test_a_tandem_matches_jackson_with_transit_delays(tmp_path: Path) -> None:
    """Two stations in series (a Jackson network): by Burke's theorem each behaves as its own M/M/c.

    λ = 2; intake: three servers of mean 1 h (ρ = 2/3), then review: one server of mean 0.4 h (ρ = 0.8).
    Customers take 0.25 h to reach the intake (a `delay:` on the route's first step) and 0.1 h from
    intake to review; constant delays keep the arrivals Poisson. Mean time in the system is
    0.25 + W(M/M/3) + 0.1 + W(M/M/1).
    """
    file = queue_file(
        tmp_path,
        "    - {id: intake, servers: 3, service: {dist: exponential, mean: 1.0}, assumption: Jackson}\n"
        "    - {id: review, servers: 1, service: {dist: exponential, mean: 0.4}, assumption: Jackson}",
        "    - id: c\n"
        "      arrival: {process: poisson, rate_per_h: 2.0, count: 2000}\n"
        "      steps: [{id: intake, node: intake, delay: 0.25}, {id: review, node: review, delay: 0.1}]\n"
        "      warmup: 300\n"
        "      assumption: steady state",
    )
    result = simulate(file, replications=150, seed=8, workers=1).structures["network"]
    p3, wq3 = erlang_c(2.0, 1.0, 3)
    p1, wq1 = erlang_c(2.0, 2.5, 1)
    intake, review = result.organizations["intake"], result.organizations["review"]
    assert_within("intake Wq", intake.mean_wait_h, wq3, intake.mean_wait_se_h)
    assert_within("intake P(wait)", intake.p_wait, p3, intake.p_wait_se)
    assert_within("review Wq", review.mean_wait_h, wq1, review.mean_wait_se_h)
    assert_within("review P(wait)", review.p_wait, p1, review.p_wait_se)
    assert_within("intake utilization", intake.utilization, 2.0 / 3.0, intake.utilization_se)
    assert_within("review utilization", review.utilization, 0.8, review.utilization_se)
    sojourn = result.requests["c"].effect
    assert_within("W", sojourn.mean_h, 0.25 + wq3 + 1.0 + 0.1 + wq1 + 0.4, sojourn.se_h)


@pytest.mark.slow
def test_reported_standard_errors_match_the_spread_across_seeds() -> None:
    """An M/M/1 at ρ = 0.9 run with 100 independent seeds: the variance of each estimate across seeds
    agrees with the mean of its squared reported standard error.

    Customers of one replication share a queue, so their times are strongly correlated; a standard error
    from the pooled times (sd / √(filings)) was 18 times too small here (issue 8, item 16). With K seeds
    the ratio of the two variances is 1 within 4 √(2 / (K - 1)) (its sampling error is χ²).
    """
    count, seeds, replications = 100, 100, 50
    stream = Stream(Arrival(process="poisson", rate_per_h=0.9, count=count))
    template = PathTemplate("c", (StepSpec("desk", 0, Exponential(dist="exponential", mean=1.0)),), 0, 0)
    instances = tuple(Instance(0, k + 1, None, 0, k) for k in range(count))
    inp = EngineInput("mm1", "n", (Station("desk", 1),), (template,), instances, (stream,))
    names = ("time to decision", "time to effect", "mean wait", "P(wait)", "utilization")
    estimates, errors = [], []
    for seed in range(seeds):
        s = simulate_inputs([inp], scenario="mm1", replications=replications, seed=seed, workers=1)
        result = s.structures["n"]
        req, desk = result.requests["c"], result.organizations["desk"]
        estimates.append(
            (req.decision.mean_h, req.effect.mean_h, desk.mean_wait_h, desk.p_wait, desk.utilization)
        )
        errors.append(
            (req.decision.se_h, req.effect.se_h, desk.mean_wait_se_h, desk.p_wait_se, desk.utilization_se)
        )
    spread = np.var(np.array(estimates), axis=0, ddof=1)
    reported = np.mean(np.array(errors) ** 2, axis=0)
    tolerance = Z * math.sqrt(2 / (seeds - 1))
    for name, ratio in zip(names, spread / reported, strict=True):
        assert abs(ratio - 1.0) <= tolerance, (name, ratio, tolerance)


# -- duty hours across daylight saving changes and on fixed offsets: exact schedules ----------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Friday 12 Mar 2027 00:00 EST; clocks go forward on Sunday 14 Mar. Filings every 24 elapsed
        # hours: Fri 00:00 EST, Sat 00:00, Sun 00:00 EST, Mon 01:00 EDT, Tue 01:00 EDT. The office (three
        # staff, so no one queues) opens at hour 9 on Friday and at 09:00 EDT = hour 80 on Monday (hour
        # 104 on Tuesday); the work takes one hour.
        ("{date: 2027-03-12, time: '00:00', zone: America/New_York}", [10.0, 57.0, 33.0, 9.0, 9.0]),
        # Friday 5 Nov 2027 00:00 EDT; clocks go back on Sunday 7 Nov: Monday 09:00 EST is hour 82, so
        # Monday's filing (23:00 EST Sunday, hour 72) waits 10 hours.
        ("{date: 2027-11-05, time: '00:00', zone: America/New_York}", [10.0, 59.0, 35.0, 11.0, 11.0]),
        # A fixed offset keeps no daylight saving: 09:00-05:00 is hour 81 on Monday whatever New York does.
        ("2027-03-12T00:00:00-05:00", [10.0, 58.0, 34.0, 10.0, 10.0]),
    ],
)
def test_office_hours_across_a_clock_change_give_exact_times(
    tmp_path: Path, start: str, expected: list[float]
) -> None:
    path = tmp_path / "dst.yaml"
    path.write_text(
        f"""\
id: dst
name: An office in New York across a clock change
start: {start}
network:
  nodes:
    - id: desk
      servers: 3
      service: 1
      duty: {{hours: office, open: "09:00", close: "17:00", days: mon-fri}}
      assumption: test
  routes:
    - id: case
      arrival: {{process: deterministic, interval_h: 24, count: 5}}
      steps: [desk]
      assumption: test
""",
        encoding="utf-8",
    )
    result = simulate(path, replications=4, seed=0, workers=1).structures["network"]
    times = [result.instances[f"case#{k}"].effect for k in range(1, 6)]
    assert [t.mean_h for t in times] == expected
    assert [t.p50_h for t in times] == expected  # constant times have exact quantiles
    assert all(t.se_h == 0.0 for t in times)


# -- a feed-forward fork-join network against an independent SimPy model -------------------------------

FORK_JOIN = """
id: fork-join
name: Fork-join check
network:
  nodes:
    - {id: intake, servers: 2, service: {dist: exponential, mean: 1.0}, assumption: test}
    - {id: legal, servers: 2, service: {dist: lognormal, mean: 1.2, cv: 0.5}, assumption: test}
    - {id: ops, servers: 3, service: {dist: triangular, low: 0.5, mode: 1.5, high: 3.0}, assumption: test}
    - {id: approve, servers: 1, service: {dist: exponential, mean: 0.5}, assumption: test}
  routes:
    - id: case
      arrival: {process: poisson, rate_per_h: 1.5, count: 30}
      steps:
        - intake
        - {id: legal, node: legal, after: intake}
        - {id: ops, node: ops, after: intake, delay: 0.25}
        - {id: approve, node: approve, after: [legal, ops]}
      assumption: test
"""


def fork_join_simpy(replications: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The same network written directly in SimPy: sojourn times (reps x customers) and waits by node."""
    rng = np.random.default_rng(seed)
    sojourn = np.empty((replications, 30))
    waits: dict[str, list[float]] = {"intake": [], "legal": [], "ops": [], "approve": []}
    for r in range(replications):
        sojourn[r] = _fork_join_replication(rng, waits)
    return sojourn, {k: np.array(v) for k, v in waits.items()}


def _fork_join_replication(rng: np.random.Generator, waits: dict[str, list[float]]) -> np.ndarray:
    mu_ln = math.log(1.2) - math.log1p(0.25) / 2
    sd_ln = math.sqrt(math.log1p(0.25))
    draws = {
        "intake": lambda: rng.exponential(1.0),
        "legal": lambda: rng.lognormal(mu_ln, sd_ln),
        "ops": lambda: rng.triangular(0.5, 1.5, 3.0),
        "approve": lambda: rng.exponential(0.5),
    }
    env = simpy.Environment()
    res = {
        "intake": simpy.Resource(env, 2),
        "legal": simpy.Resource(env, 2),
        "ops": simpy.Resource(env, 3),
        "approve": simpy.Resource(env, 1),
    }
    sojourn = np.empty(30)

    def visit(node: str) -> Iterator[simpy.Event]:
        arrived = env.now
        with res[node].request() as req:
            yield req
            waits[node].append(env.now - arrived)
            yield env.timeout(draws[node]())

    def branch(node: str, delay: float) -> Iterator[simpy.Event]:
        if delay:
            yield env.timeout(delay)
        yield env.process(visit(node))

    def customer(k: int, t0: float) -> Iterator[simpy.Event]:
        yield env.timeout(t0)
        yield env.process(visit("intake"))
        yield env.all_of([env.process(branch("legal", 0.0)), env.process(branch("ops", 0.25))])
        yield env.process(visit("approve"))
        sojourn[k] = env.now - t0

    arrivals = np.cumsum(rng.exponential(1 / 1.5, size=30))
    for k in range(30):
        env.process(customer(k, float(arrivals[k])))
    env.run()
    return sojourn


def assert_p95_agrees(kizuna: RequestStats, sample: np.ndarray) -> None:
    q = kizuna.effect.p95_h
    f = float(np.mean(sample <= q))
    n_k, n_s = kizuna.effect.n, sample.size
    binom = math.sqrt(0.95 * 0.05 * (1 / n_k + 1 / n_s))
    # The histogram bins are 1% wide: allow the probability mass of half a bin around q.
    density = float(np.mean(np.abs(sample - q) <= q * (GROWTH - 1))) / 2
    assert abs(f - 0.95) <= Z * binom + density, (q, f, binom, density)


@pytest.mark.slow
def test_fork_join_network_matches_simpy(tmp_path: Path) -> None:
    path = tmp_path / "fork-join.yaml"
    path.write_text(FORK_JOIN, encoding="utf-8")
    result = simulate(path, replications=20_000, seed=5, workers=1)
    ours = result.structures["network"]
    sojourn, waits = fork_join_simpy(1_500, seed=6)
    for k in (5, 30):  # an early and the last customer: independent across replications
        stats = ours.instances[f"case#{k}"]
        col = sojourn[:, k - 1]
        se = math.hypot(stats.effect.se_h, col.std(ddof=1) / math.sqrt(col.size))
        assert abs(stats.effect.mean_h - col.mean()) <= Z * se, (k, stats.effect.mean_h, col.mean(), se)
        assert_p95_agrees(stats, col)
    # Mean waits per node, pooled: replications are independent, customers within one are not, so the
    # SimPy standard error uses per-replication means.
    for node, w in waits.items():
        org = ours.organizations[node]
        per_rep = w.reshape(1_500, 30).mean(axis=1)
        se = math.hypot(org.mean_wait_se_h, per_rep.std(ddof=1) / math.sqrt(per_rep.size))
        assert abs(org.mean_wait_h - per_rep.mean()) <= Z * se, (node, org.mean_wait_h, per_rep.mean())


# -- duty hours, call-in, rework and a revisited organization against the SimPy reference ---------------


def staffed_input() -> EngineInput:
    """Requests that revisit an office-hours organization with call-in, with rework and a fork-join."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = datetime(2027, 5, 3, 17, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # Monday 17:00: evening comes soon
    call_in = Lognormal(dist="lognormal", mean=2.0, cv=0.5)
    office = DutyHours(hours="office", call_in=call_in)
    cal = DutyCalendar.build(office, "Asia/Tokyo", start)
    hawaii = DutyCalendar.build(DutyHours(hours="office"), "Pacific/Honolulu", start)
    stations = (
        Station("ministry", 2, cal, call_in),
        Station("hq", 2),
        Station("pacific-command", 1, hawaii),
        Station("cabinet", 1, cal, call_in),
    )
    exp = Exponential
    steps = (
        StepSpec("draft", 0, exp(dist="exponential", mean=1.0), rework=0.3),
        StepSpec(
            "staff", 1, Lognormal(dist="lognormal", mean=1.5, cv=1.0), preds=((0, Deterministic(value=0.2)),)
        ),
        StepSpec("coordinate", 2, exp(dist="exponential", mean=0.8), preds=((0, Deterministic(value=1.0)),)),
        StepSpec("review", 0, exp(dist="exponential", mean=0.5), preds=((1, None), (2, None))),
        StepSpec("approve", 3, Lognormal(dist="lognormal", mean=1.0, cv=0.5), preds=((3, None),), rework=0.2),
        StepSpec("order", 1, exp(dist="exponential", mean=0.3), preds=((4, None),)),
    )
    template = PathTemplate("request", steps, decision=4, effect=5)
    from kizuna.model.scenario import Arrival

    stream = Stream(Arrival(process="poisson", rate_per_h=0.5, count=8))
    instances = tuple(Instance(0, k + 1, None, 0, k) for k in range(8))
    return EngineInput("staffed", "s", stations, (template,), instances, (stream,))


@pytest.mark.slow
def test_duty_hours_rework_and_revisits_match_the_simpy_reference() -> None:
    inp = staffed_input()
    assert any(cyclic for _, cyclic in inp.compiled.groups)  # the ministry is visited twice
    result = simulate_inputs([inp], scenario="staffed", replications=20_000, seed=9, workers=1)
    ours = result.structures["s"]
    assert ours.unconverged == 0
    ref = simulate_reference(inp, 1_500, seed=10)
    for k in (1, 4, 8):
        stats = ours.instances[f"request#{k}"]
        col = ref.effect[:, k - 1]
        se = math.hypot(stats.effect.se_h, col.std(ddof=1) / math.sqrt(col.size))
        assert abs(stats.effect.mean_h - col.mean()) <= Z * se, (k, stats.effect.mean_h, col.mean(), se)
        assert_p95_agrees(stats, col)
        dec = ref.decision[:, k - 1]
        se_d = math.hypot(stats.decision.se_h, dec.std(ddof=1) / math.sqrt(dec.size))
        assert abs(stats.decision.mean_h - dec.mean()) <= Z * se_d
    # Office hours matter here: some of the delay is waiting for duty hours.
    assert ours.organizations["cabinet"].duty_share > 0.05


@pytest.mark.slow
@pytest.mark.parametrize("sid", ["taiwan-contingency", "senkaku-gray-zone"])
def test_a_bundled_scenario_matches_the_simpy_reference(sid: str) -> None:
    """Real compiled paths (revisits, office hours, prerequisites) against discrete-event simulation."""
    from kizuna.sim.build import build_inputs

    inp = build_inputs(load_scenario(sid), ["us-japan-2025"])["us-japan-2025"]
    result = simulate_inputs([inp], scenario=sid, replications=8_000, seed=21, workers=1)
    ours = result.structures["us-japan-2025"]
    assert ours.unconverged == 0
    ref = simulate_reference(inp, 600, seed=22)
    for i in range(len(inp.instances)):
        label = inp.label(i)
        stats = ours.instances[label]
        col = ref.effect[:, i]
        se = math.hypot(stats.effect.se_h, col.std(ddof=1) / math.sqrt(col.size))
        assert abs(stats.effect.mean_h - col.mean()) <= Z * se + 1e-9, (
            label,
            stats.effect.mean_h,
            col.mean(),
        )
