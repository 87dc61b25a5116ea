"""Bilateral plans: phases with their missions, and decision points with the requests they imply.

A plan file (YAML) names the forces it draws on (`forces: us-japan-2025`, which names its structure),
the structures to compare when its decision points are simulated, a D-day, the approvals it assumes, and

* `phases`: periods of the plan (`start: D-10`, `after: [other phases]`), each in a situation, with the
  approvals it assumes obtained and its `missions`: a kind (BMD, island defense, ...), an area (a site, or
  coordinates), the capabilities it needs (`{capability: air-defense, count: 2}`), and by when units must
  be ready (`ready_within_h` after the phase starts);
* `decision_points`: decisions that must be made by a time (`by: D-2`), filed at `filed:`, gating phases
  (`gates: [defend]`), after other decision points (`after:`), each with the `request` it implies (the
  fields of a scenario request: `designates: survival-threatening`, or an act with actor and activity).

Times are written relative to D: `D`, `D-2` (days), `D+1d`, `D-36h`, `D+1d6h`, or a number of hours.

`load_plan` reports every problem at once with file, line, field, value and what was expected: unknown
keys, unknown units, mission kinds, capabilities, sites, phases and decision points; cycles between
phases or between decision points; a decision point due after the start of a phase it gates; a phase that
starts before a phase it follows. Law ids (situations, activities, approvals) are checked against the
frameworks by the planning layer (`kizuna.planning.check_plan`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from kizuna.errors import DataError, Problem, UnknownId
from kizuna.model.forces import Forces, looks_like_path
from kizuna.model.ids import Ident
from kizuna.model.recompute import Recomputed
from kizuna.model.request import RequestSpec
from kizuna.model.scenario import Parameters
from kizuna.model.sources import Source
from kizuna.model.validation import (
    duplicate_ids,
    field_name,
    index_of,
    known_sample,
    line_at,
    pydantic_problems,
    raw_ids,
    read_source_table,
    validate_items,
    with_cited_sources,
)
from kizuna.model.yamlfile import line_of, lines_of, plain, read_yaml

_D_TIME = re.compile(r"^D(?:([+-])(\d+(?:\.\d+)?)([dh])?(?:(\d+(?:\.\d+)?)h)?)?$")


def parse_d_time(value: Any) -> Any:
    """Read a time relative to D as hours: 'D' 0, 'D-2' -48, 'D+1d6h' 30, 'D-36h' -36; numbers are hours."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return value
    match = _D_TIME.match(value.replace(" ", ""))
    if match is None or (match.group(4) and match.group(3) != "d"):
        raise ValueError(
            f"a time relative to D is written D, D-2 (days), D+1d, D-36h or D+1d6h, not {value!r}"
        )
    if match.group(1) is None:
        return 0.0
    sign = -1.0 if match.group(1) == "-" else 1.0
    first = float(match.group(2)) * (1.0 if match.group(3) == "h" else 24.0)
    return sign * (first + float(match.group(4) or 0.0))


def format_d_time(hours: float) -> str:
    """Write hours relative to D the way plans do: D-2d, D+6h, D-1d12h, D."""
    if hours == 0:
        return "D"
    sign = "-" if hours < 0 else "+"
    total = abs(hours)
    days, rest = divmod(total, 24.0)
    out = f"D{sign}"
    if days:
        out += f"{days:g}d"
    if rest:
        out += f"{rest:g}h"
    return out


