"""The crisis overview (the common operating picture): map, designation banner, timeline, request board,
my queue, taskings and situation reports; and the forms that file requests, reports and taskings."""

from __future__ import annotations

import math
from functools import partial
from statistics import median
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from kizuna.coordination import TaskingStatus
from kizuna.errors import InvalidQuery, KizunaError
from kizuna.model import Structure
from kizuna.service.dependencies import RuntimeDep
from kizuna.service.egress import release_one
from kizuna.web import views
from kizuna.web.clock import offset_hours
from kizuna.web.forms import answer, levels_for, marking_of, text
from kizuna.web.i18n import Translator
from kizuna.web.pages import tracks
from kizuna.web.render import page
from kizuna.web.session import CheckedForm, ViewerDep

router = APIRouter(include_in_schema=False)

#: Sites farther than this from the theatre's middle are listed beside the map, not fitted into it.
THEATRE_KM = 2_500.0
#: The symbol of a site that hosts no organization of the structure: a land installation (2525D
#: symbol set 20, entity 110000 military), friend, reality.
INSTALLATION_SIDC = "10032000001100000000"


@router.get("/crises/{crisis_id}", response_class=HTMLResponse)
def crisis_page(crisis_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """Render the crisis overview."""
    law = runtime.coordinator.law
    now = runtime.clock()
    data = views.overview(who.user, runtime.coordinator.snapshot(), crisis_id, law=law, now=now)
    frameworks = law.frameworks
    in_force = law.in_force(data.crisis)
    return page(
        request,
        runtime,
        who,
        "crisis.html",
        in_force=[in_force] if isinstance(in_force, str) else list(in_force),
        title=data.crisis.name,
        shown=[*data.markings, *tracks.track_markings(request, who.user, crisis_id)],
        structure=data.structure,
        o=data,
        frameworks=frameworks,
        levels=levels_for(who.user),
        nations=data.structure.nations,
        units=views.taskable_units(who.user, data.structure),
        decided=[r for r in data.requests if r.status.value in {"decided", "executed"}],
        can_write=who.user.role.can_write,
    )


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def short_name(name: str) -> str:
    """Return a site's name without its place and parenthesis, for a map label (the popup has all)."""
    return name.split(" (", maxsplit=1)[0].split("（", maxsplit=1)[0].split(", ", maxsplit=1)[0]


def map_data(
    structure: Structure, t: Translator, *, exercise: bool, acting: set[str], zone: str, now: Any
) -> dict[str, Any]:
    """Return the map's layers: every site with the symbols of the organizations there, labelled."""
    hosted: dict[str, list[dict[str, Any]]] = {s.id: [] for s in structure.sites}
    for org in structure.organizations:
        if org.site is None or org.site not in hosted:
            continue
        sidc = org.symbol.sidc if org.symbol else INSTALLATION_SIDC
        if exercise:
            sidc = sidc[:2] + "1" + sidc[3:]  # context: exercise
        nation = structure.nation_by_id.get(org.nation)
        hosted[org.site].append(
            {
                "id": org.id,
                "name": t.name(org),
                "sidc": sidc,
                "nation": nation.code if nation else "bilateral",
                "kind": org.kind.value,
                "acting": org.id in acting,
            }
        )
    middle = (median(s.latitude for s in structure.sites), median(s.longitude for s in structure.sites))
    sites = []
    for site in structure.sites:
        orgs = hosted[site.id]
        if not orgs:
            sidc = INSTALLATION_SIDC[:2] + ("1" if exercise else "0") + INSTALLATION_SIDC[3:]
            orgs = [
                {
                    "id": None,
                    "name": t("map.installation"),
                    "sidc": sidc,
                    "nation": "",
                    "kind": "site",
                    "acting": False,
                }
            ]
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
                "theatre": _km(middle, (site.latitude, site.longitude)) <= THEATRE_KM,
                "orgs": orgs,
            }
        )
    return {"sites": sites, "labels": {"elsewhere": t("map.elsewhere"), "local": t("map.local-time")}}


