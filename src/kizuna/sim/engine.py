"""The Monte Carlo engine: request instances through staffed, queueing, time-zoned organizations.

The engine input (`EngineInput`) lists stations (organizations or network nodes, with servers and duty
hours), path templates (the steps of a request, each at a station, with its service time and rework
probability, and the link delay on each incoming edge) and instances (filings of a request: a fixed
release time or the k-th arrival of a random arrival stream, deadlines, and prerequisite requests).

How a block of replications is simulated (docs/simulation.md has the full account):

* Arrays are laid out one row per visit (a step of one instance) and one lane per replication, so every
  operation acts on all replications of the block at once. Visits are numbered station by station, so
  an organization's visits are contiguous rows.
* Stations are processed in a topological order of the station graph (an edge from the station of a
  step to the station of each successor). At a station, the arrivals of all its visits are sorted within
  each lane and the Kiefer–Wolfowitz recursion for c FIFO servers runs down the sorted positions: the
  start of the i-th arrival is max(arrival, earliest free server); that server is then busy until the
  start plus the service time. One NumPy operation covers every lane.
* A step starts when all its predecessors are done plus the link delay of each edge (fork-join).
* Duty hours: if a step would start outside its organization's office hours, it waits for the next
  opening or for staff called in (the call-in delay), whichever is sooner; the server is held meanwhile.
* Rework: a finished step is sent back with probability p and done again by the same staff, repeatedly
  (a geometric number of extra service draws added to the step's work).
* Feedback: when paths revisit an organization (the station graph has a cycle, e.g. MOFA drafts and
  later transmits), the stations of that strongly connected component are processed by repeated passes
  until the schedule stops changing (a fixed point, which is the FIFO schedule); lanes that do not settle
  within the pass limit are counted and reported (`StructureResult.unconverged`).

Replications are split in fixed blocks of `BLOCK` lanes, each with its own random stream spawned from
`np.random.SeedSequence(seed)`, so a seed gives identical results whatever the chunking or the number of
worker processes. Workers return statistics (`kizuna.sim.result.Accumulator`), never raw arrays.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from kizuna.model.scenario import Arrival, Distribution
from kizuna.sim.calendar import DutyCalendar
from kizuna.sim.distributions import ColumnSampler

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

#: Replications per random stream. Results depend on the seed and on this constant, not on chunking.
BLOCK = 4096


@dataclass(frozen=True, slots=True)
class Station:
    """A place where steps queue for staff: an organization, or a node of a queueing network."""

    id: str
    servers: int
    calendar: DutyCalendar | None = None
    call_in: Distribution | None = None


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step of a path template, with its resolved parameters.

    `preds` pairs each predecessor (an index into the template's steps) with the delay of the link from
    it (None: no delay). `delay` is the transit from the filing to a step without predecessors (a
    network route's `delay:` on its first step); a step with predecessors has its delays in `preds`.
    """

    id: str
    station: int
    service: Distribution
    kind: str = "execute"
    label: str = ""
    rework: float = 0.0
    preds: tuple[tuple[int, Distribution | None], ...] = ()
    after_effect: bool = False
    delay: Distribution | None = None


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """The steps of one request (or network route) in a topological order, with its two end steps."""

    request: str
    steps: tuple[StepSpec, ...]
    decision: int
    effect: int

    def __post_init__(self) -> None:
        for j, step in enumerate(self.steps):
            for p, _ in step.preds:
                if not 0 <= p < j:
                    raise ValueError(f"{self.request}: step {step.id!r} must come after its predecessors")
            if step.delay is not None and step.preds:
                raise ValueError(
                    f"{self.request}: step {step.id!r} has predecessors; its delays go on `preds`, "
                    "`delay` is only for a first step"
                )


@dataclass(frozen=True, slots=True)
class DeadlineSpec:
    """A deadline of an instance: absolute (`at_h`, scenario hours) or relative to filing (`after_h`)."""

    name: str
    of: str = "effect"  # "decision" or "effect"
    at_h: float | None = None
    after_h: float | None = None


@dataclass(frozen=True, slots=True)
class Stream:
    """A random (or evenly spaced) arrival process that releases instances from `start_h` on."""

    arrival: Arrival
    start_h: float = 0.0


