"""Turn a scenario (and, for an organizational scenario, its structures and compiled paths) into engine input.

Two builders:

* `network_input` for a `network:` scenario: a station per node, a path template per route, instances
  from each route's arrival process.
* `structure_input` for one structure of an organizational scenario, given the DecisionPath of each
  request (compiled by `kizuna.planning.compile.compile_request`): a station per organization that
  appears in a path, the parameters resolved per step (service time and rework by organization and step
  kind, servers and duty hours by organization, duty hours in the time zone of the organization's site, or
  on the clock of the scenario's start for an organization without a site),
  the link delay of every edge from the link class of the two organizations (`classify_link`), shortened
  by the liaison factor where the structure has a `liaison` relation between them, and the instances
  filed by the injects.

`build_inputs` does both from a loaded scenario: it loads the structures and frameworks the scenario
names and compiles every request.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path

from kizuna.errors import DataError, Problem
from kizuna.model.scenario import (
    Deadline,
    Distribution,
    LinkClass,
    Parameters,
    Scenario,
)
from kizuna.model.structure import RelationKind, Structure
from kizuna.planning.path import DecisionPath
from kizuna.sim.calendar import DutyCalendar
from kizuna.sim.distributions import scaled
from kizuna.sim.engine import (
    DeadlineSpec,
    EngineInput,
    Instance,
    PathTemplate,
    Station,
    StepSpec,
    Stream,
)

#: Sites at least this far apart are linked `trans-pacific`; closer ones (other than the same site) are
#: `same-country`.
TRANS_PACIFIC_KM = 3000.0
_EARTH_KM = 6371.0


# -- network scenarios ----------------------------------------------------------------------------------


def network_input(scenario: Scenario) -> EngineInput:
    """Build the engine input of a `network:` scenario."""
    net = scenario.network
    if net is None:
        raise ValueError(f"scenario {scenario.id!r} has no network: section")
    zone = scenario.zone  # nodes keep office hours on the clock of `start` (its zone or fixed offset)
    index = {n.id: k for k, n in enumerate(net.nodes)}
    stations = tuple(
        Station(
            id=n.id,
            servers=n.servers,
            calendar=DutyCalendar.build(n.duty, zone, scenario.start) if n.duty is not None else None,
            call_in=n.duty.call_in if n.duty is not None else None,
        )
        for n in net.nodes
    )
    templates: list[PathTemplate] = []
    streams: list[Stream] = []
    instances: list[Instance] = []
    for t, route in enumerate(net.routes):
        preds = route.predecessors()
        pos = {s.id: j for j, s in enumerate(route.steps)}
        steps = tuple(
            StepSpec(
                id=s.id,
                station=index[s.node],
                service=net.node_by_id[s.node].service,
                label=f"{route.id} at {s.node}",
                preds=tuple((pos[p], s.delay) for p in preds[s.id]),
                delay=s.delay if not preds[s.id] else None,  # a first step's transit from the arrival
            )
            for s in route.steps
        )
        last = len(steps) - 1
        templates.append(PathTemplate(route.id, steps, last, last))
        streams.append(Stream(route.arrival, 0.0))
        deadlines = (DeadlineSpec("deadline", "effect", None, route.deadline_h),) if route.deadline_h else ()
        for k in range(route.arrival.max_count()):
            instances.append(
                Instance(
                    template=t,
                    number=k + 1,
                    release_h=None,
                    stream=t,
                    index=k,
                    deadlines=deadlines,
                    counted=k >= route.warmup,
                )
            )
    return EngineInput(
        scenario=scenario.id,
        structure="network",
        stations=stations,
        templates=tuple(templates),
        instances=tuple(instances),
        streams=tuple(streams),
    )


# -- organizational scenarios ----------------------------------------------------------------------------


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def classify_link(structure: Structure, a: str, b: str) -> LinkClass:
    """Classify the link between two organizations by where they sit (see `LinkClass`)."""
    sa, sb = structure.site_of(a), structure.site_of(b)
    if sa is None or sb is None:
        return LinkClass.SAME_COUNTRY
    if sa.id == sb.id:
        return LinkClass.CO_LOCATED
    km = distance_km(sa.latitude, sa.longitude, sb.latitude, sb.longitude)
    return LinkClass.TRANS_PACIFIC if km >= TRANS_PACIFIC_KM else LinkClass.SAME_COUNTRY


def has_liaison(structure: Structure, a: str, b: str) -> bool:
    """Tell whether the structure has a `liaison` relation between two organizations (either way)."""
    return any(r.kind is RelationKind.LIAISON and {r.from_, r.to} == {a, b} for r in structure.relations)


def _deadline(scenario: Scenario, d: Deadline) -> DeadlineSpec:
    if d.at is not None:
        return DeadlineSpec(d.name, d.of, scenario.hours(d.at), None)
    return DeadlineSpec(d.name, d.of, d.at_h, d.after_h)


def structure_input(
    scenario: Scenario, structure: Structure, paths: Mapping[str, DecisionPath]
) -> EngineInput:
    """Build the engine input of one structure from the scenario and each request's DecisionPath.

    Raises:
        DataError: a path visits an organization the structure does not have, or an inject waits on a
            request that is never filed.
    """
    notes: list[str] = []
    stations, templates = _templates(scenario, structure, paths, notes)
    instances, streams = _instances(scenario, structure, templates, notes)
    return EngineInput(
        scenario=scenario.id,
        structure=structure.id,
        stations=tuple(stations),
        templates=tuple(templates),
        instances=tuple(instances),
        streams=tuple(streams),
        notes=tuple(notes),
    )


def _templates(
    scenario: Scenario, structure: Structure, paths: Mapping[str, DecisionPath], notes: list[str]
) -> tuple[list[Station], list[PathTemplate]]:
    """A station per organization the paths visit, and a template per request with parameters resolved."""
    params = scenario.parameters
    assert params is not None  # an organizational scenario has parameters (Scenario validates it)
    default_zone = scenario.zone  # organizations without a site keep the clock of `start`
    org_index: dict[str, int] = {}
    stations: list[Station] = []

    def station(org: str) -> int:
        if org not in org_index:
            site = structure.site_of(org)
            zone: str | tzinfo = site.time_zone if site is not None else default_zone
            duty = params.duty(org)
            org_index[org] = len(stations)
            stations.append(
                Station(
                    id=org,
                    servers=params.servers(org),
                    calendar=DutyCalendar.build(duty, zone, scenario.start),
                    call_in=duty.call_in,
                )
            )
        return org_index[org]

    templates: list[PathTemplate] = []
    for request in scenario.requests:
        path = paths.get(request.id)
        if path is None:
            continue
        if path.prohibited:
            notes.append(f"{request.id}: prohibited under {structure.id}; not simulated")
            continue
        unknown = sorted({s.organization for s in path.steps} - set(structure.org_by_id))
        if unknown:
            raise DataError.single(
                scenario.file or scenario.id,
                f"requests[{request.id}]",
                f"the compiled path visits organizations missing from {structure.id}",
                value=", ".join(unknown),
            )
        ordered = path.order()
        pos = {s.id: j for j, s in enumerate(ordered)}
        steps = [
            StepSpec(
                id=s.id,
                station=station(s.organization),
                service=params.service(s.organization, s.kind.value),
                kind=s.kind.value,
                label=s.label,
                rework=params.rework(s.organization, s.kind.value),
                preds=tuple(
                    (pos[p], _link(params, structure, path.by_id[p].organization, s.organization))
                    for p in s.predecessors
                ),
                after_effect=s.after_effect,
            )
            for s in ordered
        ]
        templates.append(
            PathTemplate(request.id, tuple(steps), pos[path.decision_step], pos[path.effect_step])
        )
    return stations, templates


def _instances(
    scenario: Scenario, structure: Structure, templates: Sequence[PathTemplate], notes: list[str]
) -> tuple[list[Instance], list[Stream]]:
    """The filings of every request the injects make, in time order, with deadlines and prerequisites."""
    template_of = {t.request: k for k, t in enumerate(templates)}
    streams: list[Stream] = []
    instances: list[Instance] = []
    pending_after: list[tuple[int, tuple[str, ...], int]] = []
    numbers: dict[str, int] = {}
    for i, inject in sorted(enumerate(scenario.injects), key=lambda x: scenario.inject_hours(x[1])):
        at = scenario.inject_hours(inject)
        for entry in inject.requests:
            if entry.request not in template_of:
                continue
            spec = scenario.request_by_id[entry.request]
            deadlines = [_deadline(scenario, d) for d in entry.deadlines]
            if spec.deadline_h is not None:
                deadlines.append(DeadlineSpec("deadline", "effect", None, spec.deadline_h))
            filings: list[tuple[float | None, int | None, int]]
            if entry.arrival is not None:
                streams.append(Stream(entry.arrival, at))
                filings = [(None, len(streams) - 1, k) for k in range(entry.arrival.max_count())]
            else:
                filings = [(at, None, 0) for _ in range(entry.count)]
            for release, stream, k in filings:
                numbers[entry.request] = numbers.get(entry.request, 0) + 1
                if entry.after:
                    pending_after.append((len(instances), entry.after, i))
                instances.append(
                    Instance(
                        template=template_of[entry.request],
                        number=numbers[entry.request],
                        release_h=release,
                        stream=stream,
                        index=k,
                        deadlines=tuple(deadlines),
                    )
                )
    first: dict[int, int] = {}
    for k, inst in enumerate(instances):
        first.setdefault(inst.template, k)
    for k, after, inject_no in pending_after:
        deps: list[int] = []
        for ref in after:
            if ref not in template_of:
                notes.append(f"{ref}: not simulated under {structure.id}; requests after it wait on nothing")
                continue
            if template_of[ref] not in first:
                raise DataError.single(
                    scenario.file or scenario.id,
                    f"injects[{inject_no}].after",
                    "waits on a request no inject files",
                    line=scenario.line(f"injects.{inject_no}"),
                    value=ref,
                )
            deps.append(first[template_of[ref]])
        instances[k] = dataclasses.replace(instances[k], after=tuple(deps))
    return instances, streams


def _link(params: Parameters, structure: Structure, a: str, b: str) -> Distribution | None:
    if a == b:
        return None
    delay = params.link_delay(classify_link(structure, a, b))
    if delay is not None and params.liaison is not None and has_liaison(structure, a, b):
        delay = scaled(delay, params.liaison.factor)
    return delay


def check_parameters(scenario: Scenario, structures: Sequence[Structure]) -> list[Problem]:
    """Return problems with parameter organizations that none of the structures define."""
    params = scenario.parameters
    if params is None:
        return []
    known = set().union(*(s.org_by_id for s in structures)) if structures else set()
    problems: list[Problem] = []
    for org in params.organizations:
        if org not in known:
            sample = ", ".join(sorted(known)[:12]) + (" ..." if len(known) > 12 else "")
            problems.append(
                Problem(
                    scenario.file or scenario.id,
                    scenario.line(f"parameters.organizations.{org}"),
                    f"parameters.organizations.{org}",
                    "no structure of the scenario has this organization",
                    org,
                    f"one of {sample}",
                )
            )
    return problems


def build_inputs(scenario: Scenario, structures: Sequence[str] | None = None) -> dict[str, EngineInput]:
    """Build engine inputs for every structure the scenario compares (or `structures`, a subset).

    A network scenario gives one input keyed `network`.

    Raises:
        DataError: the scenario's parameters name organizations no structure has, or a path is invalid.
        UnknownId: a structure, framework or request id is not defined.
        InvalidQuery: a request cannot be compiled in a structure.
    """
    if scenario.network is not None:
        return {"network": network_input(scenario)}
    from kizuna.authority import load_frameworks
    from kizuna.model.loading import load_structure, resolve
    from kizuna.planning.compile import compile_request

    base = Path(scenario.file).parent if scenario.file else None
    refs = list(structures) if structures else list(scenario.structures)
    loaded = [load_structure(resolve(r, relative_to=base)) for r in refs]
    fw_refs = [
        str(resolve(f, kind="frameworks", relative_to=base)) if f.endswith((".yaml", ".yml")) else f
        for f in scenario.frameworks
    ]
    frameworks = load_frameworks(*fw_refs) if fw_refs else load_frameworks()
    everyone = loaded + [
        load_structure(resolve(r, relative_to=base)) for r in scenario.structures if r not in refs
    ]
    problems = check_parameters(scenario, everyone)  # parameters may name any compared structure's bodies
    if problems:
        raise DataError(problems)
    out: dict[str, EngineInput] = {}
    for structure in loaded:
        paths = {r.id: compile_request(structure, frameworks, r) for r in scenario.requests}
        out[structure.id] = structure_input(scenario, structure, paths)
    return out


def start_iso(scenario: Scenario) -> str:
    """Return the scenario's start as ISO 8601."""
    start: datetime = scenario.start
    return start.isoformat()
