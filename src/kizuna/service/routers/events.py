"""The event log as the user may see it: a page of past events, and a Server-Sent Events stream.

Events are numbered per user (`kizuna.service.positions`): the events a user may see are 1, 2, 3, ...
in log order, and that number is an event's `seq` in a page and its `id` in the stream, and what `after`
and `Last-Event-ID` name. The log's own sequence numbers, which count hidden events too, never leave
the server. The stream starts after `after` (or the `Last-Event-ID` the browser resends on
reconnection), replays what the user may see from the log, then follows new events as they are applied,
so a reconnecting client misses nothing and sees nothing twice. Every message is filtered at the egress
like every other answer.

The stream checks its credential before every message, cheaply: it compares the credential epoch
(`service/credentials.py`) with the one it last checked at, and the credential's expiry with the
clock. When the epoch moved (a logout, a token revoked, a user changed or deactivated anywhere) it
looks the credential up again and ends if it is gone or its user changed (a lowered clearance, another
role or organization); the client reconnects with its new credential and gets what that allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from kizuna.access import User
from kizuna.coordination import Recorded, event_from_data, event_to_data, in_coordination_log
from kizuna.service.credentials import Principal
from kizuna.service.dependencies import CurrentPrincipal, CurrentUser, RuntimeDep
from kizuna.service.egress import releasable
from kizuna.service.errors import responses
from kizuna.service.hub import CHECK, Message
from kizuna.service.params import SEQ_HEADER_PATTERN, StrictFloat, StrictInt
from kizuna.service.positions import Numbering
from kizuna.service.runtime import Runtime
from kizuna.service.schemas import EventOut
from kizuna.service.threads import in_thread

router = APIRouter(prefix="/api/events", tags=["events"])

#: Most events one page of the log returns.
MAX_PAGE = 1000
#: Largest sequence number a client may name (the largest integer JSON clients hold exactly).
MAX_SEQ = 2**53


def _released(
    runtime: Runtime, user: User, *, after_seq: int, position: int, limit: int, through: int
) -> list[tuple[int, Recorded]]:
    """Read the user's events after log position `after_seq` up to `through`, numbered from `position`."""
    out: list[tuple[int, Recorded]] = []
    if limit <= 0:
        return out
    for stored in runtime.store.iter_all(after_seq):
        if stored.seq > through:
            break
        if not in_coordination_log(stored.type):
            continue  # intelligence events have their own routes (/api/intel/...)
        event = event_from_data(dict(stored.payload))
        if releasable(user, event.marking):
            position += 1
            out.append((position, Recorded(seq=stored.seq, event=event)))
            if len(out) >= limit:
                break
    return out


def released_since(runtime: Runtime, user: User, after: int, limit: int) -> list[tuple[int, Recorded]]:
    """Return up to `limit` of the user's events after their `after`-th, each with its number."""
    view = runtime.coordinator.view
    through = view.last_seq
    start = Numbering(view, user).seq_of(after)
    if start is None:  # the user has no `after`-th event (yet): nothing after it
        return []
    return _released(runtime, user, after_seq=start, position=after, limit=limit, through=through)


def _out(position: int, recorded: Recorded) -> EventOut:
    return EventOut(seq=position, type=recorded.event.type, event=event_to_data(recorded.event))


@router.get("", responses=responses(401, 422))
def list_events(
    user: CurrentUser,
    runtime: RuntimeDep,
    after: Annotated[
        StrictInt, Query(ge=0, le=MAX_SEQ, description="Return your events after your event number `after`.")
    ] = 0,
    limit: Annotated[StrictInt, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[EventOut]:
    """Return a page of the events the user may see, oldest first, numbered 1, 2, 3, ... for this user."""
    return [_out(position, r) for position, r in released_since(runtime, user, after, limit)]


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
            "description": "Server-Sent Events: `id` (your number for the event), `event` (type), "
            "`data` (EventOut)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **responses(401, 422),
    },
)
async def stream(
    *,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    after: Annotated[
        StrictInt | None,
        Query(ge=0, le=MAX_SEQ, description="Start after your event number `after` (default: from now)."),
    ] = None,
    max_events: Annotated[
        StrictInt | None, Query(ge=1, le=100_000, description="End after this many.")
    ] = None,
    timeout_s: Annotated[
        StrictFloat | None, Query(gt=0, le=86_400, description="End after this many seconds.")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            pattern=SEQ_HEADER_PATTERN,
            description="The last sequence number received (ASCII digits); resumes after it.",
        ),
    ] = None,
) -> EventStream:
    """Stream the events the user may see as Server-Sent Events (`id` is the user's number for it)."""
    start = after
    if start is None and last_event_id is not None:
        start = min(int(last_event_id), MAX_SEQ)
    return EventStream(
        _frames(runtime, principal, start=start, max_events=max_events, timeout_s=timeout_s),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(
    runtime: Runtime,
    principal: Principal,
    *,
    start: int | None,
    max_events: int | None,
    timeout_s: float | None,
) -> AsyncIterator[bytes]:
    """Yield the user's events after their `start`-th (None: from now), backlog then live, numbered.

    Before every frame (and keep-alive) the credential is checked again if the epoch moved or it
    expired; the stream ends when it no longer holds.
    """
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    remaining = max_events if max_events is not None else -1
    credentials = runtime.credentials
    user = principal.user
    checked = credentials.epoch

    async def valid() -> bool:
        nonlocal checked
        if credentials.expired(principal):
            return False
        if credentials.epoch == checked:
            return True
        epoch = credentials.epoch
        if not await credentials.still_valid(principal):
            return False
        checked = epoch
        return True

    async with runtime.hub.subscribe(user) as subscriber:
        view = runtime.coordinator.view
        through = view.last_seq  # read after subscribing: what comes later is in the queue
        numbering = Numbering(view, user)
        known = numbering.position(through)
        wanted = known if start is None else start
        sent, position = through, known  # from now, or ahead of this worker's view: count forward
        if wanted < known:
            sent, position = numbering.seq_of(wanted) or 0, wanted
        # From now (the usual stream) there is no backlog: no read of the log, no worker thread. Two
        # hundred streams opened together used to each read the log's newest page first, and the
        # first event after they opened waited for those reads (fan-out p99 0.2-0.7 s).
        backlog = (
            await in_thread(
                _released,
                runtime,
                user,
                after_seq=sent,
                position=position,
                limit=remaining if remaining > 0 else 10**9,
                through=through,
            )
            if sent < through
            else []
        )
        for position, recorded in backlog:  # the last number is where live counting goes on
            if not await valid():
                return
            yield Message.of(recorded).frame(position)
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
                if not await valid():
                    return
                yield _KEEPALIVE
                continue
            if not await valid():
                return
            if message is not CHECK and message.seq > sent:
                sent, position = message.seq, position + 1
                if position > wanted:
                    yield message.frame(position)
                    remaining -= 1
            if subscriber.lagging and subscriber.queue.empty():
                return  # cut off for falling behind: the client resumes with Last-Event-ID