@router.get("/crises/{crisis_id}/map.json")
def crisis_map(crisis_id: str, runtime: RuntimeDep, who: ViewerDep) -> JSONResponse:
    """Return the map layers of a crisis's structure, with the organizations that must act now marked."""
    view = runtime.coordinator.snapshot()
    crisis = release_one(who.user, view.crises.get(crisis_id), "crisis", crisis_id)
    structure = runtime.coordinator.law.structure(crisis.structure)
    data = views.overview(who.user, view, crisis_id, law=runtime.coordinator.law, now=runtime.clock())
    acting = {org for c in data.cards for org in c.acting_orgs}
    body = map_data(
        structure,
        who.t,
        exercise=crisis.exercise,
        acting=acting,
        zone=who.zone(structure),
        now=runtime.clock(),
    )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/crises/{crisis_id}/requests")
async def file_request(
    crisis_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep, form: CheckedForm
) -> Response:
    """File a request for the user's organization: an act, or the designation of a situation."""
    t = who.t
    try:
        spec: dict[str, Any] = {"name": text(form, "name", limit=200)}
        designates = text(form, "designates")
        if designates:
            spec["designates"] = designates
        else:
            for field in ("actor", "activity", "executor", "supported", "location"):
                value = text(form, field)
                if value:
                    spec[field] = value
            flags = [f for f in form.getlist("flags") if isinstance(f, str) and f]
            if flags:
                spec["flags"] = flags
        deadline = text(form, "deadline_h")
        if deadline:
            try:
                spec["deadline_h"] = float(deadline)
            except ValueError as error:
                raise InvalidQuery(f"deadline_h: {deadline!r} is not a number of hours") from error
        note = text(form, "note")
        if note:
            spec["note"] = note
        marking = marking_of(form, who.user)
        state = await runtime.commands.run(
            partial(runtime.coordinator.file_request, who.user, crisis_id, spec=spec, marking=marking)
        )
    except KizunaError as error:
        return answer(request, who, error=error, fallback=f"/crises/{crisis_id}")
    return answer(
        request,
        who,
        ok=t("result.filed", id=state.id),
        fallback=f"/crises/{crisis_id}",
        link=f"/requests/{state.id}",
    )


@router.post("/crises/{crisis_id}/sitreps")
async def file_sitrep(
    crisis_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep, form: CheckedForm
) -> Response:
    """File a situation report."""
    try:
        refs = [r for r in form.getlist("refs") if isinstance(r, str) and r]
        await runtime.commands.run(
            partial(
                runtime.coordinator.file_sitrep,
                who.user,
                crisis_id,
                title=text(form, "title", limit=200),
                text=text(form, "text", limit=20_000),
                marking=marking_of(form, who.user),
                refs=refs,
            )
        )
    except KizunaError as error:
        return answer(request, who, error=error, fallback=f"/crises/{crisis_id}")
    return answer(request, who, ok=who.t("result.sitrep-filed"), fallback=f"/crises/{crisis_id}")


@router.post("/crises/{crisis_id}/taskings")
async def issue_tasking(
    crisis_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep, form: CheckedForm
) -> Response:
    """Task a unit the user's organization commands."""
    try:
        await runtime.commands.run(
            partial(
                runtime.coordinator.issue_tasking,
                who.user,
                crisis_id,
                unit=text(form, "unit"),
                task=text(form, "task"),
                marking=marking_of(form, who.user),
                request_id=text(form, "request") or None,
            )
        )
    except KizunaError as error:
        return answer(request, who, error=error, fallback=f"/crises/{crisis_id}")
    return answer(request, who, ok=who.t("result.tasked"), fallback=f"/crises/{crisis_id}")


@router.post("/taskings/{tasking_id}/status")
async def move_tasking(
    tasking_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep, form: CheckedForm
) -> Response:
    """Acknowledge or complete a tasking (its unit), or cancel it (its issuer)."""
    try:
        try:
            status = TaskingStatus(text(form, "status"))
        except ValueError as error:
            raise InvalidQuery(f"unknown tasking status {text(form, 'status')!r}") from error
        await runtime.commands.run(
            partial(runtime.coordinator.update_tasking, who.user, tasking_id, status, note=text(form, "note"))
        )
    except KizunaError as error:
        return answer(request, who, error=error, fallback="/")
    return answer(request, who, ok=who.t(f"result.tasking-{status.value}"), fallback="/")
