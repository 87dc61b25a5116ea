"""Plans on the console: the plans a user may read, and a plan's assignment as a table and on the map.

A plan is shown only through its marking (`marking:` in the plan file, enforced here with the same
`release_one` the API's egress uses): an unmarked plan is never shown, and a plan a user may not read
answers 404 in the same words as one that does not exist. The page solves the plan with the planning
layer's own functions (`assignment_problem`, `solve`, `explain_infeasible` through `Infeasible`), the
same as `kizuna plan solve`, once per plan file version (cached), and shows the assignment or, when
none exists, the explanation. The plans known are the bundled ones and the plan files in the service's
data directory under `plans/` (a bundled id wins over a file of the same name).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from statistics import median
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from kizuna.access import Classification, Marking, User
from kizuna.authority import FrameworkSet, load_frameworks
from kizuna.errors import DataError, Infeasible, InvalidQuery, UnknownId
from kizuna.model import (
    Plan,
    Structure,
    bundled_dir,
    bundled_ids,
    format_d_time,
    load_plan,
    load_structure,
    resolve,
)
from kizuna.model.forces import Forces, Unit, looks_like_path
from kizuna.model.plan import needs_of
from kizuna.planning.assign import (
    Assignment,
    AssignmentProblem,
    Infeasibility,
    assignment_problem,
    check_plan_law,
    distance_km,
    mission_coordinates,
    solve,
)
from kizuna.service.dependencies import RuntimeDep
from kizuna.service.egress import release, release_one
from kizuna.service.threads import in_thread
from kizuna.web.clock import offset_hours
from kizuna.web.i18n import Translator
from kizuna.web.pages.crisis import THEATRE_KM, short_name
from kizuna.web.render import page
from kizuna.web.session import ViewerDep

router = APIRouter(include_in_schema=False)

#: Where the service looks for plan files of its own, under its data directory.
PLANS_DIR = "plans"
#: Seconds CP-SAT may search for a page (the CLI allows 60 by default).
TIME_LIMIT_S = 20.0

#: The MIL-STD-2525D symbol of a unit that is not an organization of the structure (those carry their
#: own `symbol:`), derived from how it moves and the first of its capabilities listed here: symbol set
#: 10 land unit, 30 sea surface, 01 air; the entity named beside each code. The standard assigns no
#: symbol to a real unit, so this is a rendering choice (docs/plans.md, "On the console").
LAND_ENTITY = (
    ("bmd", "130100"),  # fires: air defense
    ("air-defense", "130100"),  # fires: air defense
    ("anti-ship-strike", "130700"),  # fires: missile
    ("island-defense", "121100"),  # movement and maneuver: infantry
    ("amphibious", "120300"),  # movement and maneuver: amphibious
    ("ew", "150500"),  # intelligence: electronic warfare
    ("isr", "150000"),  # intelligence
    ("engineering", "140700"),  # protection: engineer
    ("medical", "161300"),  # sustainment: medical
)
SEA_ENTITY = (
    ("bmd", "120203"),  # military combatant: surface combatant, line: destroyer
    ("amphibious", "120300"),  # military combatant: amphibious warfare ship
    ("mine-countermeasures", "120400"),  # military combatant: mine warfare ship
    ("maritime-patrol", "120500"),  # military combatant: patrol boat
    ("escort", "120000"),  # military combatant
    ("asw", "120000"),  # military combatant
)
LAND_DEFAULT, SEA_DEFAULT, AIR_ENTITY = "160000", "130000", "110100"  # sustainment; noncombatant; fixed wing


def unit_sidc(unit: Unit, structure: Structure) -> str:
    """Return a unit's 2525D SIDC: its organization's in the structure, else derived (see LAND_ENTITY)."""
    org = structure.org_by_id.get(unit.id)
    if org is not None and org.symbol is not None:
        return org.symbol.sidc
    caps = set(unit.capabilities)
    if unit.mobility == "air":
        symbol_set, entity = "01", AIR_ENTITY
    elif unit.mobility == "sea":
        symbol_set = "30"
        entity = next((e for c, e in SEA_ENTITY if c in caps), SEA_DEFAULT)
    else:
        symbol_set = "10"
        entity = next((e for c, e in LAND_ENTITY if c in caps), LAND_DEFAULT)
    return f"1003{symbol_set}0000{entity}0000"


def unit_name(unit: Unit, structure: Structure, t: Translator) -> str:
    """Return a unit's name in the reader's language: its organization's where the structure has it."""
    org = structure.org_by_id.get(unit.id)
    return t.name(org) if org is not None else t.name(unit)


