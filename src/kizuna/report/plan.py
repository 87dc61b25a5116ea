"""A plan's assignment and decision points as a planner reads them: terminal tables, xlsx and GeoJSON.

* `assignment_table`: one block per phase, each mission with what it needs and the units that take it
  (what each brings, hours to ready, distance); fits 80 columns with ids whole.
* `write_assignment_xlsx`: the same in a workbook (assignment, missions, blocked pairs with the law that
  blocks them, the plan and the solver), for staff who work in spreadsheets.
* `assignment_geojson`: units at their sites, mission areas, and a line from each unit to each mission it
  takes, with ids and figures as properties, for the console's map.
* `decision_outcomes`: for each decision point and structure, the median time to the decision, the
  probability it is made by its deadline, and the organization that holds it up longest
  (`decision_holdups`: mean time on the decision's critical path, per organization).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from kizuna.model.plan import Plan, format_d_time, needs_of
from kizuna.planning.assign import Assignment, AssignmentProblem

if TYPE_CHECKING:
    from rich.table import Table

    from kizuna.sim.engine import EngineInput
    from kizuna.sim.result import SimResult


def _needs_text(plan: Plan, mission_id: str) -> str:
    parts = []
    for need in needs_of(plan, plan.mission(mission_id)):
        amount = f"{need.count}" if need.most == need.count else f"{need.count}-{need.most}"
        parts.append(f"{amount} x {need.capability}")
    return ", ".join(parts)


def assignment_table(plan: Plan, assignment: Assignment) -> list[Table]:
    """Render the assignment as one table per phase: missions with their needs, then their units."""
    from rich.table import Table

    by_mission: dict[str, list[Any]] = defaultdict(list)
    for row in assignment.rows:
        by_mission[row.mission].append(row)
    tables: list[Table] = []
    for phase in plan.phases:
        end = f" to {format_d_time(phase.end)}" if phase.end is not None else ""
        table = Table(
            title=f"{phase.id}: {format_d_time(phase.start)}{end}, {phase.situation}",
            title_justify="left",
        )
        table.add_column("mission / unit", no_wrap=True)
        table.add_column("brings", overflow="fold")
        table.add_column("ready", justify="right", no_wrap=True)
        table.add_column("km", justify="right", no_wrap=True)
        for k, mission in enumerate(phase.missions):
            if k:
                table.add_section()
            within = f"≤{mission.ready_within_h:g} h" if mission.ready_within_h is not None else ""
            table.add_row(
                f"[bold]{escape(mission.id)}[/bold]", escape(_needs_text(plan, mission.id)), within, ""
            )
            for row in by_mission.get(mission.id, []):
                pin = " (pinned)" if row.pinned else ""
                table.add_row(
                    f"  {escape(row.unit)}{pin}",
                    escape(", ".join(row.provides)),
                    f"{row.time_h:.1f} h",
                    f"{row.distance_km:,.0f}",
                )
        tables.append(table)
    return tables


def write_assignment_xlsx(problem: AssignmentProblem, assignment: Assignment, path: str | Path) -> Path:
    """Write the assignment, the missions, the blocked pairs and the plan to an xlsx workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    plan, forces = problem.plan, problem.forces
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "Assignment"
    bold = Font(bold=True)

    def header(ws: Any, names: list[str]) -> None:
        ws.append(names)
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "A2"

    header(
        sheet,
        [
            "phase",
            "situation",
            "mission",
            "mission name",
            "kind",
            "activity",
            "unit",
            "unit name",
            "nation",
            "actor",
            "brings",
            "ready (h)",
            "distance (km)",
            "cost",
            "pinned",
        ],
    )
    for row in assignment.rows:
        phase = plan.phase(row.phase)
        mission = plan.mission(row.mission)
        kind = forces.kind_by_id[mission.kind]
        unit = forces.unit(row.unit)
        sheet.append(
            [
                phase.id,
                phase.situation,
                mission.id,
                mission.name,
                mission.kind,
                mission.activity or kind.activity_in(phase.situation),
                unit.id,
                unit.name,
                unit.nation,
                unit.actor,
                ", ".join(row.provides),
                round(row.time_h, 2),
                round(row.distance_km, 1),
                row.cost,
                "yes" if row.pinned else "",
            ]
        )
    missions = wb.create_sheet("Missions")
    header(
        missions,
        ["phase", "mission", "name", "kind", "needs", "ready within (h)", "latitude", "longitude", "units"],
    )
    for phase in plan.phases:
        for mission in phase.missions:
            lat, lon = _area(problem, mission.id)
            missions.append(
                [
                    phase.id,
                    mission.id,
                    mission.name,
                    mission.kind,
                    _needs_text(plan, mission.id),
                    mission.ready_within_h,
                    lat,
                    lon,
                    ", ".join(r.unit for r in assignment.units_of(mission.id)),
                ]
            )
    blocked = wb.create_sheet("Blocked")
    header(blocked, ["phase", "mission", "unit", "why", "reason", "missing approvals", "rules", "citations"])
    for b in problem.blocked:
        blocked.append(
            [
                b.phase,
                b.mission,
                b.unit,
                b.kind,
                b.message,
                ", ".join(b.missing),
                ", ".join(b.rule_ids),
                "; ".join(b.citations),
            ]
        )
    meta = wb.create_sheet("Plan")
    for key, value in (
        ("plan", plan.id),
        ("name", plan.name),
        ("forces", forces.id),
        ("D", plan.d_day.isoformat()),
        ("objective", f"{plan.objective.time:g} per hour to ready + {plan.objective.distance:g} per km"),
        ("solver", assignment.solver),
        ("optimal", "yes" if assignment.optimal else "no (time limit)"),
        ("objective value", assignment.objective),
        ("variables", assignment.variables),
        ("constraints", assignment.constraints),
    ):
        meta.append([key, value])
    from openpyxl.utils import get_column_letter

    for ws in wb.worksheets:
        for number, column in enumerate(ws.columns, start=1):
            width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
            ws.column_dimensions[get_column_letter(number)].width = min(60, max(8, width + 2))
    out = Path(path)
    wb.save(out)
    return out


