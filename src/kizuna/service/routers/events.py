"""The event log as the user may see it: a page of past events, and a Server-Sent Events stream.

The stream starts after `after` (or the `Last-Event-ID` the browser resends on reconnection), replays
what the user may see from the log, then follows new events as they are applied; each message's `id`
is the event's sequence number in the log, so a reconnecting client misses nothing and sees nothing
twice. Every message is filtered at the egress like every other answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from kizuna.access import User
from kizuna.coordination import COORDINATION_EVENT_TYPES, Recorded, event_from_data, event_to_data
from kizuna.service.dependencies import CurrentUser, RuntimeDep
from kizuna.service.egress import releasable
from kizuna.service.errors import responses
from kizuna.service.hub import Message
from kizuna.service.runtime import Runtime
from kizuna.service.schemas import EventOut

router = APIRouter(prefix="/api/events", tags=["events"])

#: Most events one page of the log returns.
MAX_PAGE = 1000
#: Largest sequence number a client may name (the largest integer JSON clients hold exactly).
MAX_SEQ = 2**53


def released_since(runtime: Runtime, user: User, after: int, limit: int) -> list[Recorded]:
    """Return up to `limit` events after `after` that the user may see, read from the log."""
    out: list[Recorded] = []
    for stored in runtime.store.iter_all(after):
        if stored.type not in COORDINATION_EVENT_TYPES:
            continue  # intelligence events have their own routes (/api/intel/...)
        event = event_from_data(dict(stored.payload))
        if releasable(user, event.marking):
            out.append(Recorded(seq=stored.seq, event=event))
            if len(out) >= limit:
                break
    return out


def _out(recorded: Recorded) -> EventOut:
    return EventOut(seq=recorded.seq, type=recorded.event.type, event=event_to_data(recorded.event))


@router.get("", responses=responses(401, 422))
def list_events(
    user: CurrentUser,
    runtime: RuntimeDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_SEQ, description="Return events after this sequence number.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[EventOut]:
    """Return a page of the events the user may see, oldest first."""
    return [_out(r) for r in released_since(runtime, user, after, limit)]


class EventStream(StreamingResponse):
    """A `text/event-stream` response of pre-encoded Server-Sent Events frames."""

    media_type = "text/event-stream"


#: Seconds of silence after which the stream sends a comment, so proxies keep the connection open.
KEEPALIVE_S = 15.0
_KEEPALIVE = b": keep-alive\n\n"


@router.get(
    "/stream",
    response_class=EventStream,
    responses={
        200: {
            "description": "Server-Sent Events: `id` (sequence number), `event` (type), `data` (EventOut)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **responses(401, 422),
    },
)
async def stream(
    *,
    user: CurrentUser,
    runtime: RuntimeDep,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_SEQ, description="Start after this sequence number (default: from now)."),
    ] = None,
    max_events: Annotated[int | None, Query(ge=1, le=100_000, description="End after this many.")] = None,
    timeout_s: Annotated[
        float | None, Query(gt=0, le=86_400, description="End after this many seconds.")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> EventStream:
    """Stream the events the user may see as Server-Sent Events (`id` is the log sequence number)."""
    start = after
    if start is None and last_event_id is not None and last_event_id.isdigit() and len(last_event_id) < 16:
        start = int(last_event_id)
    if start is None:
        start = runtime.coordinator.view.last_seq
    return EventStream(
        _frames(runtime, user, start=start, max_events=max_events, timeout_s=timeout_s),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(
    runtime: Runtime, user: User, *, start: int, max_events: int | None, timeout_s: float | None
) -> AsyncIterator[bytes]:
    """Yield the backlog after `start`, then live frames, each released to `user` at the egress."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    remaining = max_events if max_events is not None else -1
    async with runtime.hub.subscribe(user) as subscriber:
        sent = start
        backlog = await run_in_threadpool(
            released_since, runtime, user, start, remaining if remaining > 0 else 10**9
        )
        for recorded in backlog:
            yield Message.of(recorded).frame
            sent, remaining = recorded.seq, remaining - 1
            if remaining == 0:
                return
        while remaining != 0:
            wait = KEEPALIVE_S if deadline is None else min(KEEPALIVE_S, deadline - loop.time())
            if wait <= 0:
                return
            try:
                async with asyncio.timeout(wait):
                    message = await subscriber.queue.get()
            except TimeoutError:
                yield _KEEPALIVE
                continue
            if message.seq > sent:
                yield message.frame
                sent, remaining = message.seq, remaining - 1
            if subscriber.lagging and subscriber.queue.empty():
                return  # cut off for falling behind: the client resumes with Last-Event-ID
