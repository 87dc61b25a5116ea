"""A plan's decision points as requests, and the plan as a scenario the simulator and exercises run.

Each decision point implies a request (its `request:`, with the decision point's id). `plan_scenario`
turns the plan into a `Scenario`: hour 0 is the earliest filing, each decision point's request is filed
by an inject at its `filed:` time (after the decision points it follows), with a deadline on its decision
at its `by:` time. `kizuna plan simulate` runs that scenario through `kizuna.sim` under each structure the
plan compares, so the probability that each decision is made in time comes from the same compiled paths
and timing parameters as every other scenario.

With an assignment, the scenario also carries the plan's taskings: each unit's mission is a request by its
operational commander to the organization that acts for the unit (`Forces.executor`), in the phase's
situation with the approvals the plan assumes, filed once the decision points that gate the phase are
made, with a deadline by which the order must reach the unit for it to be ready within the mission's
time. `scenario_document` writes the scenario as YAML data that `load_scenario` accepts, which the
exercise tooling turns into an MSEL.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kizuna.errors import DataError, Problem
from kizuna.model.forces import looks_like_path
from kizuna.model.plan import DecisionPoint, Plan, format_d_time
from kizuna.model.request import RequestSpec
from kizuna.model.scenario import Deadline, Inject, InjectRequest, Parameters, Scenario
from kizuna.model.sources import Source
from kizuna.planning.assign import Assignment

#: Ids are kebab-case and at most this long (kizuna.model.ids.Ident).
_ID_MAX = 80


def decision_requests(plan: Plan) -> tuple[RequestSpec, ...]:
    """Return the request each decision point implies, with the decision point's id and name."""
    return tuple(
        dp.request.model_copy(update={"name": dp.request.name or dp.name}) for dp in plan.decision_points
    )


def _resolve_refs(plan: Plan, refs: Iterable[str], kind: str) -> tuple[str, ...]:
    """Resolve path-like references beside the plan file; keep bundled ids as they are."""
    from kizuna.model.loading import resolve

    base = Path(plan.file).parent if plan.file else None
    return tuple(str(resolve(r, kind=kind, relative_to=base)) if looks_like_path(r) else r for r in refs)


def _parameters(plan: Plan) -> tuple[Parameters, dict[str, Source]]:
    """The timing parameters the plan's simulation uses, with the sources they cite."""
    if plan.parameters is not None:
        return plan.parameters, {}
    if plan.parameters_from is None:
        raise DataError(
            [
                Problem(
                    plan.file or plan.id,
                    1,
                    "parameters",
                    "the plan gives no timing parameters",
                    expected="`parameters_from: SCENARIO` (e.g. taiwan-contingency) or `parameters:`",
                )
            ]
        )
    from kizuna.model.scenario import load_scenario

    ref = _resolve_refs(plan, [plan.parameters_from], "scenarios")[0]
    source = load_scenario(ref)
    if source.parameters is None:
        raise DataError(
            [
                Problem(
                    plan.file or plan.id,
                    plan.line("parameters_from"),
                    "parameters_from",
                    "the scenario has no `parameters:` (a network scenario?)",
                    plan.parameters_from,
                )
            ]
        )
    return source.parameters, dict(source.sources)


def _deadline(dp: DecisionPoint, zero: float) -> Deadline:
    return Deadline(
        name=f"by {format_d_time(dp.by)}",
        at_h=dp.by - zero,
        of="decision",
        source=dp.source,
        assumption=dp.assumption or (None if dp.source else "the plan's decision point"),
    )


