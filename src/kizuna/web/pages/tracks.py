"""The tracks layer of the crisis overview: the reader's own fused picture on the map, and one track's
detail with the contributions the reader may see.

Both read the picture exactly as the API's `/api/crises/{crisis}/tracks` does
(`kizuna.service.routers.intel_tracks.released_picture`): the picture fused for the reader's audience
(their nation at their clearance), each track passed through the egress filter once more. Nothing here
chooses an audience, so no page can carry an estimate fused from an input its reader may not see.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from kizuna.access import Marking, User
from kizuna.errors import NotFound
from kizuna.intel import FusedTrack, IntelDesk, Picture
from kizuna.interop.symbols import sidc_of
from kizuna.interop.tracks import track_type
from kizuna.service.dependencies import RuntimeDep
from kizuna.service.intel import IntelDep
from kizuna.service.routers.intel_tracks import released_picture
from kizuna.service.threads import in_thread
from kizuna.web import clock, markings, views
from kizuna.web.i18n import Translator
from kizuna.web.render import TEMPLATES, page_banner
from kizuna.web.session import ViewerDep

router = APIRouter(include_in_schema=False)

#: 2525B standard identity of each CoT affiliation in an exercise: friend D, unknown W, neutral L,
#: assumed friend M, pending G; a hostile in an exercise is a faker (K), a suspect a joker (J).
EXERCISE_IDENTITY = {"F": "D", "U": "W", "N": "L", "A": "M", "P": "G", "H": "K", "S": "J"}
#: How many metres a knot is per second.
KNOT_M_S = 1852 / 3600


def track_sidc(track: FusedTrack) -> str:
    """Return the 2525B code milsymbol draws for a track: from its CoT type, in the exercise context."""
    sidc = sidc_of(track_type(track)) or "SUZP-----------"  # an atom type always gives one
    if track.exercise:
        sidc = sidc[0] + EXERCISE_IDENTITY.get(sidc[1], sidc[1]) + sidc[2:]
    return sidc


def affiliation(track: FusedTrack) -> str:
    """Return the CoT affiliation letter of a track (`f`, `h`, `n`, `u`, ...)."""
    parts = track_type(track).split("-")
    return parts[1] if len(parts) > 1 else "u"


def reader_picture(request: Request, user: User, crisis_id: str) -> Picture:
    """Return the reader's own picture of a crisis, filtered at the egress (the API's function)."""
    desk: IntelDesk = request.app.state.intel
    return released_picture(desk, user, crisis_id, None)


def track_markings(request: Request, user: User, crisis_id: str) -> list[Marking]:
    """Return the markings of the tracks the crisis page shows the reader (for its banner)."""
    return [t.marking for t in reader_picture(request, user, crisis_id).tracks]


def layer(picture: Picture, t: Translator, nation: str) -> list[dict[str, Any]]:
    """Return the map's track layer: symbol, position, trail and portion mark of each track."""
    out = []
    for track in picture.tracks:
        cot = track_type(track)
        out.append(
            {
                "id": track.id,
                "lat": track.lat,
                "lon": track.lon,
                "sidc": track_sidc(track),
                "type": cot,
                "affiliation": affiliation(track),
                "label": t(f"track.affiliation.{affiliation(track)}"),
                "speed_kn": round(track.speed_m_s / KNOT_M_S),
                "course": round(track.course_deg),
                "alt_m": round(track.alt_m),
                "portion": markings.portion(track.marking),
                "banner": track.marking.banner(nation),
                "level": markings.level_class(track.marking),
                "trail": [[p.lat, p.lon] for p in track.trail],
            }
        )
    return out


@router.get("/crises/{crisis_id}/tracks.json")
async def tracks_layer(crisis_id: str, request: Request, runtime: RuntimeDep, who: ViewerDep) -> JSONResponse:
    """Return the reader's tracks for the map, and the page banner that covers them."""
    picture = await in_thread(reader_picture, request, who.user, crisis_id)
    data = views.overview(
        who.user, runtime.coordinator.snapshot(), crisis_id, law=runtime.coordinator.law, now=runtime.clock()
    )
    shown = [*data.markings, *(t.marking for t in picture.tracks)]
    text, level = page_banner(runtime, who, shown)
    t = who.t
    body = {
        "version": picture.version,
        "audience": picture.audience.key,
        "tracks": layer(picture, t, who.user.nation),
        "banner": text,
        "banner_class": level,
        "labels": {"count": t("track.count", count=len(picture.tracks), audience=picture.audience.key)},
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/crises/{crisis_id}/tracks/{track_id}", response_class=HTMLResponse)
async def track_detail(  # noqa: PLR0917 - FastAPI passes route parameters by name
    crisis_id: str, track_id: str, request: Request, runtime: RuntimeDep, desk: IntelDep, who: ViewerDep
) -> HTMLResponse:
    """Return a track's detail (a fragment for the map's panel): state, error, contributions."""
    picture = await in_thread(reader_picture, request, who.user, crisis_id)
    track = next((x for x in picture.tracks if x.id == track_id), None)
    if track is None:
        raise NotFound(f"no track {track_id!r}")
    contributions = []
    for c in track.contributions:
        try:
            sensor = desk.sensor(who.user, c.sensor)
        except NotFound:  # cannot happen for the reader's own audience; never shown if it did
            continue
        contributions.append((c, sensor.marking_at(track.updated_at)))
    t = who.t
    crisis = runtime.coordinator.crisis(who.user, crisis_id)
    zone = who.zone(runtime.coordinator.law.structure(crisis.structure))
    here = clock.local(track.updated_at, zone)
    return TEMPLATES.TemplateResponse(
        request,
        "partials/track.html",
        {
            "t": t,
            "user": who.user,
            "track": track,
            "sidc": track_sidc(track),
            "cot": track_type(track),
            "affiliation": affiliation(track),
            "speed_kn": track.speed_m_s / KNOT_M_S,
            "contributions": contributions,
            "audience": picture.audience.key,
            "updated": f"{here:%Y-%m-%d %H:%M:%S} {here.tzname()}",
        },
        headers={"Cache-Control": "no-store"},
    )
