"""Assign units to missions without duplication, within the law and capacity: a CP-SAT model.

`assignment_problem(plan, frameworks)` decides, for every unit and every mission that needs one of the
unit's capabilities, whether the unit may take the mission and at what cost:

* the **law**: the authority engine rules on the unit's act (its actor, the mission's activity in the
  phase's situation, the supported party, location and flags, with the approvals the plan and the phase
  assume obtained); only a `permitted` ruling lets the unit take the mission;
* the mission kind's **actors** (protection of U.S. ships is the SDF's);
* **reach and time**: a unit that does not move (speed 0), or a land unit and an area at sea, must reach
  the area from its site (distance within `reach_km`) and needs `readiness_h` hours; one that moves needs
  `readiness_h + max(0, distance - reach_km) / speed_kmh` hours. Either must be within the mission's
  `ready_within_h`.

`solve(problem)` then picks, with OR-Tools CP-SAT, one 0/1 variable per eligible (unit, mission) pair:

* every mission covered: for each capability it needs, between `count` and `max` (default `count`)
  assigned units have it, so no capability is duplicated beyond what the mission asks;
* capacity: a unit takes at most `capacity` missions of one phase (the phases' missions run at once);
* units the plan pins to a mission are assigned to it;
* minimum total cost, cost = 100 x (objective.time x hours to ready + objective.distance x km), rounded
  to an integer so that the MILP reference of `kizuna bench plan` optimizes exactly the same numbers.

When no assignment exists, `explain_infeasible` says why in the planner's terms: the missions that lack
eligible units for a capability with each blocked unit's reason (the rule ids and citations of the law
that blocks it, or its readiness and distance), the missions that cannot all be covered together (an
infeasible subset found with CP-SAT assumptions and shrunk to a minimal one), and the smallest change
that makes the plan feasible: a minimal-relaxation model that may grant approvals the rulings say are
missing, extend a mission's time, add capacity or leave a capability short, each counted as one change.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kizuna.authority import FrameworkSet, Query, Ruling, rule
from kizuna.errors import DataError, Infeasible, InvalidQuery, MissingFact, Problem
from kizuna.model.forces import Forces, Unit
from kizuna.model.plan import CapabilityNeed, Mission, Plan
from kizuna.model.structure import Site

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

#: Cost units per hour (or per km, times the objective's weights): costs are integers for CP-SAT.
COST_SCALE = 100
_EARTH_KM = 6371.0

#: Kinds of reason a unit cannot take a mission.
LAW, ACTOR, REACH, TIME = "law", "actor", "reach", "time"


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A unit that may take a mission: the capabilities it brings, how soon, from how far, at what cost."""

    unit: str
    mission: str
    phase: str
    provides: tuple[str, ...]
    time_h: float
    distance_km: float
    cost: int


@dataclass(frozen=True, slots=True)
class Block:
    """Why a unit cannot take a mission, in the planner's terms.

    `kind` is `law`, `actor`, `reach` or `time`. A law block carries the ruling's rule ids and citations,
    the approvals still missing (empty when the act is prohibited whatever is granted) and, for a
    prohibition, the situations in which the act would be lawful. A time block carries the hours the
    unit would need; `relaxable` says whether granting approvals or more time could lift it.
    """

    unit: str
    mission: str
    phase: str
    kind: str
    message: str
    provides: tuple[str, ...]
    missing: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    lawful_under: tuple[str, ...] = ()
    time_h: float | None = None
    distance_km: float | None = None
    also_late: bool = False


@dataclass(frozen=True)
class AssignmentProblem:
    """Everything the solvers need: candidates, needs, capacities, pins, and the blocked pairs."""

    plan: Plan
    forces: Forces
    candidates: tuple[Candidate, ...]
    blocked: tuple[Block, ...]
    needs: dict[str, tuple[CapabilityNeed, ...]]
    pinned: tuple[tuple[str, str], ...]

    def by_mission(self) -> dict[str, list[int]]:
        """Candidate indices per mission."""
        out: dict[str, list[int]] = defaultdict(list)
        for k, c in enumerate(self.candidates):
            out[c.mission].append(k)
        return out

    def by_unit_phase(self) -> dict[tuple[str, str], list[int]]:
        """Candidate indices per (unit, phase)."""
        out: dict[tuple[str, str], list[int]] = defaultdict(list)
        for k, c in enumerate(self.candidates):
            out[(c.unit, c.phase)].append(k)
        return out

    @property
    def missions(self) -> list[Mission]:
        """The plan's missions, phase by phase."""
        return [m for p in self.plan.phases for m in p.missions]