@dataclass(frozen=True, slots=True)
class Instance:
    """One filing of a request: released at `release_h`, or as arrival `index` of stream `stream`."""

    template: int
    number: int = 1
    release_h: float | None = 0.0
    stream: int | None = None
    index: int = 0
    deadlines: tuple[DeadlineSpec, ...] = ()
    after: tuple[int, ...] = ()  # instances whose decision must come before this is filed
    counted: bool = True  # False for warm-up customers

    @property
    def fixed(self) -> bool:
        """Tell whether the release time is the same in every replication."""
        return self.stream is None


@dataclass(frozen=True)
class EngineInput:
    """Everything the engine needs for one structure of one scenario."""

    scenario: str
    structure: str
    stations: tuple[Station, ...]
    templates: tuple[PathTemplate, ...]
    instances: tuple[Instance, ...]
    streams: tuple[Stream, ...] = ()
    notes: tuple[str, ...] = ()

    def label(self, instance: int) -> str:
        """Return an instance's name: the request id, with `#k` when the request is filed more than once."""
        return self.labels[instance]

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """Every instance's name (`label`), in instance order."""
        filings = Counter(i.template for i in self.instances)
        return tuple(
            f"{self.templates[i.template].request}#{i.number}"
            if filings[i.template] > 1
            else self.templates[i.template].request
            for i in self.instances
        )

    @cached_property
    def compiled(self) -> Compiled:
        """The flattened arrays the engine runs on (built once per input)."""
        return Compiled.of(self)


