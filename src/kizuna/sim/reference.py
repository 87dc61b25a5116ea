"""A discrete-event reference of the engine in SimPy: one replication at a time, one process per step.

It reads the same `EngineInput` but shares none of the engine's mechanics: each step is a SimPy process
that waits for its predecessors' completion events, crosses the link delays, requests a FIFO
`simpy.Resource` with the organization's servers, waits for duty hours or the call-in, works (redoing
the work while rework draws say so) and releases the server. Revisited organizations need no special
handling here: events simply happen in time order. The validation tests and `kizuna bench sim` compare
the engine with it. SimPy is a development dependency (`pip install kizuna[dev]`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kizuna.sim.distributions import draw_one
from kizuna.sim.engine import EngineInput

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ReferenceSample:
    """Raw times of every replication: `decision` and `effect` are (replications, instances), hours from
    filing (NaN when not filed or not counted); `wait` is the queueing time of every counted visit at
    each station, pooled."""

    decision: FloatArray
    effect: FloatArray
    wait: dict[str, FloatArray]


def simulate_reference(inp: EngineInput, replications: int, seed: int = 0) -> ReferenceSample:
    """Simulate `replications` replications of `inp` with SimPy.

    Raises:
        ImportError: SimPy is not installed.
    """
    rng = np.random.default_rng(seed)
    n_inst = len(inp.instances)
    decision = np.full((replications, n_inst), np.nan)
    effect = np.full((replications, n_inst), np.nan)
    waits: dict[str, list[float]] = {s.id: [] for s in inp.stations}
    for r in range(replications):
        _one(inp, rng, decision[r], effect[r], waits)
    return ReferenceSample(decision, effect, {k: np.array(v) for k, v in waits.items()})


def _one(
    inp: EngineInput,
    rng: np.random.Generator,
    decision: FloatArray,
    effect: FloatArray,
    waits: dict[str, list[float]],
) -> None:
    rep = _Replication(inp, rng, waits)
    rep.run()
    for i, inst in enumerate(inp.instances):
        template = inp.templates[inst.template]
        if not inst.counted or not np.isfinite(rep.releases[i]):
            continue
        dec, eff = rep.done[i, template.decision], rep.done[i, template.effect]
        if dec.triggered and eff.triggered:
            decision[i] = dec.value - rep.releases[i]
            effect[i] = eff.value - rep.releases[i]


class _Replication:
    """One replication: a SimPy environment with a Resource per station and a process per step."""

    def __init__(self, inp: EngineInput, rng: np.random.Generator, waits: dict[str, list[float]]) -> None:
        import simpy

        self.simpy = simpy
        self.inp = inp
        self.rng = rng
        self.waits = waits
        self.env = simpy.Environment()
        self.servers = [simpy.Resource(self.env, capacity=s.servers) for s in inp.stations]
        self.releases = _releases(inp, rng)
        self.done: dict[tuple[int, int], Any] = {
            (i, j): self.env.event()
            for i, inst in enumerate(inp.instances)
            for j in range(len(inp.templates[inst.template].steps))
        }

    def run(self) -> None:
        for i, inst in enumerate(self.inp.instances):
            if not np.isfinite(self.releases[i]):
                continue
            for j in range(len(self.inp.templates[inst.template].steps)):
                self.env.process(self.step(i, j, float(self.releases[i])))
        self.env.run()

    def step(self, i: int, j: int, release: float) -> Generator[Any, Any, None]:
        env, rng, inp = self.env, self.rng, self.inp
        inst = inp.instances[i]
        template = inp.templates[inst.template]
        spec = template.steps[j]
        preds = [(p, d) for p, d in spec.preds if not template.steps[p].after_effect or spec.after_effect]
        if preds:
            ends = yield self.simpy.AllOf(env, [self.done[i, p] for p, _ in preds])
            arrive = max(ends[self.done[i, p]] + draw_one(d, rng) for p, d in preds)
        else:
            arrive = release
            if inst.after:
                firsts = [self.done[k, inp.templates[inp.instances[k].template].decision] for k in inst.after]
                yield self.simpy.AllOf(env, firsts)
                arrive = max(arrive, env.now)
            arrive += draw_one(spec.delay, rng)
        if arrive > env.now:
            yield env.timeout(arrive - env.now)
        arrive = env.now
        station = inp.stations[spec.station]
        with self.servers[spec.station].request() as req:
            yield req
            ready = env.now
            if station.calendar is not None:
                opening = float(station.calendar.next_open(np.array([ready]))[0])
                if opening > ready and station.call_in is not None:
                    opening = min(opening, ready + draw_one(station.call_in, rng))
                if opening > ready:
                    yield env.timeout(opening - ready)
            work = draw_one(spec.service, rng)
            while spec.rework > 0 and rng.random() < spec.rework:
                work += draw_one(spec.service, rng)
            yield env.timeout(work)
        if inst.counted:
            self.waits[station.id].append(ready - arrive)
        self.done[i, j].succeed(env.now)


def _releases(inp: EngineInput, rng: np.random.Generator) -> FloatArray:
    times: list[FloatArray] = []
    for stream in inp.streams:
        arr = stream.arrival
        m = arr.max_count()
        origin = stream.start_h + arr.offset_h
        t: FloatArray
        if arr.process == "poisson":
            t = origin + np.cumsum(rng.exponential(arr.mean_gap_h, size=m))
        else:
            t = origin + arr.mean_gap_h * np.arange(m, dtype=np.float64)
        if arr.horizon_h is not None:
            t[t > stream.start_h + arr.horizon_h] = np.inf
        times.append(t)
    out = np.empty(len(inp.instances))
    for i, inst in enumerate(inp.instances):
        if inst.stream is None:
            out[i] = inst.release_h if inst.release_h is not None else 0.0
        else:
            out[i] = times[inst.stream][inst.index]
    return out