def _area(problem: AssignmentProblem, mission_id: str) -> tuple[float, float]:
    from kizuna.planning.assign import mission_coordinates

    return mission_coordinates(problem.forces, problem.plan.mission(mission_id))


def assignment_geojson(problem: AssignmentProblem, assignment: Assignment) -> dict[str, Any]:
    """Return the assignment as a GeoJSON FeatureCollection (coordinates are longitude, latitude).

    Features: every unit at its site (`feature: unit`), every mission area (`feature: mission`), and a
    line from each assigned unit to its mission's area (`feature: assignment`).
    """
    plan, forces = problem.plan, problem.forces
    features: list[dict[str, Any]] = []
    tasks: dict[str, list[str]] = defaultdict(list)
    for row in assignment.rows:
        tasks[row.unit].append(row.mission)
    for unit in forces.units:
        site = forces.site_by_id[unit.site]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [site.longitude, site.latitude]},
                "properties": {
                    "feature": "unit",
                    "id": unit.id,
                    "name": unit.name,
                    "nation": unit.nation,
                    "actor": unit.actor,
                    "site": unit.site,
                    "capabilities": list(unit.capabilities),
                    "missions": tasks.get(unit.id, []),
                },
            }
        )
    for phase in plan.phases:
        for mission in phase.missions:
            lat, lon = _area(problem, mission.id)
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        "feature": "mission",
                        "id": mission.id,
                        "name": mission.name,
                        "phase": phase.id,
                        "situation": phase.situation,
                        "kind": mission.kind,
                        "needs": _needs_text(plan, mission.id),
                        "units": [r.unit for r in assignment.units_of(mission.id)],
                    },
                }
            )
    for row in assignment.rows:
        site = forces.site_of(row.unit)
        lat, lon = _area(problem, row.mission)
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[site.longitude, site.latitude], [lon, lat]],
                },
                "properties": {
                    "feature": "assignment",
                    "unit": row.unit,
                    "mission": row.mission,
                    "phase": row.phase,
                    "brings": list(row.provides),
                    "ready_h": round(row.time_h, 2),
                    "distance_km": round(row.distance_km, 1),
                },
            }
        )
    return {"type": "FeatureCollection", "name": f"{plan.id} assignment", "features": features}


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    """One decision point under one structure: how long, whether in time, and who held it up."""

    decision_point: str
    structure: str
    by: str
    p50_h: float | None
    p_in_time: float | None
    held_up_by: str | None
    held_up_h: float | None
    of_h: float | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class HoldUp:
    """Mean time each organization spends on a decision's critical path, from filing to the decision."""

    request: str
    structure: str
    lanes: int
    mean_h: float
    by_organization: dict[str, float]

    @property
    def worst(self) -> tuple[str, float] | None:
        """The organization with the most time on the path, and that time."""
        if not self.by_organization:
            return None
        org = max(self.by_organization, key=lambda o: self.by_organization[o])
        return org, self.by_organization[org]


