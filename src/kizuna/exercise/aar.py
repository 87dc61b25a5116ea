"""The after-action review: each measured time of an exercise beside the simulated distribution of the same.

`build_review(events, exercise_id)` reads the log (the crisis's requests and the exercise's clock, injects
and observations), rebuilds the scenario the MSEL describes, and simulates it with the engine under the
exercise's structure, using the decision paths the requests actually took live: the same compiled paths,
the same resolved parameters. Then, for every filing of every request:

* each step's measured time (from when it could be acted on, i.e. its last predecessor was done, to
  when it was done; the first step from the filing) beside the simulated distribution of the same step
  of the same filing: its percentile rank and whether it lies inside the central 90% interval;
* the path's times to decision and to effect, counted from the filing, likewise;
* per request and step, all filings pooled: a two-sample Kolmogorov–Smirnov test (and Anderson–Darling)
  of measured against simulated times; the family of tests is held at 1% by Bonferroni;
* bottlenecks: each organization's share of the time on the critical paths, measured and simulated;
* deadlines met or missed, beside the simulated probability of meeting them;
* the decision timeline, the observations by objective, and the calibration (`kizuna.exercise.calibrate`).

Times are exercise hours: each recorded action's wall-clock time is read through the clock's history.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from kizuna.exercise.calibrate import Calibration

from kizuna.coordination import LiveView, Recorded, RequestState
from kizuna.errors import NotFound
from kizuna.exercise.state import ExerciseState, ExerciseView
from kizuna.interop.msel import Msel, MselRow, scenario_from_msel
from kizuna.model.scenario import Scenario
from kizuna.model.structure import Structure
from kizuna.planning import DecisionPath
from kizuna.sim.build import structure_input
from kizuna.sim.engine import Compiled, EngineInput, block_rng, block_sizes, critical_mask, simulate_block

FloatArray = npt.NDArray[np.float64]

#: The family-wise level of the measured-against-simulated tests.
LEVEL = 0.01
#: Fewest measured values a test is run on.
MIN_TEST_N = 5


class Quantiles(BaseModel):
    """A simulated distribution in brief (hours)."""

    mean: float
    p05: float
    p50: float
    p95: float

    @classmethod
    def of(cls, x: FloatArray) -> Quantiles:
        """Summarize samples."""
        q = np.quantile(x, [0.05, 0.5, 0.95])
        return cls(mean=float(x.mean()), p05=float(q[0]), p50=float(q[1]), p95=float(q[2]))


class Comparison(BaseModel):
    """One measured time beside its simulated distribution."""

    request: str = Field(description="The scenario's request id.")
    serial: str = Field(description="The MSEL row of the filing.")
    live: str = Field(description="The request id in the exercise's crisis.")
    step: str = Field(description="A step id, or `decision` / `effect` for the path.")
    organization: str = ""
    kind: str = ""
    measured_h: float | None
    simulated: Quantiles
    percentile: float | None = Field(description="Share of simulated values below the measured one.")
    inside_90: bool | None


class Test(BaseModel):
    """A two-sample test of measured against simulated times of one step (or path) of one request."""

    request: str
    step: str
    n_measured: int
    n_simulated: int
    measured_median_h: float
    simulated_median_h: float
    ks_statistic: float
    ks_p: float
    ad_statistic: float
    ad_p: float = Field(description="Anderson–Darling p (scipy caps it to 0.001–0.25).")
    reject: bool = Field(description="Rejected at the family-wise level (Bonferroni).")


class Bottleneck(BaseModel):
    """An organization's share of the time on the critical paths, measured and simulated."""

    organization: str
    measured_share: float
    simulated_share: float
    measured_mean_h: float | None
    simulated_mean_h: float


class DeadlineRow(BaseModel):
    """A deadline of a filing: met or missed, and how likely the simulation says meeting it is."""

    request: str
    serial: str
    name: str
    of: str
    due_h: float
    at_h: float | None
    met: bool | None
    p_simulated: float


