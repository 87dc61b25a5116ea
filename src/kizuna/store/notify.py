"""Wake-ups for subscribers when the log grows: in-process, and across workers via PostgreSQL NOTIFY.

A subscriber registers a callback that receives the newest sequence number; it then reads the events it
has not seen with `EventStore.read_all(after_seq=...)`. Callbacks run on the appending thread (local
appends) or on the listener thread (PostgreSQL notifications from other workers), so they must be quick
and thread-safe, e.g. `loop.call_soon_threadsafe(event.set)` for asyncio.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

#: The PostgreSQL channel appends NOTIFY on, with the new head sequence number as payload.
CHANNEL = "kizuna_events"
#: A channel for other signals between processes, each payload `name:value` (for example the user
#: directory's `credentials:<epoch>` when a credential is revoked); relayed to `subscribe_signals`.
SIGNALS = "kizuna_signals"

log = logging.getLogger(__name__)

#: Receives the newest sequence number known.
Listener = Callable[[int], None]
#: Receives a signal's name and value.
SignalListener = Callable[[str, str], None]


class Notifier:
    """Fan a 'the log now ends at seq N' signal out to callbacks and to threads waiting on it."""

    def __init__(self) -> None:
        self._listeners: dict[int, Listener] = {}
        self._signal_listeners: dict[int, SignalListener] = {}
        self._next_id = 0
        self._head = 0
        self._condition = threading.Condition()

    @property
    def head(self) -> int:
        """Return the newest sequence number this notifier has been told about."""
        return self._head

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register `listener`; return a function that unregisters it."""
        with self._condition:
            key = self._next_id
            self._next_id += 1
            self._listeners[key] = listener

        def unsubscribe() -> None:
            with self._condition:
                self._listeners.pop(key, None)

        return unsubscribe

    def subscribe_signals(self, listener: SignalListener) -> Callable[[], None]:
        """Register `listener` for signals from other processes; return a function that unregisters it."""
        with self._condition:
            key = self._next_id
            self._next_id += 1
            self._signal_listeners[key] = listener

        def unsubscribe() -> None:
            with self._condition:
                self._signal_listeners.pop(key, None)

        return unsubscribe

    def signal(self, payload: str) -> None:
        """Hand a `name:value` signal to every signal listener (malformed payloads are ignored)."""
        name, sep, value = payload.partition(":")
        if not sep:
            return
        with self._condition:
            listeners = list(self._signal_listeners.values())
        for listener in listeners:
            try:
                listener(name, value)
            except Exception:  # a faulty subscriber must not break the listener thread
                log.exception("signal listener failed")

    def publish(self, seq: int) -> None:
        """Announce that the log reaches `seq`; older or repeated announcements are ignored."""
        with self._condition:
            if seq <= self._head:
                return
            self._head = seq
            listeners = list(self._listeners.values())
            self._condition.notify_all()
        for listener in listeners:
            try:
                listener(seq)
            except Exception:  # a faulty subscriber must not break the writer
                log.exception("event listener failed")

    def wait(self, after_seq: int, timeout: float | None = None) -> int:
        """Block until the log passes `after_seq` or `timeout` seconds pass; return the newest seq known."""
        with self._condition:
            self._condition.wait_for(lambda: self._head > after_seq, timeout)
            return self._head


class PostgresListener:
    """A thread that LISTENs on `CHANNEL` (and `SIGNALS`) with its own connection and publishes to a
    Notifier.

    Each append NOTIFYs inside its transaction, so PostgreSQL delivers the signal on commit to every
    worker listening; this is how several service processes wake each other's stream subscribers.
    """

    def __init__(self, conninfo: str, notifier: Notifier) -> None:
        self._conninfo = conninfo
        self._notifier = notifier
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kizuna-listen", daemon=True)
        self._ready = threading.Event()

    def start(self) -> None:
        """Start listening; return once the LISTEN is in place (or after 10 s)."""
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        """Stop listening and wait for the thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    connection.execute(f"LISTEN {SIGNALS}")
                    self._ready.set()
                    while not self._stop.is_set():
                        for notify in connection.notifies(timeout=0.2):
                            if notify.channel == SIGNALS:
                                self._notifier.signal(notify.payload)
                                continue
                            with contextlib.suppress(ValueError):
                                self._notifier.publish(int(notify.payload))
            except psycopg.Error:
                log.warning("lost the LISTEN connection; reconnecting", exc_info=True)
                self._ready.set()
                self._stop.wait(1.0)