@dataclass(frozen=True)
class Compiled:
    """EngineInput flattened into visits (step x instance) and edges, with the processing order."""

    inp: EngineInput
    visit_instance: IntArray
    visit_step: IntArray
    visit_station: IntArray
    instance_rows: tuple[IntArray, ...]  # per instance: the rows of its steps, in template order
    station_bounds: IntArray  # station s owns rows station_bounds[s]:station_bounds[s + 1]
    edges_in: tuple[tuple[tuple[int, int], ...], ...]  # per visit: (pred visit, edge column or -1)
    after_in: tuple[tuple[int, ...], ...]  # per visit: prerequisite decision visits
    entry_link: IntArray  # per visit: link column of a first step's transit from the filing, or -1
    service: ColumnSampler
    link: ColumnSampler
    rework_cols: IntArray
    rework_p: FloatArray
    rework_service: ColumnSampler
    rework_groups: tuple[tuple[float, IntArray], ...]  # (p, indices into rework_cols) per distinct p
    call_in_col: IntArray  # per visit: column in call_in sampler, or -1
    call_in: ColumnSampler
    groups: tuple[tuple[tuple[int, ...], bool], ...]  # (stations, cyclic) in processing order
    station_visits: tuple[IntArray, ...]
    cyclic_visits: IntArray
    passes: int
    decision_visit: IntArray
    effect_visit: IntArray

    @classmethod
    def of(cls, inp: EngineInput) -> Compiled:
        """Flatten an input and plan the order in which stations are processed."""
        flat = _Flat.of(inp).station_major()
        v_station = flat.station
        groups = _processing_groups(len(inp.stations), v_station, flat.edges_in, flat.after_in)
        groups = _flow_order(groups, v_station, flat.edges_in, flat.after_in)
        stations = np.array(v_station, dtype=np.int64)
        counts = np.bincount(stations, minlength=len(inp.stations))
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        station_visits = tuple(np.arange(bounds[s], bounds[s + 1]) for s in range(len(inp.stations)))
        cyclic = [station_visits[s] for members, cyc in groups if cyc for s in members]
        depth = max((len(t.steps) for t in inp.templates), default=1)
        chained = max(1, sum(1 for i in inp.instances if i.after) + 1)
        call_cols, call_dists = _call_in_columns(inp, v_station)
        reworks = flat.reworks
        return cls(
            inp=inp,
            visit_instance=np.array(flat.instance, dtype=np.int64),
            visit_step=np.array(flat.step, dtype=np.int64),
            visit_station=stations,
            instance_rows=flat.instance_rows,
            station_bounds=bounds,
            edges_in=tuple(flat.edges_in),
            after_in=tuple(flat.after_in),
            entry_link=np.array(flat.entry, dtype=np.int64),
            service=ColumnSampler.of(flat.services),
            link=ColumnSampler.of(flat.links),
            rework_cols=np.array([r[0] for r in reworks], dtype=np.int64),
            rework_p=np.array([r[1] for r in reworks]),
            rework_service=ColumnSampler.of([r[2] for r in reworks]),
            rework_groups=tuple(
                (p, np.array([k for k, r in enumerate(reworks) if r[1] == p], dtype=np.int64))
                for p in sorted({r[1] for r in reworks})
            ),
            call_in_col=call_cols,
            call_in=ColumnSampler.of(call_dists),
            groups=tuple(groups),
            station_visits=station_visits,
            cyclic_visits=np.concatenate(cyclic) if cyclic else np.zeros(0, dtype=np.int64),
            passes=4 * depth * chained + 10,
            decision_visit=flat.decision,
            effect_visit=flat.effect,
        )

    @property
    def visits(self) -> int:
        """Number of visits (steps of all instances)."""
        return int(self.visit_station.size)

    def station_rows(self, s: int) -> slice:
        """The rows of station `s`'s visits."""
        return slice(int(self.station_bounds[s]), int(self.station_bounds[s + 1]))

    def per_station(self, x: npt.NDArray[np.generic]) -> FloatArray:
        """Sum the rows of (visits x lanes) per station: (stations x lanes), as floats."""
        bounds = self.station_bounds
        out = np.zeros((bounds.size - 1, x.shape[1]))
        for s in range(bounds.size - 1):
            if bounds[s + 1] > bounds[s]:
                np.sum(x[bounds[s] : bounds[s + 1]], axis=0, dtype=np.float64, out=out[s])
        return out

    def per_station_reduce(self, x: FloatArray, reduce: np.ufunc, empty: float) -> FloatArray:
        """Reduce the rows of (visits x lanes) per station with `np.minimum` or `np.maximum`: (stations x
        lanes); a station without visits gets `empty`."""
        bounds = self.station_bounds
        out = np.full((bounds.size - 1, x.shape[1]), empty)
        for s in range(bounds.size - 1):
            if bounds[s + 1] > bounds[s]:
                reduce.reduce(x[bounds[s] : bounds[s + 1]], axis=0, out=out[s])
        return out

    def per_station_overlap(
        self, begin: FloatArray, end: FloatArray, first: FloatArray, last: FloatArray
    ) -> FloatArray:
        """Sum per station and lane the part of each visit's work [begin, end] inside the station's window
        [first, last] (both stations x lanes)."""
        bounds = self.station_bounds
        out = np.zeros((bounds.size - 1, begin.shape[1]))
        for s in range(bounds.size - 1):
            rows = slice(int(bounds[s]), int(bounds[s + 1]))
            if rows.stop > rows.start:
                inside = np.minimum(end[rows], last[s]) - np.maximum(begin[rows], first[s])
                np.maximum(inside, 0.0, out=inside)
                np.sum(inside, axis=0, out=out[s])
        return out

    def per_template(self, x: FloatArray) -> FloatArray:
        """Sum the rows of (instances x lanes) per template (request type): (templates x lanes)."""
        n = x.shape[1]
        tmpl = np.array([i.template for i in self.inp.instances], dtype=np.int64)
        cells = (tmpl[:, None] * n + np.arange(n)).ravel()
        total = np.bincount(cells, weights=x.ravel(), minlength=len(self.inp.templates) * n)
        return np.asarray(total, dtype=np.float64).reshape(len(self.inp.templates), n)