def decision_holdups(
    inputs: Mapping[str, EngineInput], requests: Iterable[str], *, seed: int, replications: int
) -> dict[tuple[str, str], HoldUp]:
    """Attribute each request's time to decision to the organizations on its critical path.

    Runs the engine on the first block of each structure with the same random streams as
    `kizuna.sim.simulate_inputs` (so these are the main run's first replications, at most one block) and
    follows, in each replication, the critical predecessors back from the decision of the request's first
    filing: every step on that path adds its time from arrival (or from the filing, for a prerequisite's
    steps that were still running) to its end, queueing and duty waits included, to its organization.
    Link delays belong to no organization. Keys are (request, structure).
    """
    from kizuna.sim.engine import BLOCK, block_rng, simulate_block

    wanted = set(requests)
    out: dict[tuple[str, str], HoldUp] = {}
    for k, (sid, inp) in enumerate(inputs.items()):
        comp = inp.compiled
        n = min(replications, BLOCK)
        block = simulate_block(comp, block_rng(seed, k, 0), n)
        seen: set[str] = set()
        for i, instance in enumerate(inp.instances):
            request = inp.templates[instance.template].request
            if request not in wanted or request in seen:
                continue
            seen.add(request)
            out[(request, sid)] = _walk(comp, block, i, request, sid)
    return out


def _walk(comp: Any, block: Any, instance: int, request: str, structure: str) -> HoldUp:
    import numpy as np

    n = block.n
    release = block.release[instance]
    done = np.isfinite(block.end[comp.decision_visit[instance]]) & np.isfinite(release)
    lanes = np.flatnonzero(done)
    cur = np.full(lanes.size, int(comp.decision_visit[instance]), dtype=np.int64)
    per_station = np.zeros(len(comp.inp.stations))
    for _ in range(comp.visits + 1):
        if not lanes.size:
            break
        arrive = block.arrive[cur, lanes]
        end = block.end[cur, lanes]
        rel = release[lanes]
        spent = np.clip(end - np.maximum(arrive, rel), 0.0, None)
        per_station += np.bincount(comp.visit_station[cur], weights=spent, minlength=per_station.size)
        pred = block.crit_pred[cur, lanes].astype(np.int64)
        keep = (pred >= 0) & (end > rel)
        cur, lanes = pred[keep], lanes[keep]
    count = int(done.sum())
    decision = block.end[comp.decision_visit[instance]] - release
    mean = float(decision[done].mean()) if count else math.nan
    by_org = {
        comp.inp.stations[s].id: float(per_station[s] / count) for s in np.flatnonzero(per_station) if count
    }
    del n
    return HoldUp(request, structure, count, mean, by_org)


def decision_outcomes(
    plan: Plan, result: SimResult, holdups: Mapping[tuple[str, str], HoldUp] | None = None
) -> list[DecisionOutcome]:
    """Per decision point and structure: median time to decision, P(made by its deadline), the hold-up.

    The hold-up is the organization with the most mean time on the decision's critical path
    (`decision_holdups`), with that time and the mean time to the decision in the same replications.
    """
    out: list[DecisionOutcome] = []
    for dp in plan.decision_points:
        for sid, sres in result.structures.items():
            stats = sres.requests.get(dp.id)
            if stats is None:
                out.append(
                    DecisionOutcome(
                        dp.id,
                        sid,
                        format_d_time(dp.by),
                        None,
                        None,
                        None,
                        None,
                        None,
                        note="not simulated (prohibited)",
                    )
                )
                continue
            hold = (holdups or {}).get((dp.id, sid))
            worst = hold.worst if hold is not None else None
            out.append(
                DecisionOutcome(
                    decision_point=dp.id,
                    structure=sid,
                    by=format_d_time(dp.by),
                    p50_h=_finite(stats.decision.p50_h),
                    p_in_time=_finite(stats.p_deadline),
                    held_up_by=worst[0] if worst else None,
                    held_up_h=worst[1] if worst else None,
                    of_h=hold.mean_h if hold is not None else None,
                )
            )
    return out


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def decision_table(outcomes: list[DecisionOutcome]) -> Table:
    """Render decision outcomes: a row per decision point (with its deadline), then one per structure.

    Ids are never cut; the table fits 80 columns for the bundled plan's ids.
    """
    from rich import box
    from rich.table import Table

    table = Table(
        title="Decision points: made in time, and who holds them up",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("decision point / structure", no_wrap=True)
    table.add_column("p50", justify="right", no_wrap=True)
    table.add_column("in time", justify="right", no_wrap=True)
    table.add_column("held up by (mean h/mean h)", no_wrap=True)
    current = None
    for o in outcomes:
        if o.decision_point != current:
            table.add_row(f"[bold]{escape(o.decision_point)}[/bold]", "", f"by {o.by}", "")
            current = o.decision_point
        if o.note:
            table.add_row(f"  {escape(o.structure)}", "", "", f"[red]{escape(o.note)}[/red]")
            continue
        held = ""
        if o.held_up_by is not None and o.held_up_h is not None and o.of_h is not None:
            held = f"{escape(o.held_up_by)} {o.held_up_h:.0f}/{o.of_h:.0f} h"
        p50 = f"{o.p50_h:.1f} h" if o.p50_h is not None else "—"
        p = f"{100 * o.p_in_time:.0f}%" if o.p_in_time is not None else "—"
        table.add_row(f"  {escape(o.structure)}", p50, p, held)
    return table
