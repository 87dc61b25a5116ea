"""The structure explorer: organizations and relations as an interactive chart (pan, zoom, filter by
nation and relation kind), the chain of command of an organization, the coordination route between two
with the time zone at each hop, and two eras compared with what changed highlighted."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from kizuna.errors import UnknownId
from kizuna.model import RelationKind, Structure, bundled_ids
from kizuna.model.diff import ChangeKind, diff
from kizuna.model.queries import (
    chain_of_command,
    coordination_route,
    format_offset,
    operational_commander,
    subordinates,
)
from kizuna.service.dependencies import RuntimeDep
from kizuna.web.render import TEMPLATES, page
from kizuna.web.session import Viewer, ViewerDep
from kizuna.web.views import crises

router = APIRouter(include_in_schema=False)

#: Pixels per unit of the org chart's layout (`kizuna.report.orgchart`, boxes of 1.55 x 0.62 units),
#: so the chart's 150 x 46 pixel nodes keep the printed chart's proportions and gaps.
SCALE_X, SCALE_Y = 112.0, 96.0


def _structure(runtime: Any, structure_id: str) -> Structure:
    if structure_id not in bundled_ids():
        raise UnknownId("structure", structure_id, bundled_ids())
    structure: Structure = runtime.coordinator.law.structure(structure_id)
    return structure


@router.get("/structures")
def structures_home(runtime: RuntimeDep, who: ViewerDep) -> Response:
    """Go to the structure of the user's newest crisis (else the first bundled one)."""
    visible = crises(who.user, runtime.coordinator.snapshot())
    target = visible[-1].structure if visible else bundled_ids()[0]
    return RedirectResponse(f"/structures/{target}", status_code=303)


@router.get("/structures/{structure_id}", response_class=HTMLResponse)
def structure_page(
    structure_id: str,
    request: Request,
    runtime: RuntimeDep,
    who: ViewerDep,
    compare: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """Render the explorer of one structure (optionally compared with another era)."""
    structure = _structure(runtime, structure_id)
    changes = None
    if compare:
        other = _structure(runtime, compare)
        changes = diff(other, structure)
    return page(
        request,
        runtime,
        who,
        "structure.html",
        title=structure.name,
        structure=structure,
        s=structure,
        ids=bundled_ids(),
        compare=compare,
        changes=changes,
        relation_kinds=[k.value for k in RelationKind],
    )


def graph_data(structure: Structure, who: Viewer, compare: Structure | None) -> dict[str, Any]:
    """Return the chart's nodes and edges with positions from the org chart's layout."""
    from kizuna.report.orgchart import chart_layout  # the report package loads on first use only

    t = who.t
    layout = chart_layout(structure)
    added: set[str] = set()
    changed: set[str] = set()
    new_relations: set[str] = set()
    if compare is not None:
        for change in diff(compare, structure).changes:
            if change.section == "organizations":
                (added if change.change is ChangeKind.ADDED else changed).add(change.key)
            elif change.section == "relations" and change.change is not ChangeKind.REMOVED:
                new_relations.add(change.key)
    nodes = []
    for org in structure.organizations:
        box = layout.boxes[org.id]
        nation = structure.nation_by_id.get(org.nation)
        site = structure.site_of(org.id)
        classes = [f"kind-{org.kind.value}", f"nation-{nation.code if nation else 'bilateral'}"]
        if org.id in added:
            classes.append("added")
        elif org.id in changed:
            classes.append("changed")
        nodes.append(
            {
                "data": {
                    "id": org.id,
                    "label": t.name(org) + (f"\n{t.name(site)}" if site else ""),
                    "nation": nation.code if nation else "bilateral",
                },
                "position": {"x": box.x * SCALE_X, "y": -box.y * SCALE_Y},
                "classes": " ".join(classes),
            }
        )
    edges = [
        {
            "data": {"id": r.key, "source": r.from_, "target": r.to, "kind": r.kind.value},
            "classes": f"rel-{r.kind.value}" + (" added" if r.key in new_relations else ""),
        }
        for r in structure.relations
    ]
    return {"nodes": nodes, "edges": edges}


@router.get("/structures/{structure_id}/graph.json")
def structure_graph(
    structure_id: str,
    runtime: RuntimeDep,
    who: ViewerDep,
    compare: Annotated[str | None, Query(max_length=100)] = None,
) -> JSONResponse:
    """Return the chart's elements (cytoscape's JSON format)."""
    structure = _structure(runtime, structure_id)
    other = _structure(runtime, compare) if compare else None
    return JSONResponse(graph_data(structure, who, other))


@router.get("/structures/{structure_id}/orgs/{org_id}", response_class=HTMLResponse)
def organization_panel(
    structure_id: str, org_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep
) -> HTMLResponse:
    """Return the panel of one organization: where it sits, its chain of command and its subordinates."""
    structure = _structure(runtime, structure_id)
    org = structure.org(org_id)
    return TEMPLATES.TemplateResponse(
        request,
        "partials/organization.html",
        {
            "t": who.t,
            "s": structure,
            "org": org,
            "site": structure.site_of(org_id),
            "chain": chain_of_command(structure, org_id),
            "commander": operational_commander(structure, org_id),
            "subordinates": subordinates(structure, org_id),
            "now": runtime.clock(),
            "zone": who.zone(structure),
        },
    )


@router.get("/structures/{structure_id}/route", response_class=HTMLResponse)
def route_panel(
    *,
    structure_id: str,
    request: Request,
    runtime: RuntimeDep,
    who: ViewerDep,
    a: Annotated[str, Query(max_length=100)],
    b: Annotated[str, Query(max_length=100)],
) -> HTMLResponse:
    """Return the coordination route between two organizations, with the time zone at each hop."""
    structure = _structure(runtime, structure_id)
    route = coordination_route(structure, a, b, at=runtime.clock())
    return TEMPLATES.TemplateResponse(
        request,
        "partials/route.html",
        {"t": who.t, "s": structure, "route": route, "format_offset": format_offset, "now": runtime.clock()},
    )