def plan_scenario(plan: Plan, assignment: Assignment | None = None, *, suffix: str | None = None) -> Scenario:
    """Return the plan as a scenario: its decision points (and, with an assignment, its taskings).

    Raises:
        DataError: the plan gives no timing parameters, or the scenario built from it is invalid.
    """
    parameters, parameter_sources = _parameters(plan)
    requests = list(decision_requests(plan))
    times = [dp.filed for dp in plan.decision_points]
    taskings = _taskings(plan, assignment) if assignment is not None else []
    times += [t for _, t, _, _ in taskings]
    if not times:
        raise DataError(
            [
                Problem(
                    plan.file or plan.id, 1, "decision_points", "the plan has no decision points to simulate"
                )
            ]
        )
    zero = min(times)
    injects: list[Inject] = []
    for dp in sorted(plan.decision_points, key=lambda d: d.filed):
        injects.append(
            Inject(
                at_h=dp.filed - zero,
                event=f"{format_d_time(dp.filed)}: decision point {dp.id}: {dp.name or dp.id}",
                requests=(InjectRequest(request=dp.id, after=dp.after, deadlines=(_deadline(dp, zero),)),),
                source=dp.source,
                assumption=dp.assumption,
            )
        )
    for spec, at, after, deadline in taskings:
        requests.append(spec)
        deadlines: tuple[Deadline, ...] = ()
        if deadline is not None:
            deadlines = (
                Deadline(
                    name="ordered in time to be ready",
                    at_h=deadline - zero,
                    of="effect",
                    assumption="the mission's ready_within_h less the unit's time to be ready",
                ),
            )
        injects.append(
            Inject(
                at_h=max(0.0, at - zero),
                event=f"{format_d_time(at)}: tasking {spec.id}",
                requests=(InjectRequest(request=spec.id, after=after, deadlines=deadlines),),
                assumption="a tasking of the plan's assignment",
            )
        )
    structures = plan.structures or (plan.loaded_forces.structure,)
    return Scenario(
        id=f"{plan.id}-{suffix or ('exercise' if assignment is not None else 'decisions')}",
        name=f"{plan.name}: "
        + ("decision points and taskings" if assignment is not None else "decision points"),
        description=f"Generated from plan {plan.id} (D = {plan.d_day.isoformat()}).",
        sources={**parameter_sources, **plan.sources},
        structures=_resolve_refs(plan, structures, "structures"),
        frameworks=_resolve_refs(plan, plan.frameworks, "frameworks"),
        start=plan.at(zero),
        requests=tuple(requests),
        injects=tuple(injects),
        parameters=parameters,
    )


def _tasking_id(mission: str, unit: str, taken: set[str]) -> str:
    base = f"{mission}-{unit}"
    if len(base) > _ID_MAX:
        base = f"{mission[: _ID_MAX - 12].rstrip('-')}-t{len(taken) + 1}"
    out, n = base, 1
    while out in taken:
        n += 1
        out = f"{base[: _ID_MAX - 4]}-{n}"
    taken.add(out)
    return out


def _taskings(
    plan: Plan, assignment: Assignment
) -> list[tuple[RequestSpec, float, tuple[str, ...], float | None]]:
    """(request, filing time, decision points it waits for, deadline) per assigned unit."""
    forces = plan.loaded_forces
    gates: dict[str, list[str]] = {}
    for dp in plan.decision_points:
        for gated in dp.gates:
            gates.setdefault(gated, []).append(dp.id)
    taken = {dp.id for dp in plan.decision_points}
    out: list[tuple[RequestSpec, float, tuple[str, ...], float | None]] = []
    for row in assignment.rows:
        phase = plan.phase(row.phase)
        mission = plan.mission(row.mission)
        kind = forces.kind_by_id[mission.kind]
        unit = forces.unit(row.unit)
        after = tuple(gates.get(phase.id, ()))
        at = min((plan.decision_by_id[d].filed for d in after), default=phase.start)
        deadline = None
        if mission.ready_within_h is not None:
            deadline = phase.start + mission.ready_within_h - row.time_h
        spec = RequestSpec(
            id=_tasking_id(mission.id, unit.id, taken),
            name=f"{unit.name}: {mission.name or mission.id}",
            executor=forces.executor[unit.id],
            situation=phase.situation,
            actor=unit.actor,
            activity=mission.activity or kind.activity_in(phase.situation),
            supported=mission.supported or kind.supported,
            location=mission.location,
            flags=tuple(dict.fromkeys((*phase.flags, *mission.flags))),
            granted=tuple(dict.fromkeys((*plan.assumes, *phase.assumes))),
            note=f"Plan {plan.id}, phase {phase.id}: {unit.id} takes {mission.id} "
            f"({', '.join(row.provides)}).",
        )
        out.append((spec, at, after, deadline))
    return out


def scenario_document(scenario: Scenario) -> dict[str, Any]:
    """Return a scenario as plain YAML-ready data that `load_scenario` reads back to the same scenario."""
    data = scenario.model_dump(mode="json", exclude_defaults=True, exclude={"file"})
    data["start"] = scenario.start.isoformat()
    return data