def nation_code(unit: Unit, structure: Structure) -> str:
    """Return a unit's nation as the markings write it (`JPN`), else the data's id."""
    nation = structure.nation_by_id.get(unit.nation)
    return nation.code if nation is not None else unit.nation


def plan_marking(plan: Plan) -> Marking | None:
    """Return the marking a plan file gives itself (None when it has none: never shown)."""
    m = plan.marking
    if m is None:
        return None
    return Marking(level=Classification(m.level), owner=m.owner, rel_to=frozenset(m.rel_to), noforn=m.noforn)


@dataclass(frozen=True)
class Solved:
    """A plan with its marking and what solving it gave: an assignment, or why there is none."""

    plan: Plan
    marking: Marking
    structure: Structure
    frameworks: FrameworkSet
    problem: AssignmentProblem | None
    assignment: Assignment | None
    infeasibility: Infeasibility | None
    error: str | None


def plan_files(data_dir: Path) -> dict[str, Path]:
    """Return the plan files the console knows, by URL id: bundled first, then the data directory's."""
    files = {pid: bundled_dir("plans") / f"{pid}.yaml" for pid in bundled_ids("plans")}
    own = data_dir / PLANS_DIR
    if own.is_dir():
        for path in sorted(own.glob("*.yaml")):
            files.setdefault(path.stem, path)
    return files


@lru_cache(maxsize=16)
def _solved(path: Path, version: int) -> Solved | None:
    """Load, rule on and solve a plan file (once per file version); None when it has no marking."""
    del version  # part of the cache key only
    plan = load_plan(path)
    marking = plan_marking(plan)
    if marking is None:
        return None
    frameworks = load_frameworks(*plan.frameworks)
    check_plan_law(plan, frameworks)
    forces = plan.loaded_forces
    ref = forces.structure
    if looks_like_path(ref) and forces.file:
        ref = str(resolve(ref, relative_to=Path(forces.file).parent))
    structure = load_structure(ref)
    problem: AssignmentProblem | None = None
    assignment = infeasibility = error = None
    try:
        problem = assignment_problem(plan, frameworks)
        assignment = solve(problem, time_limit_s=TIME_LIMIT_S)
    except Infeasible as failure:
        infeasibility = cast("Infeasibility", failure.explanation)
    except InvalidQuery as failure:  # a pinned unit that may not take its mission
        error = str(failure)
    return Solved(plan, marking, structure, frameworks, problem, assignment, infeasibility, error)


def load_solved(path: Path) -> Solved | None:
    """Return a plan file solved, or None when it is unmarked or invalid (never shown then)."""
    try:
        return _solved(path, path.stat().st_mtime_ns)
    except (DataError, UnknownId, OSError):
        return None


@dataclass(frozen=True)
class _Marked:
    """What the egress filter reads: a plan's marking."""

    id: str
    marking: Marking
    solved: Solved


def readable_plans(user: User, data_dir: Path) -> list[_Marked]:
    """Return the plans `user` may read, through the egress filter."""
    found = []
    for pid, path in plan_files(data_dir).items():
        solved = load_solved(path)
        if solved is not None:
            found.append(_Marked(pid, solved.marking, solved))
    return release(user, found)


def readable_plan(user: User, data_dir: Path, plan_id: str) -> Solved:
    """Return one plan `user` may read, or raise NotFound (the same words whether hidden or absent)."""
    path = plan_files(data_dir).get(plan_id)
    solved = load_solved(path) if path is not None else None
    marked = _Marked(plan_id, solved.marking, solved) if solved is not None else None
    return release_one(user, marked, "plan", plan_id).solved


