"""The simulation benchmark: the engine against the SimPy reference on one generated scenario.

`bench_input` generates a scenario shaped like a crisis workload: `requests` filings spread over two
days, each taking a feed-forward path (with one fork-join) through some of `organizations` staffed
organizations, two of which keep office hours in Tokyo with a call-in delay. `run_bench` simulates it
with the engine on all cores and with the SimPy reference (`kizuna.sim.reference`) on fewer
replications, in the same run, and reports replications per second of both, their ratio, the peak
memory, and whether the two agree on the mean time to effect.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from kizuna.model.scenario import DutyHours, Lognormal
from kizuna.sim.calendar import DutyCalendar
from kizuna.sim.engine import BLOCK, EngineInput, Instance, PathTemplate, Station, StepSpec, default_workers
from kizuna.sim.runner import Progress, simulate_inputs

_KINDS = ("coordinate", "consult", "approve", "order", "execute")


def bench_input(requests: int = 60, organizations: int = 8, seed: int = 0) -> EngineInput:
    """Generate the benchmark's engine input (the same for the same arguments)."""
    rng = np.random.default_rng(seed)
    start = datetime(2027, 5, 3, 6, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    office = DutyHours(hours="office", call_in=Lognormal(dist="lognormal", mean=1.5, cv=0.5))
    stations: list[Station] = []
    for k in range(organizations):
        servers = int(rng.integers(1, 5))
        if k in (organizations // 2, organizations - 2):
            cal = DutyCalendar.build(office, "Asia/Tokyo", start)
            stations.append(Station(f"org-{k}", servers, cal, office.call_in))
        else:
            stations.append(Station(f"org-{k}", servers))
    templates: list[PathTemplate] = []
    instances: list[Instance] = []
    for r in range(requests):
        visits = sorted(rng.choice(organizations, size=min(6, organizations), replace=False).tolist())
        steps: list[StepSpec] = []
        for j, org in enumerate(visits):
            mean = float(rng.uniform(0.3, 2.0))
            service = Lognormal(dist="lognormal", mean=mean, cv=float(rng.uniform(0.3, 1.2)))
            link = Lognormal(dist="lognormal", mean=0.25, cv=0.5)
            if j == 0:
                preds: tuple[tuple[int, Lognormal | None], ...] = ()
            elif j in (2, 3) and len(visits) > 4:
                preds = ((1, link),)  # steps 2 and 3 run in parallel after step 1
            elif j == 4 and len(visits) > 4:
                preds = ((2, link), (3, link))  # and join here
            else:
                preds = ((j - 1, link),)
            steps.append(
                StepSpec(f"s{j}", int(org), service, kind=_KINDS[j % len(_KINDS)], preds=preds, rework=0.05)
            )
        templates.append(PathTemplate(f"request-{r}", tuple(steps), len(steps) - 2, len(steps) - 1))
        instances.append(Instance(r, 1, float(rng.uniform(0.0, 48.0))))
    return EngineInput("bench", "bench", tuple(stations), tuple(templates), tuple(instances))


@dataclass(frozen=True)
class BenchResult:
    """Figures of one benchmark run."""

    replications: int
    simpy_replications: int
    workers: int
    requests: int
    organizations: int
    kizuna_s: float
    startup_s: float
    simpy_s: float
    kizuna_rep_per_s: float
    simpy_rep_per_s: float
    ratio: float
    kizuna_rep_per_cpu_s: float
    simpy_rep_per_cpu_s: float
    ratio_per_core: float
    peak_rss_mib: float
    peak_worker_rss_mib: float
    load_average: float
    mean_effect_h: float
    simpy_mean_effect_h: float
    agreement_z: float

    def to_json(self) -> dict[str, float | int]:
        """Return the figures as JSON-ready data."""
        return asdict(self)


def _rss_mib(who: int) -> float:
    kib = resource.getrusage(who).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def run_bench(
    replications: int = 100_000,
    *,
    simpy_replications: int | None = None,
    workers: int | None = None,
    requests: int = 60,
    organizations: int = 8,
    seed: int = 0,
    progress: Progress | None = None,
    phase: Callable[[str], None] | None = None,
) -> BenchResult:
    """Time the engine and the SimPy reference on the benchmark input.

    The SimPy reference runs `simpy_replications` (default: 1/500 of the engine's, at least 20) in this
    process; its rate is replications per second on one core, the engine's on `workers` processes.
    `progress` is called with replications finished by the engine, `phase` with the name of the phase
    starting. `ratio` compares wall-clock rates (the engine on all its workers); `ratio_per_core` compares
    replications per CPU-second, which other load on the machine disturbs less. `load_average` is the
    machine's one-minute load when the run began.
    """
    from kizuna.sim.reference import simulate_reference

    inp = bench_input(requests, organizations, seed)
    load = os.getloadavg()[0]
    m = simpy_replications or max(20, replications // 500)
    # Start the worker processes' server once (it imports the engine, as any first use does) and time it
    # apart: the timed run measures simulation, not Python start-up.
    began = time.perf_counter()
    if (workers or default_workers()) > 1:
        warm = bench_input(2, 2, seed)
        simulate_inputs([warm], scenario="warm", replications=BLOCK + 1, workers=workers, blocks_per_chunk=1)
    startup_s = time.perf_counter() - began
    began = time.perf_counter()
    result = simulate_inputs(
        [inp], scenario="bench", replications=replications, seed=seed, workers=workers, progress=progress
    )
    kizuna_s = time.perf_counter() - began
    if phase is not None:
        phase(f"SimPy reference ({m} replications)")
    began, cpu = time.perf_counter(), time.process_time()
    ref = simulate_reference(inp, m, seed=seed + 1)
    simpy_s = time.perf_counter() - began
    simpy_cpu = time.process_time() - cpu

    ours = result.structures[inp.structure]
    # Agreement on the mean time to effect over all requests (per replication: mean over requests).
    per_rep = np.nanmean(ref.effect, axis=1)
    k_mean = float(np.mean([r.effect.mean_h for r in ours.requests.values()]))
    k_se = math.sqrt(sum(r.effect.se_h**2 for r in ours.requests.values())) / len(ours.requests)
    s_se = float(per_rep.std(ddof=1) / math.sqrt(per_rep.size))
    z = (k_mean - float(per_rep.mean())) / math.hypot(k_se, s_se)
    k_rate = replications / kizuna_s
    s_rate = m / simpy_s
    k_cpu = replications / result.cpu_s if result.cpu_s > 0 else math.nan
    s_cpu = m / simpy_cpu if simpy_cpu > 0 else math.nan
    return BenchResult(
        replications=replications,
        simpy_replications=m,
        workers=result.workers,
        requests=requests,
        organizations=organizations,
        kizuna_s=kizuna_s,
        startup_s=startup_s,
        simpy_s=simpy_s,
        kizuna_rep_per_s=k_rate,
        simpy_rep_per_s=s_rate,
        ratio=k_rate / s_rate,
        kizuna_rep_per_cpu_s=k_cpu,
        simpy_rep_per_cpu_s=s_cpu,
        ratio_per_core=k_cpu / s_cpu,
        peak_rss_mib=_rss_mib(resource.RUSAGE_SELF),
        peak_worker_rss_mib=result.peak_worker_rss_mib
        if result.workers > 1
        else _rss_mib(resource.RUSAGE_SELF),
        load_average=load,
        mean_effect_h=k_mean,
        simpy_mean_effect_h=float(per_rep.mean()),
        agreement_z=z,
    )
