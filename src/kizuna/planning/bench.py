"""`kizuna bench plan`: CP-SAT against a plain MILP (scipy's HiGHS) on the same assignment problems.

Two problems, each solved by both in the same run: the bundled `nansei-2027` plan, and a generated plan
(`generated_plan`: by default 500 units and 200 missions around Japan, drawn from the bundled capability and
mission-kind vocabularies, in three phases under three situations, so the law excludes some pairs as it
does in real plans). Both solvers get the same `AssignmentProblem` (the same candidates, integer costs,
needs, capacities and pins) and must reach the same optimal objective; the times include building each
solver's model from the problem. CP-SAT runs with one worker, as HiGHS does, on a machine other jobs share:
the lead re-measures on a quiet one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kizuna.authority import FrameworkSet, load_frameworks
from kizuna.model.forces import Forces, load_forces
from kizuna.model.plan import Plan, load_plan
from kizuna.planning.assign import AssignmentProblem, assignment_problem, build_model, cpsat_solver

#: The situations of the generated plan's three phases, with the approvals each phase assumes.
PHASES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "deter",
        "important-influence",
        (
            "nsc-deliberation",
            "basic-plan",
            "us-request",
            "prime-minister-approval",
            "defense-minister-order",
            "foreign-minister-request",
        ),
        ("in-response-plan", "urgent"),
    ),
    (
        "sts",
        "survival-threatening",
        (
            "nsc-deliberation",
            "basic-response-plan",
            "diet-prior-approval",
            "prime-minister-order",
            "prime-minister-approval",
            "defense-minister-order",
        ),
        ("in-response-plan",),
    ),
    (
        "defend",
        "armed-attack",
        (
            "nsc-deliberation",
            "basic-response-plan",
            "diet-approval",
            "prime-minister-order",
            "prime-minister-approval",
            "defense-minister-order",
        ),
        ("in-response-plan",),
    ),
)
_ACTORS = (
    ("gsdf", "jp", "gsdf"),
    ("msdf", "jp", "msdf"),
    ("asdf", "jp", "asdf"),
    ("us-forces", "us", "indopacom"),
)
_MOBILITY = {"gsdf": "land", "msdf": "sea", "asdf": "air", "us-forces": "air"}


#: Whose forces a generated mission of these kinds supports (others: the kind's, or nobody's). Every
#: generated mission states it: no default decides the law.
_SUPPORTED = {"island-defense": "japan", "air-defense": "japan"}


def _supported(kind: Any) -> str:
    """Whose forces a generated mission of a kind supports, stated."""
    return _SUPPORTED.get(kind.id, kind.supported or "none")


#: Where a generated mission may be, for the law, and whether the area is at sea.
_LOCATIONS = (("japan-territory", False), ("high-seas-near-japan", True), ("foreign-territory", False))


def _lawful_kinds(frameworks: FrameworkSet, kinds: list[Any]) -> dict[str, list[tuple[str, str, bool]]]:
    """Per phase, the (kind, location, at sea) combinations that at least two actors may take."""
    from kizuna.authority import Query, rule

    out: dict[str, list[tuple[str, str, bool]]] = {}
    for pid, situation, assumes, flags in PHASES:
        options: list[tuple[str, str, bool]] = []
        for kind in kinds:
            for location, sea in _LOCATIONS:
                lawful = 0
                for actor, _nation, _parent in _ACTORS:
                    if kind.actors and not any(a in kind.actors for a in frameworks.lineage(actor)):
                        continue
                    query = Query(
                        situation=situation,
                        actor=actor,
                        activity=kind.activity_in(situation),
                        supported=_supported(kind),
                        location=location,
                        flags=frozenset(flags),
                        granted=frozenset(assumes),
                    )
                    lawful += rule(frameworks, query).permitted
                if lawful >= 2:
                    options.append((kind.id, location, sea))
        out[pid] = options
    return out


def generated_plan(
    units: int = 500, missions: int = 200, seed: int = 0, frameworks: FrameworkSet | None = None
) -> Plan:
    """Generate a plan of `missions` missions drawing on `units` units around Japan (reproducible by seed).

    Units and missions use the bundled forces' capability and mission-kind vocabularies and sit at random
    points between 24°N and 45°N, 122°E and 146°E; each mission needs its kind's capability (one or two
    units) and sometimes one more; each unit has one to three capabilities, a capacity of one to three,
    readiness, speed and reach drawn from wide ranges. A mission's kind and location are drawn among those
    that at least two actors may lawfully take in its phase, so the law excludes pairs as in a real plan
    without leaving a mission nobody may take.
    """
    base = load_forces("us-japan-2025")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    caps = [c.id for c in base.capabilities]
    kinds = [k for k in base.mission_kinds if k.needs]
    n_sites = max(8, units // 8)
    sites = [
        {
            "id": f"gen-site-{i}",
            "name": f"Generated site {i}",
            "latitude": round(float(rng.uniform(24.0, 45.0)), 2),
            "longitude": round(float(rng.uniform(122.0, 146.0)), 2),
            "time_zone": "Asia/Tokyo",
            "assumption": "generated for the benchmark",
        }
        for i in range(n_sites)
    ]
    unit_data: list[dict[str, Any]] = []
    for i in range(units):
        actor, nation, parent = _ACTORS[int(rng.integers(len(_ACTORS)))]
        kind = kinds[i % len(kinds)]
        own = {kind.needs[0], *rng.choice(caps, size=int(rng.integers(0, 3)), replace=False).tolist()}
        moves = bool(rng.random() < 0.6)
        unit_data.append(
            {
                "id": f"gen-unit-{i}",
                "name": f"Generated unit {i}",
                "nation": nation,
                "actor": actor,
                "site": sites[int(rng.integers(n_sites))]["id"],
                "parent": parent,
                "capabilities": sorted(own),
                "readiness_h": round(float(rng.uniform(0.0, 48.0)), 1),
                "capacity": int(rng.integers(1, 4)),
                "speed_kmh": round(float(rng.uniform(30.0, 800.0)), 0) if moves else 0.0,
                "reach_km": round(float(rng.uniform(20.0, 600.0)), 0),
                "mobility": _MOBILITY[actor],
                "assumption": "generated for the benchmark",
            }
        )
    forces = Forces.model_validate(
        {
            "id": f"generated-{units}",
            "name": f"Generated forces ({units} units)",
            "structure": base.structure,
            "capabilities": [c.model_dump() for c in base.capabilities],
            "mission_kinds": [k.model_dump() for k in base.mission_kinds],
            "sites": [*(s.model_dump() for s in base.sites), *sites],
            "units": unit_data,
        }
    )
    phases: list[dict[str, Any]] = [
        {
            "id": pid,
            "start": -72.0 + 72.0 * p,
            "situation": situation,
            "assumes": list(assumes),
            "flags": list(flags),
            "missions": [],
        }
        for p, (pid, situation, assumes, flags) in enumerate(PHASES)
    ]
    lawful = _lawful_kinds(frameworks or load_frameworks(), kinds)
    for j in range(missions):
        phase = phases[j % len(phases)]
        options = lawful[phase["id"]]
        kind_id, location, sea = options[int(rng.integers(len(options)))]
        kind = base.kind_by_id[kind_id]
        needs = [{"capability": kind.needs[0], "count": int(rng.integers(1, 3))}]
        if rng.random() < 0.3:
            extra = str(rng.choice([c for c in caps if c != kind.needs[0]]))
            needs.append({"capability": extra, "count": 1, "max": 2})
        phase["missions"].append(
            {
                "id": f"gen-mission-{j}",
                "kind": kind.id,
                "area": {
                    "latitude": round(float(rng.uniform(24.0, 45.0)), 2),
                    "longitude": round(float(rng.uniform(122.0, 146.0)), 2),
                    "sea": sea,
                },
                "location": location,
                "supported": _supported(kind),
                "needs": needs,
                "ready_within_h": float(rng.choice([48.0, 72.0, 96.0])),
            }
        )
    plan = Plan.model_validate(
        {
            "id": f"generated-{units}-{missions}",
            "name": f"Generated plan ({units} units, {missions} missions)",
            "forces": forces.id,
            "d_day": datetime(2027, 4, 16, tzinfo=UTC),
            "objective": {"time": 1.0, "distance": 0.01},
            "phases": phases,
        }
    )
    plan._forces = forces
    return plan


# -- the MILP reference -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MilpResult:
    """What HiGHS found: status, objective (None when none) and the chosen candidates."""

    status: str
    objective: int | None
    chosen: tuple[int, ...]
    seconds: float


def solve_milp(problem: AssignmentProblem, *, time_limit_s: float = 120.0) -> MilpResult:
    """Solve the same assignment as a plain 0/1 MILP with scipy's HiGHS (`scipy.optimize.milp`)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    began = time.perf_counter()
    n = len(problem.candidates)
    rows: list[int] = []
    cols: list[int] = []
    lo: list[float] = []
    hi: list[float] = []
    r = 0
    by_mission = problem.by_mission()
    for mission in problem.missions:
        indices = by_mission.get(mission.id, [])
        for need in problem.needs[mission.id]:
            for k in indices:
                if need.capability in problem.candidates[k].provides:
                    rows.append(r)
                    cols.append(k)
            lo.append(need.count)
            hi.append(need.most)
            r += 1
    capacity = {u.id: u.capacity for u in problem.forces.units}
    for (unit, _phase), indices in problem.by_unit_phase().items():
        if len(indices) > capacity[unit]:
            rows.extend([r] * len(indices))
            cols.extend(indices)
            lo.append(-np.inf)
            hi.append(capacity[unit])
            r += 1
    lower = np.zeros(n)
    index = {(c.unit, c.mission): k for k, c in enumerate(problem.candidates)}
    for pin in problem.pinned:
        lower[index[pin]] = 1.0
    cost = np.array([c.cost for c in problem.candidates], dtype=np.float64)
    constraints = []
    if r:
        matrix = coo_array((np.ones(len(rows)), (rows, cols)), shape=(r, n)).tocsr()
        constraints.append(LinearConstraint(matrix, np.array(lo), np.array(hi)))
    result = milp(
        cost,
        integrality=np.ones(n),
        bounds=Bounds(lower, np.ones(n)),
        constraints=constraints,
        options={"time_limit": time_limit_s, "disp": False},
    )
    seconds = time.perf_counter() - began
    if result.x is None:
        return MilpResult(str(result.message), None, (), seconds)
    chosen = tuple(int(k) for k in np.flatnonzero(result.x > 0.5))
    return MilpResult(
        "optimal" if result.status == 0 else str(result.message), round(result.fun), chosen, seconds
    )


