"""Simulation: Monte Carlo of decision paths through staffed, queueing, time-zoned organizations.

`simulate(scenario, replications=..., seed=...)` builds the engine input of every structure the scenario
compares (`kizuna.sim.build`), runs the vectorized engine (`kizuna.sim.engine`) in blocks on worker
processes (`kizuna.sim.runner`) and returns a `SimResult` (`kizuna.sim.result`). docs/simulation.md
describes the scenario format, the engine and its validation.
"""

from kizuna.sim.build import build_inputs, classify_link, network_input, structure_input
from kizuna.sim.engine import (
    BLOCK,
    DeadlineSpec,
    EngineInput,
    Instance,
    PathTemplate,
    Station,
    StepSpec,
    Stream,
)
from kizuna.sim.result import (
    Comparison,
    GanttBar,
    OrgStats,
    RequestStats,
    SimResult,
    StructureResult,
    Summary,
    compare,
)
from kizuna.sim.runner import simulate, simulate_inputs

__all__ = [
    "BLOCK",
    "Comparison",
    "DeadlineSpec",
    "EngineInput",
    "GanttBar",
    "Instance",
    "OrgStats",
    "PathTemplate",
    "RequestStats",
    "SimResult",
    "Station",
    "StepSpec",
    "Stream",
    "StructureResult",
    "Summary",
    "build_inputs",
    "classify_link",
    "compare",
    "network_input",
    "simulate",
    "simulate_inputs",
    "structure_input",
]
