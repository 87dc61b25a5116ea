"""Exports of a crisis: everything the user may see, as JSON or as GeoJSON points at the sites.

An export is a derived object: it carries the most restrictive marking of what it contains (and is
exercise traffic if any part is), computed after the egress filter, so it never claims less than its
contents nor includes what the user may not see.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from kizuna.access import Feed, Marking, User, combine
from kizuna.coordination import CrisisState, LiveView, SitrepState, TaskingState
from kizuna.model import Structure
from kizuna.service.dependencies import CoordinatorDep, CurrentUser, RuntimeDep
from kizuna.service.egress import release, release_one, release_to_feed
from kizuna.service.errors import responses
from kizuna.service.params import PathId
from kizuna.service.schemas import RequestView

router = APIRouter(prefix="/api/exports", tags=["exports"])


class CrisisExport(BaseModel):
    """A crisis and everything in it the user may see, under the export's combined marking."""

    marking: Marking
    banner: str
    crisis: CrisisState
    requests: list[RequestView]
    taskings: list[TaskingState]
    sitreps: list[SitrepState]


def _collect(user: User, view: LiveView, crisis_id: PathId, feed: Feed) -> CrisisExport:
    crisis = release_one(user, view.crises.get(crisis_id), "crisis", crisis_id)
    requests = release(
        user, sorted((r for r in view.requests.values() if r.crisis == crisis_id), key=lambda r: r.filed_at)
    )
    taskings = release(
        user, sorted((t for t in view.taskings.values() if t.crisis == crisis_id), key=lambda t: t.issued_at)
    )
    sitreps = release(
        user, sorted((s for s in view.sitreps.values() if s.crisis == crisis_id), key=lambda s: s.filed_at)
    )
    parts = [crisis.marking, *(r.marking for r in requests), *(t.marking for t in taskings)]
    marking = combine(*parts, *(s.marking for s in sitreps))
    export = CrisisExport(
        marking=marking,
        banner=marking.banner(user.nation),
        crisis=crisis,
        requests=[RequestView.of(r) for r in requests],
        taskings=taskings,
        sitreps=sitreps,
    )
    release_to_feed(feed, [export], f"the export of crisis {crisis_id!r}")
    return export


@router.get("/crises/{crisis_id}.json", responses=responses(401, 403, 404))
async def export_json(
    crisis_id: PathId, user: CurrentUser, coordinator: CoordinatorDep, runtime: RuntimeDep
) -> CrisisExport:
    """Export a crisis with its requests, taskings and reports, as far as the user may see them."""
    return _collect(user, coordinator.snapshot(), crisis_id, _feed(runtime.settings.real_egress))


def _feed(real: bool) -> Feed:
    """The kind of egress exports are: real when the server is configured so (exercise traffic refused)."""
    return Feed.REAL if real else Feed.EXERCISE


def _point(structure: Structure, org: str | None) -> list[float] | None:
    if org is None or org not in structure.org_by_id:
        return None
    site = structure.site_of(org)
    return None if site is None else [site.longitude, site.latitude]


@router.get(
    "/crises/{crisis_id}.geojson",
    response_class=JSONResponse,
    responses={
        200: {"description": "A GeoJSON FeatureCollection", "content": {"application/geo+json": {}}},
        **responses(401, 403, 404),
    },
)
async def export_geojson(
    crisis_id: PathId, user: CurrentUser, coordinator: CoordinatorDep, runtime: RuntimeDep
) -> JSONResponse:
    """Export a crisis's requests and taskings as GeoJSON points at their organizations' sites."""
    export = _collect(user, coordinator.snapshot(), crisis_id, _feed(runtime.settings.real_egress))
    structure = coordinator.law.structure(export.crisis.structure)
    features: list[dict[str, Any]] = []
    for view in export.requests:
        request = view.request
        org = request.spec.executor if _point(structure, request.spec.executor) else request.spec.requester
        where = _point(structure, org)
        if where is not None:
            feature = _feature(
                where, "request", request.id, status=request.status.value, marking=request.marking, user=user
            )
            feature["properties"] |= _names(structure, org, request.spec.name or request.id)
            features.append(feature)
    for tasking in export.taskings:
        where = _point(structure, tasking.unit)
        if where is not None:
            feature = _feature(
                where, "tasking", tasking.id, status=tasking.status.value, marking=tasking.marking, user=user
            )
            feature["properties"] |= _names(structure, tasking.unit, tasking.task)
            features.append(feature)
    body = {
        "type": "FeatureCollection",
        "features": features,
        "properties": {"crisis": crisis_id, "marking": export.marking.to_json(), "banner": export.banner},
    }
    return JSONResponse(body, media_type="application/geo+json")


def _names(structure: Structure, org: str | None, name: str) -> dict[str, Any]:
    """Names beside the ids: the object's own, and its organization's and site's (a map shows names)."""
    found = structure.org_by_id.get(org) if org else None
    site = structure.site_of(org) if found is not None and org else None
    return {
        "name": name,
        "organization": org,
        "organization_name": found.name if found else None,
        "organization_name_ja": found.name_ja if found else None,
        "site_name": site.name if site else None,
    }


def _feature(
    where: list[float], kind: str, object_id: str, *, status: str, marking: Marking, user: User
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": where},
        "properties": {
            "kind": kind,
            "id": object_id,
            "status": status,
            "marking": marking.to_json(),
            "banner": marking.banner(user.nation),
            "exercise": marking.exercise,
        },
    }
