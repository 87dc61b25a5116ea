"""How long a live request has taken against the simulated distribution of the same path.

The request's own compiled DecisionPath is simulated under its crisis's structure with the timing
parameters of a bundled scenario (the one named like the crisis, else the first that compares the
crisis's structure), starting at the hour the request was filed (duty hours and time zones matter).
Results are cached per path, structure, scenario and starting hour, so only the first look at a request
pays for the simulation; the page loads the figure as a fragment after the rest, and the simulation
engine is imported on first use, not when the service starts.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np

from kizuna.coordination import RequestState
from kizuna.model import Structure
from kizuna.model.scenario import Inject, InjectRequest, Scenario, load_scenario

#: Replications per path: enough for a percentile to within about a point, in well under a second.
REPLICATIONS = 2_000
#: Bundled scenarios whose parameters a crisis may borrow, in order of preference.
SCENARIOS = ("taiwan-contingency", "senkaku-gray-zone", "dprk-missile-launch", "okinawa-earthquake")


@dataclass(frozen=True, slots=True)
class PathDistribution:
    """The simulated time from filing to effect (and to decision) of one path, as histograms."""

    scenario: str
    structure: str
    replications: int
    effect: np.ndarray
    decision: np.ndarray

    def quantile(self, q: float, *, of: str = "effect") -> float:
        """Return the q-quantile in hours."""
        from kizuna.sim.result import hist_quantile

        return hist_quantile(self.effect if of == "effect" else self.decision, q)

    def percentile(self, hours: float, *, of: str = "effect") -> float | None:
        """Return the share (0-100) of simulated runs that reached the point within `hours`."""
        from kizuna.sim.result import bin_edges, bin_index

        hist = self.effect if of == "effect" else self.decision
        total = int(hist.sum())
        if total == 0:
            return None
        k = int(bin_index(np.array([max(hours, 0.0)]))[0])
        edges = bin_edges()
        below = float(hist[:k].sum())
        lo, hi = edges[k], edges[k + 1]
        inside = float(hist[k]) * ((hours - lo) / (hi - lo) if math.isfinite(hi) and hi > lo else 0.0)
        return 100.0 * (below + inside) / total


@lru_cache(maxsize=16)
def scenario_for(crisis_id: str, structure: str) -> Scenario:
    """Return the bundled scenario whose parameters a crisis's requests are simulated with."""
    if crisis_id in SCENARIOS:
        return load_scenario(crisis_id)
    for scenario_id in SCENARIOS:
        scenario = load_scenario(scenario_id)
        if structure in scenario.structures:
            return scenario
    return load_scenario(SCENARIOS[0])


class PathStatistics:
    """Simulated distributions of live requests' paths, computed once per path and starting hour."""

    def __init__(self, *, replications: int = REPLICATIONS) -> None:
        """Keep results of `replications` runs each."""
        self.replications = replications
        self._cache: dict[tuple[str, str, str, str], PathDistribution] = {}
        self._lock = threading.Lock()

    def of(self, request: RequestState, structure: Structure, crisis_id: str) -> PathDistribution:
        """Return the distribution of a request's path (simulated on first use)."""
        scenario = scenario_for(crisis_id, structure.id)
        start = request.filed_at.replace(minute=0, second=0, microsecond=0)
        key = (
            structure.id,
            request.path.model_dump_json(exclude={"request"}),
            scenario.id,
            start.isoformat(),
        )
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self._simulate(request, structure, scenario, start)
        with self._lock:
            self._cache[key] = result
        return result

    def _simulate(
        self, request: RequestState, structure: Structure, scenario: Scenario, start: datetime
    ) -> PathDistribution:
        from kizuna.sim import simulate_inputs, structure_input  # the engine loads on first use only

        spec = request.spec
        one = scenario.model_copy(
            update={
                "start": start,
                "requests": (spec,),
                "injects": (Inject(at_h=0.0, requests=(InjectRequest(request=spec.id),)),),
                "structures": (structure.id,),
            }
        )
        inp = structure_input(one, structure, {spec.id: request.path})
        result = simulate_inputs(
            [inp], scenario=scenario.id, replications=self.replications, seed=0, workers=1
        )
        stats = result.structures[structure.id].requests[spec.id]
        return PathDistribution(
            scenario=scenario.id,
            structure=structure.id,
            replications=self.replications,
            effect=stats.hist_effect,
            decision=stats.hist_decision,
        )