# -- the benchmark --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchResult:
    """One problem solved by both solvers in the same run."""

    name: str
    units: int
    missions: int
    pairs: int
    build_s: float
    cpsat_s: float
    cpsat_status: str
    cpsat_objective: int | None
    milp_s: float
    milp_status: str
    milp_objective: int | None
    load_average: float

    @property
    def same_objective(self) -> bool:
        """Tell whether both solvers found an assignment with the same objective."""
        return self.cpsat_objective is not None and self.cpsat_objective == self.milp_objective

    @property
    def agree(self) -> bool:
        """Tell whether the solvers agree: the same objective, or neither found an assignment."""
        return self.cpsat_objective == self.milp_objective

    def to_json(self) -> dict[str, Any]:
        """Return the figures as JSON-ready data."""
        return {**asdict(self), "same_objective": self.same_objective, "agree": self.agree}


def solve_cpsat(problem: AssignmentProblem, *, time_limit_s: float = 120.0) -> tuple[str, int | None, float]:
    """Build and solve the CP-SAT model (one worker); return status, objective and seconds."""
    from ortools.sat.python import cp_model

    began = time.perf_counter()
    model, _, _ = build_model(problem)
    solver = cpsat_solver(time_limit_s, 1)
    status = solver.solve(model)
    seconds = time.perf_counter() - began
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solver.status_name(status).lower(), round(solver.objective_value), seconds
    return solver.status_name(status).lower(), None, seconds