class TimelineEntry(BaseModel):
    """One moment of the decision timeline."""

    hours: float
    time: datetime
    what: str
    text: str
    who: str = ""


class ObservationEntry(BaseModel):
    """An observation as the review lists it."""

    hours: float
    text: str
    rating: str | None
    author: str


class CalibrationRow(BaseModel):
    """A refitted service time: per organization and step kind (see `kizuna.exercise.calibrate`)."""

    organization: str
    kind: str
    n: int
    prior_mean_h: float
    prior_cv: float
    measured_mean_h: float | None
    mean_h: float
    cv: float


class Review(BaseModel):
    """The after-action review of an exercise, as data (the HTML, xlsx and PDF render it)."""

    exercise: str
    name: str
    scenario: str
    structure: str
    start: datetime
    end_h: float = Field(description="Exercise hours covered (the last recorded action).")
    replications: int
    seed: int
    level: float = LEVEL
    paths: list[Comparison]
    steps: list[Comparison]
    tests: list[Test]
    bottlenecks: list[Bottleneck]
    deadlines: list[DeadlineRow]
    timeline: list[TimelineEntry]
    observations: dict[str, list[ObservationEntry]]
    calibration: list[CalibrationRow] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    build_s: float = 0.0

    @property
    def agrees(self) -> bool:
        """Tell whether no test rejects at the family-wise level."""
        return not any(t.reject for t in self.tests)


# -- reading the exercise from the log -------------------------------------------------------------


@dataclass
class Measured:
    """One filing as it was played: its MSEL row, live request and the exercise hours of its steps."""

    row: MselRow
    request: RequestState
    filed_h: float
    ends: dict[str, float]


@dataclass
class Played:
    """An exercise read from the log: its state, the live requests, and each filing's measured times."""

    exercise: ExerciseState
    live: LiveView
    filings: list[Measured]
    hours_of: Any  # wall datetime -> exercise hours
    structure: Structure | None = None
    extra: list[RequestState] = field(default_factory=list)  # filed without an inject

    def msel(self) -> Msel:
        """The MSEL as played: the rows and the injects added during the exercise, in time order."""
        rows = sorted((i.row for i in self.exercise.injects.values()), key=lambda r: (r.time, r.serial))
        msel = self.exercise.msel
        return Msel(start=msel.start, rows=tuple(rows), requests=msel.requests, source=msel.source)


def read_exercise(events: Iterable[Recorded], exercise_id: str) -> Played:
    """Fold the log into the exercise and its requests, with exercise hours for every recorded action.

    Raises:
        NotFound: the log holds no such exercise.
    """
    recorded = list(events)
    live = LiveView.rebuild(recorded)
    view = ExerciseView.rebuild(recorded)
    state = view.exercises.get(exercise_id)
    if state is None:
        raise NotFound(
            f"no exercise {exercise_id!r} in the log; known: {', '.join(view.exercises) or 'none'}"
        )
    history = state.clock

    def hours_of(wall: datetime) -> float:
        return (history.at(wall) - state.start) / timedelta(hours=1)

    filings: list[Measured] = []
    answered: set[str] = set()
    for inject in sorted(state.injects.values(), key=lambda i: (i.row.time, i.row.serial)):
        if inject.row.request is None or not inject.answers:
            continue
        rid = inject.answers[0][1]
        request = live.requests.get(rid)
        if request is None:
            continue
        answered.add(rid)
        ends = {r.step: hours_of(r.at) for r in request.records}
        filings.append(Measured(inject.row, request, hours_of(request.filed_at), ends))
    extra = [r for r in live.requests.values() if r.crisis == exercise_id and r.id not in answered]
    return Played(exercise=state, live=live, filings=filings, hours_of=hours_of, extra=extra)


def _step_times(path: DecisionPath, filed_h: float, ends: dict[str, float]) -> dict[str, float]:
    """Each done step's time from when it could be acted on (its last predecessor done; first: filing)."""
    out: dict[str, float] = {}
    for step in path.steps:
        if step.id not in ends:
            continue
        preds = [ends[p] for p in step.predecessors if p in ends]
        if len(preds) != len(step.predecessors):
            continue
        out[step.id] = ends[step.id] - (max(preds) if preds else filed_h)
    return out


