"""The coordinator's commands on one thread, many at a time, with their appends committed together.

A command is mostly CPU (the ruling, the decision path, canonical JSON and hashing) around one append,
which waits for the store's group commit. Run on forty worker threads, the commands compete for the
GIL with the thread committing their group: measured at 500 commands/s, a group of two to four
appends took 3–7 ms of wall time for about 1 ms of the committing thread's CPU. Here one thread runs
every command, each in its own greenlet: a command runs until its append, where it is parked
(`APPEND_HAND_OFF`); when every command taken has run that far, their appends go to the store as one
`submit`, and each parked command resumes, in log order, to apply its events and answer. Commands
that arrive meanwhile wait in a queue and make the next group, so group commit still forms, without
threads to hand the GIL around.

Greenlets switch only inside `append`, so what runs here must hold no lock across an append (the
coordinator's commands hold none: their lock guards the view, never the store's I/O). A command that
loses a race on its stream is decided again and parked again, in the next group.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import queue
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import greenlet

from kizuna.service.threads import Settled, outcome, settle_all
from kizuna.store import EventStore
from kizuna.store.eventstore import APPEND_HAND_OFF, PendingAppend

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: How long exit waits for the commands in hand.
STOP_WAIT_S = 10.0


@dataclass(slots=True)
class _Job:
    """A command to run, and where its answer goes."""

    call: Callable[[], object]
    context: contextvars.Context
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]

    def run(self, answers: list[_Answer]) -> None:
        """Run the command (in its greenlet); add its result or exception to `answers`."""
        error, value = outcome(self.call)
        answers.append((self.loop, self.future, error, value))


#: A finished command: the loop of the task awaiting it, its future, and its exception or result.
_Answer = tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], BaseException | None, object]


@dataclass(slots=True)
class _Parked:
    """A command stopped at its append."""

    command: greenlet.greenlet
    store: EventStore
    append: PendingAppend

    def seq(self) -> int:
        """The log position its append took (0 if it was refused), to resume commands in log order."""
        return self.append.result[0].seq if self.append.result else 0


class CommandRunner:
    """Runs commands on one thread, committing the appends of those that run together as one group."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._parked: list[_Parked] = []
        self._answers: list[_Answer] = []
        self._thread: threading.Thread | None = None
        self._hub: greenlet.greenlet | None = None  # the thread's own greenlet, which runs the groups
        self._start_lock = threading.Lock()

    async def run(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run `function(*args, **kwargs)` on the command thread, in a copy of the caller's context."""
        if self._thread is None:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        context = contextvars.copy_context()
        context.run(APPEND_HAND_OFF.set, self._hand_off)
        self._jobs.put(_Job(lambda: function(*args, **kwargs), context, loop, future))
        return await future

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._main, name="kizuna-commands", daemon=True)
            self._thread.start()
            atexit.register(self.stop)

    def stop(self) -> None:
        """Finish the commands in hand, then end the thread (waiting at most STOP_WAIT_S)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._jobs.put(None)
            thread.join(timeout=STOP_WAIT_S)

    def _main(self) -> None:
        self._hub = greenlet.getcurrent()
        while (job := self._jobs.get()) is not None:
            jobs = [job]
            with suppress(queue.Empty):
                while len(jobs) < MAX_TAKEN:
                    more = self._jobs.get_nowait()
                    if more is None:
                        self._jobs.put(None)  # stop after this group
                        break
                    jobs.append(more)
            for taken in jobs:
                command = greenlet.greenlet(taken.run)
                command.gr_context = taken.context
                command.switch(self._answers)  # runs until it answers or parks at its append
            self._commit_parked()
            self._answer()

    def _answer(self) -> None:
        """Hand the round's answers to their loops, all of a loop's in one wake-up.

        Handed one by one, each answer woke the event loop, which could then hold the GIL (encoding
        and sending that answer) while this thread waited to resume the next command. One wake-up per
        round is less work; its effect on latency was within the benchmark's noise (docs/service.md).
        """
        answers, self._answers = self._answers, []
        by_loop: dict[asyncio.AbstractEventLoop, list[Settled]] = {}
        for loop, future, error, value in answers:
            by_loop.setdefault(loop, []).append((future, error, value))
        for loop, settled in by_loop.items():
            with suppress(RuntimeError):  # the loop was closed meanwhile: nobody is waiting any more
                loop.call_soon_threadsafe(settle_all, settled)

    def _hand_off(self, store: EventStore, append: PendingAppend) -> None:
        """Park the running command at its append (called by `EventStore.append`, in the command)."""
        hub, command = self._hub, greenlet.getcurrent()
        if hub is None or command.parent is not hub:
            # not one of this runner's commands (the context was carried elsewhere): commit here
            store.submit((append,))
            return
        self._parked.append(_Parked(command, store, append))
        hub.switch()

    def _commit_parked(self) -> None:
        """Commit the parked appends together, resume their commands in log order; again for retries."""
        while self._parked:
            parked, self._parked = self._parked, []
            stores: dict[int, tuple[EventStore, list[PendingAppend]]] = {}
            for one in parked:
                stores.setdefault(id(one.store), (one.store, []))[1].append(one.append)
            for store, appends in stores.values():
                try:
                    store.submit(appends)
                except BaseException as error:
                    for append in appends:
                        if append.result is None and append.error is None:
                            append.error = error
            parked.sort(key=_Parked.seq)
            for one in parked:
                one.command.switch()


#: Most commands started before their appends are committed (the store commits MAX_GROUP at a time).
MAX_TAKEN = 64