@dataclass(frozen=True, slots=True)
class AssignedUnit:
    """One row of an assignment: a unit on a mission."""

    phase: str
    mission: str
    unit: str
    provides: tuple[str, ...]
    time_h: float
    distance_km: float
    cost: int
    pinned: bool = False


@dataclass(frozen=True)
class Assignment:
    """A solved assignment: the rows, the total cost and how the solver got there."""

    plan: str
    rows: tuple[AssignedUnit, ...]
    objective: int
    optimal: bool
    solver: str
    wall_s: float
    variables: int
    constraints: int

    def units_of(self, mission: str) -> list[AssignedUnit]:
        """The units assigned to a mission."""
        return [r for r in self.rows if r.mission == mission]


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A mission short of eligible units for one capability, with every blocked unit that has it."""

    mission: str
    phase: str
    capability: str
    count: int
    eligible: tuple[str, ...]
    blocked: tuple[Block, ...]
    units_with_capability: int


@dataclass(frozen=True, slots=True)
class Change:
    """One change that, with the others of its relaxation, makes the plan feasible."""

    kind: str  # grant | time | capacity | short
    text: str
    mission: str | None = None
    unit: str | None = None
    phase: str | None = None
    approval: str | None = None


@dataclass(frozen=True)
class Infeasibility:
    """Why no assignment exists and the smallest change that would make one."""

    plan: str
    shortfalls: tuple[Shortfall, ...]
    conflict: tuple[str, ...]
    conflict_units: tuple[str, ...]
    changes: tuple[Change, ...]
    relaxed: Assignment | None
    notes: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """Explain the infeasibility in words, most specific first."""
        out: list[str] = []
        for s in self.shortfalls:
            have = ", ".join(s.eligible) or "none"
            out.append(f"mission {s.mission} ({s.phase}) needs {s.count} x {s.capability}; eligible: {have}")
            if s.units_with_capability == 0:
                out.append(f"  no unit of the forces has {s.capability}: a missing capability")
            grouped: dict[str, list[str]] = {}
            for b in s.blocked:
                grouped.setdefault(b.message, []).append(b.unit)
            for message, units in grouped.items():
                out.append(f"  {', '.join(units)}: {message}")
        if self.conflict:
            out.append(
                "missions that cannot all be covered together: "
                + ", ".join(self.conflict)
                + (f" (they compete for {', '.join(self.conflict_units)})" if self.conflict_units else "")
            )
        if self.changes:
            out.append(f"smallest change that makes the plan feasible ({len(self.changes)}):")
            out.extend(f"  - {c.text}" for c in self.changes)
        out.extend(self.notes)
        return out


def infeasible(explanation: Infeasibility) -> Infeasible:
    """Return the error that carries an explanation, its message the explanation in words."""
    lines = [f"plan {explanation.plan}: no assignment exists", *explanation.lines()]
    return Infeasible("\n".join(lines), explanation)


# -- the problem ----------------------------------------------------------------------------------------


def mission_coordinates(forces: Forces, mission: Mission) -> tuple[float, float]:
    """Return a mission area's (latitude, longitude): its site's, or its own coordinates."""
    area = mission.area
    if area.site is not None:
        site: Site = forces.site_by_id[area.site]
        return site.latitude, site.longitude
    assert area.latitude is not None
    assert area.longitude is not None
    return area.latitude, area.longitude


def _actor_allowed(frameworks: FrameworkSet, unit: Unit, allowed: Sequence[str]) -> bool:
    return not allowed or any(a in allowed for a in frameworks.lineage(unit.actor))


def check_plan_law(plan: Plan, frameworks: FrameworkSet, forces: Forces | None = None) -> None:
    """Check the plan's and its forces' law ids against the frameworks.

    Raises:
        DataError: an id is unknown; each problem names the file, line and the known ids.
    """
    forces = forces or plan.loaded_forces
    problems: list[Problem] = []
    file = plan.file or plan.id

    def check(value: str, vocab: str, where: str, line: int | None, f: str = file) -> None:
        known = frameworks.vocabulary(vocab) if vocab != "approvals" else list(frameworks.approvals)
        if value not in known:
            problems.append(
                Problem(
                    f, line, where, f"unknown {vocab.rstrip('s')} id", value, "one of " + ", ".join(known)
                )
            )

    for i, approval in enumerate(plan.assumes):
        check(approval, "approvals", f"assumes[{i}]", plan.line(f"assumes.{i}"))
    for i, phase in enumerate(plan.phases):
        base = f"phases.{i}"
        check(phase.situation, "situation", f"phases[{phase.id}].situation", plan.line(f"{base}.situation"))
        for j, a in enumerate(phase.assumes):
            check(a, "approvals", f"phases[{phase.id}].assumes[{j}]", plan.line(f"{base}.assumes.{j}"))
        for j, flag in enumerate(phase.flags):
            check(flag, "flags", f"phases[{phase.id}].flags[{j}]", plan.line(f"{base}.flags.{j}"))
        for j, m in enumerate(phase.missions):
            mb = f"{base}.missions.{j}"
            where = f"phases[{phase.id}].missions[{m.id}]"
            if m.location is not None:
                check(m.location, "location", f"{where}.location", plan.line(f"{mb}.location"))
            if m.activity is not None:
                check(m.activity, "activity", f"{where}.activity", plan.line(f"{mb}.activity"))
            if m.supported is not None:
                check(m.supported, "supported", f"{where}.supported", plan.line(f"{mb}.supported"))
            for k, flag in enumerate(m.flags):
                check(flag, "flags", f"{where}.flags[{k}]", plan.line(f"{mb}.flags.{k}"))
    ffile = forces.file or forces.id
    for i, kind in enumerate(forces.mission_kinds):
        for activity in kind.activities():
            check(
                activity,
                "activity",
                f"mission_kinds[{kind.id}].activity",
                forces.line(f"mission_kinds.{i}.activity"),
                ffile,
            )
        if kind.supported is not None:
            check(
                kind.supported,
                "supported",
                f"mission_kinds[{kind.id}].supported",
                forces.line(f"mission_kinds.{i}.supported"),
                ffile,
            )
        for j, actor in enumerate(kind.actors):
            check(
                actor,
                "actor",
                f"mission_kinds[{kind.id}].actors[{j}]",
                forces.line(f"mission_kinds.{i}.actors.{j}"),
                ffile,
            )
    for i, unit in enumerate(forces.units):
        check(unit.actor, "actor", f"units[{unit.id}].actor", forces.line(f"units.{i}.actor"), ffile)
    if problems:
        raise DataError(problems)


@dataclass(frozen=True, slots=True)
class _MissionContext:
    """What the law and the clock ask of every unit that might take one mission."""

    phase: str
    situation: str
    mission: Mission
    actors: tuple[str, ...]
    activity: str
    supported: str | None
    flags: frozenset[str]
    granted: frozenset[str]
    area: tuple[float, float]


def assignment_problem(
    plan: Plan, frameworks: FrameworkSet, forces: Forces | None = None
) -> AssignmentProblem:
    """Rule on every (unit, mission) pair that shares a capability; build the solver's input.

    Raises:
        DataError: a law id of the plan or the forces is unknown, or a mission leaves out a fact
            (`location`, `supported`) the law's ruling on it depends on: no default decides the law.
        InvalidQuery: a unit pinned to a mission cannot take it (the message says why).
    """
    forces = forces or plan.loaded_forces
    check_plan_law(plan, frameworks, forces)
    candidates: list[Candidate] = []
    blocked: list[Block] = []
    needs: dict[str, tuple[CapabilityNeed, ...]] = {}
    pinned: list[tuple[str, str]] = []
    cap_index: dict[str, list[Unit]] = defaultdict(list)
    for unit in forces.units:
        for cap in unit.capabilities:
            cap_index[cap].append(unit)
    rulings: dict[Query, Ruling] = {}
    unstated: list[Problem] = []
    for i, phase in enumerate(plan.phases):
        for j, mission in enumerate(phase.missions):
            kind = forces.kind_by_id[mission.kind]
            wanted = _needs(forces, mission)
            needs[mission.id] = wanted
            caps = {n.capability for n in wanted}
            ctx = _MissionContext(
                phase=phase.id,
                situation=phase.situation,
                mission=mission,
                actors=kind.actors,
                activity=mission.activity or kind.activity_in(phase.situation),
                supported=mission.supported or kind.supported,
                flags=frozenset((*phase.flags, *mission.flags)),
                granted=frozenset((*plan.assumes, *phase.assumes)),
                area=mission_coordinates(forces, mission),
            )
            seen: set[str] = set()
            for unit in (u for cap in sorted(caps) for u in cap_index.get(cap, ())):
                if unit.id in seen:
                    continue
                seen.add(unit.id)
                provides = tuple(c for c in unit.capabilities if c in caps)
                site = forces.site_by_id[unit.site]
                dist = distance_km((site.latitude, site.longitude), ctx.area)
                try:
                    outcome = _check_pair(
                        ctx, unit, frameworks=frameworks, rulings=rulings, provides=provides, dist=dist
                    )
                except MissingFact as missing:
                    unstated.extend(_missing_fact(plan, (i, j), ctx, unit, missing))
                    break  # one question per mission; the others' are asked too
                if isinstance(outcome, Block):
                    blocked.append(outcome)
                    continue
                cost = round(COST_SCALE * (plan.objective.time * outcome + plan.objective.distance * dist))
                candidates.append(
                    Candidate(unit.id, mission.id, phase.id, provides, outcome, dist, int(cost))
                )
            pinned.extend(_pins(mission, blocked, seen, caps))
    if unstated:
        raise DataError(unstated)
    return AssignmentProblem(plan, forces, tuple(candidates), tuple(blocked), needs, tuple(pinned))


def _missing_fact(
    plan: Plan, at: tuple[int, int], ctx: _MissionContext, unit: Unit, missing: MissingFact
) -> list[Problem]:
    """The plan leaves out a fact the law needs for a mission (no default decides it): ask for it there."""
    base = f"phases.{at[0]}.missions.{at[1]}"
    return [
        Problem(
            plan.file or plan.id,
            plan.line(f"{base}.{name}"),
            f"phases[{ctx.phase}].missions[{ctx.mission.id}].{name}",
            f"not stated, and the ruling on {unit.actor} {ctx.activity} in {ctx.situation} (unit {unit.id}) "
            f"depends on it{'; ' + missing.detail if missing.detail else ''}",
            expected="one of " + ", ".join(missing.options[name]) if missing.options.get(name) else None,
        )
        for name in missing.fields
    ]


def _pins(
    mission: Mission, blocked: Sequence[Block], seen: set[str], caps: set[str]
) -> list[tuple[str, str]]:
    """The (unit, mission) pairs the plan pins; a pinned unit that cannot take the mission is an error."""
    out: list[tuple[str, str]] = []
    for unit_id in mission.units:
        reason = next((b for b in blocked if b.unit == unit_id and b.mission == mission.id), None)
        if reason is not None:
            raise InvalidQuery(
                f"mission {mission.id}: pinned unit {unit_id} cannot take it: {reason.message}"
            )
        if unit_id not in seen:
            raise InvalidQuery(
                f"mission {mission.id}: pinned unit {unit_id} has none of the capabilities it needs "
                f"({', '.join(sorted(caps))})"
            )
        out.append((unit_id, mission.id))
    return out


def _needs(forces: Forces, mission: Mission) -> tuple[CapabilityNeed, ...]:
    """A mission's capability needs: its own, or its kind's (one unit per capability)."""
    if mission.needs is not None:
        return mission.needs
    return tuple(CapabilityNeed(capability=c) for c in forces.kind_by_id[mission.kind].needs)


def _time_to_ready(unit: Unit, mission: Mission, dist: float) -> float:
    """Hours until the unit is ready in the area (infinite when it cannot get there)."""
    stays = unit.speed_kmh <= 0 or (mission.area.sea and unit.mobility == "land")
    if not stays:
        return unit.readiness_h + max(0.0, dist - unit.reach_km) / unit.speed_kmh
    return unit.readiness_h if dist <= unit.reach_km else math.inf


def _check_pair(
    ctx: _MissionContext,
    unit: Unit,
    *,
    frameworks: FrameworkSet,
    rulings: dict[Query, Ruling],
    provides: tuple[str, ...],
    dist: float,
) -> Block | float:
    """Return the unit's hours to be ready in the area, or the Block that keeps it from the mission."""
    mission = ctx.mission

    def block(kind: str, message: str, **extra: object) -> Block:
        return Block(
            unit=unit.id,
            mission=mission.id,
            phase=ctx.phase,
            kind=kind,
            message=message,
            provides=provides,
            distance_km=dist,
            **extra,  # type: ignore[arg-type]
        )

    if not _actor_allowed(frameworks, unit, ctx.actors):
        return block(ACTOR, f"a {mission.kind} mission is for {', '.join(ctx.actors)}, not {unit.actor}")
    # Every fact the ruling may depend on is passed explicitly.
    query = Query(
        situation=ctx.situation,
        actor=unit.actor,
        activity=ctx.activity,
        supported=ctx.supported,
        location=mission.location,
        flags=ctx.flags,
        granted=ctx.granted,
    )
    ruling = rulings.get(query)
    if ruling is None:
        ruling = rulings[query] = rule(frameworks, query)
    time_h = _time_to_ready(unit, mission, dist)
    late = mission.ready_within_h is not None and time_h > mission.ready_within_h
    if not ruling.permitted:
        rules = ", ".join(ruling.rule_ids)
        cited = "; ".join(str(c) for c in ruling.citations)
        act = f"{unit.actor} {ctx.activity}"
        if ruling.prohibited:
            lawful = f"; lawful under {', '.join(ruling.lawful_under)}" if ruling.lawful_under else ""
            message = f"{act} is prohibited in {ctx.situation} (rules {rules}; {cited}){lawful}"
        else:
            message = (
                f"{act} in {ctx.situation} needs {', '.join(ruling.missing)}, which the plan does not "
                f"assume (rules {rules}; {cited})"
            )
        return block(
            LAW,
            message,
            missing=() if ruling.prohibited else ruling.missing,
            rule_ids=ruling.rule_ids,
            citations=tuple(str(c) for c in ruling.citations),
            lawful_under=ruling.lawful_under,
            time_h=time_h if math.isfinite(time_h) else None,
            also_late=late or not math.isfinite(time_h),
        )
    if not math.isfinite(time_h):
        why = "a land unit, it cannot stand at sea" if unit.speed_kmh > 0 else "it does not move"
        return block(
            REACH, f"{why}: at {unit.site}, {dist:,.0f} km from the area, it reaches {unit.reach_km:,.0f} km"
        )
    if late:
        return block(
            TIME,
            f"ready in {time_h:.1f} h; the mission needs units within {mission.ready_within_h:g} h",
            time_h=time_h,
        )
    return time_h