# -- simulating the same exercise -------------------------------------------------------------------


@dataclass
class Simulated:
    """Per instance of the engine input: step times, path times, deadlines met and critical shares."""

    inp: EngineInput
    step: dict[tuple[int, str], FloatArray]  # (instance, step id) -> samples
    decision: dict[int, FloatArray]
    effect: dict[int, FloatArray]
    deadlines: dict[tuple[int, str], float]  # (instance, name) -> P(met)
    org_share: dict[str, float]
    org_mean_h: dict[str, float]


def simulate_exercise(inp: EngineInput, *, replications: int, seed: int) -> Simulated:
    """Run the engine on the exercise's input and keep, per instance, the samples the review compares."""
    comp = Compiled.of(inp)
    steps: dict[tuple[int, str], list[FloatArray]] = defaultdict(list)
    decision: dict[int, list[FloatArray]] = defaultdict(list)
    effect: dict[int, list[FloatArray]] = defaultdict(list)
    met: dict[tuple[int, str], float] = defaultdict(float)
    crit_time: dict[str, float] = defaultdict(float)
    crit_total = 0.0
    org_time: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    stations = [s.id for s in inp.stations]
    for b, n in enumerate(block_sizes(replications)):
        out = simulate_block(comp, block_rng(seed, 0, b), n)
        step_time = np.empty_like(out.end)
        for v in range(comp.visits):
            preds = [p for p, _ in comp.edges_in[v]]
            step_time[v] = out.end[v] - (np.max(out.end[preds], axis=0) if preds else out.arrive[v])
        on = critical_mask(comp, out)
        for s, sid in enumerate(stations):
            span = comp.station_rows(s)
            crit_time[sid] += float(np.sum(step_time[span] * on[span]))
            org_time[sid][0] += float(np.sum(step_time[span]))
            org_time[sid][1] += step_time[span].size
        crit_total += float(np.sum(step_time * on))
        for i, inst in enumerate(inp.instances):
            rows = comp.instance_rows[i]
            template = inp.templates[inst.template]
            roots = [rows[j] for j, st in enumerate(template.steps) if not st.preds]
            first = np.min(out.arrive[roots], axis=0)
            for j, st in enumerate(template.steps):
                steps[(i, st.id)].append(step_time[rows[j]].copy())
            dec = out.end[comp.decision_visit[i]]
            eff = out.end[comp.effect_visit[i]]
            decision[i].append(dec - first)
            effect[i].append(eff - first)
            for d in inst.deadlines:
                due = d.at_h if d.at_h is not None else out.release[i] + (d.after_h or 0.0)
                end = dec if d.of == "decision" else eff
                met[(i, d.name)] += float(np.count_nonzero(end <= due))
    return Simulated(
        inp=inp,
        step={k: np.concatenate(v) for k, v in steps.items()},
        decision={k: np.concatenate(v) for k, v in decision.items()},
        effect={k: np.concatenate(v) for k, v in effect.items()},
        deadlines={k: v / replications for k, v in met.items()},
        org_share={k: v / crit_total if crit_total > 0 else 0.0 for k, v in crit_time.items()},
        org_mean_h={k: v[0] / v[1] if v[1] else 0.0 for k, v in org_time.items()},
    )


# -- the review -------------------------------------------------------------------------------------


def _rank(x: float, samples: FloatArray) -> float:
    below = np.count_nonzero(samples < x)
    ties = np.count_nonzero(samples == x)
    return float((below + 0.5 * ties) / samples.size)


def _compare(
    request: str, serial: str, live: str, step: str, *, measured: float | None, sim: FloatArray, **kw: str
) -> Comparison:
    q = Quantiles.of(sim)
    rank = _rank(measured, sim) if measured is not None else None
    inside = None if measured is None else bool(q.p05 <= measured <= q.p95)
    return Comparison(
        request=request,
        serial=serial,
        live=live,
        step=step,
        measured_h=measured,
        simulated=q,
        percentile=rank,
        inside_90=inside,
        **kw,
    )