def bench_problem(
    name: str, plan: Plan, frameworks: FrameworkSet, *, time_limit_s: float = 120.0
) -> BenchResult:
    """Build one plan's assignment problem and solve it with both solvers."""
    began = time.perf_counter()
    problem = assignment_problem(plan, frameworks)
    build_s = time.perf_counter() - began
    cp_status, cp_obj, cp_s = solve_cpsat(problem, time_limit_s=time_limit_s)
    milp = solve_milp(problem, time_limit_s=time_limit_s)
    return BenchResult(
        name=name,
        units=len(problem.forces.units),
        missions=len(problem.missions),
        pairs=len(problem.candidates),
        build_s=build_s,
        cpsat_s=cp_s,
        cpsat_status=cp_status,
        cpsat_objective=cp_obj,
        milp_s=milp.seconds,
        milp_status=milp.status,
        milp_objective=milp.objective,
        load_average=os.getloadavg()[0],
    )


def run_bench(
    *,
    units: int = 500,
    missions: int = 200,
    seed: int = 0,
    time_limit_s: float = 120.0,
    phase: Callable[[str], None] | None = None,
) -> list[BenchResult]:
    """Benchmark the bundled plan and a generated one; each solved by CP-SAT and HiGHS in this run."""
    frameworks = load_frameworks()
    if phase:
        phase("nansei-2027: CP-SAT and HiGHS")
    bundled = bench_problem("nansei-2027", load_plan("nansei-2027"), frameworks, time_limit_s=time_limit_s)
    if phase:
        phase(f"generated ({units} units, {missions} missions): CP-SAT and HiGHS")
    generated = bench_problem(
        "generated", generated_plan(units, missions, seed, frameworks), frameworks, time_limit_s=time_limit_s
    )
    return [bundled, generated]