@dataclass
class _Flat:
    """Visits (a step of one filing) as parallel lists, while an input is being compiled."""

    instance: list[int]
    step: list[int]
    station: list[int]
    services: list[Distribution | None]
    reworks: list[tuple[int, float, Distribution]]  # (visit, p, service)
    edges_in: list[tuple[tuple[int, int], ...]]  # per visit: (pred visit, link column or -1)
    after_in: list[tuple[int, ...]]  # per visit: prerequisite decision visits
    entry: list[int]  # per visit: link column of a first step's delay from the filing, or -1
    links: list[Distribution | None]
    decision: IntArray
    effect: IntArray
    instance_rows: tuple[IntArray, ...]

    @classmethod
    def of(cls, inp: EngineInput) -> _Flat:
        """Number visits filing by filing, step by step."""
        flat = cls([], [], [], [], [], [], [], [], [], np.zeros(0, np.int64), np.zeros(0, np.int64), ())
        offsets: list[int] = []
        for i, inst in enumerate(inp.instances):
            template = inp.templates[inst.template]
            base = len(flat.instance)
            offsets.append(base)
            for j, step in enumerate(template.steps):
                flat.instance.append(i)
                flat.step.append(j)
                flat.station.append(step.station)
                flat.services.append(step.service)
                if step.rework > 0:
                    flat.reworks.append((base + j, step.rework, step.service))
                entry = -1
                if step.delay is not None:
                    entry = len(flat.links)
                    flat.links.append(step.delay)
                flat.entry.append(entry)
                incoming: list[tuple[int, int]] = []
                for p, delay in step.preds:
                    if template.steps[p].after_effect and not step.after_effect:
                        continue  # an after-effect step never holds up what comes before the effect
                    col = -1
                    if delay is not None:
                        col = len(flat.links)
                        flat.links.append(delay)
                    incoming.append((base + p, col))
                flat.edges_in.append(tuple(incoming))
        offs = np.array(offsets, dtype=np.int64)
        templates = [inp.templates[inst.template] for inst in inp.instances]
        flat.decision = np.array([offs[i] + t.decision for i, t in enumerate(templates)], dtype=np.int64)
        flat.effect = np.array([offs[i] + t.effect for i, t in enumerate(templates)], dtype=np.int64)
        flat.instance_rows = tuple(offs[i] + np.arange(len(t.steps)) for i, t in enumerate(templates))
        flat.after_in = [() for _ in flat.instance]
        for i, inst in enumerate(inp.instances):
            for j, step in enumerate(templates[i].steps):
                if inst.after and not step.preds:
                    flat.after_in[int(offs[i]) + j] = tuple(int(flat.decision[k]) for k in inst.after)
        return flat

    def station_major(self) -> _Flat:
        """Renumber visits station by station (filing order within a station).

        The visits of a station become contiguous rows: the engine takes slices rather than gathers, and
        sums per station with `np.add.reduceat`.
        """
        perm = np.argsort(np.array(self.station, dtype=np.int64), kind="stable")
        new_of = np.empty(perm.size, dtype=np.int64)
        new_of[perm] = np.arange(perm.size)
        return _Flat(
            instance=[self.instance[o] for o in perm],
            step=[self.step[o] for o in perm],
            station=[self.station[o] for o in perm],
            services=[self.services[o] for o in perm],
            reworks=[(int(new_of[v]), p, d) for v, p, d in self.reworks],
            edges_in=[tuple((int(new_of[p]), col) for p, col in self.edges_in[o]) for o in perm],
            after_in=[tuple(int(new_of[p]) for p in self.after_in[o]) for o in perm],
            entry=[self.entry[o] for o in perm],
            links=self.links,
            decision=new_of[self.decision],
            effect=new_of[self.effect],
            instance_rows=tuple(new_of[r] for r in self.instance_rows),
        )


def _call_in_columns(
    inp: EngineInput, v_station: Sequence[int]
) -> tuple[IntArray, list[Distribution | None]]:
    """Give every visit at an office-hours station with a call-in its own call-in column."""
    cols = np.full(len(v_station), -1, dtype=np.int64)
    dists: list[Distribution | None] = []
    for v, s in enumerate(v_station):
        st = inp.stations[s]
        if st.calendar is not None and st.call_in is not None:
            cols[v] = len(dists)
            dists.append(st.call_in)
    return cols, dists


def _flow_order(
    groups: tuple[tuple[tuple[int, ...], bool], ...],
    v_station: Sequence[int],
    edges_in: Sequence[tuple[tuple[int, int], ...]],
    after_in: Sequence[tuple[int, ...]],
) -> tuple[tuple[tuple[int, ...], bool], ...]:
    """Order the stations of each cyclic group by the mean depth of their visits in the visit graph.

    A pass then follows the flow of the paths (drafting before deciding before ordering), so the
    repeated passes settle in few rounds; the order does not change the result, only the work.
    """
    depth = [0] * len(v_station)
    pending = list(range(len(v_station)))
    preds = [[p for p, _ in edges_in[v]] + list(after_in[v]) for v in range(len(v_station))]
    for _ in range(len(v_station) + 1):  # longest-path depth by relaxation over the acyclic visit graph
        moved = False
        for v in pending:
            d = max((depth[p] + 1 for p in preds[v]), default=0)
            if d != depth[v]:
                depth[v], moved = d, True
        if not moved:
            break
    mean: dict[int, float] = {}
    for v, s in enumerate(v_station):
        mean[s] = mean.get(s, 0.0) + depth[v]
    count = {s: v_station.count(s) for s in set(v_station)}
    return tuple(
        (tuple(sorted(members, key=lambda s: (mean.get(s, 0.0) / max(count.get(s, 1), 1), s))), True)
        if cyclic
        else (members, cyclic)
        for members, cyclic in groups
    )