def two_sample(request: str, step: str, measured: Sequence[float], simulated: FloatArray) -> Test:
    """Kolmogorov–Smirnov and Anderson–Darling tests of measured against simulated times."""
    import warnings

    from scipy import stats

    x = np.asarray(measured, dtype=np.float64)
    ks = stats.ks_2samp(x, simulated)
    with warnings.catch_warnings():  # scipy warns when it caps the p-value at 0.001 or 0.25
        warnings.simplefilter("ignore")
        ad = stats.anderson_ksamp([x, simulated])
    return Test(
        request=request,
        step=step,
        n_measured=int(x.size),
        n_simulated=int(simulated.size),
        measured_median_h=float(np.median(x)),
        simulated_median_h=float(np.median(simulated)),
        ks_statistic=float(ks.statistic),
        ks_p=float(ks.pvalue),
        ad_statistic=float(ad.statistic),
        ad_p=float(ad.pvalue),
        reject=False,
    )


@dataclass
class _Collected:
    """Measured times set beside simulated ones, per filing and pooled per request and step."""

    paths: list[Comparison] = field(default_factory=list)
    steps: list[Comparison] = field(default_factory=list)
    pooled: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    simulated: dict[tuple[str, str], list[FloatArray]] = field(default_factory=lambda: defaultdict(list))
    deadlines: list[DeadlineRow] = field(default_factory=list)
    critical: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    by_org: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def tests(self, notes: list[str]) -> list[Test]:
        """Test every request's steps and paths with enough filings; Bonferroni over the family."""
        tests = [
            two_sample(rid, step, values, np.concatenate(self.simulated[(rid, step)]))
            for (rid, step), values in self.pooled.items()
            if len(values) >= MIN_TEST_N
        ]
        if not tests:
            notes.append(f"no request was filed {MIN_TEST_N} times or more: no two-sample test was run")
            return []
        cut = LEVEL / len(tests)
        return [t.model_copy(update={"reject": t.ks_p < cut}) for t in tests]

    def bottlenecks(self, sim: Simulated) -> list[Bottleneck]:
        """Each organization's share of the critical-path time, measured and simulated."""
        total = sum(self.critical.values())
        return sorted(
            (
                Bottleneck(
                    organization=org,
                    measured_share=self.critical.get(org, 0.0) / total if total > 0 else 0.0,
                    simulated_share=sim.org_share.get(org, 0.0),
                    measured_mean_h=float(np.mean(self.by_org[org])) if self.by_org.get(org) else None,
                    simulated_mean_h=sim.org_mean_h.get(org, 0.0),
                )
                for org in set(sim.org_share) | set(self.critical)
            ),
            key=lambda b: -max(b.measured_share, b.simulated_share),
        )


def _collect(played: Played, msel: Msel, sim: Simulated, instance_of: dict[str, int]) -> _Collected:
    out = _Collected()
    for filing in played.filings:
        row, request = filing.row, filing.request
        i = instance_of.get(row.serial)
        if i is None:
            continue
        rid = row.request or ""
        path = request.path
        times = _step_times(path, filing.filed_h, filing.ends)
        for step in path.order():
            if (i, step.id) not in sim.step:
                continue
            measured = times.get(step.id)
            samples = sim.step[(i, step.id)]
            out.steps.append(
                _compare(
                    rid,
                    row.serial,
                    request.id,
                    step.id,
                    measured=measured,
                    sim=samples,
                    organization=step.organization,
                    kind=step.kind.value,
                )
            )
            out.simulated[(rid, step.id)].append(samples)
            if measured is not None:
                out.pooled[(rid, step.id)].append(measured)
                out.by_org[step.organization].append(measured)
        for of, samples, step_id in (
            ("decision", sim.decision[i], path.decision_step),
            ("effect", sim.effect[i], path.effect_step),
        ):
            end = filing.ends.get(step_id)
            measured = end - filing.filed_h if end is not None else None
            out.paths.append(_compare(rid, row.serial, request.id, of, measured=measured, sim=samples))
            out.simulated[(rid, of)].append(samples)
            if measured is not None:
                out.pooled[(rid, of)].append(measured)
        for org, hours in _critical(path, filing.filed_h, filing.ends).items():
            out.critical[org] += hours
        release_h = msel.hours(row.time)
        for d in sim.inp.instances[i].deadlines:
            due = d.at_h if d.at_h is not None else release_h + (d.after_h or 0.0)
            end = filing.ends.get(path.decision_step if d.of == "decision" else path.effect_step)
            out.deadlines.append(
                DeadlineRow(
                    request=rid,
                    serial=row.serial,
                    name=d.name,
                    of=d.of,
                    due_h=due,
                    at_h=end,
                    met=None if end is None else end <= due,
                    p_simulated=sim.deadlines.get((i, d.name), math.nan),
                )
            )
    return out