#: Hours relative to D, read from 'D-2', 'D+1d6h', 'D-36h' or a number of hours.
DTime = Annotated[float, BeforeValidator(parse_d_time)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Sourced(_Frozen):
    """Optional provenance: a plan is a planner's design, but what it states as fact says where from."""

    source: tuple[str, ...] = ()
    assumption: str | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


def _ids(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


IdList = Annotated[tuple[Ident, ...], BeforeValidator(_ids)]


class CapabilityNeed(_Frozen):
    """A capability a mission needs: `count` units that have it, and no more than `max` (default count)."""

    capability: Ident
    count: int = Field(default=1, ge=1)
    max: int | None = Field(
        default=None, ge=1, description="Most units with this capability the mission may take."
    )

    @model_validator(mode="after")
    def _ordered(self) -> CapabilityNeed:
        if self.max is not None and self.max < self.count:
            raise ValueError(f"max ({self.max}) is below count ({self.count})")
        return self

    @property
    def most(self) -> int:
        """The most units with this capability the mission takes."""
        return self.max if self.max is not None else self.count


def _need(value: Any) -> Any:
    return {"capability": value} if isinstance(value, str) else value


class Area(_Frozen):
    """Where a mission takes place: a site (of the forces' structure or file), or coordinates."""

    site: Ident | None = None
    name: str | None = None
    latitude: float | None = Field(default=None, ge=-90.0, le=90.0)
    longitude: float | None = Field(default=None, ge=-180.0, le=180.0)
    sea: bool = Field(
        default=False, description="The area is at sea: land units cover it only from their site."
    )

    @model_validator(mode="after")
    def _one_place(self) -> Area:
        coords = (self.latitude is None, self.longitude is None)
        if self.site is None and any(coords):
            raise ValueError("an area is a `site:` or both `latitude:` and `longitude:`")
        if self.site is not None and not all(coords):
            raise ValueError("give `site:` or coordinates, not both")
        return self


def _area(value: Any) -> Any:
    return {"site": value} if isinstance(value, str) else value


class Mission(_Sourced):
    """A mission of a phase: a kind, an area, the capabilities it needs and how soon.

    `activity`, `supported` and `needs` default to the mission kind's. `units` pins units the plan has
    already chosen (the solver keeps them and fills the rest).
    """

    id: Ident
    name: str = ""
    kind: Ident
    area: Annotated[Area, BeforeValidator(_area)]
    location: Ident | None = Field(
        default=None,
        description="Where the act takes place, for the law; None: not stated (no default decides the law: "
        "a mission whose ruling depends on it must state it).",
    )
    activity: Ident | None = Field(default=None, description="The authority activity (default: the kind's).")
    supported: Ident | None = Field(
        default=None, description="Whose forces it supports (default: the kind's)."
    )
    flags: IdList = ()
    needs: (
        Annotated[tuple[Annotated[CapabilityNeed, BeforeValidator(_need)], ...], BeforeValidator(_ids)] | None
    ) = None
    ready_within_h: float | None = Field(default=None, gt=0, description="Hours after the phase starts.")
    units: IdList = ()
    note: str | None = None

    @model_validator(mode="after")
    def _needs_once(self) -> Mission:
        if self.needs is not None:
            caps = [n.capability for n in self.needs]
            if len(set(caps)) != len(caps):
                raise ValueError("each capability once in `needs` (use count: for more units)")
        return self


class Phase(_Sourced):
    """A period of the plan, in one situation, with the approvals it assumes and its missions."""

    id: Ident
    name: str = ""
    start: DTime
    end: DTime | None = None
    after: IdList = Field(default=(), description="Phases this one follows.")
    situation: Ident
    assumes: IdList = Field(default=(), description="Approvals the phase assumes obtained.")
    flags: IdList = Field(default=(), description="Context flags of every mission of the phase.")
    missions: tuple[Mission, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.end is not None and self.end <= self.start:
            raise ValueError(
                f"the phase ends ({format_d_time(self.end)}) before it starts ({format_d_time(self.start)})"
            )
        return self


class DecisionPoint(_Sourced):
    """A decision the plan needs by a time, with the request it implies ("recognize STS before D-2")."""

    id: Ident
    name: str = ""
    by: DTime = Field(description="The decision is needed by this time.")
    filed: DTime = Field(description="When the request is filed.")
    gates: IdList = Field(default=(), description="Phases that cannot start without the decision.")
    after: IdList = Field(default=(), description="Decision points that must be made first.")
    request: RequestSpec

    @field_validator("request", mode="before")
    @classmethod
    def _request_id(cls, value: Any, info: Any) -> Any:
        if isinstance(value, dict) and "id" not in value:
            return {"id": info.data.get("id", "decision"), **value}
        return value

    @model_validator(mode="after")
    def _filed_before(self) -> DecisionPoint:
        if self.filed > self.by:
            raise ValueError(
                f"filed at {format_d_time(self.filed)}, after it is needed ({format_d_time(self.by)})"
            )
        if self.request.id != self.id:
            raise ValueError(f"the request's id ({self.request.id}) must be the decision point's ({self.id})")
        return self


class Objective(_Frozen):
    """What the solver prefers among lawful assignments: cost = time x hours to ready + distance x km."""

    time: float = Field(default=1.0, ge=0, description="Cost per hour from tasking to ready in the area.")
    distance: float = Field(default=0.0, ge=0, description="Cost per km between the unit and the area.")


class PlanMarking(_Frozen):
    """The marking of a plan, which every part of it carries: who may read it.

    The same fields as a marking everywhere in Kizuna (`kizuna.access.Marking`, which the console builds
    from this and enforces at its egress): a level, the owner nation (none for a jointly written plan),
    the nations it is released to, or NOFORN (the owner alone). A plan without a marking is not shown
    in the console, as nothing unmarked is.
    """

    level: Literal["unclassified", "confidential", "secret", "top-secret"]
    owner: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    rel_to: tuple[Annotated[str, Field(pattern=r"^[A-Z]{3}$")], ...] = ()
    noforn: bool = False

    @model_validator(mode="after")
    def _releasable(self) -> PlanMarking:
        if self.noforn and self.owner is None:
            raise ValueError("a NOFORN marking names its owner nation")
        if self.noforn and set(self.rel_to) - {self.owner}:
            raise ValueError(f"a NOFORN marking is released to its owner {self.owner} only")
        if self.owner is None and not self.rel_to:
            raise ValueError("name the owner nation or the nations the plan is released to (rel_to)")
        return self


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("d_day needs a time zone offset (e.g. 2027-05-10T00:00:00+09:00)")
    return value


class Plan(Recomputed, _Sourced):
    """A bilateral plan: forces, phases with missions, decision points, and what it assumes."""

    id: Ident
    name: str = Field(min_length=1)
    description: str = ""
    sources: dict[str, Source] = Field(
        default_factory=dict,
        description="The documents cited, by key: the file's own `sources:` entries, then the catalog's.",
    )
    forces: str = Field(description="The forces file (bundled id or path); it names the structure.")
    structures: Annotated[tuple[str, ...], BeforeValidator(_ids)] = Field(
        default=(), description="Structures to compare when simulating (default: the forces' structure)."
    )
    frameworks: Annotated[tuple[str, ...], BeforeValidator(_ids)] = ()
    d_day: Annotated[datetime, BeforeValidator(_aware)] = Field(description="D, as an aware date-time.")
    assumes: IdList = Field(default=(), description="Approvals assumed obtained in every phase.")
    objective: Objective = Objective()
    phases: tuple[Phase, ...] = Field(min_length=1)
    decision_points: tuple[DecisionPoint, ...] = ()
    parameters_from: str | None = Field(
        default=None, description="A scenario (id or path) whose timing parameters the simulation uses."
    )
    parameters: Parameters | None = None
    marking: PlanMarking | None = Field(
        default=None, description="Who may read the plan (the console shows only marked plans)."
    )
    file: str | None = None

    _lines: dict[str, int] = PrivateAttr(default_factory=dict)
    _forces: Forces | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_parameters(self) -> Plan:
        if self.parameters is not None and self.parameters_from is not None:
            raise ValueError("give `parameters:` or `parameters_from:`, not both")
        return self

    @cached_property
    def phase_by_id(self) -> dict[str, Phase]:
        """Phases by id."""
        return {p.id: p for p in self.phases}

    @cached_property
    def mission_by_id(self) -> dict[str, Mission]:
        """Missions by id, over all phases."""
        return {m.id: m for p in self.phases for m in p.missions}

    @cached_property
    def phase_of(self) -> dict[str, Phase]:
        """The phase of each mission, by mission id."""
        return {m.id: p for p in self.phases for m in p.missions}

    @cached_property
    def decision_by_id(self) -> dict[str, DecisionPoint]:
        """Decision points by id."""
        return {d.id: d for d in self.decision_points}

    @property
    def loaded_forces(self) -> Forces:
        """The forces the plan draws on (loaded with the plan)."""
        if self._forces is None:
            from kizuna.model.forces import load_forces

            self._forces = load_forces(self.forces)
        return self._forces

    def phase(self, phase_id: str) -> Phase:
        """Return a phase by id, or raise UnknownId naming the known ones."""
        try:
            return self.phase_by_id[phase_id]
        except KeyError:
            raise UnknownId("phase", phase_id, self.phase_by_id) from None

    def mission(self, mission_id: str) -> Mission:
        """Return a mission by id, or raise UnknownId naming the known ones."""
        try:
            return self.mission_by_id[mission_id]
        except KeyError:
            raise UnknownId("mission", mission_id, self.mission_by_id) from None

    def at(self, hours: float) -> datetime:
        """Return the date-time of a time relative to D."""
        return self.d_day + timedelta(hours=hours)

    def line(self, path: str) -> int | None:
        """Return the line of a dotted field path ('phases.1.missions.0.kind') or of its nearest parent."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path.rpartition(".")[0]
        return None


# -- loading ------------------------------------------------------------------------------------------


def load_plan(ref: str | Path) -> Plan:
    """Load and validate a plan by bundled id (e.g. `nansei-2027`) or path, with the forces it names.

    Raises:
        DataError: the plan (or its forces file) is invalid; every problem is listed with its line.
        UnknownId: `ref` is not a file and not a bundled plan id.
    """
    from kizuna.model.loading import load_checked

    return load_checked(ref, kind="plans", check=check_plan_file)


def check_plan_file(path: str | Path) -> tuple[Plan | None, list[Problem]]:
    """Validate one plan file (and the forces it names); return the plan (None when invalid) and problems.

    Phases, their missions and decision points are validated one by one, so that one bad entry does not
    hide the problems of the others; references are checked against every id the file defines.
    """
    file = str(path)
    try:
        root = read_yaml(path)
    except DataError as err:
        return None, list(err.problems)
    if not isinstance(root, dict):
        keys = ", ".join(k for k in Plan.model_fields if k != "file")
        return None, [Problem(file, 1, "(top level)", "a plan file is a mapping", expected=keys)]
    problems: list[Problem] = []
    sources = read_source_table(file, root, problems)
    data = plain(root)
    data["sources"] = with_cited_sources(file, root, sources, problems)
    if "file" in data:
        problems.append(Problem(file, line_of(root, "file"), "file", "unknown key (set by the loader)"))
        data.pop("file")
    data["file"] = file
    before = len(problems)
    phases = _phases(file, root, problems)
    failed = {"phases"} if len(problems) > before else set()
    before = len(problems)
    decisions = validate_items(file, root, "decision_points", DecisionPoint, problems)
    if len(problems) > before:
        failed.add("decision_points")
    for key, items in (("phases", phases), ("decision_points", decisions)):
        if key in data:
            data[key] = items
    plan: Plan | None = None
    try:
        plan = Plan.model_validate(data)
    except ValidationError as err:
        problems.extend(pydantic_problems(file, root, err, Plan, skip=frozenset(failed)))
    problems.extend(duplicate_ids(file, root, "phases"))
    problems.extend(duplicate_ids(file, root, "decision_points"))
    problems.extend(_duplicate_missions(file, root))
    fields = {k: v for k, v in data.items() if k in Plan.model_fields}
    partial = plan or Plan.model_construct(
        **{**fields, "phases": tuple(phases), "decision_points": tuple(decisions)}
    )
    problems.extend(_check_order(file, root, partial))
    problems.extend(_check_refs(file, root, partial))
    if isinstance(data.get("forces"), str):
        forces = _forces(file, root, data["forces"], problems)
        if forces is not None:
            problems.extend(_check_against_forces(file, root, partial, forces))
            if plan is not None:
                plan._forces = forces
    if plan is not None:
        plan._lines.update(lines_of(root))
    problems = sorted(set(problems), key=lambda p: (p.line or 0, p.field))
    return (plan if not problems else None), problems


def _phases(file: str, root: Any, problems: list[Problem]) -> list[Phase]:
    """Validate each phase, and each of its missions on its own; return the valid phases."""
    node = root.get("phases")
    if not isinstance(node, list):
        return []  # missing or not a list: the plan's own validation says so
    out: list[Phase] = []
    for i, item in enumerate(node):
        if not isinstance(item, dict):
            problems.append(
                Problem(file, line_of(node, i), f"phases[{i}]", "must be a mapping", plain(item), "a phase")
            )
            continue
        before = len(problems)
        missions = validate_items(file, root, "missions", Mission, problems, prefix=("phases", i))
        skip = frozenset({"missions"}) if len(problems) > before else frozenset()
        data = plain(item)
        if "missions" in data:
            data["missions"] = missions
        try:
            out.append(Phase.model_validate(data))
        except ValidationError as err:
            problems.extend(pydantic_problems(file, root, err, Phase, ("phases", i), skip=skip))
    return out


def _forces(file: str, root: Any, ref: str, problems: list[Problem]) -> Forces | None:
    from kizuna.model.forces import load_forces
    from kizuna.model.loading import resolve

    try:
        return load_forces(
            resolve(ref, kind="forces", relative_to=Path(file).parent) if looks_like_path(ref) else ref
        )
    except UnknownId as err:
        problems.append(Problem(file, line_of(root, "forces"), "forces", str(err), ref))
    except DataError as err:
        problems.extend(err.problems)
    return None


def _check_refs(file: str, root: Any, plan: Plan) -> list[Problem]:
    """The structures, frameworks and parameter scenario a plan names must exist and load."""
    from kizuna.model.framework import load_framework
    from kizuna.model.loading import load_structure, resolve
    from kizuna.model.scenario import load_scenario

    out: list[Problem] = []
    base = Path(file).parent
    checks: list[tuple[str, int | None, str, str, Any]] = [
        ("structures", i, ref, "structures", load_structure) for i, ref in enumerate(plan.structures or ())
    ]
    checks += [
        ("frameworks", i, ref, "frameworks", load_framework) for i, ref in enumerate(plan.frameworks or ())
    ]
    if isinstance(plan.parameters_from, str):
        checks.append(("parameters_from", None, plan.parameters_from, "scenarios", load_scenario))
    for key, i, ref, kind, load in checks:
        loc: tuple[Any, ...] = (key,) if i is None else (key, i)
        try:
            load(resolve(ref, kind=kind, relative_to=base) if looks_like_path(ref) else ref)
        except UnknownId as err:
            out.append(Problem(file, line_at(root, loc), field_name(root, loc), str(err), ref))
        except DataError as err:
            out.append(
                Problem(
                    file,
                    line_at(root, loc),
                    field_name(root, loc),
                    f"the {kind.rstrip('s')} file is invalid ({len(err.problems)} problem(s))",
                    ref,
                )
            )
    return out


def _phase_nodes(root: Any) -> list[Any]:
    node = root.get("phases") if isinstance(root, dict) else None
    return node if isinstance(node, list) else []


def _raw_missions(root: Any) -> list[tuple[int, int, str]]:
    """(phase position, mission position, id) of every mission the file defines, valid or not."""
    out: list[tuple[int, int, str]] = []
    for i, phase in enumerate(_phase_nodes(root)):
        missions = phase.get("missions") if isinstance(phase, dict) else None
        for j, mission in enumerate(missions if isinstance(missions, list) else []):
            if isinstance(mission, dict) and isinstance(mission.get("id"), str):
                out.append((i, j, mission["id"]))
    return out


def _duplicate_missions(file: str, root: Any) -> list[Problem]:
    seen: dict[str, int | None] = {}
    out: list[Problem] = []
    for i, j, ident in _raw_missions(root):
        loc = ("phases", i, "missions", j)
        if ident in seen:
            out.append(
                Problem(
                    file,
                    line_at(root, loc),
                    field_name(root, loc),
                    "duplicate mission id",
                    ident,
                    f"each mission id once in the plan (first at line {seen[ident]})",
                )
            )
        else:
            seen[ident] = line_at(root, loc)
    return out


def _cycle(edges: dict[str, tuple[str, ...]]) -> list[str] | None:
    """Return one cycle of a graph given as node -> predecessors, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _check_order(file: str, root: Any, plan: Plan) -> list[Problem]:
    """Phases and decision points: references, cycles, and times that contradict the order."""
    out: list[Problem] = []

    def bad(loc: tuple[Any, ...], message: str, value: object, expected: str | None = None) -> None:
        out.append(Problem(file, line_at(root, loc), field_name(root, loc), message, value, expected))

    def at(section: str, ident: str, default: int) -> int:
        return index_of(root, section, ident, default)

    phases = {p.id: p for p in plan.phases}
    decisions = {d.id: d for d in plan.decision_points}
    known_phases = phases.keys() | raw_ids(root, "phases")
    known_decisions = decisions.keys() | raw_ids(root, "decision_points")
    for k, phase in enumerate(plan.phases):
        i = at("phases", phase.id, k)
        for j, ref in enumerate(phase.after):
            if ref not in known_phases:
                bad(("phases", i, "after", j), "unknown phase", ref, f"one of {known_sample(known_phases)}")
            elif ref in phases and phases[ref].start > phase.start:
                bad(
                    ("phases", i, "start"),
                    f"the phase starts before {ref!r}, which it comes after "
                    f"(starts {format_d_time(phases[ref].start)})",
                    format_d_time(phase.start),
                    f"{format_d_time(phases[ref].start)} or later",
                )
    cycle = _cycle({p.id: p.after for p in plan.phases})
    if cycle:
        i = at("phases", cycle[0], 0)
        bad(
            ("phases", i, "after"),
            "phases follow each other in a cycle: " + " -> ".join(cycle),
            cycle[0],
            "phases that follow each other in one direction",
        )
    for k, dp in enumerate(plan.decision_points):
        i = at("decision_points", dp.id, k)
        for j, ref in enumerate(dp.gates):
            if ref not in known_phases:
                bad(
                    ("decision_points", i, "gates", j),
                    "unknown phase",
                    ref,
                    f"one of {known_sample(known_phases)}",
                )
            elif ref in phases and dp.by > phases[ref].start:
                bad(
                    ("decision_points", i, "by"),
                    f"the decision is due after the start of phase {ref!r}, which it gates "
                    f"({format_d_time(phases[ref].start)})",
                    format_d_time(dp.by),
                    f"{format_d_time(phases[ref].start)} or earlier",
                )
        for j, ref in enumerate(dp.after):
            if ref not in known_decisions:
                bad(
                    ("decision_points", i, "after", j),
                    "unknown decision point",
                    ref,
                    f"one of {known_sample(known_decisions)}",
                )
            elif ref in decisions and decisions[ref].by > dp.by:
                bad(
                    ("decision_points", i, "after", j),
                    f"comes after {ref!r}, which is due later ({format_d_time(decisions[ref].by)})",
                    ref,
                    f"a decision point due by {format_d_time(dp.by)} or earlier",
                )
    cycle = _cycle({d.id: d.after for d in plan.decision_points})
    if cycle:
        i = at("decision_points", cycle[0], 0)
        bad(
            ("decision_points", i, "after"),
            "decision points wait on each other in a cycle: " + " -> ".join(cycle),
            cycle[0],
            "decision points that follow each other in one direction",
        )
    return out


def _check_against_forces(file: str, root: Any, plan: Plan, forces: Forces) -> list[Problem]:
    """Mission kinds, capabilities, sites and pinned units must be the forces file's."""
    out: list[Problem] = []

    def bad(loc: tuple[Any, ...], message: str, value: object, expected: str) -> None:
        out.append(Problem(file, line_at(root, loc), field_name(root, loc), message, value, expected))

    nodes = _phase_nodes(root)
    for k, phase in enumerate(plan.phases):
        i = index_of(root, "phases", phase.id, k)
        node = nodes[i] if i < len(nodes) else {}
        for m, mission in enumerate(phase.missions):
            loc = ("phases", i, "missions", index_of(node, "missions", mission.id, m))
            if mission.kind not in forces.kind_by_id:
                bad((*loc, "kind"), "unknown mission kind", mission.kind, known_sample(forces.kind_by_id))
            elif mission.needs is None and not forces.kind_by_id[mission.kind].needs:
                bad(
                    (*loc, "needs"),
                    "the mission kind needs no capability by default",
                    None,
                    "`needs:` listing the capabilities the mission needs",
                )
            if mission.area.site is not None and mission.area.site not in forces.site_by_id:
                bad(
                    (*loc, "area"),
                    "unknown site",
                    mission.area.site,
                    f"a site of {forces.structure} or {forces.id}",
                )
            for n, need in enumerate(mission.needs or ()):
                if need.capability not in forces.capability_by_id:
                    bad(
                        (*loc, "needs", n),
                        "unknown capability",
                        need.capability,
                        known_sample(forces.capability_by_id),
                    )
            for n, unit in enumerate(mission.units):
                if unit not in forces.unit_by_id:
                    bad((*loc, "units", n), "unknown unit", unit, known_sample(forces.unit_by_id))
    return out


def needs_of(plan: Plan, mission: Mission) -> tuple[CapabilityNeed, ...]:
    """Return a mission's capability needs (its own, or its kind's: one unit per capability)."""
    if mission.needs is not None:
        return mission.needs
    kind = plan.loaded_forces.kind_by_id[mission.kind]
    return tuple(CapabilityNeed(capability=c) for c in kind.needs)