def _processing_groups(
    n_stations: int,
    v_station: Sequence[int],
    edges_in: Sequence[tuple[tuple[int, int], ...]],
    after_in: Sequence[tuple[int, ...]],
) -> tuple[tuple[tuple[int, ...], bool], ...]:
    """Order stations for processing: strongly connected components of the station graph, topologically.

    Each group is (stations, cyclic); a cyclic group (several stations, or one that feeds itself) is
    processed by repeated passes until its schedule settles.
    """
    import networkx as nx

    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_nodes_from(range(n_stations))
    for v, incoming in enumerate(edges_in):
        for p, _ in incoming:
            graph.add_edge(v_station[p], v_station[v])
        for p in after_in[v]:
            graph.add_edge(v_station[p], v_station[v])
    cond = nx.condensation(graph)
    groups: list[tuple[tuple[int, ...], bool]] = []
    for c in nx.topological_sort(cond):
        members = tuple(sorted(cond.nodes[c]["members"]))
        cyclic = len(members) > 1 or graph.has_edge(members[0], members[0])
        groups.append((members, cyclic))
    return tuple(groups)


@dataclass
class BlockOutcome:
    """The raw schedule of one block: arrays with one row per visit (or instance), one lane per replication.

    `arrive`: all predecessors done and links crossed; `ready`: a server is free; `begin`: on duty and
    working; `end`: done. Queueing is ready - arrive, waiting for duty hours begin - ready, work end - begin.
    `crit_pred` is the predecessor visit that arrived last (-1 for a first step), `crit_link` the link
    delay on that edge. Instances released after their stream's horizon have infinite times.
    """

    release: FloatArray  # (instances, n)
    arrive: FloatArray
    ready: FloatArray
    begin: FloatArray
    end: FloatArray
    crit_pred: Int32Array
    crit_link: FloatArray
    unsettled: int = 0
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = int(self.release.shape[1])


@dataclass
class Workspace:
    """Arrays for one block, reused from block to block: fresh memory for every block costs page faults.

    A BlockOutcome built on a workspace is valid until the next block is simulated on it.
    """

    n: int
    arrive: FloatArray
    ready: FloatArray
    begin: FloatArray
    end: FloatArray
    crit_pred: Int32Array
    crit_link: FloatArray
    service: FloatArray
    link: FloatArray

    @classmethod
    def of(cls, comp: Compiled, n: int) -> Workspace:
        """Allocate a workspace for `n` lanes of an input."""
        v = comp.visits
        return cls(
            n,
            np.empty((v, n)),
            np.empty((v, n)),
            np.empty((v, n)),
            np.empty((v, n)),
            np.empty((v, n), dtype=np.int32),
            np.empty((v, n)),
            np.empty((comp.service.width, n)),
            np.empty((comp.link.width, n)),
        )


def simulate_block(
    comp: Compiled, rng: np.random.Generator, n: int, work: Workspace | None = None
) -> BlockOutcome:
    """Simulate `n` replications of one input with one random generator (one block)."""
    if work is None or work.n != n:
        work = Workspace.of(comp, n)
    release = _releases(comp.inp, rng, n)
    service = comp.service.draw(rng, n, out=work.service)
    if comp.rework_cols.size:
        _add_rework(comp, rng, service, n)
    link = comp.link.draw(rng, n, out=work.link)
    call_in = comp.call_in.draw(rng, n)
    arrive, ready, begin, end = work.arrive, work.ready, work.begin, work.end
    crit_pred, crit_link = work.crit_pred, work.crit_link
    # Every visit is written when its station is processed; only visits in cyclic groups are read before
    # (as "not yet done"), so only they start at infinity.
    end[comp.cyclic_visits] = np.inf
    state = _State(comp, release, service, link, call_in, arrive, ready, begin, end, crit_pred, crit_link)

    unsettled = 0
    for stations, cyclic in comp.groups:
        if not cyclic:
            for s in stations:
                state.station(s)
            continue
        # Repeated passes until no station's arrivals change (then no end changes: a fixed point). A
        # station whose arrivals did not change since its last queueing keeps its schedule.
        members = np.concatenate([comp.station_visits[s] for s in stations])
        for p in range(comp.passes):
            last = p == comp.passes - 1
            before = end[members].copy() if last else None
            changed = False
            for s in stations:
                changed |= state.station(s, only_if_changed=p > 0)
            if not changed:
                break
            if before is not None:
                unsettled += int(np.count_nonzero((before != end[members]).any(axis=0)))
    return BlockOutcome(release, arrive, ready, begin, end, crit_pred, crit_link, unsettled)