# -- CP-SAT -----------------------------------------------------------------------------------------------


def cpsat_solver(time_limit_s: float, workers: int = 1) -> cp_model.CpSolver:
    """Return a CP-SAT solver set up for assignment models: time limit, workers, fixed seed."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 0
    # The assignment's LP relaxation is nearly tight: full linearization lets CP-SAT's search use it
    # (on the 500-unit benchmark it proves optimality in seconds instead of timing out).
    solver.parameters.linearization_level = 2
    return solver


def build_model(
    problem: AssignmentProblem, *, conditional: bool = False
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], dict[str, cp_model.IntVar]]:
    """Build the CP-SAT model of the assignment.

    Returns the model, the 0/1 variable of each candidate and, with `conditional`, one literal per
    mission that enforces its cover (for finding which missions cannot be covered together).
    """
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x[{c.unit},{c.mission}]") for c in problem.candidates]
    lits = {m.id: model.new_bool_var(f"cover[{m.id}]") for m in problem.missions} if conditional else {}
    by_mission = problem.by_mission()
    for mission in problem.missions:
        indices = by_mission.get(mission.id, [])
        for need in problem.needs[mission.id]:
            have = [x[k] for k in indices if need.capability in problem.candidates[k].provides]
            constraint = model.add_linear_constraint(sum(have), need.count, need.most)
            if conditional:
                constraint.only_enforce_if(lits[mission.id])
    unit_cap = {u.id: u.capacity for u in problem.forces.units}
    for (unit, _phase), indices in problem.by_unit_phase().items():
        if len(indices) > unit_cap[unit]:
            model.add(sum(x[k] for k in indices) <= unit_cap[unit])
    index = {(c.unit, c.mission): k for k, c in enumerate(problem.candidates)}
    for pin in problem.pinned:
        model.add(x[index[pin]] == 1)
    if not conditional:
        model.minimize(sum(c.cost * x[k] for k, c in enumerate(problem.candidates)))
    return model, x, lits


def solve(problem: AssignmentProblem, *, time_limit_s: float = 60.0, workers: int = 1) -> Assignment:
    """Solve the assignment with CP-SAT (one worker by default, so that the result is reproducible).

    Raises:
        Infeasible: no assignment exists; its `explanation` says why and what would change it.
    """
    from ortools.sat.python import cp_model

    model, x, _ = build_model(problem)
    solver = cpsat_solver(time_limit_s, workers)
    status = solver.solve(model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _assignment(problem, solver, x, status == cp_model.OPTIMAL, model)
    if status == cp_model.INFEASIBLE:
        raise infeasible(explain_infeasible(problem, time_limit_s=time_limit_s))
    raise InvalidQuery(
        f"plan {problem.plan.id}: CP-SAT stopped without an answer ({solver.status_name(status)}) after "
        f"{time_limit_s:g} s; raise the time limit"
    )


def _assignment(
    problem: AssignmentProblem,
    solver: cp_model.CpSolver,
    x: Sequence[cp_model.IntVar],
    optimal: bool,
    model: cp_model.CpModel,
) -> Assignment:
    pins = set(problem.pinned)
    rows = [
        AssignedUnit(
            c.phase,
            c.mission,
            c.unit,
            c.provides,
            c.time_h,
            c.distance_km,
            c.cost,
            (c.unit, c.mission) in pins,
        )
        for k, c in enumerate(problem.candidates)
        if solver.boolean_value(x[k])
    ]
    order = {m.id: i for i, m in enumerate(problem.missions)}
    rows.sort(key=lambda r: (order[r.mission], r.time_h, r.unit))
    proto = model.proto
    return Assignment(
        plan=problem.plan.id,
        rows=tuple(rows),
        objective=round(solver.objective_value),
        optimal=optimal,
        solver="CP-SAT",
        wall_s=solver.wall_time,
        variables=len(proto.variables),
        constraints=len(proto.constraints),
    )


# -- explaining infeasibility ----------------------------------------------------------------------------


def shortfalls(problem: AssignmentProblem) -> list[Shortfall]:
    """Missions with fewer eligible units for a capability than they need, each with the blocked units."""
    by_mission = problem.by_mission()
    with_cap: dict[str, int] = defaultdict(int)
    for unit in problem.forces.units:
        for cap in unit.capabilities:
            with_cap[cap] += 1
    out: list[Shortfall] = []
    for mission in problem.missions:
        phase = problem.plan.phase_of[mission.id].id
        for need in problem.needs[mission.id]:
            eligible = tuple(
                problem.candidates[k].unit
                for k in by_mission.get(mission.id, [])
                if need.capability in problem.candidates[k].provides
            )
            if len(eligible) >= need.count:
                continue
            blocks = tuple(
                b for b in problem.blocked if b.mission == mission.id and need.capability in b.provides
            )
            out.append(
                Shortfall(
                    mission.id,
                    phase,
                    need.capability,
                    need.count,
                    eligible,
                    blocks,
                    with_cap[need.capability],
                )
            )
    return out


def conflict(problem: AssignmentProblem, *, time_limit_s: float = 30.0) -> tuple[list[str], list[str]]:
    """Return a minimal set of missions that cannot all be covered, and the units they compete for.

    Each mission's cover is enforced by an assumption literal; CP-SAT returns a sufficient set of
    assumptions for infeasibility, which is then shrunk by deletion (a mission stays only if the others
    alone are feasible).
    """
    from ortools.sat.python import cp_model

    def infeasible_with(missions: Sequence[str]) -> tuple[bool, list[str]]:
        model, _, lits = build_model(problem, conditional=True)
        model.add_assumptions([lits[m] for m in missions])
        solver = cpsat_solver(time_limit_s, 1)
        status = solver.solve(model)
        if status != cp_model.INFEASIBLE:
            return False, []
        names = {lits[m].index: m for m in missions}
        return True, [names[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in names]

    all_missions = [m.id for m in problem.missions]
    bad, core = infeasible_with(all_missions)
    if not bad:
        return [], []
    current = core or all_missions
    for mission in list(current):
        trial = [m for m in current if m != mission]
        if trial and infeasible_with(trial)[0]:
            current = trial
    units = sorted({problem.candidates[k].unit for m in current for k in problem.by_mission().get(m, [])})
    return current, units


def explain_infeasible(problem: AssignmentProblem, *, time_limit_s: float = 30.0) -> Infeasibility:
    """Explain why no assignment exists and find the smallest change that makes one."""
    short = shortfalls(problem)
    missions: list[str] = []
    units: list[str] = []
    if not short:
        missions, units = conflict(problem, time_limit_s=time_limit_s)
    changes, relaxed, notes = minimal_relaxation(problem, time_limit_s=time_limit_s)
    return Infeasibility(
        plan=problem.plan.id,
        shortfalls=tuple(short),
        conflict=tuple(missions),
        conflict_units=tuple(units),
        changes=tuple(changes),
        relaxed=relaxed,
        notes=tuple(notes),
    )


#: Weight of each kind of change in the minimal relaxation (leaving a capability short is a last resort).
CHANGE_WEIGHT = {"grant": 1, "time": 1, "capacity": 1, "short": 4}


@dataclass(frozen=True, slots=True)
class _Option:
    """A (unit, mission) pair the relaxation may use, with the approvals and extra time it would need."""

    unit: str
    mission: str
    phase: str
    provides: tuple[str, ...]
    cost: int
    missing: tuple[str, ...] = ()
    late: bool = False


@dataclass
class _Relaxation:
    """The minimal-relaxation model: the options and the variables of each possible change."""

    problem: AssignmentProblem
    model: cp_model.CpModel
    options: list[_Option]
    x: list[cp_model.IntVar]
    grants: dict[tuple[str, str], cp_model.IntVar] = field(default_factory=dict)
    more_time: dict[str, cp_model.IntVar] = field(default_factory=dict)
    short: dict[tuple[str, str], cp_model.IntVar] = field(default_factory=dict)
    extra: dict[tuple[str, str], cp_model.IntVar] = field(default_factory=dict)
    penalty: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)


def _options(problem: AssignmentProblem) -> list[_Option]:
    """Candidates, plus blocked pairs that approvals the ruling names, or more time, would make eligible."""
    plan = problem.plan

    def cost(time_h: float, dist: float | None) -> int:
        return round(COST_SCALE * (plan.objective.time * time_h + plan.objective.distance * (dist or 0.0)))

    out = [_Option(c.unit, c.mission, c.phase, c.provides, c.cost) for c in problem.candidates]
    for b in problem.blocked:
        if b.time_h is None:
            continue  # out of reach, or prohibited where it cannot get: no change makes it able
        if b.kind == LAW and b.missing:
            out.append(
                _Option(
                    b.unit,
                    b.mission,
                    b.phase,
                    b.provides,
                    cost(b.time_h, b.distance_km),
                    b.missing,
                    b.also_late,
                )
            )
        elif b.kind == TIME:
            out.append(
                _Option(b.unit, b.mission, b.phase, b.provides, cost(b.time_h, b.distance_km), (), True)
            )
    return out


def _relaxation_model(problem: AssignmentProblem) -> _Relaxation:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    options = _options(problem)
    r = _Relaxation(problem, model, options, [model.new_bool_var(f"x{k}") for k in range(len(options))])
    for k, o in enumerate(options):
        for approval in o.missing:
            if (approval, o.phase) not in r.grants:
                r.grants[(approval, o.phase)] = model.new_bool_var(f"grant[{approval},{o.phase}]")
                r.penalty.append((CHANGE_WEIGHT["grant"], r.grants[(approval, o.phase)]))
            model.add_implication(r.x[k], r.grants[(approval, o.phase)])
        if o.late:
            if o.mission not in r.more_time:
                r.more_time[o.mission] = model.new_bool_var(f"time[{o.mission}]")
                r.penalty.append((CHANGE_WEIGHT["time"], r.more_time[o.mission]))
            model.add_implication(r.x[k], r.more_time[o.mission])
    for mission in problem.missions:
        idx = [k for k, o in enumerate(options) if o.mission == mission.id]
        for need in problem.needs[mission.id]:
            have = [r.x[k] for k in idx if need.capability in options[k].provides]
            s = model.new_int_var(0, need.count, f"short[{mission.id},{need.capability}]")
            r.short[(mission.id, need.capability)] = s
            r.penalty.append((CHANGE_WEIGHT["short"], s))
            model.add(sum(have) + s >= need.count)
            model.add(sum(have) <= need.most)
    capacity = {u.id: u.capacity for u in problem.forces.units}
    per_unit: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k, o in enumerate(options):
        per_unit[(o.unit, o.phase)].append(k)
    for (unit, phase), idx in per_unit.items():
        if len(idx) > capacity[unit]:
            e = model.new_int_var(0, len(idx), f"extra[{unit},{phase}]")
            r.extra[(unit, phase)] = e
            r.penalty.append((CHANGE_WEIGHT["capacity"], e))
            model.add(sum(r.x[k] for k in idx) <= capacity[unit] + e)
    index = {(o.unit, o.mission): k for k, o in enumerate(options)}
    for pin in problem.pinned:
        model.add(r.x[index[pin]] == 1)
    # Lexicographic: any change costs more than the whole plan's cost.
    total_cost = sum(o.cost for o in options) + 1
    changes = sum(w * v for w, v in r.penalty)
    model.minimize(changes * total_cost + sum(o.cost * r.x[k] for k, o in enumerate(options)))
    return r


def minimal_relaxation(
    problem: AssignmentProblem, *, time_limit_s: float = 30.0
) -> tuple[list[Change], Assignment | None, list[str]]:
    """Find the fewest changes that make the plan feasible, then the cheapest assignment under them.

    The changes the model may make: assume, in a phase, an approval that a ruling says is missing (it lets
    every unit blocked only by that approval take the mission); allow a mission more time (lets units
    that are lawful but late take it); raise a unit's capacity in a phase by one; leave a mission one unit
    short of a capability. Prohibited acts and units out of reach are never made eligible: no approval
    makes them lawful or able. The objective is lexicographic: the weighted number of changes first, then
    the plan's own cost.
    """
    from ortools.sat.python import cp_model

    r = _relaxation_model(problem)
    solver = cpsat_solver(time_limit_s, 1)
    status = solver.solve(r.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [], None, [f"the relaxation found no answer ({solver.status_name(status)})"]
    chosen = [k for k in range(len(r.options)) if solver.boolean_value(r.x[k])]
    pins = set(problem.pinned)
    rows = tuple(
        sorted(
            (
                AssignedUnit(
                    o.phase, o.mission, o.unit, o.provides, 0.0, 0.0, o.cost, (o.unit, o.mission) in pins
                )
                for o in (r.options[k] for k in chosen)
            ),
            key=lambda row: (row.phase, row.mission, row.unit),
        )
    )
    relaxed = Assignment(
        plan=problem.plan.id,
        rows=rows,
        objective=sum(row.cost for row in rows),
        optimal=status == cp_model.OPTIMAL,
        solver="CP-SAT (relaxed)",
        wall_s=solver.wall_time,
        variables=len(r.model.proto.variables),
        constraints=len(r.model.proto.constraints),
    )
    return _read_changes(r, solver, chosen), relaxed, []


def _read_changes(r: _Relaxation, solver: cp_model.CpSolver, chosen: list[int]) -> list[Change]:
    """Say each change the relaxation made in the planner's terms."""
    problem, plan = r.problem, r.problem.plan
    used = [r.options[k] for k in chosen]
    changes: list[Change] = []
    for (approval, phase), v in r.grants.items():
        if not solver.boolean_value(v):
            continue
        lifted = sorted(
            f"{o.unit} on {o.mission}" for o in used if approval in o.missing and o.phase == phase
        )
        rules = sorted(
            {i for b in problem.blocked if b.phase == phase and approval in b.missing for i in b.rule_ids}
        )
        changes.append(
            Change(
                "grant",
                f"assume {approval} obtained in phase {phase} (rules {', '.join(rules)}): lets "
                + ", ".join(lifted)
                + " act",
                phase=phase,
                approval=approval,
            )
        )
    for mission, v in r.more_time.items():
        if not solver.boolean_value(v):
            continue
        late = {(b.unit, b.mission): b.time_h for b in problem.blocked if b.mission == mission and b.time_h}
        need_h = max((late.get((o.unit, o.mission)) or 0.0) for o in used if o.mission == mission and o.late)
        now = plan.mission(mission).ready_within_h
        changes.append(
            Change(
                "time", f"give mission {mission} {need_h:.1f} h to be ready (now {now:g} h)", mission=mission
            )
        )
    capacity = {u.id: u.capacity for u in problem.forces.units}
    for (unit, phase), e in r.extra.items():
        if value := solver.value(e):
            changes.append(
                Change(
                    "capacity",
                    f"raise {unit}'s capacity in phase {phase} from {capacity[unit]} to "
                    f"{capacity[unit] + value}",
                    unit=unit,
                    phase=phase,
                )
            )
    for (mission, cap), s in r.short.items():
        if value := solver.value(s):
            changes.append(Change("short", _short_text(problem, mission, cap, value), mission=mission))
    return changes


