"""Fused tracks: your audience's picture of a crisis, one track's detail, GeoJSON, KML and a live stream.

Every answer is the picture fused for the reader's audience (their nation at their clearance, or a
wider audience they belong to, `?audience=USA,JPN@secret`), so it holds nothing fused from an input the
reader may not see; the egress filter then checks each track's marking once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from kizuna.access import User
from kizuna.errors import NotFound
from kizuna.intel import Audience, FusedTrack, IntelDesk, Picture
from kizuna.interop.tracks import picture_geojson, picture_kml
from kizuna.service.dependencies import CoordinatorDep, CurrentUser
from kizuna.service.egress import release
from kizuna.service.errors import responses
from kizuna.service.intel import IntelDep
from kizuna.service.threads import in_thread

router = APIRouter(tags=["intel: tracks"])

AudienceQuery = Annotated[
    str | None,
    Query(
        max_length=100,
        description="A wider audience you belong to, e.g. USA,JPN@secret (default: your nation).",
    ),
]


def released_picture(desk: IntelDesk, user: User, crisis_id: str, audience: str | None) -> Picture:
    """Return the reader's picture with each track passed through the egress filter."""
    picture = desk.picture(user, crisis_id, Audience.parse(audience) if audience else None)
    return picture.model_copy(update={"tracks": tuple(release(user, picture.tracks))})


@router.get("/api/crises/{crisis_id}/tracks", responses=responses(401, 403, 404, 422))
async def get_picture(
    crisis_id: str, user: CurrentUser, desk: IntelDep, audience: AudienceQuery = None
) -> Picture:
    """Return the fused picture of a crisis: confirmed tracks with trails and contributions."""
    return await in_thread(released_picture, desk, user, crisis_id, audience)


@router.get(
    "/api/exports/crises/{crisis_id}/tracks.geojson",
    response_class=JSONResponse,
    responses={200: {"content": {"application/geo+json": {}}}, **responses(401, 403, 404, 422)},
)
async def export_geojson(
    crisis_id: str,
    user: CurrentUser,
    desk: IntelDep,
    coordinator: CoordinatorDep,
    audience: AudienceQuery = None,
) -> JSONResponse:
    """Export the picture as GeoJSON: tracks (with 2525B codes), trails and the structure's sites."""
    picture = await in_thread(released_picture, desk, user, crisis_id, audience)
    structure = coordinator.law.structure(coordinator.crisis(user, crisis_id).structure)
    body = picture_geojson(picture, nation=user.nation, structure=structure)
    return JSONResponse(body, media_type="application/geo+json")


@router.get(
    "/api/exports/crises/{crisis_id}/tracks.kml",
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.google-earth.kml+xml": {}}},
        **responses(401, 403, 404, 422),
    },
)
async def export_kml(
    crisis_id: str,
    user: CurrentUser,
    desk: IntelDep,
    coordinator: CoordinatorDep,
    audience: AudienceQuery = None,
) -> Response:
    """Export the picture as KML: tracks with trails, and the structure's sites."""
    picture = await in_thread(released_picture, desk, user, crisis_id, audience)
    structure = coordinator.law.structure(coordinator.crisis(user, crisis_id).structure)
    return Response(
        picture_kml(picture, nation=user.nation, structure=structure),
        media_type="application/vnd.google-earth.kml+xml",
    )


class PictureStream(StreamingResponse):
    """A `text/event-stream` of pictures."""

    media_type = "text/event-stream"


@router.get(
    "/api/crises/{crisis_id}/tracks/stream",
    responses={
        200: {
            "description": "Server-Sent Events: `id` is the picture's version, `data` the Picture",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **responses(401, 403, 404, 422),
    },
)
async def stream_picture(  # noqa: PLR0917 - FastAPI passes route parameters by name
    crisis_id: str,
    user: CurrentUser,
    desk: IntelDep,
    audience: AudienceQuery = None,
    max_events: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    timeout_s: Annotated[float | None, Query(gt=0, le=86_400)] = None,
) -> PictureStream:
    """Stream the picture: the current one first, then each time a scan you may see changed it."""
    chosen = Audience.parse(audience) if audience else None
    first = await in_thread(released_picture, desk, user, crisis_id, audience)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Picture] = asyncio.Queue(maxsize=100)

    def deliver(picture: Picture) -> None:
        def put() -> None:
            if queue.full():
                queue.get_nowait()  # a slow reader gets the newest picture, not a backlog
            queue.put_nowait(picture)

        loop.call_soon_threadsafe(put)

    remove = desk.subscribe(user, crisis_id, deliver, chosen)

    async def frames() -> AsyncIterator[bytes]:
        deadline = None if timeout_s is None else loop.time() + timeout_s
        sent = 0
        picture = first
        try:
            while True:
                shown = picture.model_copy(update={"tracks": tuple(release(user, picture.tracks))})
                yield f"id: {shown.version}\nevent: picture\ndata: {shown.model_dump_json()}\n\n".encode()
                sent += 1
                if max_events is not None and sent >= max_events:
                    return
                while True:
                    wait = 15.0 if deadline is None else min(15.0, deadline - loop.time())
                    if wait <= 0:
                        return
                    try:
                        async with asyncio.timeout(wait):
                            picture = await queue.get()
                        break
                    except TimeoutError:
                        yield b": keep-alive\n\n"
        finally:
            remove()

    return PictureStream(frames(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/api/crises/{crisis_id}/tracks/{track_id}", responses=responses(401, 403, 404, 422))
async def get_track(
    crisis_id: str, track_id: str, user: CurrentUser, desk: IntelDep, audience: AudienceQuery = None
) -> FusedTrack:
    """Return one track: position, velocity, error, trail and the sensors that contributed."""
    picture = await in_thread(released_picture, desk, user, crisis_id, audience)
    for track in picture.tracks:
        if track.id == track_id:
            return track
    raise NotFound(f"no track {track_id!r}")