@router.get("/plans", response_class=HTMLResponse)
async def plans_page(request: Request, runtime: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """List the plans the user may read."""
    plans = await in_thread(readable_plans, who.user, runtime.settings.data_dir)
    return page(
        request,
        runtime,
        who,
        "plans.html",
        title=who.t("plans.title"),
        shown=[p.marking for p in plans],
        plans=plans,
        active="plans",
        format_d_time=format_d_time,
    )


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
async def plan_page(plan_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """Show a plan: its assignment (or why there is none) as tables and on the map, its decision points."""
    s = await in_thread(readable_plan, who.user, runtime.settings.data_dir, plan_id)
    plan = s.plan
    rows: dict[str, list[Any]] = {}
    for row in s.assignment.rows if s.assignment else ():
        rows.setdefault(row.mission, []).append(row)
    forces = plan.loaded_forces
    return page(
        request,
        runtime,
        who,
        "plan.html",
        title=plan.name,
        shown=[s.marking],
        structure=s.structure,
        s=s,
        plan=plan,
        plan_id=plan_id,
        cli_ref=plan_id if plan_id in bundled_ids("plans") else plan.file,
        forces=forces,
        rows=rows,
        needs=lambda mission: needs_text(plan, mission),
        area_name=lambda mission: area_name(forces, mission, who.t),
        unit_name=lambda unit_id: unit_name(forces.unit_by_id[unit_id], s.structure, who.t),
        nation_code=lambda unit_id: nation_code(forces.unit_by_id[unit_id], s.structure),
        format_d_time=format_d_time,
        frameworks=s.frameworks,
        active="plans",
    )


def needs_text(plan: Plan, mission: Any) -> str:
    """Return what a mission needs, `2 x isr, 1-2 x air-defense`."""
    parts = []
    for need in needs_of(plan, mission):
        amount = f"{need.count}" if need.most == need.count else f"{need.count}-{need.most}"
        parts.append(f"{amount} × {need.capability}")
    return ", ".join(parts)


def area_name(forces: Forces, mission: Any, t: Translator) -> str:
    """Return the name of a mission's area: its site's, or the name the plan gives it."""
    area = mission.area
    if area.site is not None:
        return t.name(forces.site_by_id.get(area.site), area.site)
    return str(area.name or f"{area.latitude:.2f}, {area.longitude:.2f}")


def plan_map(s: Solved, t: Translator, *, zone: str, now: Any) -> dict[str, Any]:
    """Return the plan's map layers: units at their sites with symbols, mission areas, assignments."""
    plan, forces = s.plan, s.plan.loaded_forces
    phases_of: dict[str, list[str]] = {}
    for row in s.assignment.rows if s.assignment else ():
        phases_of.setdefault(row.unit, []).append(row.phase)
    hosted: dict[str, list[dict[str, Any]]] = {}
    for unit in forces.units:
        hosted.setdefault(unit.site, []).append(
            {
                "id": unit.id,
                "name": unit_name(unit, s.structure, t),
                "sidc": unit_sidc(unit, s.structure),
                "nation": nation_code(unit, s.structure),
                "kind": "unit",
                "acting": False,  # the overview's "must act now"; a plan dims idle units instead
                "phases": sorted(set(phases_of.get(unit.id, []))),
            }
        )
    points = [(forces.site_by_id[k].latitude, forces.site_by_id[k].longitude) for k in hosted]
    middle = (median(p[0] for p in points), median(p[1] for p in points))
    sites = []
    for site_id, units in hosted.items():
        site = forces.site_by_id[site_id]
        sites.append(
            {
                "id": site.id,
                "name": t.name(site),
                "label": short_name(t.name(site)),
                "lat": site.latitude,
                "lon": site.longitude,
                "zone": site.time_zone,
                "local": f"{now.astimezone(site.zone):%H:%M %Z}",
                "offset_h": offset_hours(now, site.time_zone, zone),
                "theatre": distance_km(middle, (site.latitude, site.longitude)) <= THEATRE_KM,
                "orgs": units,
            }
        )
    missions, lines = [], []
    for n, phase in enumerate(plan.phases):
        for mission in phase.missions:
            lat, lon = mission_coordinates(forces, mission)
            missions.append(
                {
                    "id": mission.id,
                    "name": mission.name or mission.id,
                    "phase": phase.id,
                    "phase_index": n,
                    "lat": lat,
                    "lon": lon,
                    "area": area_name(forces, mission, t),
                    "needs": needs_text(plan, mission),
                }
            )
    for row in s.assignment.rows if s.assignment else ():
        site = forces.site_by_id[forces.unit_by_id[row.unit].site]
        lat, lon = mission_coordinates(forces, plan.mission(row.mission))
        lines.append(
            {
                "unit": row.unit,
                "mission": row.mission,
                "phase": row.phase,
                "phase_index": [p.id for p in plan.phases].index(row.phase),
                "from": [site.latitude, site.longitude],
                "to": [lat, lon],
            }
        )
    return {
        "sites": sites,
        "missions": missions,
        "assignments": lines,
        "phases": [{"id": p.id, "name": p.name or p.id} for p in plan.phases],
        "labels": {"elsewhere": t("map.elsewhere"), "local": t("map.local-time")},
    }


@router.get("/plans/{plan_id}/map.json")
async def plan_map_json(plan_id: str, runtime: RuntimeDep, who: ViewerDep) -> JSONResponse:
    """Return a plan's map layers (only for a plan the user may read)."""
    s = await in_thread(readable_plan, who.user, runtime.settings.data_dir, plan_id)
    zone = who.zone(s.structure)
    body = await in_thread(partial(plan_map, s, who.t, zone=zone, now=runtime.clock()))
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