def _short_text(problem: AssignmentProblem, mission: str, cap: str, value: int) -> str:
    """Say why a capability stays short: no unit has it, or the law prohibits it for all that have it."""
    blocks = [b for b in problem.blocked if b.mission == mission and cap in b.provides]
    prohibited = [b for b in blocks if b.kind == LAW and not b.missing]
    text = f"mission {mission} goes {value} x {cap} short"
    if not any(cap in u.capabilities for u in problem.forces.units):
        return text + f": no unit of the forces has {cap}; add one, or lower the mission's count"
    if prohibited and len(prohibited) == len(blocks):
        rules = sorted({i for b in prohibited for i in b.rule_ids})
        lawful = sorted({s for b in prohibited for s in b.lawful_under})
        where = f"; lawful under {', '.join(lawful)}" if lawful else ""
        return (
            text + f": the law prohibits it for every unit that has {cap} (rules {', '.join(rules)}){where}; "
            "move the mission to such a phase, or drop it"
        )
    return text + f": no change of approvals, time or capacity makes a unit with {cap} eligible; add one"


def solve_plan(
    plan: Plan, frameworks: FrameworkSet, *, time_limit_s: float = 60.0, workers: int = 1
) -> Assignment:
    """Build the assignment problem of a plan and solve it.

    Raises:
        Infeasible: no assignment exists (with the explanation).
        DataError: a law id of the plan is unknown.
        InvalidQuery: a pinned unit cannot take its mission.
    """
    return solve(assignment_problem(plan, frameworks), time_limit_s=time_limit_s, workers=workers)
