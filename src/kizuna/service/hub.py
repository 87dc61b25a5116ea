"""Fan-out of new events to Server-Sent Events subscribers, each filtered at the egress.

The coordinator calls `Hub.publish` with every batch of events it applies, on whichever thread applied
them; the hub encodes each event once as a Server-Sent Events frame, hands the batch to each
subscriber's event loop once, and there every subscriber keeps only the frames whose marking
`egress.releasable` lets its user see. A subscriber that falls `QUEUE_SIZE` events
behind is cut off (its stream ends, and the client resumes with `Last-Event-ID`) rather than letting
one slow reader hold memory for everyone. When credentials change anywhere, `check_all` puts `CHECK`
in every queue, so each stream checks its credential at once rather than at its next event.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from kizuna.access import Marking, User
from kizuna.coordination import Recorded, event_to_data
from kizuna.service.egress import releasable
from kizuna.service.schemas import EventOut

#: Events a subscriber may have waiting before it is cut off.
QUEUE_SIZE = 10_000


#: What a subscriber's queue receives when credentials changed somewhere: check yours before going on.
CHECK = None


@dataclass(frozen=True, slots=True)
class Message:
    """One event as the stream sends it: its place in the log, its marking, and its encoded frame.

    The frame's `id` and the `seq` in its data are the event's number among the events its reader may
    see (`kizuna.service.positions`), which differs between readers: the rest is encoded once.
    """

    seq: int
    marking: Marking
    head: bytes
    tail: bytes

    @classmethod
    def of(cls, recorded: Recorded) -> Message:
        """Encode an event once, all but its reader's number for it."""
        event = recorded.event
        body = EventOut(seq=0, type=event.type, event=event_to_data(event)).model_dump_json()
        assert body.startswith(_SEQ_ZERO), "EventOut begins with its seq"
        return cls(
            seq=recorded.seq,
            marking=recorded.event.marking,
            head=f'\nevent: {recorded.event.type}\ndata: {{"seq":'.encode(),
            tail=f"{body[len(_SEQ_ZERO) :]}\n\n".encode(),
        )

    def frame(self, position: int) -> bytes:
        """Return the Server-Sent Events frame of this event as its reader's `position`-th."""
        number = str(position).encode()
        return b"id: " + number + self.head + number + self.tail


_SEQ_ZERO = '{"seq":0'


@dataclass(eq=False)
class Subscriber:
    """One open stream: its user, its queue and the loop the queue lives on."""

    user: User
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Message | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    lagging: bool = False


class Hub:
    """Subscribers of the event stream and the fan-out to them."""

    def __init__(self) -> None:
        """Start with no subscribers."""
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        """How many streams are open."""
        return len(self._subscribers)

    def publish(self, batch: Sequence[Recorded]) -> None:
        """Hand a batch of new events to every subscriber's loop (thread-safe, returns at once)."""
        if not self._subscribers:
            return
        messages = tuple(Message.of(r) for r in batch)
        with self._lock:
            loops: dict[asyncio.AbstractEventLoop, list[Subscriber]] = {}
            for subscriber in self._subscribers:
                loops.setdefault(subscriber.loop, []).append(subscriber)
        for loop, subscribers in loops.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_deliver, subscribers, messages)

    def check_all(self) -> None:
        """Tell every subscriber to check its credential before its next message (thread-safe)."""
        with self._lock:
            loops: dict[asyncio.AbstractEventLoop, list[Subscriber]] = {}
            for subscriber in self._subscribers:
                loops.setdefault(subscriber.loop, []).append(subscriber)
        for loop, subscribers in loops.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_poke, subscribers)

    @asynccontextmanager
    async def subscribe(self, user: User) -> AsyncIterator[Subscriber]:
        """Open a subscription for `user` on the running loop; close it on exit."""
        subscriber = Subscriber(user=user, loop=asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)


def _deliver(subscribers: Sequence[Subscriber], messages: Sequence[Message]) -> None:
    for subscriber in subscribers:
        if subscriber.lagging:
            continue
        for message in messages:
            if not releasable(subscriber.user, message.marking):
                continue
            try:
                subscriber.queue.put_nowait(message)
            except asyncio.QueueFull:
                subscriber.lagging = True
                break


def _poke(subscribers: Sequence[Subscriber]) -> None:
    for subscriber in subscribers:
        with contextlib.suppress(asyncio.QueueFull):
            subscriber.queue.put_nowait(CHECK)