def build_review(
    events: Iterable[Recorded],
    exercise_id: str,
    *,
    replications: int = 2000,
    seed: int = 0,
    structure: Structure | None = None,
    prior_weight: float = 5.0,
) -> Review:
    """Build the after-action review of an exercise from the log.

    Args:
        events: The log (`Recorded` events in order), e.g. `kizuna.exercise.aar.log_of(store)`.
        exercise_id: The exercise.
        replications: Simulated replications of the exercise.
        seed: The simulation's seed.
        structure: The exercise's structure (loaded by id when not given).
        prior_weight: How many measurements the scenario's value counts as in calibration.
    """
    return review_and_calibration(
        events,
        exercise_id,
        replications=replications,
        seed=seed,
        structure=structure,
        prior_weight=prior_weight,
    )[0]


def review_and_calibration(
    events: Iterable[Recorded],
    exercise_id: str,
    *,
    replications: int = 2000,
    seed: int = 0,
    structure: Structure | None = None,
    prior_weight: float = 5.0,
) -> tuple[Review, Calibration]:
    """Build the review and the calibration (with its calibrated scenario) of an exercise from the log."""
    from kizuna.exercise.calibrate import calibrate

    started = time.perf_counter()
    played = read_exercise(events, exercise_id)
    state = played.exercise
    if structure is None:
        from kizuna.model import load_structure

        structure = load_structure(state.structure)
    msel = played.msel()
    scenario = scenario_from_msel(msel, state.scenario)
    inp = structure_input(scenario, structure, _paths(scenario, structure, played))
    sim = simulate_exercise(inp, replications=replications, seed=seed)
    notes = list(inp.notes)
    collected = _collect(played, msel, sim, _instances(inp, msel, notes))
    calibration = calibrate(played, scenario, structure, prior_weight=prior_weight)
    ends = [h for f in played.filings for h in f.ends.values()]
    review = Review(
        exercise=exercise_id,
        name=state.name,
        scenario=state.scenario.id,
        structure=state.structure,
        start=state.start,
        end_h=max(ends, default=0.0),
        replications=replications,
        seed=seed,
        paths=collected.paths,
        steps=collected.steps,
        tests=collected.tests(notes),
        bottlenecks=collected.bottlenecks(sim),
        deadlines=collected.deadlines,
        timeline=_timeline(played),
        observations=_observations(played),
        calibration=calibration.rows,
        notes=notes + calibration.notes,
    )
    return review.model_copy(update={"build_s": time.perf_counter() - started}), calibration


def _paths(scenario: Scenario, structure: Structure, played: Played) -> dict[str, DecisionPath]:
    """The decision path of each request: as filed live (the first filing), else compiled."""
    paths: dict[str, DecisionPath] = {}
    for filing in played.filings:
        if filing.row.request is not None:
            paths.setdefault(filing.row.request, filing.request.path)
    missing = [r for r in scenario.requests if r.id not in paths]
    if missing:
        from kizuna.authority import load_frameworks
        from kizuna.planning import compile_request

        frameworks = load_frameworks()
        for spec in missing:
            paths[spec.id] = compile_request(structure, frameworks, spec)
    return paths