def _releases(inp: EngineInput, rng: np.random.Generator, n: int) -> FloatArray:
    """Release time of every instance in every lane (inf past a stream's horizon)."""
    release = np.empty((len(inp.instances), n))
    stream_times: list[FloatArray] = []
    for stream in inp.streams:
        arr = stream.arrival
        m = arr.max_count()
        origin = stream.start_h + arr.offset_h
        if arr.process == "poisson":
            gaps = rng.standard_exponential((m, n)) * arr.mean_gap_h
            times = origin + np.cumsum(gaps, axis=0)
        else:
            times = np.repeat((origin + arr.mean_gap_h * np.arange(m))[:, None], n, axis=1)
        if arr.horizon_h is not None:
            times[times > stream.start_h + arr.horizon_h] = np.inf
        stream_times.append(times)
    for i, inst in enumerate(inp.instances):
        if inst.stream is None:
            release[i] = inst.release_h if inst.release_h is not None else 0.0
        else:
            release[i] = stream_times[inst.stream][inst.index]
    return release


def _add_rework(comp: Compiled, rng: np.random.Generator, service: FloatArray, n: int) -> None:
    """Add a geometric number of repeated service draws to steps that can be sent back.

    Each (step, lane) cell repeats R times with P(R >= k) = p^k. Rather than a uniform per cell, the cells
    with R >= 1 of the steps sharing one p are found as a Bernoulli(p) process over the flattened cells
    (geometric gaps between successes), which draws about p times as many numbers; R given R >= 1 is
    geometric on 1, 2, ... with success probability 1 - p.
    """
    rows_parts: list[IntArray] = []
    lanes_parts: list[IntArray] = []
    for p, members in comp.rework_groups:
        size = members.size * n
        expected = size * p
        positions: list[IntArray] = []
        last = -1
        while True:
            gaps = rng.geometric(p, size=int(expected + 6.0 * math.sqrt(expected) + 16.0))
            pos = last + np.cumsum(gaps)
            positions.append(pos)
            last = int(pos[-1])
            if last >= size:
                break
        flat = np.concatenate(positions)
        flat = flat[flat < size]
        if flat.size == 0:
            continue
        repeats = rng.geometric(1.0 - p, size=flat.size)
        rows_parts.append(np.repeat(members[flat // n], repeats))
        lanes_parts.append(np.repeat(flat % n, repeats))
    if not rows_parts:
        return
    rows = np.concatenate(rows_parts)
    lanes = np.concatenate(lanes_parts)
    extra = comp.rework_service.draw_at(rng, rows)
    np.add.at(service, (comp.rework_cols[rows], lanes), extra)


@dataclass
class _State:
    comp: Compiled
    release: FloatArray
    service: FloatArray
    link: FloatArray
    call_in: FloatArray
    arrive: FloatArray
    ready: FloatArray
    begin: FloatArray
    end: FloatArray
    crit_pred: Int32Array
    crit_link: FloatArray

    def arrival(self, v: int) -> None:
        """Set a visit's arrival: its release (and entry delay) for a first step, else the last
        predecessor + link."""
        comp = self.comp
        incoming = comp.edges_in[v]
        after = comp.after_in[v]
        entry = int(comp.entry_link[v])
        if not incoming and not after:
            if entry >= 0:
                np.add(self.release[comp.visit_instance[v]], self.link[entry], out=self.arrive[v])
                self.crit_link[v] = self.link[entry]
            else:
                self.arrive[v] = self.release[comp.visit_instance[v]]
                self.crit_link[v] = 0.0
            self.crit_pred[v] = -1
            return
        if len(incoming) == 1 and not after:
            p, col = incoming[0]
            if col >= 0:
                np.add(self.end[p], self.link[col], out=self.arrive[v])
                self.crit_link[v] = self.link[col]
            else:
                self.arrive[v] = self.end[p]
                self.crit_link[v] = 0.0
            self.crit_pred[v] = p
            return
        if incoming:
            p, col = incoming[0]
            link = self.link[col].copy() if col >= 0 else np.zeros(self.end.shape[1])
            best = self.end[p] + link
            crit = np.full(best.shape, p, dtype=np.int32)
        else:
            best = self.release[comp.visit_instance[v]].copy()
            crit = np.full(best.shape, -1, dtype=np.int32)
            link = np.zeros(best.shape)
        for p, col in incoming[1:]:
            d = self.link[col] if col >= 0 else 0.0
            t = self.end[p] + d
            later = t > best
            best = np.where(later, t, best)
            crit = np.where(later, p, crit)
            link = np.where(later, d, link)
        for p in after:
            t = self.end[p]
            later = t > best
            best = np.where(later, t, best)
            crit = np.where(later, p, crit)
            link = np.where(later, 0.0, link)
        if entry >= 0:  # a first step filed after its prerequisites: the transit follows the later
            best = best + self.link[entry]
            link = self.link[entry].copy()
        self.arrive[v] = best
        self.crit_pred[v] = crit
        self.crit_link[v] = link

    def station(self, s: int, *, only_if_changed: bool = False) -> bool:
        """Queue every visit of station `s`: arrivals sorted per lane, then the c-server recursion.

        With `only_if_changed`, a station whose arrivals are the same as when it was last queued is left
        alone. Returns whether the station was queued.
        """
        comp = self.comp
        idx = comp.station_visits[s]
        if idx.size == 0:
            return False
        rows = comp.station_rows(s)  # the station's visits are contiguous rows: views, not copies
        previous = self.arrive[rows].copy() if only_if_changed else None
        for v in range(rows.start, rows.stop):
            self.arrival(v)
        st = comp.inp.stations[s]
        a = self.arrive[rows]
        if previous is not None and np.array_equal(previous, a):
            return False
        svc = self.service[rows]
        n = a.shape[1]
        cal = st.calendar
        ci_cols = comp.call_in_col[idx]
        call = self.call_in[ci_cols] if cal is not None and st.call_in is not None else None
        if st.servers >= idx.size:
            # No queue can form: every visit has a server of its own.
            begin = self._duty(cal, a, call)
            self.ready[rows] = a
            self.begin[rows] = begin
            np.add(begin, svc, out=self.end[rows])
            return True
        order, a_sorted = fifo_order(a)
        # Flat indices (row * lanes + lane) gather and scatter faster than take/put_along_axis.
        lanes = np.arange(n)
        glob = (order + rows.start) * n + lanes
        s_sorted = self.service.reshape(-1).take(glob)
        c_sorted = None
        if call is not None:
            c_sorted = self.call_in.reshape(-1).take(ci_cols[order] * n + lanes)
        r_out, b_out = self._recursion(a_sorted, s_sorted, c_sorted, st.servers, cal)
        self.ready.reshape(-1)[glob] = r_out
        self.begin.reshape(-1)[glob] = b_out
        b_out += s_sorted
        self.end.reshape(-1)[glob] = b_out
        return True

    def _recursion(
        self,
        a_sorted: FloatArray,
        s_sorted: FloatArray,
        c_sorted: FloatArray | None,
        c: int,
        cal: DutyCalendar | None,
    ) -> tuple[FloatArray, FloatArray]:
        """Kiefer–Wolfowitz for c FIFO servers down sorted arrivals: (server free, work begins) per row."""
        n = a_sorted.shape[1]
        r_out = np.empty_like(a_sorted)
        b_out = np.empty_like(a_sorted)
        if c == 1:
            free = np.full(n, -np.inf)
            for i in range(a_sorted.shape[0]):
                r = np.maximum(a_sorted[i], free)
                b = self._duty(cal, r, None if c_sorted is None else c_sorted[i])
                free = b + s_sorted[i]
                r_out[i] = r
                b_out[i] = b
            return r_out, b_out
        # Free times of the c servers, kept sorted in every lane: row 0 is the earliest free.
        free_at = np.full((c, n), -np.inf)
        for i in range(a_sorted.shape[0]):
            r = np.maximum(a_sorted[i], free_at[0])
            b = self._duty(cal, r, None if c_sorted is None else c_sorted[i])
            free_at[:-1] = free_at[1:]
            np.add(b, s_sorted[i], out=free_at[-1])
            for j in range(c - 1, 0, -1):  # insert the new free time in order
                lo = np.minimum(free_at[j - 1], free_at[j])
                np.maximum(free_at[j - 1], free_at[j], out=free_at[j])
                free_at[j - 1] = lo
            r_out[i] = r
            b_out[i] = b
        return r_out, b_out

    @staticmethod
    def _duty(cal: DutyCalendar | None, t: FloatArray, call: FloatArray | None) -> FloatArray:
        if cal is None:
            return t
        opening = cal.next_open(t)
        if call is None:
            return opening
        return np.minimum(opening, t + call)


def fifo_order(a: FloatArray) -> tuple[IntArray, FloatArray]:
    """Return, per lane (column), the rows of `a` in order of arrival (ties in row order) and `a` so sorted.

    Non-negative float64 values sort like their int64 bit patterns, so the row number is written into
    the lowest mantissa bits of each value and the keys are sorted along contiguous lanes (NumPy's
    vectorized sort), about twice as fast as a stable argsort along the rows. Values closer than 2**bits
    units in the last place could come out in row order rather than value order; the sorted values are
    checked, and a stable argsort is used instead when that happened (or for negative times).
    """
    k, n = a.shape
    bits = max(1, (k - 1).bit_length())
    lanes = np.arange(n)
    if bits <= 20 and a.size and float(a.min()) >= 0.0:
        mask = (1 << bits) - 1
        key = (a.T.view(np.int64) & ~np.int64(mask)) | np.arange(k, dtype=np.int64)
        key.sort(axis=1)
        key &= mask
        order: IntArray = key.T
        a_sorted = a.reshape(-1).take(order * n + lanes)
        if bool((a_sorted[1:] >= a_sorted[:-1]).all()):
            return order, a_sorted
    order = np.argsort(a, axis=0, kind="stable")
    return order, a.reshape(-1).take(order * n + lanes)


# -- running many replications ---------------------------------------------------------------------------


def block_rng(seed: int, structure: int, block: int) -> np.random.Generator:
    """The random generator of one block: spawned from the seed by (structure, block) position."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(structure, block))))


def block_sizes(replications: int) -> list[int]:
    """Split replications into blocks of `BLOCK` (the last one smaller)."""
    full, rest = divmod(replications, BLOCK)
    return [BLOCK] * full + ([rest] if rest else [])


def critical_mask(comp: Compiled, out: BlockOutcome) -> npt.NDArray[np.bool_]:
    """Mark, per lane, the visits on the longest path back from each instance's effect step."""
    n = out.n
    on = np.zeros(out.end.shape, dtype=bool)
    lanes = np.broadcast_to(np.arange(n), (comp.effect_visit.size, n)).ravel()
    cur = np.repeat(comp.effect_visit, n)
    flat_pred = out.crit_pred.ravel()
    flat_on = on.reshape(-1)
    width = out.end.shape[1]
    for _ in range(comp.visits + 1):
        keep = cur >= 0
        if not keep.any():
            break
        cur, lanes = cur[keep], lanes[keep]
        pos = cur * width + lanes
        flat_on[pos] = True
        cur = flat_pred[pos].astype(np.int64)
    return on


#: One workspace per thread: a Dask worker may run several tasks at once in threads of one process.
_WORKSPACE = threading.local()


def workspace(comp: Compiled, n: int) -> Workspace:
    """Return this thread's workspace for arrays of this shape (kept across tasks of a worker)."""
    key = (comp.visits, comp.service.width, comp.link.width, n)
    cached: tuple[tuple[int, int, int, int], Workspace] | None = getattr(_WORKSPACE, "entry", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    work = Workspace.of(comp, n)
    _WORKSPACE.entry = (key, work)
    return work


def chunks(sizes: Sequence[int], per_chunk: int) -> list[list[tuple[int, int]]]:
    """Deal blocks round-robin into chunks of about `per_chunk` blocks (the unit of work of one task).

    Dealing round-robin keeps chunks equal in size (and the last, smaller block in one of them), so the
    workers finish together.
    """
    pairs = list(enumerate(sizes))
    count = max(1, math.ceil(len(pairs) / max(1, per_chunk)))
    return [pairs[i::count] for i in range(count)]


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def plan_chunks(replications: int, workers: int) -> int:
    """Blocks per chunk: two chunks per worker, so that progress moves and the work balances."""
    n_blocks = len(block_sizes(replications))
    return max(1, math.ceil(n_blocks / (workers * 2)))
