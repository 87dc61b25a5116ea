"""Blocking work off the event loop: one set of worker threads for the service's store reads and other work.

`in_thread(f, *args, **kwargs)` runs `f` in a worker thread and awaits it, as Starlette's
`run_in_threadpool` does. The coordinator's commands do not come here: they run on the command
runner's thread (`kizuna.service.commands`), which commits their appends together. Pages, exports and
the intelligence routes still cross to a thread many times a second, so the crossing is kept lean: a
job goes on a C queue (`queue.SimpleQueue`) that the workers take from, and its result comes back by
one `call_soon_threadsafe` onto an asyncio future. Measured on the 2-core development machine: about
17 µs of CPU per call, against 50 for `loop.run_in_executor` (whose concurrent future is chained to
an asyncio one through callbacks and locks) and 105 for anyio's. The call runs in a copy of the
caller's context, like anyio's.

The workers are started on first use. At interpreter exit they finish the job in hand and stop, so a
write already in the store's hands is committed or refused, as with a thread pool.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: As many threads as anyio's default limit: the work blocks on I/O (the database, files), not the CPU.
THREADS = 40

_Job = Callable[[], None]
_jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
_workers: list[threading.Thread] = []
_start_lock = threading.Lock()


def _work() -> None:
    while (job := _jobs.get()) is not None:
        job()


def _start() -> None:
    with _start_lock:
        if _workers:
            return
        for number in range(THREADS):
            worker = threading.Thread(target=_work, name=f"kizuna-worker-{number}", daemon=True)
            worker.start()
            _workers.append(worker)
        atexit.register(_stop)


#: How long exit waits, in all, for the workers to finish their jobs in hand.
STOP_WAIT_S = 10.0


def _stop() -> None:
    """Let every worker finish its job in hand, then end (exit waits at most STOP_WAIT_S in all)."""
    for _ in _workers:
        _jobs.put(None)
    deadline = time.monotonic() + STOP_WAIT_S
    for worker in _workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))


def _settle(future: asyncio.Future[Any], error: BaseException | None, value: object) -> None:
    if future.done():  # the awaiting task was cancelled (its client went away)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


#: A future with the exception or result to settle it with.
Settled = tuple[asyncio.Future[Any], BaseException | None, object]


def settle_all(settled: Sequence[Settled]) -> None:
    """Settle each future with its exception or result (on the futures' loop thread)."""
    for future, error, value in settled:
        _settle(future, error, value)


def outcome(call: Callable[[], object]) -> tuple[BaseException | None, object]:
    """Run `call`; return (None, its result), or (its exception, None) for the awaiting task to raise."""
    try:
        return None, call()
    except BaseException as raised:  # handed to the awaiting task, which raises it
        return raised, None


def hand_back(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], call: Callable[[], object]
) -> None:
    """Run `call` on this thread and hand its result or exception to `future`, on `loop`'s thread."""
    error, value = outcome(call)
    with suppress(RuntimeError):  # the loop was closed meanwhile: nobody is waiting any more
        loop.call_soon_threadsafe(_settle, future, error, value)


async def in_thread(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run `function(*args, **kwargs)` in a worker thread and return its result."""
    if not _workers:
        _start()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()
    context = contextvars.copy_context()

    def job() -> None:
        hand_back(loop, future, lambda: context.run(function, *args, **kwargs))

    _jobs.put(job)
    return await future