def _instances(inp: EngineInput, msel: Msel, notes: list[str]) -> dict[str, int]:
    """Map each MSEL request row (by serial) to its instance of the engine input (both in time order)."""
    rows = [r for r in msel.rows if r.request is not None]
    simulated = {t.request for t in inp.templates}
    out: dict[str, int] = {}
    k = 0
    for row in rows:
        if row.request not in simulated:
            continue
        while k < len(inp.instances) and inp.templates[inp.instances[k].template].request != row.request:
            k += 1
        if k >= len(inp.instances):
            notes.append(f"MSEL row {row.serial}: no simulated filing matches it")
            break
        out[row.serial] = k
        k += 1
    return out


def _critical(path: DecisionPath, filed_h: float, ends: dict[str, float]) -> dict[str, float]:
    """Hours each organization holds on the critical path back from the effect (the last predecessor)."""
    out: dict[str, float] = defaultdict(float)
    by_id = path.by_id
    current: str | None = path.effect_step if path.effect_step in ends else None
    while current is not None:
        step = by_id[current]
        preds = [p for p in step.predecessors if p in ends]
        last = max(preds, key=ends.__getitem__) if preds else None
        out[step.organization] += ends[current] - (ends[last] if last else filed_h)
        current = last
    return out


def _timeline(played: Played) -> list[TimelineEntry]:
    state = played.exercise
    out: list[TimelineEntry] = []

    def entry(hours: float, what: str, text: str, who: str = "") -> None:
        out.append(
            TimelineEntry(
                hours=hours, time=state.start + timedelta(hours=hours), what=what, text=text, who=who
            )
        )

    for inject in state.injects.values():
        if inject.delivered is not None:
            hours = (inject.delivered - state.start) / timedelta(hours=1)
            entry(hours, "inject", f"[{inject.row.serial}] {inject.row.event}", ", ".join(inject.row.to))
    requests = [f.request for f in played.filings] + played.extra
    for request in requests:
        name = request.spec.name or request.id
        entry(played.hours_of(request.filed_at), "filed", name, request.filed_by.organization)
        done = request.done
        path = request.path
        if path.decision_step in done:
            record = done[path.decision_step]
            entry(played.hours_of(record.at), "decision", name, record.actor.organization)
        if path.effect_step in done and path.effect_step != path.decision_step:
            record = done[path.effect_step]
            entry(played.hours_of(record.at), "effect", name, record.actor.organization)
    crisis = played.live.crises.get(state.id)
    if crisis is not None:
        for designation in crisis.timeline[1:]:
            entry(
                played.hours_of(designation.since),
                "designation",
                f"{designation.situation} designated",
                designation.organization,
            )
    for o in state.observations:
        entry(
            (o.exercise_time - state.start) / timedelta(hours=1),
            "observation",
            f"{o.objective}: {o.text}",
            o.author.user,
        )
    out.sort(key=lambda e: (e.hours, e.what))
    return out


def _observations(played: Played) -> dict[str, list[ObservationEntry]]:
    state = played.exercise
    out: dict[str, list[ObservationEntry]] = {o: [] for o in state.objectives}
    for o in sorted(state.observations, key=lambda o: o.exercise_time):
        out.setdefault(o.objective, []).append(
            ObservationEntry(
                hours=(o.exercise_time - state.start) / timedelta(hours=1),
                text=o.text,
                rating=o.rating,
                author=o.author.user,
            )
        )
    return out


def log_of(store: Any) -> list[Recorded]:
    """Read a store's whole log as `Recorded` events (the review's input)."""
    from kizuna.coordination import event_from_data, in_coordination_log

    return [
        Recorded(seq=s.seq, event=event_from_data(dict(s.payload)))
        for s in store.iter_all(0)
        if in_coordination_log(s.type)
    ]
